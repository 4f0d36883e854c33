"""Trains a skeleton clip recognizer: the graph-convolution encoder of skeleton.py over a whole trimmed
sequence (resampled to a fixed length), pooled over time and joints, one label per clip. For
benchmarks of trimmed clips (MSR Action3D cross-subject: msr_action3d.py writes OUT/trimmed); the
daemon's online decisions come from train_skeleton.py's causal model.

Augmentations: rotation about the vertical axis / in the image plane, scale, speed and cropping
(a random 80-100 % of the clip, resampled), joint dropout, noise; mirror where the layout allows it.

Settings (1,000 steps, 24 frames, no mirror, an ensemble of 5 seeds, test-time crops 0-100 %, 0-90 %,
10-100 % averaged: the defaults) were chosen with --val-subjects 7,9 (docs/RESULTS.md).

Usage: train_skeleton_clip.py --trimmed DIR --world DIR --out clip.pt [--layout msr20] [--seeds 1,2,3,4,5]
"""
import argparse
import json
import os
import time
from typing import List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from actiond_train.common import export, read_mapping, seed_everything, train_steps
from actiond_train.skeleton import LAYOUTS, GraphBlock, Layout, augment
from actiond_train.train_skeleton import read_trimmed


class SkeletonClipRecognizer(nn.Module):
    """forward(float [B,T,D]) -> probs [B,C] (C includes background, never predicted)."""

    def __init__(self, layout: Layout, classes: int, length: int, graph=(32, 48, 64)):
        super().__init__()
        self.length = length
        # Test-time crops (fractions of the clip) whose probabilities are averaged; set after training.
        self.crops: List[Tuple[float, float]] = [(0.0, 1.0)]
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
        # Any length in: each crop resampled to the trained length (linear in time), probabilities averaged.
        n = f.shape[1]
        out = torch.zeros(0)
        for i, (lo, hi) in enumerate(self.crops):
            src = torch.linspace(lo * (n - 1), hi * (n - 1), self.length)
            a = src.floor().long().clamp(0, n - 1)
            b = (a + 1).clamp(0, n - 1)
            w = (src - a.to(src.dtype)).view(1, -1, 1)
            z = self.logits(f[:, a] * (1.0 - w) + f[:, b] * w)
            z[:, 0] = -1e9
            p = torch.softmax(z, dim=1)
            out = p if i == 0 else out + p
        return out / len(self.crops)


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
    ap.add_argument("--length", type=int, default=24)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--rotate", type=float, default=20.0)
    ap.add_argument("--mirror", action="store_true", help="also mirror left/right (not for handed actions)")
    ap.add_argument("--joint-dropout", type=float, default=0.05)
    ap.add_argument("--seeds", default="1,2,3,4,5", help="one member per seed; the model is their mean")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--val-subjects", default="",
                    help="comma-separated training subjects held out to choose settings: trains on the others and "
                         "reports accuracy on them (the test split is not read)")
    ap.add_argument("--crops", default="0:1,0:0.9,0.1:1",
                    help="test-time crops lo:hi (fractions of the clip), comma-separated; their probabilities are averaged")
    ap.add_argument("--results", default="")
    args = ap.parse_args()
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
    if not args.mirror:
        layout = Layout(layout.name, layout.joints, layout.channels, layout.edges, list(range(layout.joints)),
                        layout.perm, layout.pos, layout.vel, layout.score)
    seeds = [int(x) for x in args.seeds.split(",")]
    members, seconds = [], 0.0
    crops = parse_crops(args.crops)
    for seed in seeds:
        model, secs = train_one(args, layout, len(names), train, seed)
        model.crops = crops
        members.append(model)
        seconds += secs
    ensemble = Ensemble(members).eval()
    if args.val_subjects:  # the crop sets to choose from, on val
        for text in CROP_CHOICES:
            for m in members:
                m.crops = parse_crops(text)
            print(f"crops {text}: val {accuracy(ensemble, test)} % (each alone: {[accuracy(m, test) for m in members]})")
        for m in members:
            m.crops = crops
    singles = [accuracy(m, test) for m in members]
    acc = accuracy(ensemble, test)
    print(f"clip recognition ({len(test)} trimmed {evaluated} sequences): {acc} % "
          f"(ensemble of {len(seeds)}; each alone: {singles})")
    manifest = {"name": "skeleton-clip-gcn", "kind": "clip_recognizer", "labels": names, "background": 0,
                "feature_dim": int(train[0].feats.shape[1]), "length": args.length,
                "feature_layout": layout.name,
                "training": {"trimmed": os.path.abspath(args.trimmed), "steps": args.steps, "seeds": seeds,
                             "train_seconds": round(seconds), "mirror": args.mirror, "rotate": args.rotate,
                             "crops": args.crops},
                "evaluated": {"on": evaluated, "clip_accuracy": acc, "members": singles, "sequences": len(test)}}
    export(ensemble, manifest, args.out)
    if args.results:
        with open(args.results, "a") as f:
            f.write(json.dumps({"model": "skeleton-clip-gcn", "on": evaluated, "clip_accuracy": acc, "members": singles,
                                "steps": args.steps, "length": args.length, "seeds": seeds,
                                "train_seconds": round(seconds), "mirror": args.mirror, "rotate": args.rotate,
                                "crops": args.crops}) + "\n")


CROP_CHOICES = ["0:1", "0:1,0:0.9,0.1:1", "0:1,0.05:0.95,0:0.9,0.1:1", "0:1,0:0.8,0.2:1,0.1:0.9"]


def parse_crops(text: str) -> List[Tuple[float, float]]:
    out = []
    for part in text.split(","):
        try:
            lo, hi = (float(v) for v in part.split(":"))
        except ValueError:
            raise SystemExit(f"train_skeleton_clip: --crops: '{part}' is not lo:hi")
        if not 0.0 <= lo < hi <= 1.0:
            raise SystemExit(f"train_skeleton_clip: --crops: '{part}' needs 0 <= lo < hi <= 1")
        out.append((lo, hi))
    return out


class Ensemble(nn.Module):
    """The mean of its members' probabilities."""

    def __init__(self, members: List[SkeletonClipRecognizer]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(0)
        for i, m in enumerate(self.members):
            p = m(f)
            out = p if i == 0 else out + p
        return out / len(self.members)


def accuracy(model: nn.Module, clips) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum(int(int(model(torch.from_numpy(c.feats)[None])[0].argmax()) == int(c.labels[0])) for c in clips)
    return round(100.0 * correct / len(clips), 1)


def train_one(args, layout: Layout, classes: int, train, seed: int):
    """One member, trained from `seed` (the same seed gives the same model)."""
    seed_everything(seed)
    model = SkeletonClipRecognizer(layout, classes, args.length)
    rng = np.random.default_rng(seed)

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
    train_steps(model, args.steps, args.lr, 1e-2, loss_fn, f"clip seed {seed}", every=50)
    return model.eval(), time.time() - start

if __name__ == "__main__":
    main()
