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

from actiond_train.common import (Progress, add_common_args, export, fit_steps, load_arrays, read_split,
                                  seconds_per_step, setup)


class FrameBackbone(torch.nn.Module):
    def __init__(self, classes: int, feature_dim: int = 128):
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> torch.nn.Sequential:
            return torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                       torch.nn.BatchNorm2d(cout), torch.nn.ReLU(inplace=True))

        self.body = torch.nn.Sequential(block(3, 16, 2), block(16, 32, 2), block(32, 48, 2), block(48, 64, 1))
        self.squeeze = torch.nn.Conv2d(64, 8, 1)
        self.embed = torch.nn.Linear(64 + 8 * 16, feature_dim)
        self.head = torch.nn.Linear(feature_dim, classes)  # training only: this frame's label
        # Training only: the label of frame t from (f_t, f_t - f_{t-k}), so that feature differences, which the
        # segmenter reads as motion, separate the classes that single frames cannot (take vs. put back).
        self.pair_head = torch.nn.Sequential(torch.nn.Linear(2 * feature_dim, feature_dim), torch.nn.ReLU(),
                                             torch.nn.Linear(feature_dim, classes))
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


def augment(x: torch.Tensor, gen: torch.Generator, groups: int = 8) -> torch.Tensor:
    """uint8 [N,H,W,3] -> float [N,H,W,3]: shifted by up to 3 px and with brightness/contrast jitter.
    Row i and row i + N/2 (the two frames of a pair) get the same draw; `groups` draws per batch keep it cheap."""
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    half = n // 2
    pad = 3
    xp = F.pad(x.permute(0, 3, 1, 2).float(), (pad, pad, pad, pad), mode="replicate")
    out = torch.empty(n, 3, h, w)
    bounds = np.linspace(0, half, groups + 1).astype(int)
    for g in range(groups):
        dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=gen))
        for lo, hi in ((bounds[g], bounds[g + 1]), (half + bounds[g], half + bounds[g + 1])):
            out[lo:hi] = xp[lo:hi, :, dy:dy + h, dx:dx + w]
    gain = 0.8 + 0.4 * torch.rand(half, 1, 1, 1, generator=gen)
    bias = 20 * (torch.rand(half, 1, 1, 1, generator=gen) - 0.5)
    out = out * gain.repeat(2, 1, 1, 1) + bias.repeat(2, 1, 1, 1)
    return out.clamp(0, 255).permute(0, 2, 3, 1)


def pairs_index(videos, gap: int):
    """(current, previous) global indices of frame pairs `gap` apart within each video."""
    cur, prev, offset = [], [], 0
    for frames, _ in videos:
        n = len(frames)
        t = np.arange(n)
        cur.append(t + offset)
        prev.append(np.maximum(t - gap, 0) + offset)
        offset += n
    return torch.from_numpy(np.concatenate(cur)), torch.from_numpy(np.concatenate(prev))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--frames", required=True, help="output of actiond extract --frames")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=0.0, help="at most about this long (fewer epochs; 0 = no limit)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pair-gap", type=int, default=2, help="frames between the two frames of a motion pair")
    ap.add_argument("--pair-weight", type=float, default=1.0, help="weight of the motion-pair loss")
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

    cur, prev = pairs_index(train, args.pair_gap)
    tcur, tprev = pairs_index(test, args.pair_gap)
    gen = torch.Generator().manual_seed(args.seed)
    model = FrameBackbone(len(names))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)

    def batch_loss(idx):
        both = augment(torch.cat([x[cur[idx]], x[prev[idx]]]), gen)
        f = model.features(both)
        fc, fp = f[: len(idx)], f[len(idx):]
        return F.cross_entropy(model.head(fc), y[cur[idx]]) + args.pair_weight * F.cross_entropy(
            model.pair_head(torch.cat([fc, fc - fp], dim=1)), y[cur[idx]])

    if args.minutes > 0:
        per_epoch = seconds_per_step(model, lambda: batch_loss(torch.arange(min(args.batch, len(x))))) * (
            (len(x) + args.batch - 1) // args.batch)
        args.epochs = fit_steps(args.epochs, args.minutes, per_epoch, "backbone epochs", least=1)
    steps = args.epochs * ((len(x) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    bar = Progress(steps, "backbone")
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), args.batch):
            loss = batch_loss(perm[i:i + args.batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.step(f"epoch {epoch + 1} loss {loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        ft = torch.cat([model.features(xt[i:i + 256]) for i in range(0, len(xt), 256)])
    acc = (model.head(ft).argmax(1) == yt).float().mean().item() * 100
    pair_acc = (model.pair_head(torch.cat([ft[tcur], ft[tcur] - ft[tprev]], dim=1)).argmax(1) == yt).float().mean()
    pair_acc = pair_acc.item() * 100
    print(f"backbone: test split frame accuracy {acc:.1f}% from single frames (motion-only classes are ambiguous), "
          f"{pair_acc:.1f}% from frame pairs {args.pair_gap} apart, {time.time() - start:.0f} s")
    export(model, {
        "kind": "backbone", "name": "workbench-cnn", "version": "1",
        "input": {"width": int(w), "height": int(h), "format": "RGB"},
        "feature_dim": model.embed.out_features,
        "training": {"seed": args.seed, "epochs": args.epochs, "frames": int(len(x)),
                     "test_frame_accuracy": round(acc, 1), "test_pair_accuracy": round(pair_acc, 1),
                     "pair_gap": args.pair_gap},
    }, args.out)


if __name__ == "__main__":
    main()
