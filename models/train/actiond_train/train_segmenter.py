"""Trains the streaming segmenter (after ASQuery) on backbone features of the workbench world.

Model: a causal temporal encoder (dilated causal convolutions) over the buffered window; its output is
shifted by `lookahead` frames, so frame t is described with what was seen up to t + lookahead; learned
action queries (one per class) and a boundary query go through a small transformer decoder
(self-attention among queries, cross-attention to the frames); scores = sigmoid(MLP(query) . frame
embedding / sqrt(H)). Losses: focal + dice on the action masks, BCE on Gaussian-smoothed boundary
targets. It is trained on windows that end at random points of the videos, with random lengths, so
it learns to decide with the history the daemon actually has.

In the daemon, forward(float [B,T,D]) -> (probs [B,T,C], boundary [B,T]); the daemon decides frame
T-1-lookahead of each window.

Usage: train_segmenter.py --world DIR --features DIR --out segmenter.pt [--lookahead 4] [--steps 3000]
"""
import argparse
import math
import time
from typing import List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from actiond_train.common import add_common_args, export, load_arrays, read_split, setup, train_steps


class CausalConv(torch.nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.pad = 2 * dilation
        self.conv = torch.nn.Conv1d(channels, channels, 3, dilation=dilation)
        self.norm = torch.nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B,H,T]
        y = self.conv(F.pad(x, (self.pad, 0)))
        y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return x + torch.relu(y)


class StreamingSegmenter(torch.nn.Module):
    def __init__(self, feature_dim: int, classes: int, hidden: int = 64, lookahead: int = 4, layers: int = 2):
        super().__init__()
        self.classes = classes
        self.lookahead = lookahead
        self.hidden = hidden
        self.inp = torch.nn.Linear(feature_dim * 2, hidden)
        self.encoder = torch.nn.ModuleList([CausalConv(hidden, d) for d in (1, 2, 4, 8)])
        self.queries = torch.nn.Parameter(torch.randn(classes + 1, hidden) * 0.1)
        layer = torch.nn.TransformerDecoderLayer(hidden, nhead=4, dim_feedforward=hidden * 2, dropout=0.1,
                                                 batch_first=True)
        self.decoder = torch.nn.TransformerDecoder(layer, layers)
        self.query_mlp = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                             torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                             torch.nn.Linear(hidden, hidden))
        self.frame_proj = torch.nn.Linear(hidden, hidden)

    def scores(self, f: torch.Tensor) -> torch.Tensor:
        """float [B,T,D] -> logits [B,T,C+1] (last = boundary)."""
        motion = torch.cat([torch.zeros_like(f[:, :1]), f[:, 1:] - f[:, :-1]], dim=1)
        x = self.inp(torch.cat([f, motion], dim=2)).transpose(1, 2)  # [B,H,T]
        for block in self.encoder:
            x = block(x)
        e = x.transpose(1, 2)  # [B,T,H], causal
        t = e.shape[1]
        if self.lookahead > 0:
            # Frame t is described by the encoder state at t + lookahead (clamped at the window's end).
            idx = torch.clamp(torch.arange(t, device=e.device) + self.lookahead, max=t - 1)
            e = e[:, idx]
        q = self.queries.unsqueeze(0).expand(e.shape[0], -1, -1)
        q = self.decoder(q, e)
        emb = self.query_mlp(q)  # [B,Q,H]
        frames = self.frame_proj(e)  # [B,T,H]
        return torch.einsum("bqh,bth->btq", emb, frames) / math.sqrt(self.hidden)

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        s = torch.sigmoid(self.scores(f))
        return s[:, :, : self.classes], s[:, :, self.classes]


def boundary_targets(labels: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    b = np.zeros(len(labels), dtype=np.float32)
    for t in np.nonzero(labels[1:] != labels[:-1])[0] + 1:
        lo, hi = max(0, t - 4), min(len(labels), t + 5)
        for u in range(lo, hi):
            b[u] = max(b[u], math.exp(-((u - t) ** 2) / (2 * sigma * sigma)))
    return b


def sample_windows(data: List[Tuple[np.ndarray, np.ndarray, np.ndarray]], batch: int, window: int,
                   rng: np.random.Generator):
    """Windows ending at random frames, of random length (short ones = the start of a stream)."""
    xs, ys, bs, ms = [], [], [], []
    for _ in range(batch):
        feats, labels, bounds = data[rng.integers(len(data))]
        end = int(rng.integers(1, len(feats) + 1))
        length = int(min(end, window if rng.random() < 0.8 else rng.integers(4, window + 1)))
        sl = slice(end - length, end)
        pad = window - length
        xs.append(np.pad(feats[sl], ((pad, 0), (0, 0))))
        ys.append(np.pad(labels[sl], (pad, 0)))
        bs.append(np.pad(bounds[sl], (pad, 0)))
        ms.append(np.pad(np.ones(length, dtype=np.float32), (pad, 0)))
    return (torch.from_numpy(np.stack(xs)).float(), torch.from_numpy(np.stack(ys)).long(),
            torch.from_numpy(np.stack(bs)).float(), torch.from_numpy(np.stack(ms)).float())


def losses(logits: torch.Tensor, labels: torch.Tensor, bounds: torch.Tensor, mask: torch.Tensor,
           classes: int, lookahead: int, decided_weight: float) -> torch.Tensor:
    act = logits[:, :, :classes]
    target = F.one_hot(labels, classes).float()
    m = mask.unsqueeze(2)
    p = torch.sigmoid(act)
    ce = F.binary_cross_entropy_with_logits(act, target, reduction="none")
    pt = p * target + (1 - p) * (1 - target)
    focal = (((1 - pt) ** 2) * ce * m).sum() / m.sum()
    inter = (p * target * m).sum(dim=1)
    dice = 1 - (2 * inter + 1) / ((p * m).sum(dim=1) + (target * m).sum(dim=1) + 1)
    present = (target * m).sum(dim=1) > 0
    dice = dice[present].mean() if present.any() else dice.sum() * 0
    bce = (F.binary_cross_entropy_with_logits(logits[:, :, classes], bounds, reduction="none") * mask).sum() / mask.sum()
    # The daemon decides frame T-1-lookahead of each window: a softmax loss there, as its argmax is what counts.
    at = logits.shape[1] - 1 - lookahead
    valid = mask[:, at] > 0
    decided = F.cross_entropy(act[valid, at], labels[valid, at]) if valid.any() else act.sum() * 0
    return focal * 10 + dice + bce + decided_weight * decided


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--features", required=True, help="output of actiond extract --model BACKBONE")
    ap.add_argument("--window", type=int, default=40)
    ap.add_argument("--lookahead", type=int, default=4, help="frames of look-ahead (at 5 fps, 4 = 0.8 s)")
    ap.add_argument("--minutes", type=float, default=0.0, help="at most about this long (fewer steps; 0 = no limit)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--decided-weight", type=float, default=1.0,
                    help="weight of the softmax loss on the frame the daemon decides (T-1-lookahead)")
    ap.add_argument("--feature-dropout", type=float, default=0.2,
                    help="dropout on input features while training (test features are noisier than training ones)")
    args = ap.parse_args()
    names = setup(args)
    train = [(f.astype(np.float32), l, boundary_targets(l))
             for f, l in load_arrays(args.features, args.world, read_split(args.world, "train"), names, "features",
                                     args.video_fps)]
    dim = train[0][0].shape[1]
    print(f"segmenter: {len(train)} training videos, {sum(len(f) for f, _, _ in train)} frames, D={dim}")
    model = StreamingSegmenter(dim, len(names), lookahead=args.lookahead)
    rng = np.random.default_rng(args.seed)
    start = time.time()

    def loss_fn(_step: int) -> torch.Tensor:
        x, y, b, m = sample_windows(train, args.batch, args.window, rng)
        x = F.dropout(x, args.feature_dropout, training=True)
        return losses(model.scores(x), y, b, m, len(names), args.lookahead, args.decided_weight)

    args.steps = train_steps(model, args.steps, 2e-3, 1e-4, loss_fn, "segmenter", minutes=args.minutes)
    print(f"segmenter: trained in {time.time() - start:.0f} s")
    export(model, {
        "kind": "segmenter", "name": "workbench-asquery-lite", "version": "1",
        "feature_dim": int(dim), "labels": names, "background": 0,
        "window": args.window, "lookahead": args.lookahead,
        "training": {"seed": args.seed, "steps": args.steps, "videos": len(train),
                     "decided_weight": args.decided_weight, "feature_dropout": args.feature_dropout},
    }, args.out)


if __name__ == "__main__":
    main()
