"""Trains the clip recognizer baseline (TSN-style) on backbone features of the workbench world.

Model: the clip's frame features, plus their frame-to-frame differences (motion), are averaged over
`segments` equal parts of the clip (TSN's segmental consensus keeps coarse order: "reach then lift"
differs from "lift then reach"), concatenated and classified by a small MLP. Target: the majority
label of the clip. It answers "what is happening in the last few seconds" (`recognition` events);
the segmenter answers "when does each action start and end".

In the daemon, forward(float [B,T,D]) -> probs [B,C] over the latest `window` frames.

Usage: train_recognizer.py --world DIR --features DIR --out recognizer.pt [--window 16] [--steps 3000]
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from actiond_train.common import add_common_args, export, load_arrays, read_split, setup, train_steps


class ClipRecognizer(torch.nn.Module):
    def __init__(self, feature_dim: int, classes: int, segments: int = 4, hidden: int = 128):
        super().__init__()
        self.segments = segments
        self.mlp = torch.nn.Sequential(torch.nn.Linear(2 * feature_dim * segments, hidden), torch.nn.ReLU(),
                                       torch.nn.Dropout(0.2), torch.nn.Linear(hidden, classes))

    def logits(self, f: torch.Tensor) -> torch.Tensor:
        motion = torch.cat([torch.zeros_like(f[:, :1]), f[:, 1:] - f[:, :-1]], dim=1)
        x = torch.cat([f, motion], dim=2)  # [B,T,2D]
        t = x.shape[1]
        parts = []
        for k in range(self.segments):
            lo = (k * t) // self.segments
            hi = max(lo + 1, ((k + 1) * t) // self.segments)
            parts.append(x[:, lo:hi].mean(dim=1))
        return self.mlp(torch.cat(parts, dim=1))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(f), dim=1)


def clips(data, window: int, rng: np.random.Generator, batch: int):
    xs, ys = [], []
    for _ in range(batch):
        feats, labels = data[rng.integers(len(data))]
        end = int(rng.integers(window, len(feats) + 1))
        xs.append(feats[end - window:end])
        ys.append(np.bincount(labels[end - window:end]).argmax())
    return torch.from_numpy(np.stack(xs)).float(), torch.from_numpy(np.asarray(ys)).long()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--features", required=True, help="output of actiond extract --model BACKBONE")
    ap.add_argument("--window", type=int, default=16, help="clip length in analysed frames (16 at 5 fps = 3.2 s)")
    ap.add_argument("--minutes", type=float, default=0.0, help="at most about this long (fewer steps; 0 = no limit)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    names = setup(args)
    load = lambda split: [(f.astype(np.float32), l) for f, l in load_arrays(  # noqa: E731
        args.features, args.world, read_split(args.world, split), names, "features", args.video_fps)]
    train, test = load("train"), load("test")
    dim = train[0][0].shape[1]
    train = [(f, l) for f, l in train if len(f) >= args.window]  # the daemon recognises full clips only
    test = [(f, l) for f, l in test if len(f) >= args.window]
    if not train:
        raise SystemExit(f"recognizer: every training video is shorter than a clip ({args.window} analysed frames): "
                         f"label longer recordings")
    model = ClipRecognizer(dim, len(names))
    rng = np.random.default_rng(args.seed)
    start = time.time()

    def loss_fn(_step: int) -> torch.Tensor:
        x, y = clips(train, args.window, rng, args.batch)
        return F.cross_entropy(model.logits(F.dropout(x, 0.2, training=True)), y)

    args.steps = train_steps(model, args.steps, 2e-3, 1e-3, loss_fn, "recognizer", clip=0, minutes=args.minutes)
    # Every clip of the test split (one per end frame), as the daemon sees them.
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for feats, labels in test:
            windows = np.stack([feats[e - args.window:e] for e in range(args.window, len(feats) + 1)])
            target = np.asarray([np.bincount(labels[e - args.window:e]).argmax()
                                 for e in range(args.window, len(feats) + 1)])
            pred = model(torch.from_numpy(windows)).argmax(1).numpy()
            correct += int((pred == target).sum())
            total += len(target)
    acc = 100.0 * correct / max(1, total)
    print(f"recognizer: clip accuracy on the test split {acc:.1f}% ({total} clips of {args.window} frames), "
          f"trained in {time.time() - start:.0f} s")
    export(model, {
        "kind": "recognizer", "name": "workbench-tsn-clip", "version": "1",
        "feature_dim": int(dim), "labels": names, "background": 0, "window": args.window,
        "training": {"seed": args.seed, "steps": args.steps, "videos": len(train),
                     "test_clip_accuracy": round(acc, 1)},
    }, args.out)


if __name__ == "__main__":
    main()
