#!/usr/bin/python3
"""scripts/train-fall-models.sh end to end on a tiny subset (the first three clips of each room of
../shared/data/falls, the first video of each exercise, one rotation, a few training steps): every
step runs (extraction through the daemon's path, the world, our model and the GRU baseline, settings
chosen on val, the test decisions through the daemon's tracker, the figures), the table has a row per
model, the trained model's manifest says what it was trained on and carries its decoding settings,
and nothing is installed into models/falls.

Usage (from ctest): test_train_fall_models.py --actiond BIN --pretrained DIR --source DIR
"""
import json
import os
import subprocess
import tempfile
import time

import torch
from testlib import fail, require_pretrained, skip


def test_train_fall_models(args) -> None:
    pose = require_pretrained(os.path.join(args.pretrained, "movenet-lightning.pt"))
    source = os.path.abspath(args.source)
    if not os.path.exists(os.path.join(source, "..", "shared", "data", "falls", "index.csv")):
        skip("../shared/data/falls is absent")
    installed = os.path.join(source, "models", "falls", "segmenter.pt")
    before = os.path.getmtime(installed) if os.path.exists(installed) else None
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SKIP_BUILD="1", ACTIOND_BIN=args.actiond, POSE=pose, WORK=os.path.join(tmp, "falls"),
                   PEOPLE=os.path.join(tmp, "people"), MAX_CLIPS="3", ROOMS="Home_01", STEPS="6", GRU_STEPS="6",
                   FPS="5", ACTIOND_SHARED_DIR=os.path.join(source, "..", "shared"))
        start = time.time()
        run = subprocess.run([os.path.join(source, "scripts", "train-fall-models.sh")], env=env, cwd=tmp,
                             capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            fail(f"train-fall-models.sh exited {run.returncode}:\n{run.stderr[-3000:]}")
        for step in ("== [1/3]", "== [2/3 1/1]", "== [3/3]"):
            if step not in run.stderr:
                fail(f"no progress line {step!r} in:\n{run.stderr[-2000:]}")
        with open(os.path.join(tmp, "falls", "results.txt")) as f:
            table = f.read()
        rows = [line for line in table.splitlines() if ", test Home_01" in line]
        if [r.split(",")[0] for r in rows] != ["segmenter", "baseline", "skeleton"]:
            fail(f"expected a row for our model, the baseline and the skeleton model alone:\n{table}")
        figures = json.load(open(os.path.join(tmp, "falls", "Home_01", "segmenter.falls.json")))["figures"]
        if figures["falls"] != 3 or figures["clips"] != 3:
            fail(f"the test room's three clips (each with a fall) were not measured: {figures}")
        extra = {"manifest.json": ""}
        torch.jit.load(os.path.join(tmp, "falls", "Home_01", "segmenter.pt"), _extra_files=extra)
        manifest = json.loads(extra["manifest.json"])
        if manifest["labels"] != ["background", "falling", "lying"] or "decoding" not in manifest:
            fail(f"manifest: labels {manifest['labels']}, decoding {'decoding' in manifest}")
        if "Le2i" not in json.dumps(manifest["training"]):
            fail(f"the manifest does not name the training data: {manifest['training']}")
    after = os.path.getmtime(installed) if os.path.exists(installed) else None
    if after != before:
        fail("a quick run installed its model into models/falls")
    print(f"ok: {time.time() - start:.0f} s; {rows}")
