"""Repetition counting from the pose signal itself (an offline study, not yet what the camera runs):
within each exercise video of a split (its true span), the keypoint positions (x, y of the 17 COCO
keypoints, hip-centred and torso-scaled, as `actiond extract` writes them; frames without the person
left out) are projected on their first principal component, smoothed (centred moving average), and
the extrema of that signal are found with hysteresis (a turn counts once the signal has moved back by
`hysteresis` x its range). A repetition is a movement there and back: count = ceil(extrema / 2).

Online as a camera would run it: the count at each frame uses only the frames up to it (the
principal component and the range of the segment so far), and the count reported is the highest so
far (a published repetition is never taken back). No training: the two settings are chosen on the
train + val videos; test is reported with them, and the whole grid is printed.

Usage: count_signal.py --world build/workout/world [--skip 0]
"""
import argparse
import json
import math
import os

import numpy as np


def exercise_spans(world: str, split: str):
    """Per stream of `split`: (stream, features [T,D], track [T], [(video, true count, start, end)] of its
    videos with at least one labelled repetition start)."""
    pieces = json.load(open(os.path.join(world, "pieces.json")))["streams"]
    for stream, parts in sorted(pieces.items()):
        if not stream.startswith(split):
            continue
        base = os.path.join(world, "features", stream)
        f, reps, track = (np.load(f"{base}.{k}.npy") for k in ("features", "reps", "track"))
        spans = []
        for p in parts:
            a, e = p.get("span", (0, 0))
            true = int((reps[a:e] == 1).sum()) if p["kind"] == "video" else 0
            if true > 0:
                spans.append((p["name"], true, a, e))
        yield stream, f, track, spans


def videos(world: str, split: str) -> list:
    """(name, true count, features [T,85], track [T]) of each video of `split` with a labelled start."""
    return [(name, true, f[a:e], track[a:e]) for _, f, track, spans in exercise_spans(world, split)
            for name, true, a, e in spans]


def signal(f: np.ndarray, track: np.ndarray, smooth: int) -> np.ndarray:
    """First principal component of the keypoint positions of the frames with the person, smoothed."""
    x = f.reshape(len(f), 17, 5)[:, :, :2].reshape(len(f), -1)
    if (track > 0).sum() >= 3:
        x = x[track > 0]
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    s = x @ vt[0]
    if smooth > 1:
        s = np.convolve(np.pad(s, (smooth // 2, smooth // 2), mode="edge"), np.ones(smooth) / smooth, mode="valid")
    return s


def extrema(s: np.ndarray, hysteresis: float) -> int:
    """Turning points of s: a maximum (minimum) once s has fallen (risen) `hysteresis` x range from it."""
    h = hysteresis * (s.max() - s.min() + 1e-9)
    n, rising, ref = 0, None, s[0]
    for v in s[1:]:
        if rising is None:
            if abs(v - ref) > h:
                rising = v > ref
            elif v != ref:
                continue
        if rising:
            if v > ref:
                ref = v
            elif ref - v > h:
                n, rising, ref = n + 1, False, v
        elif rising is False:
            if v < ref:
                ref = v
            elif v - ref > h:
                n, rising, ref = n + 1, True, v
    return n


def online_count(f: np.ndarray, track: np.ndarray, smooth: int, hysteresis: float, skip: int) -> int:
    """The highest count over the growing segment (from frame `skip`: a segment opened late)."""
    f, track = f[skip:], track[skip:]
    best = 0
    for end in range(3, len(f) + 1):
        best = max(best, math.ceil(extrema(signal(f[:end], track[:end], smooth), hysteresis) / 2))
    return best


def score(vids: list, smooth: int, hysteresis: float, skip: int) -> tuple:
    counts = [(online_count(f, tr, smooth, hysteresis, skip), t) for _, t, f, tr in vids]
    return (float(np.mean([abs(c - t) / t for c, t in counts])), float(np.mean([abs(c - t) <= 1 for c, t in counts])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", required=True)
    ap.add_argument("--skip", type=int, default=0, help="frames of each video not seen (a segment opened late)")
    args = ap.parse_args()
    split = {s: videos(args.world, s) for s in ("train", "val", "test")}
    rows = []
    for smooth in (3, 5, 7):
        for hyst in (0.15, 0.2, 0.25, 0.3, 0.4):
            r = {"smooth_frames": smooth, "hysteresis": hyst}
            for s, vids in split.items():
                r[s + "_mnae"], r[s + "_obo"] = score(vids, smooth, hyst, args.skip)
            r["select_mnae"] = score(split["train"] + split["val"], smooth, hyst, args.skip)[0]
            rows.append(r)
            print(f"smooth {smooth} hysteresis {hyst:.2f}: " +
                  "  ".join(f"{s} MNAE {r[s + '_mnae']:.3f} OBO {r[s + '_obo']:.2f}" for s in split) +
                  f"  train+val MNAE {r['select_mnae']:.3f}")
    best = min(rows, key=lambda r: r["select_mnae"])
    print(json.dumps({"chosen_on_train_and_val": best, "videos": {s: len(v) for s, v in split.items()}}))


if __name__ == "__main__":
    main()
