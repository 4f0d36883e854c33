#!/usr/bin/python3
"""Builds the tiny, deterministic TorchScript models used by the tests and the demo.

They have no learned weights: the backbone summarises colour (per-channel mean and spread), and the
segmenter labels frames by their dominant colour (background / red / green / blue), and scores boundaries by the change of features between frames. That is enough
to drive the whole path from decoder to events with predictable results on the test camera
(test://pattern?cycle=black,red,...). A later issue replaces the demo's models with trained ones.

With --zoo, also DIR/zoo/NAME-{segmenter,recognizer}.pt for every model of actiond_train.zoo (models/train)
and for "ensemble" (the mean of the tcn and gru segmenters; the gru recognizer),
trained for a few seconds on synthetic feature streams (8-d, labels 1..3 = a high value in dimension
0..2, background = none) so that they produce predictable events on such streams.

Usage: /usr/bin/python3 scripts/make_tiny_models.py --out DIR [--size 112] [--broken] [--zoo]
Writes DIR/backbone.pt, DIR/segmenter.pt, DIR/recognizer.pt and DIR/pose_walking.pt (a walking
segmenter over per-person pose features), each with its manifest.json inside.
"""
import argparse
import json
import os
import shutil
from typing import Tuple

import sys

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_DIM = 8
LABELS = ["background", "red", "green", "blue"]


class ColourBackbone(torch.nn.Module):
    """uint8 [N,H,W,3] -> float [N,8]: channel means, channel std, mean range, constant 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32) / 255.0
        flat = x.reshape(x.shape[0], -1, 3)
        mean = flat.mean(dim=1)
        std = flat.std(dim=1, unbiased=False)
        spread = mean.max(dim=1).values - mean.min(dim=1).values
        ones = torch.ones_like(spread)
        return torch.cat([mean, std, spread.unsqueeze(1), ones.unsqueeze(1)], dim=1)


class ColourSegmenter(torch.nn.Module):
    """float [B,T,8] -> (probs [B,T,4], boundary [B,T])."""

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        mean = f[:, :, 0:3]
        r, g, b = mean[:, :, 0], mean[:, :, 1], mean[:, :, 2]
        sat_r = r - torch.maximum(g, b)
        sat_g = g - torch.maximum(r, b)
        sat_b = b - torch.maximum(r, g)
        sat = torch.stack([sat_r, sat_g, sat_b], dim=2)
        bg = 0.2 - sat.max(dim=2).values
        logits = 20.0 * torch.cat([bg.unsqueeze(2), sat], dim=2)  # [B,T,4]
        probs = torch.softmax(logits, dim=2)
        diff = (f[:, 1:, 0:7] - f[:, :-1, 0:7]).abs().sum(dim=2)
        diff = torch.cat([torch.zeros_like(diff[:, :1]), diff], dim=1)
        boundary = torch.sigmoid(10.0 * (diff - 0.3))
        return probs, boundary


class ColourRecognizer(torch.nn.Module):
    """float [B,T,8] -> probs [B,4]: the colour segmenter's probabilities averaged over the clip."""

    def __init__(self):
        super().__init__()
        self.frames = ColourSegmenter()

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        probs, _ = self.frames(f)
        return probs.mean(dim=1)


POSE_FEATURE_DIM = 17 * 5  # per keypoint (x, y, vx, vy, score): daemon/analysis/pose_features.hpp
LEG_KEYPOINTS = [13, 14, 15, 16]  # knees and ankles


class StepSegmenter(torch.nn.Module):
    """Pose features [B,T,85] -> (probs [B,T,2] background/walking, boundary [B,T]): a person walks when
    knees and ankles move against the hips (mean speed over the last 3 frames, in torso lengths per
    frame, above 0.08). A rule, not a trained model: it drives per-person segments in tests."""

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        speeds = []
        for k in [13, 14, 15, 16]:
            vx = f[:, :, k * 5 + 2]
            vy = f[:, :, k * 5 + 3]
            speeds.append(torch.sqrt(vx * vx + vy * vy))
        speed = torch.stack(speeds, dim=2).mean(dim=2)  # [B,T]
        padded = torch.cat([speed[:, :1], speed[:, :1], speed], dim=1)
        smooth = (padded[:, 2:] + padded[:, 1:-1] + padded[:, :-2]) / 3.0
        walking = torch.sigmoid(40.0 * (smooth - 0.08))
        probs = torch.stack([1.0 - walking, walking], dim=2)
        return probs, torch.zeros_like(walking)


def save(module: torch.nn.Module, manifest: dict, path: str) -> None:
    scripted = torch.jit.script(module)
    torch.jit.save(scripted, path, _extra_files={"manifest.json": json.dumps(manifest, indent=2)})


class WrongWidthBackbone(torch.nn.Module):
    """A backbone whose output (5 features) contradicts its manifest (8)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32).mean(dim=(1, 2)).repeat(1, 2)[:, :5]


class SlowBackbone(torch.nn.Module):
    """ColourBackbone plus ~100 ms of matrix products per frame: a model slower than its camera."""

    def __init__(self, work: int):
        super().__init__()
        self.inner = ColourBackbone()
        self.work = work

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.ones(256, 256) * (x.to(torch.float32).mean() + 1.0) / 256.0
        for _ in range(x.shape[0] * self.work):
            a = torch.tanh(torch.mm(a, a))  # each step needs the previous one: no shortcut
        return self.inner(x) + a.sum() * 0.0


class TrapSegmenter(torch.nn.Module):
    """The colour segmenter that raises (a TorchScript exception, not a LibTorch error) while its window
    holds a row whose dimension 6 is above 5: a model that fails on some input."""

    def __init__(self):
        super().__init__()
        self.inner = ColourSegmenter()

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if bool((f[:, :, 6] > 5.0).any()):
            raise RuntimeError("trap row in the window")
        return self.inner(f)


def write_broken(out: str, size: int) -> None:
    """Fixtures for the daemon's refusal tests: each file is wrong in exactly one way."""
    scripted = torch.jit.script(ColourBackbone())
    torch.jit.save(scripted, os.path.join(out, "no_manifest.pt"))
    save(WrongWidthBackbone(), {
        "kind": "backbone", "name": "wrong-width", "version": "1",
        "input": {"width": size, "height": size, "format": "RGB"}, "feature_dim": FEATURE_DIM,
    }, os.path.join(out, "wrong_output.pt"))
    save(ColourSegmenter(), {
        "kind": "segmenter", "name": "wide-seg", "version": "1",
        "feature_dim": 16, "labels": LABELS, "background": 0, "window": 16, "lookahead": 1,
    }, os.path.join(out, "segmenter_dim16.pt"))
    save(SlowBackbone(work=200), {
        "kind": "backbone", "name": "slow-colour", "version": "1",
        "input": {"width": size, "height": size, "format": "RGB"}, "feature_dim": FEATURE_DIM,
    }, os.path.join(out, "slow_backbone.pt"))
    save(TrapSegmenter(), {
        "kind": "segmenter", "name": "trap-seg", "version": "1",
        "feature_dim": FEATURE_DIM, "labels": LABELS, "background": 0, "window": 16, "lookahead": 1,
    }, os.path.join(out, "trap_segmenter.pt"))
    with open(os.path.join(out, "not_torchscript.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


def synthetic_stream(rng: np.random.Generator, frames: int) -> Tuple[np.ndarray, np.ndarray]:
    """Segments of 8-30 frames; label k in 1..3 sets dimension k-1 high; background sets none."""
    labels = []
    while len(labels) < frames:
        labels += [int(rng.integers(0, 4))] * int(rng.integers(8, 31))
    y = np.asarray(labels[:frames])
    x = rng.normal(0, 0.1, (frames, FEATURE_DIM)).astype(np.float32)
    for k in range(1, 4):
        x[y == k, k - 1] += 1.0
    x[:, 7] = 1.0
    return x, y


def write_zoo(out: str) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "train"))
    from actiond_train import zoo
    os.makedirs(os.path.join(out, "zoo"), exist_ok=True)
    rng = np.random.default_rng(0)
    window = 16
    for name in zoo.MODELS:
        torch.manual_seed(0)
        model = zoo.build(name, FEATURE_DIM, len(LABELS))
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(60):
            xs, ys = zip(*(synthetic_stream(rng, window) for _ in range(16)))
            x, y = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)).long()
            loss = F.cross_entropy(model.frame_logits(x).reshape(-1, len(LABELS)), y.reshape(-1)) + model.aux_loss().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        common = {"version": "1", "feature_dim": FEATURE_DIM, "labels": LABELS, "background": 0, "window": window}
        save(zoo.OnlineSegmenter(model), dict(common, kind="segmenter", name=f"tiny-{name}", lookahead=0),
             os.path.join(out, "zoo", f"{name}-segmenter.pt"))
        save(zoo.OnlineRecognizer(model), dict(common, kind="recognizer", name=f"tiny-{name}"),
             os.path.join(out, "zoo", f"{name}-recognizer.pt"))
    # The default path's kind of segmenter: the mean of two members' probabilities (actiond_train.ensemble).
    from actiond_train.ensemble import Ensemble
    members = [torch.jit.load(os.path.join(out, "zoo", f"{m}-segmenter.pt")) for m in ("tcn", "gru")]
    save(Ensemble(members, [0.5, 0.5]), dict(common, kind="segmenter", name="tiny-ensemble", lookahead=0),
         os.path.join(out, "zoo", "ensemble-segmenter.pt"))
    shutil.copyfile(os.path.join(out, "zoo", "gru-recognizer.pt"), os.path.join(out, "zoo", "ensemble-recognizer.pt"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--size", type=int, default=112, help="backbone input width and height")
    ap.add_argument("--broken", action="store_true", help="also write deliberately broken models for tests")
    ap.add_argument("--zoo", action="store_true", help="also write briefly trained zoo models (DIR/zoo)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    save(ColourBackbone(), {
        "kind": "backbone", "name": "tiny-colour", "version": "1",
        "input": {"width": args.size, "height": args.size, "format": "RGB"},
        "feature_dim": FEATURE_DIM,
    }, os.path.join(args.out, "backbone.pt"))
    save(ColourSegmenter(), {
        "kind": "segmenter", "name": "tiny-colour-seg", "version": "1",
        "feature_dim": FEATURE_DIM, "labels": LABELS, "background": 0,
        "window": 16, "lookahead": 1,
    }, os.path.join(args.out, "segmenter.pt"))
    save(ColourRecognizer(), {
        "kind": "recognizer", "name": "tiny-colour-clip", "version": "1",
        "feature_dim": FEATURE_DIM, "labels": LABELS, "background": 0, "window": 8,
    }, os.path.join(args.out, "recognizer.pt"))
    save(ColourSegmenter(), {  # the same segmenter under other names: a camera's labels change on reload
        "kind": "segmenter", "name": "tiny-colour-seg-renamed", "version": "1",
        "feature_dim": FEATURE_DIM, "labels": ["background", "pour", "stir", "wipe"], "background": 0,
        "window": 16, "lookahead": 1,
    }, os.path.join(args.out, "segmenter_renamed.pt"))
    save(StepSegmenter(), {
        "kind": "segmenter", "name": "tiny-pose-walking", "version": "1",
        "feature_dim": POSE_FEATURE_DIM, "labels": ["background", "walking"], "background": 0,
        "window": 8, "lookahead": 0,
    }, os.path.join(args.out, "pose_walking.pt"))
    if args.broken:
        write_broken(args.out, args.size)
    if args.zoo:
        write_zoo(args.out)
    print(f"tiny models written to {args.out}")


if __name__ == "__main__":
    main()
