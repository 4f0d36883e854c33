"""Trains the skeleton segmenter (models/train/actiond_train/skeleton.py: graph convolutions over the joints, causal
temporal head, class + repetition heads) on a world of pose-feature streams, calibrates it on the
held-out `val` split (temperature; out-of-distribution threshold) and exports it as TorchScript with a
manifest that records the training data, the feature layout and the calibration.

The streams may carry `S.track.npy` (the tracked person of each frame): as in the daemon, a person's
window never reaches into another person's frames, and frames without a person are not trained on.
`S.reps.npy`, when present, marks repetition starts: the repetition head learns a Gaussian around
them (the daemon counts its peaks inside a segment).

Augmentations: mirror (left/right swapped), rotation (image plane for 2-D poses, about the vertical
axis for 3-D skeletons), scale, speed (time resampling 0.7-1.4x, velocities scaled), joint dropout,
noise.

Usage: train_skeleton.py --world DIR --out model.pt [--layout coco17|msr20] [--lookahead 5]
                         [--window 64] [--steps 3000] [--source-json pieces.json]
"""
import argparse
import json
import os
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from actiond_train.common import export, read_mapping, read_split, seed_everything, train_steps
from actiond_train.skeleton import LAYOUTS, Layout, SkeletonSegmenter, augment, cycle_position, gaussian_targets, resample


class Stream:
    def __init__(self, world: str, name: str, names: List[str]):
        base = os.path.join(world, "features", name)
        self.name = name
        self.feats = np.load(base + ".features.npy").astype(np.float32)
        n = len(self.feats)
        self.track = np.load(base + ".track.npy") if os.path.exists(base + ".track.npy") else np.ones(n, np.int64)
        self.reps = np.load(base + ".reps.npy") if os.path.exists(base + ".reps.npy") else None
        with open(os.path.join(world, "groundTruth", name + ".txt")) as f:
            gt = [names.index(x.strip()) for x in f if x.strip()]
        if len(gt) != n:
            raise SystemExit(f"{name}: {len(gt)} labels for {n} frames")
        self.labels = np.asarray(gt)
        self.runs = runs_of(self.track)
        self.cycles = cycle_position(self.reps, self.labels) if self.reps is not None else None


def runs_of(track: np.ndarray) -> List[np.ndarray]:
    """The frames of each person (track id > 0), in order: as in the daemon, a person's window holds
    only the frames where the model saw them (a missed frame is skipped, not a new person)."""
    ids = sorted(set(track[track > 0].tolist()), key=lambda i: int(np.argmax(track == i)))
    return [np.nonzero(track == i)[0] for i in ids]


def sample(streams: List[Stream], layout: Layout, window: int, batch: int, rng: np.random.Generator, sigma: float,
           speed: Tuple[float, float], joint_dropout: float, rotate_deg: float, trimmed: int = 0, trimmed_count: int = 0):
    """A batch of windows ending at random frames of runs (weighted by length). The last `trimmed`
    entries of `streams` are trimmed sequences: `trimmed_count` windows end at the last frame of one."""
    runs = [(s, idx) for s in streams[:len(streams) - trimmed] for idx in s.runs]
    weights = np.asarray([len(idx) for _, idx in runs], np.float64)
    weights /= weights.sum()
    clips = streams[len(streams) - trimmed:]
    dim = streams[0].feats.shape[1]
    xs = np.zeros((batch, window, dim), np.float32)
    ys = np.full((batch, window), -100, np.int64)
    rs = np.zeros((batch, window), np.float32)
    ms = np.zeros((batch, window), np.float32)
    ph = np.full((batch, window, 2), np.nan, np.float32)  # sin, cos of the repetition phase (NaN: unknown)
    for i in range(batch):
        if i < trimmed_count:
            s = clips[int(rng.integers(len(clips)))]
            idx = s.runs[0]
            end = len(idx)
        else:
            s, idx = runs[rng.choice(len(runs), p=weights)]
            end = int(rng.integers(1, len(idx) + 1))  # the window ends here (exclusive), in the person's frames
        f = float(rng.uniform(*speed)) if rng.random() < 0.7 else 1.0
        want = window if rng.random() < 0.8 else int(rng.integers(4, window + 1))
        length = max(1, min(want, int((end - 1) / f) + 1))
        lo = max(0, int(np.floor(end - 1 - f * (length - 1))))
        rows = idx[lo:end]
        x = resample(s.feats[rows], layout, f, length) if f != 1.0 else s.feats[rows[-length:]]
        pos = end - 1 - f * np.arange(length)[::-1]  # source position (in the person's frames) of each window frame
        y = s.labels[idx[np.round(pos).astype(int).clip(0, end - 1)]]
        w = slice(window - length, window)
        xs[i, w] = augment(x, layout, rng, joint_dropout, rotate_deg)
        ys[i, w] = y
        ms[i, w] = 1
        if s.reps is not None:
            marks = [(lo + k - pos[0]) / f for k in np.nonzero(s.reps[rows] == 1)[0]]
            rs[i, w] = gaussian_targets(marks, length, sigma)
            # Videos with no repetition marked: unknown, not trained on.
            ms[i, w] *= (s.reps[idx[np.round(pos).astype(int).clip(0, end - 1)]] != 255)
            # Cycle position at fractional source positions (NaN spreads where a neighbour is unknown).
            c = s.cycles[idx[:end]]
            lo_i = np.floor(pos).astype(int).clip(0, end - 1)
            hi_i = (lo_i + 1).clip(0, end - 1)
            frac = pos - lo_i
            cyc = c[lo_i] * (1 - frac) + c[hi_i] * frac
            ph[i, w, 0] = np.sin(2 * np.pi * cyc)
            ph[i, w, 1] = np.cos(2 * np.pi * cyc)
    return (torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(rs), torch.from_numpy(ms),
            torch.from_numpy(ph))


class Trimmed:
    """A trimmed sequence (one action, no person changes): trains like a stream of one run."""

    def __init__(self, feats: np.ndarray, label: int, subject: int = 0):
        self.subject = subject
        self.feats = feats.astype(np.float32)
        self.labels = np.full(len(feats), label)
        self.reps = None
        self.cycles = None
        self.runs = [np.arange(len(feats))]


def read_trimmed(folder: str, split: str, names: List[str]) -> List[Trimmed]:
    z = np.load(os.path.join(folder, f"{split}.npz"))
    out, lo = [], 0
    subjects = z["subjects"] if "subjects" in z else np.zeros(len(z["labels"]), np.int64)
    for n, a, s in zip(z["lengths"], z["labels"], subjects):
        out.append(Trimmed(z["features"][lo:lo + n], int(a), int(s)))
        lo += int(n)
    return out


def clip_accuracy(model: SkeletonSegmenter, clips: List[Trimmed]) -> float:
    """Each trimmed sequence alone, the label at its last frame (background excluded)."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for c in clips:
            logits = model.logits(torch.from_numpy(c.feats)[None])[0][0, -1]
            logits[0] = -1e9
            correct += int(int(logits.argmax()) == int(c.labels[0]))
    return round(100.0 * correct / max(1, len(clips)), 1)


def class_weights(streams: List[Stream], classes: int) -> torch.Tensor:
    counts = np.ones(classes)
    for s in streams:
        for idx in s.runs:
            counts += np.bincount(s.labels[idx], minlength=classes)
    w = 1.0 / np.sqrt(counts / counts.sum())
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def decided(model: SkeletonSegmenter, streams: List[Stream], window: int):
    """As the daemon: each frame decided from its person's window ending `lookahead` of their frames
    later. -> logits [N,C], embeddings [N,H], labels [N] of every frame with a person. Full windows
    run in batches."""
    look = model.lookahead
    logits, embs, labels = [], [], []
    with torch.no_grad():
        for s in streams:
            for idx in s.runs:
                x = torch.from_numpy(s.feats[idx])
                b = len(idx)
                full = []  # (t, lo) of windows of full length
                for t in range(b):
                    end = min(b, t + look + 1)
                    lo = max(0, end - window)
                    if end - lo == window:
                        full.append((t, lo))
                        continue
                    cls, _, e = model.logits(x[None, lo:end])
                    logits.append(cls[0, t - lo])
                    embs.append(e[0, t - lo])
                    labels.append(int(s.labels[idx[t]]))
                for i in range(0, len(full), 128):
                    part = full[i:i + 128]
                    cls, _, e = model.logits(torch.stack([x[lo:lo + window] for _, lo in part]))
                    for k, (t, lo) in enumerate(part):
                        logits.append(cls[k, t - lo])
                        embs.append(e[k, t - lo])
                        labels.append(int(s.labels[idx[t]]))
    return torch.stack(logits), torch.stack(embs), torch.tensor(labels)


def pose_distances(model: SkeletonSegmenter, streams: List[Stream], exercise_only: bool):
    """Per-frame smoothed pose distances (as in the daemon's windows, whole runs: the smoothing is
    causal over 5 frames) and labels of every frame with a person."""
    out, labels = [], []
    with torch.no_grad():
        for s in streams:
            for idx in s.runs:
                d = model.pose_distance(torch.from_numpy(s.feats[idx])[None])[0]
                out.append(d)
                labels.append(torch.from_numpy(s.labels[idx]))
    d, y = torch.cat(out), torch.cat(labels)
    return (d[y > 0], y[y > 0]) if exercise_only else (d, y)


def class_stats(x: torch.Tensor, y: torch.Tensor, classes: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-exercise means and the shared precision (covariance with 5 % shrinkage)."""
    means = torch.stack([x[y == c].mean(0) if bool((y == c).any()) else torch.full((x.shape[1],), 1e3)
                         for c in range(1, classes)])
    centred = x - means[y - 1]
    cov = centred.T @ centred / len(x)
    cov = cov + 0.05 * torch.eye(cov.shape[0]) * cov.diagonal().mean()
    return means, torch.linalg.inv(cov)


def calibrate(model: SkeletonSegmenter, train: List[Stream], val: List[Stream], window: int,
              ood_quantile: float) -> Dict:
    """Temperature (NLL on val) and the out-of-distribution check: exercise-class means and shared
    covariance of training frames, of the frame embeddings and of the poses; each threshold = the
    `ood_quantile` of val exercise frames' distances."""
    model.eval()
    model.ood_threshold.fill_(-1.0)
    model.pose_threshold.fill_(-1.0)
    vl, ve, vy = decided(model, val, window)  # embeddings do not depend on the calibration
    print(f"val: online frame-wise accuracy {100.0 * float((vl.argmax(1) == vy).float().mean()):.1f} % "
          f"({len(vy)} frames with a person)")
    temps = np.exp(np.linspace(np.log(0.3), np.log(5.0), 60))
    nll = [float(F.cross_entropy(vl / t, vy)) for t in temps]
    best = float(temps[int(np.argmin(nll))])
    model.temperature.fill_(best)
    _, te, ty = decided(model, train, window)
    keep = ty > 0
    means, precision = class_stats(te[keep], ty[keep], model.classes)
    model.ood_means.copy_(means)
    model.ood_precision.copy_(precision)
    poses = torch.cat([torch.from_numpy(s.feats[idx])[:, model.perm][:, model.pose_index] for s in train for idx in s.runs])
    plabels = torch.cat([torch.from_numpy(s.labels[idx]) for s in train for idx in s.runs])
    pmeans, pprecision = class_stats(poses[plabels > 0], plabels[plabels > 0], model.classes)
    model.pose_means.copy_(pmeans)
    model.pose_precision.copy_(pprecision)
    vy2 = vy
    d = model.embedding_distance(ve[None])[0]
    thr = float(torch.quantile(d[vy2 > 0], ood_quantile))
    model.ood_threshold.fill_(thr)
    pd, py = pose_distances(model, val, False)
    pthr = float(torch.quantile(pd[py > 0], ood_quantile))
    model.pose_threshold.fill_(pthr)
    ece_before = ece(torch.softmax(vl, 1), vy)
    ece_after = ece(torch.softmax(vl / best, 1), vy)
    bg = vy2 == 0
    out = {"temperature": round(best, 3), "ece_val_before": round(ece_before, 4), "ece_val_after": round(ece_after, 4),
           "ood": {"method": "Mahalanobis distance to the nearest exercise (class means, shared covariance of the "
                             "training frames) of the frame embedding and of the pose (positions, keypoint scores; "
                             "mean of 5 frames); probability moves to background beyond either threshold",
                   "embedding_threshold": round(thr, 3), "pose_threshold": round(pthr, 3),
                   "quantile_of_val_exercise_frames": ood_quantile,
                   "val_background_frames_beyond_embedding": round(float((d[bg] > thr).float().mean()), 3) if bool(bg.any()) else None,
                   "val_background_frames_beyond_pose": round(float((pd[py == 0] > pthr).float().mean()), 3) if bool((py == 0).any()) else None}}
    print(f"calibration: {json.dumps(out)}")
    return out


def ece(probs: torch.Tensor, labels: torch.Tensor, bins: int = 10) -> float:
    conf, pred = probs.max(1)
    total = 0.0
    for lo in range(bins):
        m = (conf > lo / bins) & (conf <= (lo + 1) / bins)
        if bool(m.any()):
            total += float(m.float().mean()) * abs(float((pred[m] == labels[m]).float().mean()) - float(conf[m].mean()))
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="skeleton-gcn")
    ap.add_argument("--layout", default="coco17", choices=sorted(LAYOUTS))
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--lookahead", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--sigma", type=float, default=1.0, help="repetition target width (frames)")
    ap.add_argument("--rep-weight", type=float, default=2.0)
    ap.add_argument("--speed", type=float, nargs=2, default=[0.7, 1.4])
    ap.add_argument("--joint-dropout", type=float, default=0.1)
    ap.add_argument("--rotate", type=float, default=15.0, help="rotation augmentation, degrees")
    ap.add_argument("--ood-quantile", type=float, default=0.99)
    ap.add_argument("--val-split", default="val", help="held-out split for calibration ('' = none)")
    ap.add_argument("--train-splits", default="train")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--source-json", default="", help="JSON with a 'source' object: the training data's origin")
    ap.add_argument("--trimmed", default="", help="DIR with {train,test}.npz of trimmed sequences (msr_action3d.py): "
                    "a share of the batches, and clip accuracy on test")
    ap.add_argument("--trimmed-share", type=float, default=0.3)
    ap.add_argument("--results", default="", help="append the figures as one JSON line")
    ap.add_argument("--init", default="", help="start from the weights of an exported model (with --steps 0: "
                    "only calibrate and export again)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    names = read_mapping(args.world)
    layout = LAYOUTS[args.layout]
    train = [Stream(args.world, v, names) for sp in args.train_splits.split(",") for v in read_split(args.world, sp)]
    val = [Stream(args.world, v, names) for v in read_split(args.world, args.val_split)] if args.val_split else []
    frames = sum(len(idx) for s in train for idx in s.runs)
    has_reps = all(s.reps is not None for s in train)
    print(f"skeleton: {len(train)} training streams, {frames} frames with a person, {len(val)} val streams, "
          f"repetitions: {'yes' if has_reps else 'no'}")
    model = SkeletonSegmenter(layout, len(names), args.lookahead)
    if args.init:
        state = torch.jit.load(args.init).state_dict()
        model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()}, strict=False)
    weights = class_weights(train, len(names))
    rng = np.random.default_rng(args.seed)
    at = args.window - 1 - args.lookahead  # the frame the daemon decides in a full window

    trimmed_train = read_trimmed(args.trimmed, "train", names) if args.trimmed else []

    def loss_fn(_step: int) -> torch.Tensor:
        n_trim = int(round(args.batch * args.trimmed_share)) if trimmed_train else 0
        x, y, r, m, ph = sample(train + trimmed_train, layout, args.window, args.batch, rng, args.sigma,
                                tuple(args.speed), args.joint_dropout, args.rotate, trimmed=len(trimmed_train),
                                trimmed_count=n_trim)
        cls, rep, _ = model.logits(x)
        loss = F.cross_entropy(cls.reshape(-1, len(names)), y.reshape(-1), weight=weights, ignore_index=-100,
                               label_smoothing=0.05)
        loss = loss + F.cross_entropy(cls[:, at], y[:, at], weight=weights, ignore_index=-100)
        if has_reps:
            bce = F.binary_cross_entropy_with_logits(rep[:, :, 0], r, reduction="none", pos_weight=torch.tensor(4.0))
            loss = loss + args.rep_weight * (bce * m).sum() / m.sum()
            known = ~torch.isnan(ph[:, :, 0])
            if bool(known.any()):
                loss = loss + args.rep_weight * F.mse_loss(rep[:, :, 1:][known], ph[known])
        return loss

    start = time.time()
    if args.steps > 0:
        train_steps(model, args.steps, args.lr, 1e-3, loss_fn, "skeleton", every=20)
    train_s = time.time() - start
    print(f"skeleton: trained in {train_s:.0f} s")
    calibration = calibrate(model, train, val, args.window, args.ood_quantile) if val else {}
    result = {"model": args.name, "layout": layout.name, "steps": args.steps, "train_seconds": round(train_s),
              "params": int(sum(p.numel() for p in model.parameters()))}
    if args.trimmed:
        result["clip_accuracy"] = clip_accuracy(model, read_trimmed(args.trimmed, "test", names))
        print(f"clip recognition (trimmed test sequences, label at the last frame): {result['clip_accuracy']} %")
    if args.results:
        with open(args.results, "a") as f:
            f.write(json.dumps(result) + "\n")
    source = {}
    if args.source_json:
        with open(args.source_json) as f:
            source = json.load(f).get("source", {})
    model.eval()
    export(model, {
        "kind": "segmenter", "name": args.name, "version": "1",
        "feature_dim": int(train[0].feats.shape[1]), "labels": names, "background": 0,
        "window": args.window, "lookahead": args.lookahead, "repetitions": has_reps,
        "feature_layout": layout.name,
        "calibration": calibration,
        "training": {"seed": args.seed, "steps": args.steps, "streams": len(train), "frames": frames,
                     "seconds": round(train_s), "fps": args.fps, "augment": {
                         "mirror": True, "rotate_deg": args.rotate, "scale": [0.85, 1.15], "speed": args.speed,
                         "joint_dropout": args.joint_dropout},
                     "data": source},
    }, args.out)


if __name__ == "__main__":
    main()
