"""Skeleton models over per-frame pose features (the daemon's 85 floats: 17 COCO keypoints x (x, y, vx,
vy, score), hip-centred and torso-scaled; daemon/analysis/pose_features.hpp) and the augmentations
skeleton work relies on.

SkeletonSegmenter: a spatial-temporal graph-convolution encoder (after ST-GCN: per frame, convolution
over the skeleton graph with a learned edge importance; per joint, causal temporal convolution), pooled
over the joints, then a causal dilated temporal head (as the ASQuery-style segmenter's encoder) whose
state at t + lookahead describes frame t. Heads: class logits and a repetition-start score.
forward(float [B,T,85]) -> (probs [B,T,C], boundary [B,T], repetition [B,T]); the probabilities are
temperature-calibrated and pass an out-of-distribution check: the distance of the frame embedding to
the nearest exercise (Mahalanobis, shared covariance of the training frames) moves probability mass
to background beyond a threshold chosen on held-out data, so footage unlike the training data yields
background. Both are buffers set after training (calibrate()).
"""
import math
from typing import List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

class Layout:
    """How a feature row holds a skeleton: `perm` reorders the row joint-major ([J, C]); `pos` and `vel`
    are the channels of position and velocity (x first), `vertical` the index of the up axis within them."""

    def __init__(self, name: str, joints: int, channels: int, edges, flip, perm, pos, vel, score: int):
        self.name, self.joints, self.channels = name, joints, channels
        self.edges, self.flip, self.perm = edges, flip, perm
        self.pos, self.vel, self.score = pos, vel, score


def _pairs_flip(n: int, pairs) -> List[int]:
    out = list(range(n))
    for a, b in pairs:
        out[a], out[b] = b, a
    return out


# The daemon's pose features: per COCO keypoint x, y, vx, vy, score (image plane, y down).
COCO17 = Layout("coco17-pose-features", 17, 5,
                [(0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 12),
                 (11, 13), (13, 15), (12, 14), (14, 16)],
                _pairs_flip(17, [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]),
                list(range(85)), [0, 1], [2, 3], 4)
# MSR Action3D (msr_action3d.py): 20 Kinect joints x (x, y, z), then their velocities: blocks, not joint-major.
MSR20 = Layout("msr20-kinect", 20, 6,
               [(0, 2), (1, 2), (2, 3), (3, 6), (4, 6), (5, 6), (0, 7), (7, 9), (9, 11), (1, 8), (8, 10), (10, 12),
                (4, 13), (13, 15), (15, 17), (5, 14), (14, 16), (16, 18), (2, 19)],
               _pairs_flip(20, [(0, 1), (4, 5), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18)]),
               [b * 60 + j * 3 + c for j in range(20) for b in range(2) for c in range(3)], [0, 1, 2], [3, 4, 5], -1)
LAYOUTS = {"coco17": COCO17, "msr20": MSR20}


def adjacency(layout: Layout) -> torch.Tensor:
    """[3,J,J]: self links, and the normalised neighbour links split by direction (ST-GCN partitions)."""
    n = layout.joints
    a = np.zeros((n, n), np.float32)
    for i, j in layout.edges:
        a[i, j] = a[j, i] = 1
    deg = a.sum(1, keepdims=True)
    norm = a / np.maximum(deg, 1)
    parts = [np.eye(n, dtype=np.float32), np.triu(norm), np.tril(norm)]
    return torch.from_numpy(np.stack(parts))


class GraphBlock(nn.Module):
    """Spatial graph convolution, then a causal temporal convolution per joint; residual."""

    def __init__(self, layout: Layout, cin: int, cout: int, dilation: int):
        super().__init__()
        self.register_buffer("A", adjacency(layout))
        self.importance = nn.Parameter(torch.ones(3, layout.joints, layout.joints))
        self.spatial = nn.Linear(cin, cout * 3)
        self.temporal = nn.Conv2d(cout, cout, (3, 1), dilation=(dilation, 1))
        self.pad = 2 * dilation
        self.norm1 = nn.LayerNorm(cout)
        self.norm2 = nn.LayerNorm(cout)
        self.res = nn.Linear(cin, cout) if cin != cout else nn.Identity()
        self.cout = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B,T,J,C]
        b, t, j, _ = x.shape
        y = self.spatial(x).view(b, t, j, 3, self.cout).permute(0, 1, 4, 3, 2).reshape(b, t, self.cout, 3 * j)
        a = (self.A * self.importance).permute(1, 0, 2).reshape(j, 3 * j)  # [v, (k, w)]
        y = torch.matmul(y, a.t()).transpose(2, 3)  # [B,T,J,C]: sum over partitions k and neighbours w
        y = torch.relu(self.norm1(y))
        z = y.permute(0, 3, 1, 2)  # [B,C,T,J]
        z = self.temporal(F.pad(z, (0, 0, self.pad, 0)))  # left padding: causal
        z = self.norm2(z.permute(0, 2, 3, 1))
        return torch.relu(z + self.res(x))


class CausalConv(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.pad = 2 * dilation
        self.conv = nn.Conv1d(channels, channels, 3, dilation=dilation)
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B,H,T]
        y = self.conv(F.pad(x, (self.pad, 0)))
        y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return x + F.dropout(torch.relu(y), 0.1, self.training)


class SkeletonSegmenter(nn.Module):
    def __init__(self, layout: Layout, classes: int, lookahead: int, hidden: int = 64,
                 graph: Tuple[int, ...] = (32, 48, 64)):
        super().__init__()
        self.classes = classes
        self.lookahead = lookahead
        self.joints = layout.joints
        self.channels = layout.channels
        self.register_buffer("perm", torch.tensor(layout.perm, dtype=torch.long))
        self.joint_embed = nn.Parameter(torch.zeros(layout.joints, layout.channels))
        chans = [layout.channels] + list(graph)
        self.graph = nn.ModuleList([GraphBlock(layout, chans[i], chans[i + 1], 1 << i) for i in range(len(graph))])
        self.pool = nn.Linear(2 * graph[-1], hidden)
        self.head = nn.ModuleList([CausalConv(hidden, d) for d in (1, 2, 4, 8)])
        self.cls = nn.Linear(hidden, classes)
        self.rep = nn.Linear(hidden, 3)  # repetition-start logit, then the repetition phase as (sin, cos)
        # Set by calibrate(): temperature, and the out-of-distribution check (off until set).
        self.register_buffer("temperature", torch.ones(1))
        self.register_buffer("ood_means", torch.zeros(classes - 1, hidden))
        self.register_buffer("ood_precision", torch.zeros(hidden, hidden))
        self.register_buffer("ood_threshold", torch.full((1,), -1.0))
        # ... and on the poses themselves (positions and keypoint scores), smoothed over recent frames.
        pose = [j * layout.channels + c for j in range(layout.joints)
                for c in list(layout.pos) + ([layout.score] if layout.score >= 0 else [])]
        self.register_buffer("pose_index", torch.tensor(pose, dtype=torch.long))
        self.register_buffer("pose_means", torch.zeros(classes - 1, len(pose)))
        self.register_buffer("pose_precision", torch.zeros(len(pose), len(pose)))
        self.register_buffer("pose_threshold", torch.full((1,), -1.0))

    def embed(self, f: torch.Tensor) -> torch.Tensor:
        """[B,T,85] -> frame embeddings [B,T,H] (frame t from frames <= t + lookahead)."""
        b, t, _ = f.shape
        x = f[:, :, self.perm].reshape(b, t, self.joints, self.channels) + self.joint_embed
        for g in self.graph:
            x = g(x)
        x = self.pool(torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=2)).transpose(1, 2)
        for block in self.head:
            x = block(x)
        e = x.transpose(1, 2)
        if self.lookahead > 0:
            idx = torch.clamp(torch.arange(t, device=e.device) + self.lookahead, max=t - 1)
            e = e[:, idx]
        return e

    def logits(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """class logits [B,T,C], repetition head [B,T,3] (start logit, sin, cos of the phase), embeddings."""
        e = self.embed(f)
        return self.cls(e), self.rep(e), e

    def repetition_score(self, rep: torch.Tensor) -> torch.Tensor:
        """Peaks where a repetition starts: phase 0, weighted by how sure the phase is (its length)."""
        sin, cos = rep[:, :, 1], rep[:, :, 2]
        sure = torch.sqrt(sin * sin + cos * cos).clamp(max=1.0)
        return sure * ((1.0 + cos / torch.sqrt(sin * sin + cos * cos + 1e-6)) / 2.0) ** 4

    def embedding_distance(self, e: torch.Tensor) -> torch.Tensor:
        """Mahalanobis distance of each frame embedding to the nearest exercise's mean. [B,T]"""
        d = e.unsqueeze(2) - self.ood_means.view(1, 1, self.ood_means.shape[0], -1)  # [B,T,K,H]
        return torch.einsum("btkh,hg,btkg->btk", d, self.ood_precision, d).clamp(min=0).amin(dim=2).sqrt()

    def pose_distance(self, f: torch.Tensor) -> torch.Tensor:
        """Mahalanobis distance of each frame's pose (positions, keypoint scores: in the model's frame
        order) to the nearest exercise's mean, averaged over the frame and the 4 before it. [B,T]"""
        b, t, _ = f.shape
        p = f[:, :, self.perm][:, :, self.pose_index]
        d = p.unsqueeze(2) - self.pose_means.view(1, 1, self.pose_means.shape[0], -1)
        m = torch.einsum("btkh,hg,btkg->btk", d, self.pose_precision, d).clamp(min=0).amin(dim=2).sqrt()
        c = torch.cumsum(F.pad(m, (1, 0)), dim=1)  # [B,T+1]
        lo = torch.clamp(torch.arange(t, device=f.device) - 4, min=0)
        hi = torch.arange(t, device=f.device) + 1
        m = (c[:, hi] - c[:, lo]) / (hi - lo).to(m.dtype)
        if self.lookahead > 0:  # aligned with the embeddings: frame t as seen lookahead frames later
            idx = torch.clamp(torch.arange(t, device=f.device) + self.lookahead, max=t - 1)
            m = m[:, idx]
        return m

    def in_distribution(self, e: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """1 near the training exercises, falling to 0 beyond either threshold. [B,T]"""
        inside = torch.ones(e.shape[0], e.shape[1], device=e.device)
        if float(self.ood_threshold[0]) > 0:
            thr = self.ood_threshold[0]
            inside = inside * torch.sigmoid((thr - self.embedding_distance(e)) / (0.1 * thr))
        if float(self.pose_threshold[0]) > 0:
            thr = self.pose_threshold[0]
            inside = inside * torch.sigmoid((thr - self.pose_distance(f)) / (0.1 * thr))
        return inside

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls, rep, e = self.logits(f)
        probs = torch.softmax(cls / self.temperature, dim=2)
        inside = self.in_distribution(e, f)
        actions = probs[:, :, 1:] * inside.unsqueeze(2)
        probs = torch.cat([1.0 - actions.sum(dim=2, keepdim=True), actions], dim=2)
        prev = torch.cat([probs[:, :1], probs[:, :-1]], dim=1)
        boundary = 1.0 - (probs * prev).sum(dim=2)
        return probs, boundary, self.repetition_score(rep) * inside


def augment(x: np.ndarray, layout: Layout, rng: np.random.Generator, joint_dropout: float = 0.1,
            rotate_deg: float = 15.0) -> np.ndarray:
    """Mirror, rotation, scale, noise and joint dropout of one window [T, D] (a copy). 2-D layouts
    rotate in the image plane; 3-D ones about the vertical axis (a camera moved around the person)."""
    k = x[:, layout.perm].reshape(len(x), layout.joints, layout.channels).copy()
    if rng.random() < 0.5:  # mirror: left and right swap, x flips
        k = k[:, layout.flip]
        k[:, :, layout.pos[0]] *= -1
        k[:, :, layout.vel[0]] *= -1
    a = math.radians(rng.uniform(-rotate_deg, rotate_deg))
    c, s = math.cos(a), math.sin(a)
    scale = rng.uniform(0.85, 1.15, size=len(layout.pos))
    for chans in (layout.pos, layout.vel):  # positions and velocities rotate and scale alike
        u_ch, v_ch = chans[0], chans[1] if len(chans) == 2 else chans[2]  # 3-D: x and z (y is up)
        u, v = k[:, :, u_ch].copy(), k[:, :, v_ch].copy()
        k[:, :, u_ch] = c * u - s * v
        k[:, :, v_ch] = s * u + c * v
        for i, ch in enumerate(chans):
            k[:, :, ch] *= scale[i]
    drop = rng.random(layout.joints) < joint_dropout  # a joint the model did not see in this window
    k[:, drop] = 0
    moving = layout.pos + layout.vel
    k[:, :, moving] += rng.normal(0, 0.02, size=k[:, :, moving].shape)
    out = np.empty_like(x)
    out[:, layout.perm] = k.reshape(len(x), -1)
    return out.astype(np.float32)


def resample(x: np.ndarray, layout: Layout, factor: float, length: int) -> np.ndarray:
    """Speed change: `length` frames read at `factor` source frames per frame, ending at x's end;
    velocities scale with the speed. x [S,D] with S >= (length - 1) * factor + 1."""
    src = len(x) - 1 - factor * np.arange(length)[::-1]
    lo = np.floor(src).astype(int).clip(0, len(x) - 1)
    hi = (lo + 1).clip(0, len(x) - 1)
    w = (src - lo)[:, None]
    out = x[lo] * (1 - w) + x[hi] * w
    vel = [layout.perm[j * layout.channels + c] for j in range(layout.joints) for c in layout.vel]
    out[:, vel] *= factor
    return out.astype(np.float32)


def cycle_position(reps: np.ndarray, labels: np.ndarray, background: int = 0) -> np.ndarray:
    """Repetition cycles completed at each frame (the phase is its fractional part), NaN where unknown.
    Inside each stretch of one exercise (a video) with repetition starts marked (reps == 1): linear
    between consecutive starts, extrapolated one period before the first and after the last (with the
    neighbouring period), clipped to the stretch. A stretch with one start knows only that frame."""
    out = np.full(len(reps), np.nan)
    t = 0
    while t < len(labels):
        u = t
        while u < len(labels) and labels[u] == labels[t]:
            u += 1
        marks = np.nonzero(reps[t:u] == 1)[0] + t
        if labels[t] != background and len(marks) >= 2:
            k = np.arange(len(marks), dtype=float)
            first, last = marks[1] - marks[0], marks[-1] - marks[-2]
            xs = np.concatenate([[marks[0] - first], marks, [marks[-1] + last]])
            ys = np.concatenate([[-1.0], k, [k[-1] + 1]])
            frames = np.arange(max(t, xs[0]), min(u, xs[-1] + 1))
            out[frames] = np.interp(frames, xs, ys)
        elif labels[t] != background and len(marks) == 1:
            out[marks[0]] = 0.0
        t = u
    return out


def gaussian_targets(marks: List[float], length: int, sigma: float) -> np.ndarray:
    t = np.arange(length)[:, None]
    if not marks:
        return np.zeros(length, np.float32)
    m = np.asarray(marks)[None, :]
    return np.exp(-((t - m) ** 2) / (2 * sigma * sigma)).max(axis=1).astype(np.float32)
