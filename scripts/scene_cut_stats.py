#!/usr/bin/python3
"""The two measures of daemon/analysis/scene_cut.hpp on real videos, to choose and check
`persons.scene_cut`: per video, at 10 fps, the largest change between consecutive frames of the
16x12 grey thumbnail (mean absolute difference, 0-255) and of the 16-bin grey histogram (total
variation, 0-1), and the largest of min(thumbnail / 40, histogram / 0.5) (>= 1: a cut at the defaults).
Decodes with gst-launch-1.0 (GStreamer, as the daemon) at 64x48.

Usage: scene_cut_stats.py VIDEO... [--top 8]
"""
import argparse
import os
import subprocess

import numpy as np

W, H = 64, 48


def frames(path: str) -> np.ndarray:
    cmd = ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin", "!", "videorate", "!",
           "video/x-raw,framerate=10/1", "!", "videoconvert", "!", "videoscale", "!",
           f"video/x-raw,format=RGB,width={W},height={H}", "!", "fdsink", "fd=1"]
    a = np.frombuffer(subprocess.run(cmd, capture_output=True, check=False).stdout, np.uint8)
    return a[:len(a) // (W * H * 3) * W * H * 3].reshape(-1, H, W, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_intermixed_args()
    rows = []
    for path in args.videos:
        fr = frames(path)
        if len(fr) < 2:
            print(f"not decoded: {path}")
            continue
        grey = fr.astype(np.float32).mean(3)
        thumb = grey.reshape(-1, 12, H // 12, 16, W // 16).mean((2, 4))
        d = np.abs(np.diff(thumb, axis=0)).mean((1, 2))
        hist = np.stack([np.histogram(g, bins=16, range=(0, 256))[0] / g.size for g in grey])
        tv = 0.5 * np.abs(np.diff(hist, axis=0)).sum(1)
        rows.append((float(np.minimum(d / 40, tv / 0.5).max()), float(d.max()), float(tv.max()), os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))))
    rows.sort()
    print(f"{'both':>6} {'thumb':>6} {'hist':>5}  video   ({len(rows)} videos; both >= 1: a cut)")
    for both, d, tv, name in rows[-args.top:]:
        print(f"{both:6.2f} {d:6.1f} {tv:5.2f}  {name}")


if __name__ == "__main__":
    main()
