"""Trains one model of the seed zoo (models/train/actiond_train/zoo.py) on a benchmark's features, measures it, and
exports it twice: as a segmenter (lookahead 0) and as a recognizer, both TorchScript with manifest.

Measured on the test split and appended as one JSON line to --results:
  - online segmentation (as the daemon: frame t decided from the window ending at t, frame-wise argmax):
    Acc, Edit, F1@{10,25,50} (MS-TCN definitions, background not counted as a segment);
  - offline segmentation: the whole stream in one pass (unlimited history, still causal);
  - clip recognition on trimmed actions: --trimmed NPZ (MSR Action3D's trimmed sequences), otherwise
    every ground-truth action instance of the test streams; the prediction is the label at the last
    frame (background excluded);
  - parameters, CPU ms per frame (one window, batch 1; and 16 windows in one call), 1 thread;
  - afnet: the fraction of frames the navigation gate sent to the focal path.

Usage: train_zoo.py --model NAME --world DIR --features DIR --out-dir DIR [--window 48] [--steps 3000]
                    [--video-fps 15 --analysis-fps 15] [--trimmed DIR/trimmed] [--results FILE]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from actiond_train.common import export, load_arrays, read_split, setup, train_steps
from actiond_train import zoo


def segments(labels, background):
    out = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] not in background:
                out.append((labels[start], start, i))
            start = i
    return out


def edit_score(pred, gt, background):
    p = [s[0] for s in segments(pred, background)]
    g = [s[0] for s in segments(gt, background)]
    d = np.zeros((len(p) + 1, len(g) + 1))
    d[:, 0] = np.arange(len(p) + 1)
    d[0, :] = np.arange(len(g) + 1)
    for i in range(1, len(p) + 1):
        for j in range(1, len(g) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (p[i - 1] != g[j - 1]))
    return 100.0 * (1 - d[-1, -1] / max(len(p), len(g), 1))


def f1_counts(pred, gt, overlap, background):
    p, g = segments(pred, background), segments(gt, background)
    used = [False] * len(g)
    tp = 0
    for lab, s, e in p:
        best, best_j = 0.0, -1
        for j, (gl, gs, ge) in enumerate(g):
            if gl != lab:
                continue
            inter = max(0, min(e, ge) - max(s, gs))
            union = max(e, ge) - min(s, gs)
            iou = inter / union
            if iou > best:
                best, best_j = iou, j
        if best >= overlap and not used[best_j]:
            tp += 1
            used[best_j] = True
    return tp, len(p) - tp, len(g) - sum(used)


def seg_metrics(pairs, background):
    correct = total = 0
    edits = []
    counts = {k: [0, 0, 0] for k in (0.1, 0.25, 0.5)}
    for pred, gt in pairs:
        correct += int((pred == gt).sum())
        total += len(gt)
        edits.append(edit_score(list(pred), list(gt), background))
        for k in counts:
            tp, fp, fn = f1_counts(list(pred), list(gt), k, background)
            counts[k][0] += tp
            counts[k][1] += fp
            counts[k][2] += fn
    out = {"acc": round(100.0 * correct / total, 1), "edit": round(float(np.mean(edits)), 1)}
    for k, (tp, fp, fn) in counts.items():
        prec = tp / max(tp + fp, 1)
        rec = tp / max(tp + fn, 1)
        out[f"f1@{int(k * 100)}"] = round(100.0 * 2 * prec * rec / max(prec + rec, 1e-9), 1)
    return out


def online_probs(model, feats, window):
    """As the daemon: frame t from the window ending at t (shorter at the start of the stream)."""
    n = len(feats)
    x = torch.from_numpy(feats)
    out = np.zeros((n, model.classes), dtype=np.float32)
    with torch.no_grad():
        for t in range(min(window - 1, n)):
            out[t] = torch.softmax(model.frame_logits(x[None, : t + 1])[0, -1], 0).numpy()
        if n >= window:
            wins = x.unfold(0, window, 1).permute(0, 2, 1)  # [n-window+1, window, D]
            for lo in range(0, len(wins), 256):
                logits = model.frame_logits(wins[lo:lo + 256].contiguous())[:, -1]
                out[window - 1 + lo: window - 1 + lo + len(logits)] = torch.softmax(logits, 1).numpy()
    return out


def sample(data, window, rng, batch, noise):
    xs, ys = [], []
    for _ in range(batch):
        feats, labels = data[rng.integers(len(data))]
        if len(feats) <= window:
            end = len(feats)
        else:
            end = int(rng.integers(window, len(feats) + 1))
        x, y = feats[max(0, end - window):end], labels[max(0, end - window):end]
        if len(x) < window:  # pad at the front by repeating the first frame (label ignored)
            pad = window - len(x)
            x = np.concatenate([np.repeat(x[:1], pad, 0), x])
            y = np.concatenate([np.full(pad, -100), y])
        xs.append(x)
        ys.append(y)
    x = torch.from_numpy(np.stack(xs)).float()
    x = x + noise * torch.randn_like(x) * x.std()
    return F.dropout(x, 0.1, training=True), torch.from_numpy(np.stack(ys)).long()


def cpu_ms_per_frame(model, window, dim, batch):
    x = torch.randn(batch, window, dim)
    with torch.no_grad():
        for _ in range(3):
            model.frame_logits(x)
        runs = []
        for _ in range(20):
            t0 = time.perf_counter()
            model.frame_logits(x)
            runs.append(time.perf_counter() - t0)
    return round(1000.0 * float(np.median(runs)) / batch, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=zoo.MODELS)
    ap.add_argument("--world", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--name", default="", help="benchmark name in the manifests and results")
    ap.add_argument("--window", type=int, default=48)
    ap.add_argument("--minutes", type=float, default=0.0, help="at most about this long (fewer steps; 0 = no limit)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--video-fps", type=float, default=25.0)
    ap.add_argument("--trimmed", default="", help="DIR with test.npz of trimmed sequences (clip recognition)")
    ap.add_argument("--results", default="", help="append the figures as one JSON line")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    args.out = args.out_dir
    names = setup(args)
    bench = args.name or os.path.basename(os.path.normpath(args.world))
    load = lambda split: [(f.astype(np.float32), l) for f, l in load_arrays(  # noqa: E731
        args.features, args.world, read_split(args.world, split), names, "features", args.video_fps)]
    train, test = load("train"), load("test")
    dim, classes = train[0][0].shape[1], len(names)
    model = zoo.build(args.model, dim, classes)
    rng = np.random.default_rng(args.seed)
    start = time.time()

    def loss_fn(_step: int) -> torch.Tensor:
        x, y = sample(train, args.window, rng, args.batch, args.noise)
        logits = model.frame_logits(x)
        loss = F.cross_entropy(logits.reshape(-1, classes), y.reshape(-1), ignore_index=-100)
        if isinstance(model, zoo.OadTR):  # anticipation: step t's query j predicts the label of t+1+j
            fut = model.last_future
            for j in range(model.future):
                loss = loss + 0.5 / model.future * F.cross_entropy(
                    fut[:, : -(j + 1), j].reshape(-1, classes), y[:, j + 1:].reshape(-1), ignore_index=-100)
        return loss + 2.0 * model.aux_loss().sum()

    args.steps = train_steps(model, args.steps, args.lr, 1e-2, loss_fn, args.model, every=20, minutes=args.minutes)
    train_s = time.time() - start
    model.eval()
    background = {0}
    online, offline, ratios = [], [], []
    with torch.no_grad():
        for feats, labels in test:
            online.append((online_probs(model, feats, args.window).argmax(1), labels))
            if isinstance(model, zoo.AFNet):
                ratios.append(float(model.last_ratio))
            whole = model.frame_logits(torch.from_numpy(feats)[None])[0]
            if isinstance(model, zoo.AFNet):
                ratios[-1] = float(model.last_ratio)  # the whole stream: each frame decided once
            offline.append((whole.argmax(1).numpy(), labels))
    result = {"benchmark": bench, "model": args.model, "window": args.window, "steps": args.steps,
              "train_seconds": round(train_s), "params": int(sum(p.numel() for p in model.parameters())),
              "online": seg_metrics(online, background), "offline": seg_metrics(offline, background)}
    with torch.no_grad():
        if args.trimmed:
            z = np.load(os.path.join(args.trimmed, "test.npz"))
            feats, lengths, acts = z["features"], z["lengths"], z["labels"]
            correct, lo = 0, 0
            for n, a in zip(lengths, acts):
                seq = torch.from_numpy(feats[lo:lo + n])[None]
                lo += n
                logits = model.frame_logits(seq)[0, -1]
                logits[0] = -1e9  # a trimmed sequence is an action: background is not an answer
                correct += int(int(logits.argmax()) == int(a))
            result["clip_accuracy"] = round(100.0 * correct / len(acts), 1)
            result["clip_protocol"] = f"{len(acts)} trimmed test sequences, label at the last frame"
        else:
            # Trimmed as for MSR Action3D: every ground-truth action instance of the test streams.
            correct = total = 0
            for feats, labels in test:
                for lab, s, e in segments(list(labels), background):
                    if e - s < 3:
                        continue
                    logits = model.frame_logits(torch.from_numpy(feats[s:e])[None])[0, -1]
                    logits[0] = -1e9
                    correct += int(int(logits.argmax()) == int(lab))
                    total += 1
            result["clip_accuracy"] = round(100.0 * correct / max(total, 1), 1)
            result["clip_protocol"] = f"{total} trimmed action instances of the test streams, label at the last frame"
    if ratios:
        result["focal_fraction"] = round(float(np.mean(ratios)), 3)
        # The accuracy cost of skipping: the same model with every frame through the focal path.
        model.force_full = True
        with torch.no_grad():
            full = [(online_probs(model, f, args.window).argmax(1), l) for f, l in test]
        model.force_full = False
        result["online_all_focal"] = seg_metrics(full, background)
    torch.set_num_threads(1)
    result["cpu_ms_per_frame_batch1"] = cpu_ms_per_frame(model, args.window, dim, 1)
    result["cpu_ms_per_frame_batch16"] = cpu_ms_per_frame(model, args.window, dim, 16)
    print(json.dumps(result))
    if args.results:
        with open(args.results, "a") as f:
            f.write(json.dumps(result) + "\n")
    common = {"version": "1", "feature_dim": int(dim), "labels": names, "background": 0, "window": args.window,
              "training": {"seed": args.seed, "steps": args.steps, "benchmark": bench,
                           "online_acc": result["online"]["acc"], "clip_accuracy": result["clip_accuracy"]}}
    os.makedirs(args.out_dir, exist_ok=True)
    export(zoo.OnlineSegmenter(model), dict(common, kind="segmenter", name=f"{bench}-{args.model}", lookahead=0),
           os.path.join(args.out_dir, f"{args.model}-segmenter.pt"))
    export(zoo.OnlineRecognizer(model), dict(common, kind="recognizer", name=f"{bench}-{args.model}"),
           os.path.join(args.out_dir, f"{args.model}-recognizer.pt"))


if __name__ == "__main__":
    main()
