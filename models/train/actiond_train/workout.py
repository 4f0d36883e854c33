"""Builds untrimmed exercise streams from the workout videos (../shared/data/workout), as an actiond
benchmark ("world"), from pose features that `actiond extract` wrote through the daemon's own decode +
pose + person-tracking path.

Each workout video shows one exercise. A stream joins several videos of different exercises, with a
stretch of real footage of people *not* exercising before, between and after them (pedestrians of
opencv-doc's vtest.avi: its first half feeds the training streams, 50-60 % the validation streams, the
rest the test streams). Deterministic by --seed.

Splits: index.csv's `test` videos -> test streams; its `train` videos -> train streams, except every
4th video of a class with at least 5 training videos (sorted by name), which goes to `val` (held out of
training: the decoding settings and the calibration are chosen there). `ood`: non-exercise footage
alone, never trained on (the held-out 40 % of vtest.avi; Megamind.avi, animated people), for false
segments per hour. With --falls-data, the fall data's clips (everyday movement, falls, lying on the
floor; no exercise) are non-exercise streams too: two rooms train (every 5th clip validates), the
third room (Home_01) joins `ood`.

Inputs (per video; OUT of `actiond extract --model movenet-lightning.pt --fps F --follow`):
  EXTRACT/<class>/<name>.{features,track,pts}.npy, FILLERS/<name>.{features,track,pts}.npy
Outputs (the world layout train_segmenter.py, train_zoo.py and `actiond eval --workbench` read):
  OUT/mapping.txt                  0 background, 1 push-ups, 2 pull-ups, 3 squats, 4 dips
  OUT/splits/{train,val,test}.split1.bundle
  OUT/groundTruth/S.txt            one label per analysed frame
  OUT/features/S.features.npy      float32 [T, D] the tracked subject's pose features (or a backbone's)
  OUT/features/S.frames.npy        uint8 [T, H, W, 3] model-input frames (extract --frames: frame baselines)
  OUT/features/S.track.npy         int64 [T] the subject's track (0: nobody; each piece its own ids)
  OUT/features/S.pts.npy           frame times (s), uniform at F fps
  OUT/features/S.reps.npy          uint8 [T] 1 on the analysed frame nearest to a repetition start
  OUT/pieces.json                  per stream: the pieces (video or filler, frames, true repetitions)

Usage: workout.py --data ../shared/data/workout --extract DIR --fillers DIR --out DIR [--fps 10]
"""
import argparse
import csv
import json
import os
from typing import Dict, List

import numpy as np

CLASSES = ["push-ups", "pull-ups", "squats", "dips"]
NAMES = ["background"] + CLASSES
SOURCE = {"repository": "https://github.com/calimiro-ai/WorkoutTracker",
          "commit": "add4ca610f00e3a1414a54a0e6ad0c47b5741b86",
          "licence": "upstream README says MIT, but the repository has no LICENSE file and several videos are web "
                     "downloads it cannot license: internal use only, do not redistribute (data README)"}
FALLS_SOURCE = {
    "dataset": "Le2i fall detection (ImViA, Universite de Bourgogne; Charfi et al., J. Electronic Imaging 2013)",
    "repository": "https://github.com/Runki2018/fall_detection", "commit": "548887d9f382dece130436fe7a1c79135d025972",
    "licence": "academic research with citation; no licence for redistribution: internal use only (data README)"}
OPENCV_SOURCE = "opencv-doc: vtest.avi (pedestrians), Megamind.avi (animation), BSD"
FILLER_RANGES = {"train": {"vtest": (0.0, 0.5)}, "val": {"vtest": (0.5, 0.6)}, "test": {"vtest": (0.6, 1.0)}}
# Non-exercise footage never trained on, alone: false segments per hour (the `ood` split).
OOD_STREAMS = {"ood_vtest": ("vtest", (0.6, 1.0)), "ood_megamind": ("Megamind", (0.0, 1.0))}
PER_STREAM = 4
FALLS_TRAIN_ROOMS = ("Coffee_room_01", "Coffee_room_02")  # ../shared/data/falls: Home_01 stays unseen
ARRAYS = ("features", "frames")  # what extract wrote per frame, concatenated as they are
TRACK_STRIDE = 100000  # each piece's track ids are offset so that no id continues across a join


def read_index(data: str) -> List[Dict[str, str]]:
    with open(os.path.join(data, "index.csv")) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["class"] not in CLASSES:
            raise ValueError(f"{data}/index.csv: unknown class {r['class']!r}")
    return rows


def assign_splits(rows: List[Dict[str, str]]) -> Dict[str, List[Dict[str, str]]]:
    out: Dict[str, List[Dict[str, str]]] = {"train": [], "val": [], "test": []}
    for c in CLASSES:
        train = sorted((r for r in rows if r["class"] == c and r["split"] == "train"), key=lambda r: r["name"])
        for i, r in enumerate(train):
            out["val" if len(train) >= 5 and i % 4 == 3 else "train"].append(r)
        out["test"] += [r for r in rows if r["class"] == c and r["split"] == "test"]
    return out


def load_piece(folder: str, name: str) -> Dict[str, np.ndarray]:
    """pts and whichever of features / frames extract wrote; without track.npy (no pose model) the
    whole frame is the subject, one for the whole stream (track 1 on every frame)."""
    stem = os.path.join(folder, name)
    if not os.path.exists(f"{stem}.pts.npy"):
        raise SystemExit(f"workout: {stem}.pts.npy: missing; run actiond extract on the videos first")
    out = {k: np.load(f"{stem}.{k}.npy") for k in ("pts", "features", "frames", "track")
           if os.path.exists(f"{stem}.{k}.npy")}
    if "track" not in out:  # the whole frame is one subject for the whole stream: marked -1
        out["track"] = np.full(len(out["pts"]), -1, np.int64)
    return out


def rep_frames(data: str, row: Dict[str, str], pts: np.ndarray) -> List[int]:
    """Analysed frames nearest to the labelled repetition starts (frame / fps from index.csv)."""
    path = os.path.join(data, "labels", row["class"], row["name"] + ".csv")
    with open(path) as f:
        starts = [int(r["frame"]) for r in csv.DictReader(f) if float(r["label"]) > 0.5]
    fps = float(row["fps"])
    return sorted({int(np.argmin(np.abs(pts - s / fps))) for s in starts})


def order_videos(videos: List[Dict[str, str]], rng: np.random.Generator) -> List[Dict[str, str]]:
    """Seeded order in which neighbours are of different exercises wherever the counts allow."""
    pools = {c: [videos[i] for i in rng.permutation(len(videos)) if videos[i]["class"] == c] for c in CLASSES}
    out: List[Dict[str, str]] = []
    prev = ""
    while any(pools.values()):
        choices = sorted((c for c in CLASSES if pools[c] and c != prev), key=lambda c: -len(pools[c]))
        if not choices:
            choices = [prev]
        c = choices[0] if len(choices) == 1 or rng.random() < 0.6 else choices[int(rng.integers(len(choices)))]
        out.append(pools[c].pop())
        prev = c
    return out


def room_split(rows: List[Dict[str, str]], held_out_rooms, held_out: str, max_clips: int = 0,
               hold_every_5th: bool = False) -> Dict[str, List[Dict[str, str]]]:
    """The fall data's clips (index.csv rows) by split: a room of `held_out_rooms` goes wholly to
    `held_out`; in the others, by clip name, every 5th clip from the 3rd validates (`val`), with
    hold_every_5th every 5th from the 5th goes to `held_out` too, and the rest train. max_clips: only
    the first clips of each room (a quick run)."""
    out: Dict[str, List[Dict[str, str]]] = {"train": [], "val": [], held_out: []}
    for room in sorted({r["room"] for r in rows}):
        clips = sorted((r for r in rows if r["room"] == room), key=lambda r: r["clip"])
        if max_clips:
            clips = clips[:max_clips]
        for i, r in enumerate(clips):
            if room in held_out_rooms or (hold_every_5th and i % 5 == 4):
                out[held_out].append(r)
            else:
                out["val" if i % 5 == 2 else "train"].append(r)
    return out


def falls_clips(data: str) -> Dict[str, List[Dict[str, str]]]:
    """The fall data's clips for the workout model: FALLS_TRAIN_ROOMS train and validate, the other
    room is `ood` (never trained on)."""
    with open(os.path.join(data, "index.csv")) as f:
        rows = list(csv.DictReader(f))
    return room_split(rows, {r["room"] for r in rows} - set(FALLS_TRAIN_ROOMS), "ood")


def build(args) -> None:
    rows = read_index(args.data)
    rng = np.random.default_rng(args.seed)
    fillers = {n: load_piece(args.fillers, n) for n in ("vtest", "Megamind")}
    for d in ("groundTruth", "features", "splits"):
        os.makedirs(os.path.join(args.out, d), exist_ok=True)
    with open(os.path.join(args.out, "mapping.txt"), "w") as f:
        f.write("".join(f"{i} {n}\n" for i, n in enumerate(NAMES)))
    pieces_out: Dict[str, List[Dict]] = {}
    summary = {}
    for split, videos in assign_splits(rows).items():
        ordered = order_videos(videos, rng)
        ranges = FILLER_RANGES[split]
        streams = []
        for s, lo in enumerate(range(0, len(ordered), PER_STREAM)):
            name = f"{split}_{s:02d}"
            parts, pieces = [], []
            chunk = ordered[lo:lo + PER_STREAM]
            for k in range(len(chunk) * 2 + 1):
                if k % 2 == 0:  # filler: a random stretch of non-exercise footage of this split
                    src = list(ranges)[int(rng.integers(len(ranges)))]
                    p = fillers[src]
                    a, b = (int(x * len(p["track"])) for x in ranges[src])
                    n = min(b - a, int(rng.integers(int(3 * args.fps), int(8 * args.fps) + 1)))
                    start = a + int(rng.integers(0, b - a - n + 1))
                    sl = slice(start, start + n)
                    parts.append(({k: p[k][sl] for k in ARRAYS if k in p}, p["track"][sl], np.zeros(n, int),
                                  np.zeros(n, np.uint8)))
                    pieces.append({"kind": "filler", "source": src, "frames": [start, start + n]})
                else:
                    row = chunk[k // 2]
                    p = load_piece(os.path.join(args.extract, row["class"]), row["name"])
                    n = len(p["track"])
                    marks = rep_frames(args.data, row, p["pts"])
                    reps = np.full(n, 0 if marks else 255, np.uint8)
                    reps[marks] = 1
                    parts.append(({k: p[k] for k in ARRAYS if k in p}, p["track"], np.full(n, NAMES.index(row["class"])),
                                  reps))
                    pieces.append({"kind": "video", "class": row["class"], "name": row["name"], "reps": int(row["reps"]),
                                   "reps_marked": len(marks)})
            offset = 0
            feats, tracks, labels, reps = [], [], [], []
            for i, (f, t, l, r) in enumerate(parts):
                pieces[i]["span"] = [offset, offset + len(l)]
                offset += len(l)
                feats.append(f)
                tracks.append(np.where(t > 0, t + (i + 1) * TRACK_STRIDE, np.where(t < 0, 1, 0)))
                labels.append(l)
                reps.append(r)
            base = os.path.join(args.out, "features", name)
            for k in ARRAYS:
                if k in feats[0]:
                    np.save(f"{base}.{k}.npy", np.concatenate([f[k] for f in feats]))
            np.save(base + ".track.npy", np.concatenate(tracks).astype(np.int64))
            np.save(base + ".pts.npy", np.arange(offset) / args.fps)
            np.save(base + ".reps.npy", np.concatenate(reps))
            with open(os.path.join(args.out, "groundTruth", name + ".txt"), "w") as f:
                f.write("".join(NAMES[x] + "\n" for x in np.concatenate(labels)))
            pieces_out[name] = pieces
            streams.append(name)
        with open(os.path.join(args.out, "splits", f"{split}.split1.bundle"), "w") as f:
            f.write("".join(s + ".txt\n" for s in streams))
        summary[split] = f"{len(videos)} videos in {len(streams)} streams"
    ood_names = list(OOD_STREAMS)
    if args.falls_data:
        # Open set: everyday movement, falls and lying on the floor (none of it exercise) as background:
        # the clips of two rooms train (every 5th validates), the third room is never trained on.
        for split, clips in falls_clips(args.falls_data).items():
            names = []
            for row in clips:
                p = load_piece(args.falls_extract, row["clip"])
                n = len(p["pts"])
                name = f"falls_{row['clip']}"
                base = os.path.join(args.out, "features", name)
                for k in ARRAYS:
                    if k in p:
                        np.save(f"{base}.{k}.npy", p[k])
                t = p["track"]
                np.save(base + ".track.npy", np.where(t > 0, t, np.where(t < 0, 1, 0)))
                np.save(base + ".pts.npy", np.arange(n) / args.fps)
                np.save(base + ".reps.npy", np.zeros(n, np.uint8))
                with open(os.path.join(args.out, "groundTruth", name + ".txt"), "w") as f:
                    f.write("background\n" * n)
                pieces_out[name] = [{"kind": "filler", "source": f"falls:{row['room']}", "frames": [0, n], "span": [0, n]}]
                names.append(name)
            if split == "ood":
                ood_names += names
            else:
                with open(os.path.join(args.out, "splits", f"{split}.split1.bundle"), "a") as f:
                    f.write("".join(x + ".txt\n" for x in names))
            summary[f"falls {split}"] = f"{len(names)} clips"
    for name, (src, (a, b)) in OOD_STREAMS.items():
        p = fillers[src]
        lo, hi = (int(x * len(p["track"])) for x in (a, b))
        base = os.path.join(args.out, "features", name)
        for k in ARRAYS:
            if k in p:
                np.save(f"{base}.{k}.npy", p[k][lo:hi])
        t = p["track"][lo:hi]
        np.save(base + ".track.npy", np.where(t > 0, t, np.where(t < 0, 1, 0)))
        np.save(base + ".pts.npy", np.arange(hi - lo) / args.fps)
        np.save(base + ".reps.npy", np.zeros(hi - lo, np.uint8))
        with open(os.path.join(args.out, "groundTruth", name + ".txt"), "w") as f:
            f.write("background\n" * (hi - lo))
        pieces_out[name] = [{"kind": "filler", "source": src, "frames": [lo, hi], "span": [0, hi - lo]}]
    with open(os.path.join(args.out, "splits", "ood.split1.bundle"), "w") as f:
        f.write("".join(n + ".txt\n" for n in ood_names))
    summary["ood"] = ", ".join(OOD_STREAMS)
    with open(os.path.join(args.out, "pieces.json"), "w") as f:
        source = dict(SOURCE, non_exercise={"opencv-doc": OPENCV_SOURCE, **({"falls": FALLS_SOURCE} if args.falls_data else {})})
        json.dump({"fps": args.fps, "source": source, "streams": pieces_out}, f, indent=1)
    print("workout: " + ", ".join(f"{k} {v}" for k, v in summary.items()) + f" -> {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="../shared/data/workout")
    ap.add_argument("--extract", required=True, help="actiond extract output, one folder per class")
    ap.add_argument("--fillers", required=True, help="actiond extract output of vtest.avi and Megamind.avi")
    ap.add_argument("--out", required=True)
    ap.add_argument("--falls-data", default="", help="../shared/data/falls: its clips as non-exercise footage")
    ap.add_argument("--falls-extract", default="", help="actiond extract output of the fall clips")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    build(ap.parse_args())


if __name__ == "__main__":
    main()
