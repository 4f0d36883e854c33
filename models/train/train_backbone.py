#!/usr/bin/python3
"""Trains the frame backbone from scratch on model-input frames of the workbench world.

The frames come from `actiond extract --frames WxH`, i.e. through the daemon's own GStreamer decode
and resize path. The exported model takes uint8 [N,H,W,3] and returns float [N,D] features: a global
descriptor plus a coarse spatial grid, so the segmenter can see where the hand and objects are (and,
over time, where they move).

Usage: train_backbone.py --world DIR --frames DIR --out backbone.pt [--epochs 8] [--seed 1]
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import Progress, add_common_args, export, load_arrays, read_split, setup


class FrameBackbone(torch.nn.Module):
    def __init__(self, classes: int, feature_dim: int = 128):
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> torch.nn.Sequential:
            return torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                       torch.nn.BatchNorm2d(cout), torch.nn.ReLU(inplace=True))

        self.body = torch.nn.Sequential(block(3, 16, 2), block(16, 32, 2), block(32, 48, 2), block(48, 64, 1))
        self.squeeze = torch.nn.Conv2d(64, 8, 1)
        self.embed = torch.nn.Linear(64 + 8 * 16, feature_dim)
        self.head = torch.nn.Linear(feature_dim, classes)  # training only
        self.register_buffer("mean", torch.tensor([0.5, 0.45, 0.4]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        x = (x - self.mean) / self.std
        h = self.body(x)
        pooled = h.mean(dim=(2, 3))
        grid = F.adaptive_avg_pool2d(self.squeeze(h), 4).flatten(1)
        return torch.relu(self.embed(torch.cat([pooled, grid], dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--frames", required=True, help="output of actiond extract --frames")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    names = setup(args)
    train = load_arrays(args.frames, args.world, read_split(args.world, "train"), names, "frames", args.video_fps)
    test = load_arrays(args.frames, args.world, read_split(args.world, "test"), names, "frames", args.video_fps)
    x = torch.from_numpy(np.concatenate([a for a, _ in train]))
    y = torch.from_numpy(np.concatenate([l for _, l in train])).long()
    xt = torch.from_numpy(np.concatenate([a for a, _ in test]))
    yt = torch.from_numpy(np.concatenate([l for _, l in test])).long()
    h, w = x.shape[1], x.shape[2]
    print(f"backbone: {len(x)} train frames, {len(xt)} test frames, {h}x{w}, {len(names)} classes")

    model = FrameBackbone(len(names))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = args.epochs * ((len(x) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    bar = Progress(steps, "backbone")
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), args.batch):
            idx = perm[i:i + args.batch]
            logits = model.head(model.features(x[idx]))
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.step(f"epoch {epoch + 1} loss {loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model.head(model.features(xt[i:i + 256])).argmax(1) for i in range(0, len(xt), 256)])
    acc = (pred == yt).float().mean().item() * 100
    print(f"backbone: frame accuracy on the test split {acc:.1f}% (single frames; motion-only classes are ambiguous), "
          f"{time.time() - start:.0f} s")
    export(model, {
        "kind": "backbone", "name": "workbench-cnn", "version": "1",
        "input": {"width": int(w), "height": int(h), "format": "RGB"},
        "feature_dim": model.embed.out_features,
        "training": {"seed": args.seed, "epochs": args.epochs, "frames": int(len(x)),
                     "test_frame_accuracy": round(acc, 1)},
    }, args.out)


if __name__ == "__main__":
    main()
