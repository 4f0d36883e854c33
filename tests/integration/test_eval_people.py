#!/usr/bin/python3
"""`actiond eval --workbench` on a stream of tracked people with a repetition output, against figures
worked out by hand. A rule segmenter (TorchScript) reads its answer from the features: column 0 is the
probability of action `a`, column 1 the repetition score. One 6 s stream at 10 fps:
  frames  0-9   non-exercise footage (person 1), background;
  frames 10-39  a video of `a` (person 2) with 3 repetitions starting at 15, 25, 35; the model misses
                the person at frame 20 (track 0), which must not split the person's segment;
  frames 40-59  non-exercise footage (person 3), which the model reads as `a` on frames 45-54.
Expected, with the settings in the manifest's `decoding` (confirm 2, minimum 0.3 s): predicted `a` on
10-39 and 45-54 -> F1@50 = 66.7 (1 true, 1 false segment), 1 false segment in 3 s of non-exercise
footage, repetitions counted 3 of 3 (OBO 1, MNAE 0), each 0.1 s after its start (a peak is known one
frame later; no look-ahead).

Usage (from ctest): test_eval_people.py --actiond BIN
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
        a = f[:, :, 0]
        probs = torch.stack([1.0 - a, a], dim=2)
        return probs, torch.zeros_like(a), f[:, :, 1]


def test_eval_people(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        n = 60
        feats = np.zeros((n, 2), np.float32)
        feats[10:40, 0] = 1.0
        feats[45:55, 0] = 1.0
        reps = np.zeros(n, np.uint8)
        for r in (15, 25, 35):
            feats[r, 1] = 0.9
            feats[r - 1, 1] = feats[r + 1, 1] = 0.3
            reps[r] = 1
        track = np.array([1] * 10 + [2] * 30 + [3] * 20, np.int64)
        track[20] = 0
        write_eval_world(root, ["background", "a"], "test", "s", feats,
                         ["background"] * 10 + ["a"] * 30 + ["background"] * 20, 10.0)
        base = os.path.join(root, "features", "s")
        np.save(base + ".track.npy", track)
        np.save(base + ".reps.npy", reps)
        with open(os.path.join(root, "pieces.json"), "w") as f:
            json.dump({"streams": {"s": [{"kind": "filler", "source": "street", "span": [0, 10]},
                                         {"kind": "video", "class": "a", "name": "v1", "reps": 3, "span": [10, 40]},
                                         {"kind": "filler", "source": "street", "span": [40, 60]}]}}, f)
        manifest = {"kind": "segmenter", "name": "rule", "version": "1", "feature_dim": 2, "labels": ["background", "a"],
                    "background": 0, "window": 8, "lookahead": 0, "repetitions": True,
                    "decoding": {"confirm_frames": 2, "boundary_confirm_frames": 2, "min_duration_s": 0.3,
                                 "threshold": 0.5, "repetition_threshold": 0.5, "repetition_min_interval_s": 0.4}}
        model = os.path.join(root, "rule.pt")
        torch.jit.save(torch.jit.script(Rule()), model, _extra_files={"manifest.json": json.dumps(manifest)})
        out = subprocess.run([args.actiond, "eval", "--workbench", root, "--features", os.path.join(root, "features"),
                              "--segmenter", model, "--video-fps", "10", "--analysis-fps", "10", "--json"],
                             check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    tracked = [x for x in r["rows"] if x["decoding"] == "online: daemon windows + segment tracker"][0]
    reps = r["repetitions"]
    got = {"tracker_source": r["tracker_source"], "f1@50": tracked["f1@50"], "acc": tracked["acc"],
           "false": r["non_exercise"]["false_segments"], "seconds": r["non_exercise"]["seconds"],
           "counted": reps["per_video"][0]["counted"], "obo": reps["off_by_one_accuracy"],
           "mnae": reps["mean_normalised_abs_error"], "matched": reps["starts_with_event_within_1s"],
           "latency": reps["latency_mean_s"]}
    want = {"tracker_source": "segmenter manifest decoding", "f1@50": 66.7, "acc": 83.3, "false": 1, "seconds": 3.0,
            "counted": 3, "obo": 1.0, "mnae": 0.0, "matched": 3, "latency": 0.1}
    if got != want:
        fail(f"eval: got {got}, expected {want}")
    print(f"ok: {got}")
