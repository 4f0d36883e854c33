#!/usr/bin/python3
"""Joins two segmenters trained on the same pose features into the one a camera loads: the exercise
probabilities of the ASQuery-style segmenter (train_segmenter.py: the better segmentation on the
workout benchmark) and, of the skeleton model (train_skeleton.py), the repetition score and the
out-of-distribution check, which moves the probability of every exercise to background when the
frame's embedding or pose is far from all exercises. Both must read the same window and look-ahead.

forward(float [B,T,D]) -> (probs [B,T,C], boundary [B,T], repetition [B,T]).

Usage: combine_workout.py --segmenter asquery.pt --skeleton skeleton.pt --out workout.pt
"""
import argparse
import hashlib
import os
import sys
from typing import Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import export, load_with_manifest  # noqa: E402


class Combined(torch.nn.Module):
    def __init__(self, segmenter: torch.jit.ScriptModule, skeleton: torch.jit.ScriptModule, gate: str):
        super().__init__()
        self.segmenter = segmenter
        self.skeleton = skeleton
        self.gate_embedding = gate in ("both", "embedding")
        self.gate_pose = gate in ("both", "pose")

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        probs, _ = self.segmenter(f)
        _, _, repetition = self.skeleton(f)
        _, _, e = self.skeleton.logits(f)
        inside = torch.ones_like(probs[:, :, 0])
        if self.gate_embedding:
            thr = self.skeleton.ood_threshold[0]
            inside = inside * torch.sigmoid((thr - self.skeleton.embedding_distance(e)) / (0.1 * thr))
        if self.gate_pose:
            thr = self.skeleton.pose_threshold[0]
            inside = inside * torch.sigmoid((thr - self.skeleton.pose_distance(f)) / (0.1 * thr))
        inside = inside.unsqueeze(2)
        actions = probs[:, :, 1:] * inside
        probs = torch.cat([torch.clamp(1.0 - actions.sum(dim=2, keepdim=True), min=0.0), actions], dim=2)
        prev = torch.cat([probs[:, :1], probs[:, :-1]], dim=1)
        boundary = 1.0 - (probs * prev).sum(dim=2)
        return probs, boundary, repetition


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segmenter", required=True)
    ap.add_argument("--skeleton", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="workout-asquery-gcn")
    ap.add_argument("--gate", default="pose", choices=["both", "pose", "embedding", "none"],
                    help="which of the skeleton model's out-of-distribution checks gate the probabilities")
    args = ap.parse_args()
    seg_model, seg = load_with_manifest(args.segmenter)
    skel_model, skel = load_with_manifest(args.skeleton)
    for key in ("labels", "feature_dim", "window", "background"):
        if seg[key] != skel[key]:
            raise SystemExit(f"combine_workout: {key} differs: {args.segmenter} {seg[key]} vs {args.skeleton} {skel[key]}")
    if seg["lookahead"] > skel["lookahead"]:
        # The combination looks ahead as far as the skeleton model; a segmenter needing more would lose it.
        raise SystemExit(f"combine_workout: {args.segmenter} looks ahead {seg['lookahead']} frames, more than "
                         f"{args.skeleton} ({skel['lookahead']})")
    sha = {p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (args.segmenter, args.skeleton)}
    manifest = dict(skel, name=args.name, repetitions=True)
    manifest.pop("decoding", None)  # chosen again for the combination (set_decoding.py)
    manifest["training"] = dict(skel["training"], components={
        "probabilities": {"name": seg["name"], "file_sha256": sha[args.segmenter], "training": seg["training"]},
        "repetitions_and_ood": {"name": skel["name"], "file_sha256": sha[args.skeleton]}})
    manifest["calibration"] = dict(skel.get("calibration", {}), gate=args.gate)
    export(Combined(seg_model, skel_model, args.gate), manifest, args.out)


if __name__ == "__main__":
    main()
