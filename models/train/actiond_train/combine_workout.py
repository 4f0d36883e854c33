"""Joins two segmenters trained on the same pose features into the one a camera loads: the exercise
probabilities of one (the zoo's causal TCN, train_zoo.py, or the ASQuery-style train_segmenter.py)
and, of the skeleton model (train_skeleton.py), the repetition score and the out-of-distribution
check: far (Mahalanobis) from every exercise in the frame embedding or the pose, probability moves
to background. With --latch N an exercise opens only after N frames in a row inside the check (the
frames up to the look-ahead count) and, once open, stays while it is predicted: unusual poses inside
an exercise do not split it, footage never inside the check never opens one. Repetition peaks count
only inside the check. Both models must read the same window; the look-ahead is the skeleton's.

forward(float [B,T,D]) -> (probs [B,T,C], boundary [B,T], repetition [B,T]).

Usage: combine_workout.py --segmenter tcn.pt --skeleton skeleton.pt [--gate both] [--latch 5] --out workout.pt
"""
import argparse
import hashlib
from typing import Tuple

import torch

from actiond_train.common import export, load_with_manifest


class Combined(torch.nn.Module):
    def __init__(self, segmenter: torch.jit.ScriptModule, skeleton: torch.jit.ScriptModule, gate: str,
                 latch: int, lookahead: int):
        super().__init__()
        self.lookahead = lookahead
        self.segmenter = segmenter
        self.skeleton = skeleton
        self.gate_embedding = gate in ("both", "embedding")
        self.gate_pose = gate in ("both", "pose")
        self.latch = latch

    def latched(self, probs: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
        """1 where an exercise may be published: it opened after `latch` consecutive in-distribution
        frames and the predicted exercise has not changed since (isolated out-of-distribution frames
        inside an exercise do not split it; an exercise never seen in-distribution never opens). [B,T]"""
        pred = probs.argmax(dim=2)
        b, t = pred.shape
        # Frame t is decided `lookahead` frames later: the in-distribution frames up to then count.
        ahead = torch.clamp(torch.arange(t, device=probs.device) + self.lookahead, max=t - 1)
        ok = inside[:, ahead] > 0.5
        run = torch.zeros(b, dtype=torch.long, device=probs.device)
        open_ = torch.zeros(b, dtype=torch.bool, device=probs.device)
        prev = torch.zeros(b, dtype=torch.long, device=probs.device)
        out = torch.zeros(b, t, device=probs.device)
        for i in range(t):
            run = torch.where(ok[:, i], run + 1, torch.zeros_like(run))
            p = pred[:, i]
            open_ = open_ & (p > 0) & (p == prev)
            open_ = open_ | ((p > 0) & (run >= self.latch))
            out[:, i] = open_.to(out.dtype)
            prev = p
        return out

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        probs, _ = self.segmenter(f)
        _, rep, e = self.skeleton.logits(f)
        repetition = self.skeleton.repetition_score(rep)
        inside = torch.ones_like(probs[:, :, 0])
        if self.gate_embedding:
            thr = self.skeleton.ood_threshold[0]
            inside = inside * torch.sigmoid((thr - self.skeleton.embedding_distance(e)) / (0.1 * thr))
        if self.gate_pose:
            thr = self.skeleton.pose_threshold[0]
            inside = inside * torch.sigmoid((thr - self.skeleton.pose_distance(f)) / (0.1 * thr))
        repetition = repetition * inside  # no repetition where the pose is unlike any exercise
        if self.latch > 0:
            inside = self.latched(probs, inside)
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
    ap.add_argument("--latch", type=int, default=0,
                    help="frames in a row inside the checks before an exercise may open; once open it stays "
                         "while predicted (0: gate every frame on its own)")
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
    manifest["calibration"] = dict(skel.get("calibration", {}), gate=args.gate, latch_frames=args.latch)
    export(Combined(seg_model, skel_model, args.gate, args.latch, int(skel["lookahead"])),
           manifest, args.out)


if __name__ == "__main__":
    main()
