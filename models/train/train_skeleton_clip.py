#!/usr/bin/python3
"""Trains a skeleton clip recognizer: the graph-convolution encoder of skeleton.py over a whole trimmed
sequence (resampled to a fixed length), pooled over time and joints, one label per clip. For
benchmarks of trimmed clips (MSR Action3D cross-subject: msr_action3d.py writes OUT/trimmed); the
daemon's online decisions come from train_skeleton.py's causal model.

Augmentations: rotation about the vertical axis / in the image plane, scale, speed and cropping
(a random 80-100 % of the clip, resampled), joint dropout, noise; mirror where the layout allows it.

Usage: train_skeleton_clip.py --trimmed DIR --world DIR --out clip.pt [--layout msr20] [--steps 1500]
"""
import argparse
import json
import os
import sys
import time
from typing import List

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import export, read_mapping, seed_everything, train_steps  # noqa: E402
from skeleton import LAYOUTS, GraphBlock, Layout, augment  # noqa: E402
from train_skeleton import read_trimmed  # noqa: E402


class SkeletonClipRecognizer(nn.Module):
    """forward(float [B,T,D]) -> probs [B,C] (C includes background, never predicted)."""

    def __init__(self, layout: Layout, classes: int, length: int, graph=(32, 48, 64)):
        super().__init__()
        self.length = length
        self.joints, self.channels = layout.joints, layout.channels
        self.register_buffer("perm", torch.tensor(layout.perm, dtype=torch.long))
        self.joint_embed = nn.Parameter(torch.zeros(layout.joints, layout.channels))
        chans = [layout.channels] + list(graph)
        self.graph = nn.ModuleList([GraphBlock(layout, chans[i], chans[i + 1], 1 << min(i, 2)) for i in range(len(graph))])
        self.cls = nn.Linear(2 * graph[-1], classes)
        self.drop = nn.Dropout(0.3)

    def logits(self, f: torch.Tensor) -> torch.Tensor:
        b, t, _ = f.shape
        x = f[:, :, self.perm].reshape(b, t, self.joints, self.channels) + self.joint_embed
        for g in self.graph:
            x = g(x)
        x = torch.cat([x.mean(dim=(1, 2)), x.amax(dim=(1, 2))], dim=1)
        return self.cls(self.drop(x))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        # Any length in: resampled to the trained length (linear in time).
        x = F.interpolate(f.transpose(1, 2), size=self.length, mode="linear", align_corners=True).transpose(1, 2)
        z = self.logits(x)
        z[:, 0] = -1e9
        return torch.softmax(z, dim=1)


def fixed_length(x: np.ndarray, length: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Frames lo..hi (fractions) of x resampled to `length` frames."""
    n = len(x)
    src = np.linspace(lo * (n - 1), hi * (n - 1), length)
    a = np.floor(src).astype(int).clip(0, n - 1)
    b = (a + 1).clip(0, n - 1)
    w = (src - a)[:, None]
    return (x[a] * (1 - w) + x[b] * w).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trimmed", required=True)
    ap.add_argument("--world", required=True, help="the benchmark world (mapping.txt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--layout", default="msr20", choices=sorted(LAYOUTS))
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--rotate", type=float, default=20.0)
    ap.add_argument("--mirror", action="store_true", help="also mirror left/right (not for handed actions)")
    ap.add_argument("--joint-dropout", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--val-subjects", default="",
                    help="comma-separated training subjects held out to choose settings: trains on the others and "
                         "reports accuracy on them (the test split is not read)")
    ap.add_argument("--results", default="")
    args = ap.parse_args()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    names = read_mapping(args.world)
    layout = LAYOUTS[args.layout]
    train = read_trimmed(args.trimmed, "train", names)
    if args.val_subjects:
        held = {int(x) for x in args.val_subjects.split(",")}
        train, test = [c for c in train if c.subject not in held], [c for c in train if c.subject in held]
        if not test:
            raise SystemExit(f"train_skeleton_clip: no training sequence of subjects {sorted(held)}")
        evaluated = f"val (subjects {args.val_subjects})"
    else:
        test = read_trimmed(args.trimmed, "test", names)
        evaluated = "test"
    model = SkeletonClipRecognizer(layout, len(names), args.length)
    rng = np.random.default_rng(args.seed)
    if not args.mirror:
        layout = Layout(layout.name, layout.joints, layout.channels, layout.edges, list(range(layout.joints)),
                        layout.perm, layout.pos, layout.vel, layout.score)

    def batch():
        xs, ys = [], []
        for _ in range(args.batch):
            c = train[int(rng.integers(len(train)))]
            keep = rng.uniform(0.8, 1.0)
            lo = rng.uniform(0, 1 - keep)
            x = fixed_length(c.feats, args.length, lo, lo + keep)
            xs.append(augment(x, layout, rng, args.joint_dropout, args.rotate))
            ys.append(int(c.labels[0]))
        return torch.from_numpy(np.stack(xs)), torch.tensor(ys)

    def loss_fn(_step: int) -> torch.Tensor:
        model.train()
        x, y = batch()
        return F.cross_entropy(model.logits(x), y, label_smoothing=0.1)

    start = time.time()
    train_steps(model, args.steps, args.lr, 1e-2, loss_fn, "clip", every=50)
    train_s = time.time() - start
    model.eval()
    with torch.no_grad():
        correct = sum(int(int(model(torch.from_numpy(c.feats)[None])[0].argmax()) == int(c.labels[0])) for c in test)
    acc = round(100.0 * correct / len(test), 1)
    print(f"clip recognition ({len(test)} trimmed {evaluated} sequences): {acc} %")
    manifest = {"name": "skeleton-clip-gcn", "kind": "clip_recognizer", "labels": names, "background": 0,
                "feature_dim": int(train[0].feats.shape[1]), "length": args.length,
                "feature_layout": layout.name,
                "training": {"trimmed": os.path.abspath(args.trimmed), "steps": args.steps, "seed": args.seed,
                             "train_seconds": round(train_s)},
                "evaluated": {"on": evaluated, "clip_accuracy": acc, "sequences": len(test)}}
    export(model, manifest, args.out)
    if args.results:
        with open(args.results, "a") as f:
            f.write(json.dumps({"model": "skeleton-clip-gcn", "on": evaluated, "clip_accuracy": acc, "steps": args.steps,
                                "length": args.length, "seed": args.seed,
                                "train_seconds": round(train_s), "mirror": args.mirror, "rotate": args.rotate}) + "\n")


if __name__ == "__main__":
    main()
