#!/usr/bin/python3
"""`actiond eval --workbench --tune` chooses tracker settings by its objective, checked on a stream
worked out by hand. A rule segmenter reads the probabilities of actions `a` and `b` from feature
columns 0 and 1 (background: the rest). One 6 s stream at 10 fps, `a` on frames 10-39; the model gives
`a` 0.9 there, and on frames 40-44 (background: the action's tail read as uncertain) `a` 0.45, `b` 0.2,
background 0.35: `a` wins the argmax but not a threshold of 0.5.
Every threshold of the grid finds the one segment (F1@50 100, Edit 100): F1@50 + Edit ties, and the
first setting of the grid wins: threshold 0.3, whose segment runs on to frame 44 (Acc 55/60 = 91.7).
F1@50 + Edit + Acc (the default) prefers threshold 0.5, which ends the segment at frame 39 (Acc 100).
Alarms: split `q` is one 4 s stream with nothing to find, where the model gives `a` 0.45 for 1 s (frames
10-19): with the model's own settings at threshold 0.3 that second is published, one false alarm;
`--tune-objective alarms` (events found minus false alarms) takes a threshold above 0.45: none.

Usage (from ctest): test_eval_tune.py --actiond BIN
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import torch

from testlib import fail, write_eval_world


class Rule(torch.nn.Module):
    def forward(self, f: torch.Tensor):
        a, b = f[:, :, 0], f[:, :, 1]
        return torch.stack([1.0 - a - b, a, b], dim=2), torch.zeros_like(a)


def tune(actiond: str, root: str, model: str, extra, split: str = "val"):
    out = subprocess.run([actiond, "eval", "--workbench", root, "--features", os.path.join(root, "features"),
                          "--segmenter", model, "--video-fps", "10", "--analysis-fps", "10", "--split", split,
                          "--tune", "--json"] + extra, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    tracked = [x for x in r["rows"] if x["decoding"] == "online: daemon windows + segment tracker"][0]
    t = r["tracker"]
    return {"source": r["tracker_source"], "threshold": t["threshold"], "confirm": t["confirm_frames"],
            "min_s": t["min_duration_s"], "acc": tracked["acc"], "edit": tracked["edit"], "f1@50": tracked["f1@50"],
            "alarms": r["alarms"]}


def test_eval_tune(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        n = 60
        feats = np.zeros((n, 2), np.float32)
        feats[10:40] = [0.9, 0.05]
        feats[40:45] = [0.45, 0.2]
        write_eval_world(root, ["background", "a", "b"], "val", "s", feats,
                         ["background"] * 10 + ["a"] * 30 + ["background"] * 20, 10.0)
        quiet = np.zeros((40, 2), np.float32)
        quiet[10:20] = [0.45, 0.2]
        write_eval_world(root, ["background", "a", "b"], "q", "q", quiet, ["background"] * 40, 10.0)
        manifest = {"kind": "segmenter", "name": "rule", "version": "1", "feature_dim": 2, "labels": ["background", "a", "b"],
                    "background": 0, "window": 8, "lookahead": 0}
        model = os.path.join(root, "rule.pt")
        torch.jit.save(torch.jit.script(Rule()), model, _extra_files={"manifest.json": json.dumps(manifest)})
        got = {"default": tune(args.actiond, root, model, []),
               "f1+edit": tune(args.actiond, root, model, ["--tune-objective", "f1+edit"])}
        q_alarms = tune(args.actiond, root, model, ["--tune-objective", "alarms"], "q")
        loose = os.path.join(root, "loose.pt")
        torch.jit.save(torch.jit.script(Rule()), loose, _extra_files={"manifest.json": json.dumps(
            dict(manifest, decoding={"threshold": 0.3, "confirm_frames": 2, "min_duration_s": 0.3}))})
        q_loose = json.loads(subprocess.run(
            [args.actiond, "eval", "--workbench", root, "--features", os.path.join(root, "features"), "--segmenter",
             loose, "--video-fps", "10", "--analysis-fps", "10", "--split", "q", "--json"],
            check=True, capture_output=True, text=True).stdout)["alarms"]
        bad = subprocess.run([args.actiond, "eval", "--workbench", root, "--features", os.path.join(root, "features"),
                              "--segmenter", model, "--split", "val", "--tune", "--tune-objective", "f1"],
                             capture_output=True, text=True)
    want = {"default": {"source": "tuned on this split (F1@50 + Edit + Acc)", "threshold": 0.5, "confirm": 2,
                        "min_s": 0.3, "acc": 100.0, "edit": 100.0, "f1@50": 100.0,
                        "alarms": {"streams_with_events": 1, "found": 1, "false": 0}},
            "f1+edit": {"source": "tuned on this split (F1@50 + Edit)", "threshold": 0.3, "confirm": 2,
                        "min_s": 0.3, "acc": 91.7, "edit": 100.0, "f1@50": 100.0,
                        "alarms": {"streams_with_events": 1, "found": 1, "false": 0}}}
    if got != want:
        fail(f"eval --tune: got {got}, expected {want}")
    if q_loose != {"streams_with_events": 0, "found": 0, "false": 1}:
        fail(f"split q at threshold 0.3: expected one false alarm, got {q_loose}")
    if q_alarms["source"] != "tuned on this split (alarms found - false alarms)" or q_alarms["threshold"] <= 0.45 or \
            q_alarms["alarms"]["false"] != 0:
        fail(f"split q, alarms: expected a threshold above 0.45 and no false alarm, got {q_alarms}")
    if bad.returncode == 0 or "--tune-objective" not in bad.stderr:
        fail(f"eval --tune-objective f1: expected a usage error naming the option, got exit {bad.returncode}: {bad.stderr!r}")
    print(f"ok: {got}; bad objective: {bad.stderr.strip().splitlines()[0]}")
