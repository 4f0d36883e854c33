#!/usr/bin/python3
"""Writes the workout videos (../shared/data/workout) as a dataset actiond-train reads, the way a user
who owns such videos would label them: each video shows one exercise from start to end, so one
segment per video names its class (segments.csv: video,label,start,end); the data's fixed
train/test split becomes splits/ (actiond-train holds val out of train itself).

  videos/<class>__<name>.mp4   links to the originals (names carry the class: two classes both have
                               a `videoplayback`)
  segments.csv, splits/train.split1.bundle, splits/test.split1.bundle

Usage: scripts/workout-dataset.py [--data ../shared/data/workout] --out DIR
The data is for internal use only (its README): DIR must stay out of the repository.
"""
import argparse
import csv
import os
import sys


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "workout"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    index = os.path.join(args.data, "index.csv")
    if not os.path.exists(index):
        sys.exit(f"workout-dataset: {index}: not found (../shared/data/workout)")
    os.makedirs(os.path.join(args.out, "videos"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "splits"), exist_ok=True)
    splits = {"train": [], "test": []}
    rows = []
    with open(index) as f:
        for r in csv.DictReader(f):
            name = f"{r['class']}__{r['name']}"
            link = os.path.join(args.out, "videos", name + ".mp4")
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(os.path.abspath(os.path.join(args.data, "videos", r["class"], r["name"] + ".mp4")), link)
            rows.append((name, r["class"], 0.0, float(r["frames"]) / float(r["fps"])))
            splits[r["split"]].append(name + ".mp4")
    with open(os.path.join(args.out, "segments.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video", "label", "start", "end"])
        w.writerows((n, c, f"{s:.3f}", f"{e:.3f}") for n, c, s, e in rows)
    for split, names in splits.items():
        with open(os.path.join(args.out, "splits", f"{split}.split1.bundle"), "w") as f:
            f.writelines(n + "\n" for n in names)
    print(f"workout-dataset: {len(rows)} videos -> {args.out} (train {len(splits['train'])}, "
          f"test {len(splits['test'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
