#!/usr/bin/python3
"""The imported MoveNet models against TensorFlow.js itself: real photos and video frames of people
(opencv-doc's messi5.jpg, basketball1.png, vtest.avi; a squat video of ../shared/data/workout) go
through the daemon's C++ path (`actiond extract`: GStreamer decode, letterbox to the model input,
LibTorch: the XNNPACK rewrite, batches of 4 split over 2 threads), which writes the exact input it
fed and the model's raw output; TF.js 4.22 (cpu backend,
run by node) runs the original graph model on the same input. Keypoint coordinates and scores (and
multipose boxes) must agree within 1e-4.

Usage (from ctest): test_pose_fidelity.py --actiond BIN --models DIR --source DIR --shared DIR
Exit 77 (skipped) when the npm packages are not fetched.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from testlib import fail, require_pretrained, skip

OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
TOLERANCE = 1e-4


def fetched(script: str) -> str:
    r = subprocess.run([script], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"{os.path.basename(script)} failed: {r.stderr.strip()}")
    return r.stdout.strip().splitlines()[-1]


def test_pose_fidelity(args) -> None:
    package = fetched(os.path.join(args.source, "scripts", "fetch-pretrained.sh"))
    tfjs = fetched(os.path.join(args.source, "scripts", "fetch-tfjs-reference.sh"))
    for name in ("movenet-lightning", "movenet-multipose"):
        require_pretrained(os.path.join(args.models, f"{name}.pt"))
    runner = os.path.join(args.source, "tests", "reference", "tfjs", "run_graph_model.mjs")
    squat = os.path.join(args.shared, "data", "workout", "videos", "squats")
    squat_video = os.path.join(squat, sorted(os.listdir(squat))[0]) if os.path.isdir(squat) else None

    # name, input size, [(file, analysis fps)]: a few frames each (TF.js on the cpu backend is slow).
    cases = [
        ("movenet-lightning", (192, 192), [("messi5.jpg", 1), ("basketball1.png", 1), ("vtest.avi", 0.1)]),
        ("movenet-multipose", (384, 288), [("messi5.jpg", 1), ("basketball1.png", 1), ("vtest.avi", 0.04)]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, (w, h), inputs in cases:
            model = os.path.join(args.models, f"{name}.pt")
            videos = [(os.path.join(OPENCV_DATA, f), fps) for f, fps in inputs]
            if squat_video:
                videos.append((squat_video, 1))
            worst = 0.0
            frames_checked = 0
            for path, fps in videos:
                if not os.path.exists(path):
                    fail(f"{path} is missing (opencv-doc is installed by scripts/install-deps.sh)")
                out = os.path.join(tmp, name, os.path.basename(path))
                r = subprocess.run([args.actiond, "extract", "--model", model, "--videos", path, "--out", out,
                                    "--frames", f"{w}x{h}", "--fps", str(fps), "--batch", "4", "--threads", "2"],
                                   capture_output=True, text=True, timeout=600)
                if r.returncode != 0:
                    fail(f"actiond extract {path}: exit {r.returncode}: {r.stderr[-2000:]}")
                if "engine xnnpack, 2 thread(s)" not in r.stderr:
                    fail(f"{name}: extract did not run the XNNPACK engine on 2 threads: {r.stderr[:500]}")
                stem = os.path.join(out, os.path.splitext(os.path.basename(path))[0])
                ref_file = stem + ".tfjs.npy"
                subprocess.run(["node", runner, os.path.join(package, "models", f"{name}.json"), stem + ".frames.npy",
                                ref_file], check=True, env={**os.environ, "ACTIOND_TFJS_DIR": tfjs},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
                ours = np.load(stem + ".pose.npy")
                ref = np.load(ref_file)
                n = ours.shape[0]
                if n == 0 or ref.shape[0] != n:
                    fail(f"{name} {path}: {n} frames from actiond, {ref.shape[0]} from TF.js")
                ref = ref.reshape(n, -1, ref.shape[-1] if ref.shape[-1] == 56 else 51)
                width = ref.shape[-1]  # lightning: 51 keypoint values (the box is ours, not the graph's)
                diff = float(np.abs(ours[:, :, :width] - ref).max())
                best = float(ours[:, :, 55].max()) if width == 56 else float(ours[:, :, 2:51:3].mean(axis=-1).max())
                print(f"{name} {os.path.basename(path)}: {n} frames, max |torch - tfjs| = {diff:.2e}, "
                      f"best person score {best:.2f}")
                if not np.isfinite(ours).all():
                    fail(f"{name} {path}: non-finite values in the output")
                worst = max(worst, diff)
                frames_checked += n
            if worst > TOLERANCE:
                fail(f"{name}: max difference {worst:.2e} > {TOLERANCE}")
            print(f"{name}: {frames_checked} real frames within {worst:.2e} of TensorFlow.js")
