"""Teach your own actions over HTTP and actionctl, against a running actiond (docs/API.md,
docs/TEACH.md): recordings kept inside their folders (.. and a symlink out answer 403), datasets
checked field by field with exact messages, the token scopes (none: 401, read-only: 403), export and
import, training requests checked, one training job at a time (a second answers 409), cancel stops
the job and every step it started, and the same through actionctl.

Usage (from ctest): test_teach_api.py --actiond BIN --actionctl BIN --source DIR --train-command BIN
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from testlib import fail, free_port, write_config

TOKEN, VIEWER = "teach-token", "viewer-token"


def call(port: int, method: str, path: str, token: str = TOKEN, body=None, raw: bytes = None) -> tuple:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, (json.loads(text) if r.headers.get_content_type() == "application/json" else text)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def expect(got: tuple, status: int, message: str = None) -> dict:
    if got[0] != status or (message is not None and got[1] != {"error": message}):
        fail(f"expected {status} {message!r}, got {got}")
    return got[1]


def make_video(path: str, seconds: int) -> None:
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "pattern=ball", f"num-buffers={seconds * 25}", "!",
                    "video/x-raw,width=320,height=240,framerate=25/1", "!", "videoconvert", "!", "x264enc",
                    "speed-preset=ultrafast", "!", "h264parse", "!", "mp4mux", "!", "filesink", f"location={path}"],
                   check=True, timeout=120)


def training_processes(folder: str) -> list:
    out = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if folder.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def test_teach_api_and_actionctl(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        media = os.path.join(root, "media")
        os.makedirs(os.path.join(media, "kitchen"))
        for k in range(3):
            make_video(os.path.join(media, "kitchen", f"take{k}.mp4"), 12)
        os.symlink("/etc", os.path.join(media, "evil"))
        for name, token in (("token", TOKEN), ("viewer", VIEWER)):
            with open(os.path.join(root, name), "w") as f:
                f.write(token + "\n")
        port, control = free_port(), f"tcp://127.0.0.1:{free_port()}"
        write_config(root, {"metrics": {"listen": f"127.0.0.1:{port}"},
                            "control": {"endpoint": control, "allow_reload": True},
                            "model_dir": os.path.join(args.source, "models", "default"),
                            "api": {"token_file": "token", "read_token_file": "viewer"},
                            "teach": {"media_dir": "media", "train_command": args.train_command},
                            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}},
                     {"workbench": {"uri": "synthetic://workbench?seed=7", "fps": 5,
                                    "models": {"backbone": "bb", "segmenter": "seg"}}})
        daemon = subprocess.Popen([args.actiond, "--config", root])
        try:
            deadline = time.time() + 30
            while not _up(port):
                if time.time() > deadline or daemon.poll() is not None:
                    fail("actiond did not come up")
                time.sleep(0.3)
            check_recordings(port)
            check_datasets(port)
            check_training(port, root)
            check_actionctl(args.actionctl, control, port)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)


def _up(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
        return True
    except (urllib.error.URLError, ConnectionError):
        return False


def check_recordings(port: int) -> None:
    ids = [r["id"] for r in expect(call(port, "GET", "/api/recordings"), 200)["recordings"]]
    if sorted(ids) != [f"media/kitchen/take{k}.mp4" for k in range(3)]:
        fail(f"recordings: {ids}")
    expect(call(port, "GET", "/api/recordings", token=""), 401, "a bearer token is required")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/recordings/media/kitchen/take0.mp4",
                                 headers={"Authorization": f"Bearer {VIEWER}", "Range": "bytes=0-99"})
    with urllib.request.urlopen(req, timeout=10) as r:
        if r.status != 206 or len(r.read()) != 100 or r.headers["Content-Type"] != "video/mp4":
            fail("a recording is not served with Range")
    expect(call(port, "GET", "/api/recordings/media/evil/passwd"), 403,
           "recording 'media/evil/passwd' is outside the media folder")
    expect(call(port, "GET", "/api/recordings/media/kitchen/%2e%2e/%2e%2e/token"), 403,
           "recording 'media/kitchen/../../token' is outside the media folder")
    expect(call(port, "GET", "/api/recordings/clips/nope/x.mp4"), 404, "no recording 'clips/nope/x.mp4'")
    got = expect(call(port, "GET", "/api/recording-segments?id=media/kitchen/take0.mp4"), 200)
    if got["segments"] != [] or "camera clips" not in got["note"]:
        fail(f"recording-segments of a media file: {got}")


def segments(video: str, pairs) -> list:
    return [{"video": video, "label": label, "start": a, "end": b} for label, a, b in pairs]


def check_datasets(port: int) -> None:
    v0 = "media/kitchen/take0.mp4"
    cases = [({"labels": ["wave"], "colour": 1}, "unknown key 'colour'"),
             ({"labels": ["wave", "wave"]}, 'labels[1]: "wave" is listed twice'),
             ({"labels": ["-x"]}, "labels[0]: 1-40 letters, digits, ' ', '_', '-', '.', starting with a letter or digit"),
             ({"labels": ["wave"], "segments": segments(v0, [("clap", 1, 2)])},
              'segments[0].label: "clap" is not one of the labels'),
             ({"labels": ["wave"], "segments": segments(v0, [("wave", 3, 2)])},
              "segments[0]: start 3 s, end 2 s (0 <= start < end)"),
             ({"labels": ["wave"], "segments": segments(v0, [("wave", 1, 3), ("wave", 2, 4)])},
              f"segments[1]: overlaps segments[0] in {v0}"),
             ({"labels": ["wave"], "segments": segments("media/kitchen/none.mp4", [("wave", 1, 2)])},
              "segments[0].video: no recording 'media/kitchen/none.mp4'"),
             ({"labels": ["wave"], "segments": [{"video": v0}]},
              'segments[0]: must be {"video": ID, "label": NAME, "start": S, "end": S}')]
    for body, message in cases:
        expect(call(port, "PUT", "/api/datasets/kitchen", body=body), 400, message)
    expect(call(port, "PUT", "/api/datasets/..", body={}), 404, None)
    expect(call(port, "PUT", "/api/datasets/kitchen", token=VIEWER, body={}), 403,
           "this token may only read (actiond.json /api/read_token_file)")
    body = {"labels": ["wave", "clap"], "segments": []}
    for k in range(3):
        body["segments"] += segments(f"media/kitchen/take{k}.mp4",
                                     [("wave", 1, 3), ("clap", 4, 6), ("wave", 7, 9), ("clap", 9.5, 11)])
    got = expect(call(port, "PUT", "/api/datasets/kitchen", body=body), 200)
    if got != dict(body, name="kitchen"):
        fail(f"the saved dataset reads back as {got}")
    listed = expect(call(port, "GET", "/api/datasets", token=VIEWER), 200)["datasets"]
    if [(d["name"], d["segments"], d["videos"]) for d in listed] != [("kitchen", 12, 3)]:
        fail(f"datasets: {listed}")
    status, csv = call(port, "GET", "/api/datasets/kitchen/export?format=csv")
    if status != 200 or not csv.decode().startswith("video,label,start,end\nmedia/kitchen/take0.mp4,wave,1,3\n"):
        fail(f"export: {status} {csv[:200]!r}")
    expect(call(port, "POST", "/api/datasets/other/import", raw=b"video,label,start,end\nmedia/kitchen/take0.mp4,wave,x,2\n"),
           400, 'line 2: start "x" is not a number of seconds')
    expect(call(port, "POST", "/api/datasets/other/import", raw=b"clip,label,from,to\n"), 400,
           "line 1: the header must be video,label,start,end")
    got = expect(call(port, "POST", "/api/datasets/other/import", raw=csv), 200)
    if got["segments"] != body["segments"] or got["labels"] != ["wave", "clap"]:
        fail(f"import of the export: {got}")
    expect(call(port, "GET", "/api/datasets/nope"), 404, "no dataset 'nope'")


def check_training(port: int, root: str) -> None:
    for body, status, message in [({}, 400, "dataset: the dataset's name is required"),
                                  ({"dataset": "nope"}, 404, "no dataset 'nope'"),
                                  ({"dataset": "kitchen", "steps_scale": 2}, 400, "steps_scale: must be a number in (0, 1]"),
                                  ({"dataset": "kitchen", "camera": "nope"}, 404, "no camera 'nope'"),
                                  ({"dataset": "kitchen", "camera": "workbench", "features": "pose"}, 400,
                                   "features: camera 'workbench' gives frames features, not pose"),
                                  ({"dataset": "kitchen", "colour": 1}, 400, "unknown key 'colour'")]:
        expect(call(port, "POST", "/api/train", body=body), status, message)
    expect(call(port, "DELETE", "/api/train"), 409, "no training job is running")
    job = expect(call(port, "POST", "/api/train", body={"dataset": "kitchen", "camera": "workbench"}), 202)
    if job["state"] != "running" or "--backbone" not in job["command"]:
        fail(f"the job: {job}")
    expect(call(port, "POST", "/api/train", body={"dataset": "kitchen"}), 409,
           f"a training job is running ({job['id']}); one runs at a time")
    deadline = time.time() + 120
    while True:  # into a training stage, so that cancel stops a step it started
        got = expect(call(port, "GET", f"/api/train/{job['id']}"), 200)
        if got["state"] != "running":
            fail(f"the job ended before it was cancelled: {got['state']}: {got['output'][-5:]}")
        if got["progress"].get("stage") == "segmenter" or time.time() > deadline:
            break
        time.sleep(0.5)
    if got["progress"].get("stage") != "segmenter":
        fail(f"the job did not reach its segmenter stage: {got['progress']}")
    folder = os.path.join(root, "teach", "candidates", job["id"])
    if not training_processes(folder):
        fail("no training process runs")
    got = expect(call(port, "DELETE", "/api/train"), 200)
    if got["running"] is not None or got["jobs"][0]["state"] != "cancelled":
        fail(f"after cancel: {got}")
    time.sleep(1)
    if training_processes(folder):
        fail(f"training processes left after cancel: {training_processes(folder)}")
    with open(os.path.join(folder, "job.json")) as f:
        if json.load(f)["state"] != "cancelled":
            fail("job.json does not say cancelled")


def check_actionctl(actionctl: str, control: str, port: int) -> None:
    def ctl(*words, ok=True):
        run = subprocess.run([actionctl, *words, "--control", control], capture_output=True, text=True, timeout=60)
        if (run.returncode == 0) != ok:
            fail(f"actionctl {' '.join(words)}: exit {run.returncode}: {run.stderr}")
        return run
    if [d["name"] for d in json.loads(ctl("datasets").stdout)["datasets"]] != ["kitchen", "other"]:
        fail("actionctl datasets")
    _, csv = call(port, "GET", "/api/datasets/kitchen/export?format=csv")
    if ctl("dataset", "kitchen", "--csv").stdout != csv.decode():
        fail("actionctl dataset --csv differs from the HTTP export")
    if ctl("train", "nope", ok=False).stderr.strip() != "actionctl: no dataset 'nope'":
        fail("actionctl train nope")
    if ctl("cancel", ok=False).stderr.strip() != "actionctl: no training job is running":
        fail("actionctl cancel with no job")
    jobs = json.loads(ctl("jobs").stdout)
    if jobs["running"] is not None or jobs["jobs"][0]["state"] != "cancelled":
        fail(f"actionctl jobs: {jobs}")
