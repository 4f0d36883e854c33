"""Builds a fall benchmark ("world") from pose features that `actiond extract` wrote through the
daemon's own decode + pose + person-tracking path: the Le2i clips of ../shared/data/falls (a label per
frame: empty, normal, falling, lying) and, as fall-free footage, every other real footage of people we
have (the workout videos of ../shared/data/workout, including push-ups and squats; opencv-doc's
vtest.avi pedestrians and Megamind.avi).

Each clip is one stream, as a camera playing it. Labels: background (empty, normal), falling, lying.

Leave-one-room-out (--test-room R): the clips of the two other rooms train, except every 5th clip of a
room (sorted by name) which goes to `val` (calibration and decoding settings are chosen there); R's
clips are `test`. Fall-free footage (all background) joins each split without overlap: the workout
data's train videos (its own val rule: every 4th of a class) train, its val videos validate, its test
videos test; vtest.avi 0-50 % / 50-60 % / 60-100 %; Megamind.avi tests. With --test-room none (the
model that ships) every room trains, and every 5th clip of a room from the 5th on (never trained on,
never validated on) is `test`: the clips the example cameras play (config/examples/falls).

Outputs (the world layout train_skeleton.py, train_zoo.py and `actiond eval --workbench` read):
  OUT/mapping.txt                  0 background, 1 falling, 2 lying
  OUT/splits/{train,val,test}.split1.bundle
  OUT/groundTruth/S.txt            one label per analysed frame
  OUT/features/S.{features,track,pts}.npy
  OUT/falls.json                   per stream: kind (clip | fall-free), room or source, the labelled
                                   fall [start, end) in analysed frames; the data's origin ("source")

Usage: falls.py --data ../shared/data/falls --workout-data ../shared/data/workout --extract DIR
                --fillers DIR --test-room Home_01 --out DIR [--fps 10] [--max-clips N]
"""
import argparse
import csv
import json
import os
from typing import Dict, List

import numpy as np

from actiond_train import workout

NAMES = ["background", "falling", "lying"]
ROOMS = ["Coffee_room_01", "Coffee_room_02", "Home_01"]
LABEL_OF = {"empty": 0, "normal": 0, "falling": 1, "lying": 2}
SOURCE = {"falls": workout.FALLS_SOURCE, "fall_free": {"workout": workout.SOURCE, "opencv-doc": workout.OPENCV_SOURCE}}
VTEST = {"train": (0.0, 0.5), "val": (0.5, 0.6), "test": (0.6, 1.0)}


def read_clips(data: str) -> List[Dict[str, str]]:
    with open(os.path.join(data, "index.csv")) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["room"] not in ROOMS:
            raise SystemExit(f"falls: {data}/index.csv: clip {r['clip']}: unknown room {r['room']!r}")
    return rows


def clip_labels(data: str, row: Dict[str, str], pts: np.ndarray) -> np.ndarray:
    """Label of each analysed frame: the clip's frame at its time."""
    path = os.path.join(data, "labels", row["clip"] + ".txt")
    with open(path) as f:
        words = [w.strip() for w in f if w.strip()]
    bad = sorted(set(words) - set(LABEL_OF))
    if bad:
        raise SystemExit(f"falls: {path}: unknown labels {bad} (expected {sorted(LABEL_OF)})")
    idx = np.clip(np.round(pts * float(row["fps"])).astype(int), 0, len(words) - 1)
    return np.asarray([LABEL_OF[words[i]] for i in idx], np.int64)


def split_clips(rows: List[Dict[str, str]], test_room: str, max_clips: int) -> Dict[str, List[Dict[str, str]]]:
    return workout.room_split(rows, {test_room}, "test", max_clips, hold_every_5th=test_room == "none")


class Writer:
    def __init__(self, out: str, fps: float):
        self.out, self.fps = out, fps
        self.meta: Dict[str, Dict] = {}
        for d in ("groundTruth", "features", "splits"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        with open(os.path.join(out, "mapping.txt"), "w") as f:
            f.write("".join(f"{i} {n}\n" for i, n in enumerate(NAMES)))

    def stream(self, name: str, piece: Dict[str, np.ndarray], labels: np.ndarray, meta: Dict) -> str:
        base = os.path.join(self.out, "features", name)
        np.save(base + ".features.npy", piece["features"])
        t = piece["track"]
        np.save(base + ".track.npy", np.where(t > 0, t, np.where(t < 0, 1, 0)).astype(np.int64))
        np.save(base + ".pts.npy", np.arange(len(labels)) / self.fps)
        with open(os.path.join(self.out, "groundTruth", name + ".txt"), "w") as f:
            f.write("".join(NAMES[x] + "\n" for x in labels))
        fall = np.nonzero(labels == 1)[0]
        self.meta[name] = dict(meta, frames=int(len(labels)),
                               fall=[int(fall[0]), int(fall[-1]) + 1] if len(fall) else None)
        return name

    def split(self, split: str, names: List[str]) -> None:
        with open(os.path.join(self.out, "splits", f"{split}.split1.bundle"), "w") as f:
            f.write("".join(s + ".txt\n" for s in names))


def build(args) -> None:
    rows = read_clips(args.data)
    if args.test_room not in ROOMS + ["none"]:
        raise SystemExit(f"falls: --test-room {args.test_room!r}: expected one of {ROOMS + ['none']}")
    w = Writer(args.out, args.fps)
    fillers = {n: workout.load_piece(args.fillers, n) for n in ("vtest", "Megamind")}
    exercise = workout.assign_splits(workout.read_index(args.workout_data))
    summary = {}
    for split, clips in split_clips(rows, args.test_room, args.max_clips).items():
        names = []
        for r in clips:
            p = workout.load_piece(os.path.join(args.extract, "falls"), r["clip"])
            names.append(w.stream(r["clip"], p, clip_labels(args.data, r, p["pts"]), {"kind": "clip", "room": r["room"]}))
        videos = exercise[split]
        if args.max_clips:  # a quick run: the videos people_footage extracted (scripts/people-footage.sh)
            videos = [r for r in videos if os.path.exists(os.path.join(args.extract, r["class"], r["name"] + ".pts.npy"))]
        for r in videos:
            p = workout.load_piece(os.path.join(args.extract, r["class"]), r["name"])
            names.append(w.stream(f"workout_{r['name']}", p, np.zeros(len(p["pts"]), np.int64),
                                  {"kind": "fall-free", "source": f"workout/{r['class']}"}))
        sources = [("vtest", VTEST[split])] + ([("Megamind", (0.0, 1.0))] if split == "test" else [])
        for src, (a, b) in sources:
            p = fillers[src]
            lo, hi = (int(x * len(p["pts"])) for x in (a, b))
            part = {k: v[lo:hi] for k, v in p.items()}
            names.append(w.stream(f"{src}_{split}", part, np.zeros(hi - lo, np.int64), {"kind": "fall-free", "source": src}))
        w.split(split, names)
        summary[split] = f"{len(clips)} clips + {len(names) - len(clips)} fall-free streams"
    source = dict(SOURCE, extraction={"pose": "movenet-lightning", "fps": args.fps, "persons": {"follow": True, "min_score": args.min_score}})
    with open(os.path.join(args.out, "falls.json"), "w") as f:
        json.dump({"fps": args.fps, "test_room": args.test_room, "source": source, "streams": w.meta}, f, indent=1)
    print(f"falls (test room {args.test_room}): " + ", ".join(f"{k} {v}" for k, v in summary.items()) + f" -> {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="../shared/data/falls")
    ap.add_argument("--workout-data", required=True, help="../shared/data/workout (fall-free footage)")
    ap.add_argument("--extract", required=True, help="actiond extract output: falls/ and one folder per exercise")
    ap.add_argument("--fillers", required=True, help="actiond extract output of vtest.avi and Megamind.avi")
    ap.add_argument("--test-room", required=True, help=f"one of {ROOMS}, or none (every room trains)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--min-score", type=float, default=0.15, help="persons.min_score the features were extracted "
                    "with (recorded: cameras should use it)")
    ap.add_argument("--max-clips", type=int, default=0, help="a quick run: at most N clips per room, and only the "
                    "workout videos extracted (0 = all, every one must be extracted)")
    build(ap.parse_args())


if __name__ == "__main__":
    main()
