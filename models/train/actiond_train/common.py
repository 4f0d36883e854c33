"""Shared by the training scripts: dataset layout, label alignment, TorchScript export with manifest."""
import hashlib
import json
import os
import random
from typing import Dict, List, Tuple

import numpy as np
import torch


def add_common_args(ap) -> None:
    """Options every training script takes."""
    ap.add_argument("--world", required=True, help="benchmark root (actiond world)")
    ap.add_argument("--out", required=True, help="TorchScript file to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--video-fps", type=float, default=25.0, help="frame rate of groundTruth")


def setup(args) -> List[str]:
    """Seeds, sets threads, returns the label names."""
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    return read_mapping(args.world)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def read_mapping(world: str) -> List[str]:
    names = []
    with open(os.path.join(world, "mapping.txt")) as f:
        for line in f:
            idx, name = line.split()
            assert int(idx) == len(names), "mapping.txt must list ids 0..C-1 in order"
            names.append(name)
    return names


def read_split(world: str, split: str) -> List[str]:
    with open(os.path.join(world, "splits", f"{split}.split1.bundle")) as f:
        return [os.path.splitext(line.strip())[0] for line in f if line.strip()]


def frame_labels(world: str, video: str, names: List[str], pts: np.ndarray, video_fps: float) -> np.ndarray:
    """Ground-truth label of each analysed frame: the video frame at its pts."""
    with open(os.path.join(world, "groundTruth", video + ".txt")) as f:
        gt = [names.index(line.strip()) for line in f if line.strip()]
    idx = np.clip(np.round(pts * video_fps).astype(int), 0, len(gt) - 1)
    return np.asarray(gt)[idx]


def load_arrays(extracted: str, world: str, videos: List[str], names: List[str], kind: str,
                video_fps: float) -> List[Tuple[np.ndarray, np.ndarray]]:
    """[(array [T,...], labels [T])] for `kind` in {"frames", "features"}."""
    out = []
    for v in videos:
        arr = np.load(os.path.join(extracted, f"{v}.{kind}.npy"))
        pts = np.load(os.path.join(extracted, f"{v}.pts.npy"))
        out.append((arr, frame_labels(world, v, names, pts, video_fps)))
    return out


def load_with_manifest(path: str) -> Tuple[torch.jit.ScriptModule, Dict]:
    """An exported model and the manifest inside it."""
    files = {"manifest.json": ""}
    model = torch.jit.load(path, _extra_files=files)
    return model, json.loads(files["manifest.json"])


def export(module: torch.nn.Module, manifest: Dict, path: str) -> None:
    """TorchScript with manifest.json inside; the manifest records the sha256 of the training inputs' code."""
    module.eval()
    scripted = torch.jit.script(module)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.jit.save(scripted, path, _extra_files={"manifest.json": json.dumps(manifest, indent=2)})
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"exported {path} ({os.path.getsize(path) / 1e6:.2f} MB, sha256 {digest[:16]}...)")


def seconds_per_step(model: torch.nn.Module, one_loss, probes: int = 3) -> float:
    """What one training step (forward and backward of one_loss()) costs here: the mean of `probes`
    timed steps after one untimed; the gradients are thrown away, the weights do not change."""
    import time
    model.train()
    times = []
    for k in range(probes + 1):
        start = time.perf_counter()
        one_loss().backward()
        model.zero_grad(set_to_none=True)
        if k > 0:
            times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def fit_steps(steps: int, minutes: float, per_step_s: float, what: str, least: int = 20) -> int:
    """`steps`, or fewer so that they take about `minutes` (0 = no limit); at least `least`."""
    if minutes <= 0:
        return steps
    fitted = max(least, min(steps, int(minutes * 60 / max(per_step_s, 1e-6))))
    if fitted < steps:
        print(f"{what}: {fitted} of {steps} steps fit in {minutes:.1f} min ({per_step_s * 1000:.0f} ms a step)")
    return fitted


def train_steps(model: torch.nn.Module, steps: int, lr: float, weight_decay: float, loss_fn, what: str,
                clip: float = 1.0, every: int = 10, minutes: float = 0.0) -> int:
    """AdamW with a one-cycle schedule, gradient-norm clipping (0 = none) and a progress bar.
    loss_fn(step) returns the loss of one batch. With `minutes`, as many of `steps` as fit in that
    time (timed first). Returns the steps run."""
    if minutes > 0:
        steps = fit_steps(steps, minutes, seconds_per_step(model, lambda: loss_fn(0)), what)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    bar = Progress(steps, what)
    model.train()
    for step in range(steps):
        loss = loss_fn(step)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        sched.step()
        if step % every == 0 or step == steps - 1:
            bar.done = step
            bar.step(f"loss {loss.item():.3f}")
    return steps


class Progress:
    """A one-line progress bar on stderr when it is a terminal; elsewhere (logs, CI output) no
    carriage returns: one plain line at each tenth of the way and at the end."""

    def __init__(self, total: int, what: str):
        import sys
        self.total, self.what, self.done = total, what, 0
        self.printed = 0  # tenths of the way printed (not on a terminal)
        self.terminal = sys.stderr.isatty()

    def step(self, info: str = "") -> None:
        import sys
        self.done += 1
        width = 30
        filled = int(width * self.done / max(1, self.total))
        line = f"{self.what} [{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.total} {info}"
        if self.terminal:
            sys.stderr.write(f"\r{line}   ")
            if self.done == self.total:
                sys.stderr.write("\n")
        elif self.done == self.total or self.done * 10 // max(1, self.total) > self.printed:
            self.printed = self.done * 10 // max(1, self.total)
            sys.stderr.write(line.rstrip() + "\n")
        sys.stderr.flush()
