"""Repetition counting by unwrapping the skeleton model's phase head (an offline study, not what the
camera runs): within each exercise video of a split (its true span), the phase (atan2 of the head's
sin, cos) is unwrapped over frames where the phase vector is longer than --min-length, and the
count is the number of whole cycles crossed from the first frame (minus --tolerance of a cycle) to
the furthest point reached. The settings are chosen on train + val; test is reported with them, and
the whole grid is printed so no figure hides behind the choice.

Usage: count_phase.py --skeleton build/workout/skeleton.pt --world build/workout/world
"""
import argparse
import json
import math

import numpy as np
import torch

from actiond_train.count_signal import exercise_spans


def videos(world: str, skeleton: torch.jit.ScriptModule, split: str) -> list:
    """(name, true count, rep head [T,3]) of each video of `split` with at least one labelled start."""
    out = []
    for stream, f, _, spans in exercise_spans(world, split):
        with torch.no_grad():
            _, rep, _ = skeleton.logits(torch.from_numpy(f).float()[None])
        rep = rep[0].numpy()
        out += [(name, true, rep[a:e]) for name, true, a, e in spans]
    return out


def count(rep: np.ndarray, min_length: float, tolerance: float) -> int:
    sin, cos = rep[:, 1], rep[:, 2]
    sure = np.sqrt(sin * sin + cos * cos) > min_length
    if not sure.any():
        return 0
    phase = np.arctan2(sin[sure], cos[sure]) / (2 * math.pi)
    u, hi = phase[0], phase[0]
    for x in phase[1:]:
        u += (x - u + 0.5) % 1.0 - 0.5  # the shortest way round
        hi = max(hi, u)
    return max(0, int(math.floor(hi) - math.ceil(phase[0] - tolerance) + 1))


def score(vids: list, min_length: float, tolerance: float) -> tuple:
    err = [abs(count(r, min_length, tolerance) - t) / t for _, t, r in vids]
    obo = [abs(count(r, min_length, tolerance) - t) <= 1 for _, t, r in vids]
    return float(np.mean(err)), float(np.mean(obo))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skeleton", required=True)
    ap.add_argument("--world", required=True)
    args = ap.parse_args()
    skeleton = torch.jit.load(args.skeleton)
    split = {s: videos(args.world, skeleton, s) for s in ("train", "val", "test")}
    grid = [(m, t) for m in (0.1, 0.2, 0.3, 0.4, 0.5) for t in (-0.25, -0.1, 0.0, 0.1, 0.25, 0.4)]
    rows = []
    for m, t in grid:
        r = {"min_length": m, "tolerance": t}
        for s, vids in split.items():
            r[s + "_mnae"], r[s + "_obo"] = score(vids, m, t)
        r["select_mnae"] = score(split["train"] + split["val"], m, t)[0]
        rows.append(r)
        print(f"min {m:.1f} tol {t:+.2f}: " + "  ".join(f"{s} MNAE {r[s + '_mnae']:.2f} OBO {r[s + '_obo']:.2f}"
                                                     for s in split) + f"  train+val MNAE {r['select_mnae']:.3f}")
    best = min(rows, key=lambda r: r["select_mnae"])
    print(json.dumps({"chosen_on_train_and_val": best, "videos": {s: len(v) for s, v in split.items()}}))


if __name__ == "__main__":
    main()
