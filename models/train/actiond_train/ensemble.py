"""Averages the frame probabilities of segmenters trained on the same features into the one model a
camera loads (an ensemble of different architectures: their errors differ, the mean is steadier than
either). The boundary score is the first model's; the window and the look-ahead are the largest of
the members' (a causal member's output at the decided frame still reads only frames up to it).

forward(float [B,T,D]) -> (probs [B,T,C], boundary [B,T]).

Usage: ensemble.py --segmenter asquery.pt --segmenter gru.pt [--weights 0.5,0.5] --name NAME --out OUT.pt
"""
import argparse
import hashlib
import os
import sys
from typing import List, Tuple

import torch

from actiond_train.common import export, load_with_manifest


class Ensemble(torch.nn.Module):
    def __init__(self, members: List[torch.jit.ScriptModule], weights: List[float]):
        super().__init__()
        self.first = members[0]  # its boundary score is the ensemble's
        self.rest = torch.nn.ModuleList(members[1:])
        self.weights = weights

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        out = self.first(f)  # (probs, boundary) or, from a skeleton segmenter, (probs, boundary, repetition)
        probs, boundary = out[0] * self.weights[0], out[1]
        for i, m in enumerate(self.rest):
            probs = probs + m(f)[0] * self.weights[i + 1]
        return probs, boundary


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segmenter", action="append", required=True, help="a member (two or more)")
    ap.add_argument("--weights", default="", help="comma-separated, one per member (default: equal)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if len(args.segmenter) < 2:
        raise SystemExit("ensemble: give two or more --segmenter")
    loaded = [load_with_manifest(p) for p in args.segmenter]
    first = loaded[0][1]
    for path, (_, m) in zip(args.segmenter, loaded):
        if m.get("kind") != "segmenter":
            raise SystemExit(f"ensemble: {path}: manifest kind is {m.get('kind')!r}, not 'segmenter'")
        for key in ("labels", "background", "feature_dim"):
            if m.get(key) != first.get(key):
                raise SystemExit(f"ensemble: {path}: manifest {key} differs from {args.segmenter[0]}'s")
    weights = [float(w) for w in args.weights.split(",")] if args.weights else [1.0 / len(loaded)] * len(loaded)
    if len(weights) != len(loaded) or abs(sum(weights) - 1.0) > 1e-6 or min(weights) < 0:
        raise SystemExit(f"ensemble: --weights {args.weights!r}: one non-negative weight per member, summing to 1")
    manifest = {k: v for k, v in first.items() if k not in ("decoding", "calibration")}
    manifest.update({
        "name": args.name,
        "window": max(int(m["window"]) for _, m in loaded),
        "lookahead": max(int(m.get("lookahead", 0)) for _, m in loaded),
    })
    manifest["training"] = {"ensemble": [
        {"name": m.get("name"), "file": os.path.basename(p), "sha256": sha256(p), "weight": w, "window": m["window"],
         "lookahead": m.get("lookahead", 0), "training": m.get("training")}
        for p, (_, m), w in zip(args.segmenter, loaded, weights)]}
    export(Ensemble([model for model, _ in loaded], weights), manifest, args.out)
    print(f"ensemble: {len(loaded)} members -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
