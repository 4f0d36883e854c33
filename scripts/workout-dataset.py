#!/usr/bin/python3
"""Writes the workout videos (../shared/data/workout) as a dataset actiond-train reads, the way a user
who owns such clips would: each clip shows one exercise from start to end, and the clips (2-55 s,
most shorter than the 8 s a segmenter reads before its first decision) are joined, --join at a time
in a seeded order, into longer videos (GStreamer: 640x360 letterboxed, 25 fps, H.264), one segment per
clip naming its class (segments.csv: video,label,start,end). The data's fixed train/test split is
kept: train clips join into train videos, test clips into test videos (splits/; actiond-train holds
val out of train itself).

Usage: scripts/workout-dataset.py [--data ../shared/data/workout] [--join 6] [--seed 1] --out DIR
The data is for internal use only (its README): DIR must stay out of the repository.
"""
import argparse
import csv
import os
import random
import subprocess
import sys


def join(clips, out: str) -> None:
    """gst-launch-1.0: the clips one after another (concat), letterboxed to 640x360 at 25 fps, H.264."""
    cmd = ["gst-launch-1.0", "-q", "concat", "name=c", "!", "videoconvert", "!", "x264enc", "speed-preset=veryfast",
           "bitrate=2000", "!", "video/x-h264,profile=high", "!", "mp4mux", "!", "filesink", f"location={out}"]
    for path, _, _ in clips:
        cmd += ["filesrc", f"location={path}", "!", "decodebin", "!", "videoconvert", "!", "videoscale",
                "add-borders=true", "!", "videorate", "!",
                "video/x-raw,width=640,height=360,framerate=25/1,pixel-aspect-ratio=1/1,format=I420", "!", "c."]
    subprocess.run(cmd, check=True)


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "workout"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--join", type=int, default=6, help="clips per video")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    index = os.path.join(args.data, "index.csv")
    if not os.path.exists(index):
        sys.exit(f"workout-dataset: {index}: not found (../shared/data/workout)")
    os.makedirs(os.path.join(args.out, "videos"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "splits"), exist_ok=True)
    by_split = {"train": [], "test": []}
    with open(index) as f:
        for r in csv.DictReader(f):
            path = os.path.abspath(os.path.join(args.data, "videos", r["class"], r["name"] + ".mp4"))
            by_split[r["split"]].append((path, r["class"], int(r["frames"]) / float(r["fps"])))
    splits = {"train": [], "test": []}
    rows = []
    for split, clips in by_split.items():
        random.Random(args.seed).shuffle(clips)
        for k in range(0, len(clips), args.join):
            group = clips[k:k + args.join]
            name = f"{split}-{k // args.join + 1:02d}"
            out = os.path.join(args.out, "videos", name + ".mp4")
            if not os.path.exists(out):
                join(group, out + ".tmp.mp4")
                os.replace(out + ".tmp.mp4", out)
            t = 0.0
            for _, cls, duration in group:
                rows.append((name, cls, t, t + duration))
                t += duration
            splits[split].append(name + ".mp4")
            print(f"workout-dataset: {name}: {len(group)} clips, {t:.1f} s", file=sys.stderr)
    with open(os.path.join(args.out, "segments.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video", "label", "start", "end"])
        w.writerows((n, c, f"{s:.3f}", f"{e:.3f}") for n, c, s, e in rows)
    for split, names in splits.items():
        with open(os.path.join(args.out, "splits", f"{split}.split1.bundle"), "w") as f:
            f.writelines(n + "\n" for n in names)
    print(f"workout-dataset: {len(rows)} clips in {sum(map(len, splits.values()))} videos -> {args.out} "
          f"(train {len(splits['train'])}, test {len(splits['test'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
