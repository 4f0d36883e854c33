"""Calibrates a frame-feature segmenter and recognizer after training: temperature and an
out-of-distribution check on the backbone features, so footage unlike anything trained on gives
background instead of confident actions.

- Check: Mahalanobis distance of each frame's feature to the nearest class mean (every label,
  background included; shared covariance, shrunk), fitted on the training videos. The segmenter
  averages it over the last `smooth` frames (causal); the recognizer over its clip. Where it is
  beyond the threshold, the output is background (probability 1), boundary 0.
- Thresholds and temperatures are set on videos never trained on: by default the world's `val`
  split (training videos held out of training; `--calib-splits`, or another world with
  `--calib-world`/`--calib-features`): the `quantile` of their distances, and the temperature that
  minimises the negative log-likelihood of their labels.
Wraps each TorchScript model in place of its output (the daemon loads it as any other model); the
manifest keeps its fields and records the calibration. `--ood DIR` (features of non-training footage
through the same backbone) reports what the check does there and writes DIR's world for
`actiond eval --split ood` (false segments per hour).

Usage: calibrate_frames.py --world W --features F [--calib-splits val]
         --segmenter S.pt --recognizer R.pt --out-dir OUT [--ood DIR --ood-world OUTW]
"""
import argparse
import copy
import json
import os
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn

from actiond_train.common import load_arrays, load_with_manifest, read_mapping, read_split


class FeatureCheck(nn.Module):
    """Distance of each frame to the nearest class mean; [B,T,D] -> [B,T]. Mahalanobis with a shared
    precision P = W W^T, computed in the whitened space (f W against the whitened means): one D x D
    product per frame instead of one per frame and class."""

    def __init__(self, means: torch.Tensor, whiten: torch.Tensor):
        super().__init__()
        mw = means @ whiten
        self.register_buffer("whiten", whiten)
        self.register_buffer("means_w", mw)
        self.register_buffer("means_sq", (mw * mw).sum(dim=1))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        z = f @ self.whiten  # [B,T,D]
        d2 = (z * z).sum(dim=2, keepdim=True) - 2.0 * (z @ self.means_w.t()) + self.means_sq  # [B,T,K]
        return d2.clamp(min=0).amin(dim=2).sqrt()


def causal_mean(d: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of d over frames max(0, t-k+1)..t. d [B,T]."""
    c = torch.cumsum(torch.nn.functional.pad(d, [1, 0]), dim=1)
    t = d.shape[1]
    idx = torch.arange(1, t + 1, device=d.device)
    lo = (idx - k).clamp(min=0)
    return (c[:, idx] - c[:, lo]) / (idx - lo).to(d.dtype)


class CalibratedSegmenter(nn.Module):
    def __init__(self, inner: torch.jit.ScriptModule, check: FeatureCheck, threshold: float, smooth: int,
                 temperature: float, background: int):
        super().__init__()
        self.inner, self.check = inner, check
        self.threshold, self.smooth, self.temperature, self.background = threshold, smooth, temperature, background

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        probs, boundary = self.inner(f)
        probs = torch.softmax(torch.log(probs.clamp(min=1e-8)) / self.temperature, dim=2)
        out = causal_mean(self.check(f), self.smooth) > self.threshold  # [B,T]
        bg = torch.zeros_like(probs)
        bg[:, :, self.background] = 1.0
        probs = torch.where(out.unsqueeze(2), bg, probs)
        return probs, torch.where(out, torch.zeros_like(boundary), boundary)


class CalibratedRecognizer(nn.Module):
    def __init__(self, inner: torch.jit.ScriptModule, check: FeatureCheck, threshold: float, temperature: float,
                 background: int):
        super().__init__()
        self.inner, self.check = inner, check
        self.threshold, self.temperature, self.background = threshold, temperature, background

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(torch.log(self.inner(f).clamp(min=1e-8)) / self.temperature, dim=1)
        out = self.check(f).mean(dim=1) > self.threshold  # [B]
        bg = torch.zeros_like(probs)
        bg[:, self.background] = 1.0
        return torch.where(out.unsqueeze(1), bg, probs)


def fit_check(train: List[Tuple[np.ndarray, np.ndarray]], classes: int, shrink: float) -> FeatureCheck:
    x = np.concatenate([f for f, _ in train]).astype(np.float64)
    y = np.concatenate([l for _, l in train])
    present = [c for c in range(classes) if (y == c).any()]
    means = np.stack([x[y == c].mean(0) for c in present])
    centred = x - means[np.searchsorted(present, y)]
    cov = centred.T @ centred / len(x)
    cov += shrink * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    whiten = np.linalg.cholesky(np.linalg.inv(cov))  # inv(cov) = W W^T
    return FeatureCheck(torch.from_numpy(means).float(), torch.from_numpy(whiten).float())


def best_temperature(logp: torch.Tensor, y: torch.Tensor) -> float:
    """Temperature minimising the NLL of y under softmax(logp / T), on a grid."""
    grid = [0.2 + 0.05 * i for i in range(97)]  # 0.2 .. 5.0
    nll = [float(torch.nn.functional.cross_entropy(logp / t, y)) for t in grid]
    return grid[int(np.argmin(nll))]


def windows(feats: np.ndarray, window: int, every: int = 1) -> np.ndarray:
    return np.stack([feats[e - window:e] for e in range(window, len(feats) + 1, every)])


def load_features(features: str, world: str, videos: List[str], names: List[str],
                  video_fps: float) -> List[Tuple[np.ndarray, np.ndarray]]:
    """[(features float32 [T,D], labels [T])] of `videos`."""
    return [(f.astype(np.float32), l) for f, l in load_arrays(features, world, videos, names, "features", video_fps)]


def long_enough(data, window: int):
    """The videos with at least one full window (the daemon decides nothing before one is full)."""
    kept = [(f, l) for f, l in data if len(f) >= window]
    if not kept:
        raise SystemExit(f"calibrate: every video is shorter than the model's window ({window} analysed frames): "
                         f"label longer recordings")
    return kept


def decided_frames(out, manifest: Dict, data) -> Tuple[torch.Tensor, torch.Tensor]:
    """`out(windows) -> [B,T]` or `[B,T,C]` at the frame the daemon decides in each of its windows
    (T-1-lookahead), with that frame's label. -> (values [N(,C)], labels [N])"""
    w, la = int(manifest["window"]), int(manifest.get("lookahead", 0))
    vs, ys = [], []
    for feats, labels in long_enough(data, w):
        vs.append(out(torch.from_numpy(windows(feats, w)))[:, -1 - la])
        ys.append(torch.from_numpy(labels[w - 1 - la:len(feats) - la]).long())
    return torch.cat(vs), torch.cat(ys)


def every_clip(out, manifest: Dict, data) -> Tuple[torch.Tensor, torch.Tensor]:
    """`out(clips)` for every clip of the recognizer's window, with the clip's majority label."""
    w = int(manifest["window"])
    vs, ys = [], []
    for feats, labels in long_enough(data, w):
        vs.append(out(torch.from_numpy(windows(feats, w))))
        ys.append(torch.tensor([np.bincount(labels[e - w:e]).argmax() for e in range(w, len(feats) + 1)]))
    return torch.cat(vs), torch.cat(ys)


def load_ood(folder: str) -> Dict[str, np.ndarray]:
    return {n[:-len(".features.npy")]: np.load(os.path.join(folder, n)).astype(np.float32)
            for n in sorted(os.listdir(folder)) if n.endswith(".features.npy")}


def write_ood_world(out: str, names: List[str], ood: Dict[str, np.ndarray], folder: str, fps: float) -> None:
    """A world of non-training footage alone (all background), for actiond eval --split ood."""
    for d in ("groundTruth", "features", "splits"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    with open(os.path.join(out, "mapping.txt"), "w") as f:
        f.write("".join(f"{i} {n}\n" for i, n in enumerate(names)))
    pieces = {}
    for name, feats in ood.items():
        n = len(feats)
        base = os.path.join(out, "features", name)
        np.save(base + ".features.npy", feats)
        np.save(base + ".pts.npy", np.load(os.path.join(folder, name + ".pts.npy")))
        with open(os.path.join(out, "groundTruth", name + ".txt"), "w") as f:
            f.write(f"{names[0]}\n" * n)
        pieces[name] = [{"kind": "filler", "source": name, "frames": [0, n], "span": [0, n]}]
    with open(os.path.join(out, "splits", "ood.split1.bundle"), "w") as f:
        f.write("".join(n + ".txt\n" for n in ood))
    with open(os.path.join(out, "pieces.json"), "w") as f:
        json.dump({"fps": fps, "streams": pieces}, f, indent=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--calib-world", help="world of the videos never trained on (default: --world)")
    ap.add_argument("--calib-features", help="their features (default: --features)")
    ap.add_argument("--calib-splits", default="val", help="their split(s), joined by + (default: val)")
    ap.add_argument("--segmenter", required=True)
    ap.add_argument("--recognizer", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--video-fps", type=float, default=25.0)
    ap.add_argument("--quantile", type=float, default=0.999)
    ap.add_argument("--smooth", type=int, default=5, help="frames the segmenter's check averages")
    ap.add_argument("--shrink", type=float, default=0.01, help="covariance shrinkage (share of the mean variance)")
    ap.add_argument("--ood", help="features of non-training footage (actiond extract with the same backbone)")
    ap.add_argument("--ood-world", help="where to write that footage's world (actiond eval --split ood)")
    ap.add_argument("--interval", type=int, default=5, help="recognition interval in frames (1 s at 5 fps)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    names = read_mapping(args.world)
    train = load_features(args.features, args.world, read_split(args.world, "train"), names, args.video_fps)
    calib_world = args.calib_world or args.world
    calib_videos = [v for split in args.calib_splits.split("+") for v in read_split(calib_world, split)]
    if not calib_videos:
        raise SystemExit(f"calibrate_frames: {calib_world}: split {args.calib_splits} lists no videos "
                         "(actiond world --val-fraction > 0 holds some out)")
    calib = load_features(args.calib_features or args.features, calib_world, calib_videos, names, args.video_fps)
    check = fit_check(train, len(names), args.shrink)
    seg, seg_m = load_with_manifest(args.segmenter)
    rec, rec_m = load_with_manifest(args.recognizer)
    bg = int(seg_m["background"])
    report: Dict = {}
    with torch.no_grad():
        # Segmenter: the decided frame of each daemon window; recognizer: every clip.
        probs, ys = decided_frames(lambda x: seg(x)[0], seg_m, calib)
        seg_t = best_temperature(torch.log(probs.clamp(min=1e-8)), ys)
        ds, _ = decided_frames(lambda x: causal_mean(check(x), args.smooth), seg_m, calib)
        seg_thr = float(torch.quantile(ds, args.quantile))
        probs, ys = every_clip(rec, rec_m, calib)
        rec_t = best_temperature(torch.log(probs.clamp(min=1e-8)), ys)
        ds, _ = every_clip(lambda x: check(x).mean(dim=1), rec_m, calib)
        rec_thr = float(torch.quantile(ds, args.quantile))
    calibration = {"temperature": None, "ood": {
        "method": "Mahalanobis distance of the backbone feature to the nearest class mean (shared covariance, "
                  f"shrinkage {args.shrink}), fitted on the training videos",
        "threshold_set_on": f"{len(calib)} videos never trained on (split {args.calib_splits} of world "
                            f"{os.path.basename(os.path.normpath(calib_world))}), quantile {args.quantile}",
        "beyond_threshold": "background, probability 1"}}
    os.makedirs(args.out_dir, exist_ok=True)
    outs = {}
    for kind, module, manifest, extra in (
            ("segmenter", CalibratedSegmenter(seg, check, seg_thr, args.smooth, seg_t, bg), seg_m,
             {"temperature": seg_t, "threshold": seg_thr, "smooth_frames": args.smooth}),
            ("recognizer", CalibratedRecognizer(rec, check, rec_thr, rec_t, bg), rec_m,
             {"temperature": rec_t, "threshold": rec_thr, "over": "the clip's mean distance"})):
        c = copy.deepcopy(calibration)
        c["temperature"] = extra.pop("temperature")
        c["ood"].update(extra)
        m = dict(manifest, calibration=c)
        path = os.path.join(args.out_dir, os.path.basename(args.segmenter if kind == "segmenter" else args.recognizer))
        scripted = torch.jit.script(module.eval())
        torch.jit.save(scripted, path, _extra_files={"manifest.json": json.dumps(m, indent=2)})
        outs[kind] = scripted
        report[kind] = c
        print(f"calibrate: {kind} temperature {c['temperature']:.2f}, threshold {c['ood']['threshold']:.2f} -> {path}")
    if args.ood:
        ood = load_ood(args.ood)
        with torch.no_grad():
            for name, feats in ood.items():
                rw = int(rec_m["window"])
                if len(feats) < rw:
                    continue
                x = torch.from_numpy(windows(feats, rw, args.interval))
                d = outs["recognizer"].check(x).mean(dim=1)
                line = {"median_distance": round(float(d.median()), 2), "threshold": round(rec_thr, 2)}
                for tag, model in (("before", rec), ("after", outs["recognizer"])):
                    p = model(x)
                    conf, lab = p.max(dim=1)
                    act = (lab != bg) & (conf >= 0.5)
                    line[tag] = {"recognitions": len(x), "actions_at_0.5": int(act.sum()),
                                 "mean_action_confidence": round(float(conf[lab != bg].mean()), 2) if (lab != bg).any() else None}
                print(f"calibrate: {name}: recognitions {json.dumps(line)}")
                report.setdefault("ood_recognitions", {})[name] = line
        if args.ood_world:
            write_ood_world(args.ood_world, names, ood, args.ood, 5.0)
    with open(os.path.join(args.out_dir, "calibration.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
