"""The web timeline in a real browser: headless Chromium (Debian's chromium, driven by
playwright-core from npm, tests/reference/browser) opens the page actiond serves at / while the
synthetic workbench camera runs with the default models and clips on. Checked: the camera's
segments appear live within 10 s, clicking a finished segment plays its clip (the video element
reaches the playing state), no console errors. Writes a screenshot (--screenshot).

Usage (from ctest): test_web_timeline.py --actiond BIN --source DIR --screenshot PNG [--settle S]
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from testlib import browser_env, fail, free_port, write_config


def test_web_timeline(args) -> None:
    args.source = os.path.abspath(args.source)
    env = browser_env(args.source)
    with tempfile.TemporaryDirectory() as root:
        port = free_port()
        with open(os.path.join(args.source, "config", "examples", "demo", "cameras", "workbench.json")) as f:
            cam = json.load(f)
        for key in ("$schema", "recognition", "id"):
            cam.pop(key, None)
        cam["models"] = {"backbone": "bb", "segmenter": "seg"}
        cam["clips"] = {"enabled": True, "pre_s": 2, "post_s": 1}
        write_config(root, {"metrics": {"listen": f"127.0.0.1:{port}"},
                            "model_dir": os.path.join(args.source, "models", "default"),
                            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, {"workbench": cam})
        daemon = subprocess.Popen([args.actiond, "--config", root])
        try:
            up = time.time() + 30
            while time.time() < up:
                if daemon.poll() is not None:
                    fail(f"actiond exited with {daemon.returncode}")
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.2)
            time.sleep(args.settle)
            run = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "web_timeline.mjs"),
                                  f"http://127.0.0.1:{port}/", args.screenshot], env=env, capture_output=True,
                                 text=True, timeout=150)
            if run.returncode != 0:
                fail(f"the browser run failed: {run.stderr[-2000:]}")
            result = json.loads(run.stdout.strip().splitlines()[-1])
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    if result.get("segments_s", 99) > 10:
        fail(f"segments appeared after {result.get('segments_s')} s (at most 10): {result}")
    if result.get("clip_playing") != "playing":
        fail(f"the clip did not play: {result}")
    if result["console_errors"]:
        fail(f"console errors: {result['console_errors']}")
    if not os.path.getsize(args.screenshot):
        fail("no screenshot")
    print(f"web timeline: segments after {result['segments_s']:.1f} s, clip playing {result['clip_playing_s']:.1f} s "
          f"after the click, no console errors; screenshot {args.screenshot}")
