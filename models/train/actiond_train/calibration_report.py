"""How well a frame segmenter's and a recognizer's confidences match how often they are right, on a
split never used to fit them (default: test), before and after calibrate_frames.py: expected
calibration error (ECE, 15 equal-width bins of the top probability; 0 = confidence is the hit rate),
mean confidence and accuracy. Segmenter: the frame the daemon decides in each window (T-1-lookahead);
recognizer: every clip, target its majority label (as calibrate_frames.py).

Usage: calibration_report.py --world W --features F --before-segmenter S.pt --after-segmenter S2.pt
         --before-recognizer R.pt --after-recognizer R2.pt [--split test] [--json OUT]
"""
import argparse
import json
from typing import Dict

import numpy as np
import torch

from actiond_train.calibrate_frames import decided_frames, every_clip, load_features
from actiond_train.common import load_with_manifest, read_mapping, read_split


def ece(conf: np.ndarray, hit: np.ndarray, bins: int = 15) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - hit[inside].mean())
    return float(total)


def summary(probs: torch.Tensor, target: torch.Tensor) -> Dict[str, float]:
    conf, pred = probs.max(dim=1)
    c, h = conf.numpy().astype(np.float64), (pred == target).numpy().astype(np.float64)
    return {"ece": round(100 * ece(c, h), 1), "mean_confidence": round(100 * float(c.mean()), 1),
            "accuracy": round(100 * float(h.mean()), 1), "n": int(len(c))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--video-fps", type=float, default=25.0)
    for kind in ("segmenter", "recognizer"):
        ap.add_argument(f"--before-{kind}", required=True)
        ap.add_argument(f"--after-{kind}", required=True)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(2)
    names = read_mapping(args.world)
    data = load_features(args.features, args.world, read_split(args.world, args.split), names, args.video_fps)
    report = {}
    for kind in ("segmenter", "recognizer"):
        for when in ("before", "after"):
            model, manifest = load_with_manifest(getattr(args, f"{when}_{kind}"))
            with torch.no_grad():
                if kind == "segmenter":
                    outputs = decided_frames(lambda x: model(x)[0], manifest, data)
                else:
                    outputs = every_clip(model, manifest, data)
            report.setdefault(kind, {})[when] = summary(*outputs)
            print(f"calibration ({args.split}): {kind} {when}: {json.dumps(report[kind][when])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
