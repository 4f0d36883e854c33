"""Teach your own actions, end to end in a real browser: headless Chromium (Debian's chromium driven
by playwright-core, tests/reference/browser) on the label page of a running actiond with two
cameras on videos of the synthetic workbench world (actiond world), clips on and the journal on. The browser (teach_browser.mjs) takes the
camera's segments on the recordings as a start, labels two segments with the keyboard, saves, trains
(actiond-train, tiny steps, the camera's backbone), opens the report, tries the candidate in shadow
mode until its segments show, promotes it and rolls back. Then, from the journal:
  - between promote and rollback the camera's segments come from the candidate (its sha256 in
    `models`), after the rollback from the original again;
  - no journaled event is a shadow event;
  - every segment started has ended (a promote during traffic ends them with `reconfigured`).
Writes screenshots of the label page and of the report (--label-png, --report-png).

Usage (from ctest): test_teach_browser.py --actiond BIN --source DIR --label-png PNG --report-png PNG
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from testlib import browser_env, fail, free_port, write_config

TOKEN = "teach-e2e-token"


def get(port: int, path: str):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def segment_events(port: int, camera: str, since_ms: int, until_ms: int) -> list:
    q = f"/api/events?camera={camera}&type=segment.&since={utc(since_ms)}&until={utc(until_ms)}&limit=1000&order=asc"
    return get(port, q)["events"]


def test_teach_in_the_browser(args) -> None:
    args.source = os.path.abspath(args.source)
    env = browser_env(args.source)
    with tempfile.TemporaryDirectory() as root:
        models = os.path.join(root, "models")
        shutil.copytree(os.path.join(args.source, "models", "default"), models)
        original = sha256(os.path.join(models, "segmenter.pt"))
        with open(os.path.join(root, "token"), "w") as f:
            f.write(TOKEN + "\n")
        port = free_port()
        # Cameras on encoded video, as real cameras are (clips and live frames then look alike): two
        # videos of the workbench world, looped at their pace.
        world = os.path.join(root, "world")
        subprocess.run([args.actiond, "world", "--out", world, "--videos", "2", "--activities", "4", "--seed", "7",
                        "--test-fraction", "0.5", "--val-fraction", "0"], check=True, capture_output=True, timeout=120)
        cams = {}
        for cam_id, video in (("workbench", "wb_000"), ("bench2", "wb_001")):
            cams[cam_id] = {"uri": f"file://{world}/videos/{video}.mp4", "loop": True, "fps": 5,
                            "models": {"backbone": "bb", "segmenter": "seg", "recognizer": "rec"},
                            "clips": {"enabled": True, "pre_s": 6, "post_s": 4}}
        write_config(root, {"metrics": {"listen": f"127.0.0.1:{port}"}, "model_dir": models,
                            "api": {"token_file": "token"},
                            "teach": {"train_command": args.train_command} if args.train_command else {},
                            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"},
                                       "rec": {"path": "recognizer.pt"}}}, cams)
        daemon = subprocess.Popen([args.actiond, "--config", root])
        try:
            # Enough clips that every label the camera's model gives is in 5 of them: whatever videos
            # actiond-train holds out for val and test, each label keeps a training example.
            deadline, seen = time.time() + 300, {}
            while True:
                if daemon.poll() is not None:
                    fail(f"actiond exited with {daemon.returncode}")
                try:
                    for r in get(port, "/api/recordings")["recordings"]:
                        if r["id"] not in seen:
                            seen[r["id"]] = {s["label"] for s in
                                             get(port, f"/api/recording-segments?id={r['id']}")["segments"]}
                except OSError:
                    pass
                per_label = {}
                for rid, labels in seen.items():
                    for label in labels:
                        per_label.setdefault(label, set()).add(rid)
                if len(seen) >= 12 and per_label and min(map(len, per_label.values())) >= 5:
                    break
                if time.time() > deadline:
                    fail(f"after 300 s: {len(seen)} clips, labels in {[(k, len(v)) for k, v in per_label.items()]}")
                time.sleep(2)
            run = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "teach_browser.mjs"),
                                  f"http://127.0.0.1:{port}/", TOKEN, "workbench", args.label_png, args.report_png],
                                 env=env, capture_output=True, text=True, timeout=600)
            if run.returncode != 0:
                fail(f"the browser run failed: {run.stderr[-3000:]}")
            result = json.loads(run.stdout.strip().splitlines()[-1])
            print("browser:", json.dumps({k: v for k, v in result.items() if k != "steps"}))
            if "error" in result:
                fail(f"the browser run stopped: {result['error']} (console errors: {result['console_errors']})")
            dataset = get(port, "/api/datasets/e2e")
            jobs = get(port, "/api/train")["jobs"]
            time.sleep(6)  # segments after the rollback
            now_ms = int(time.time() * 1000)
            started_ms = result["steps"][0][1] - 600_000
            during = segment_events(port, "workbench", result["promoted"] + 3000, result["rolled_back"] - 1000)
            after = segment_events(port, "workbench", result["rolled_back"] + 3000, now_ms)
            everything = [e for t in ("segment.start", "segment.end") for e in
                          get(port, f"/api/events?type={t}&since={utc(started_ms)}&limit=1000")["events"]]
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        candidate = os.path.join(root, "teach", "candidates", result.get("job", "?"), "segmenter.pt")
        promoted_sha = sha256(candidate) if os.path.exists(candidate) else "?"
    if result["console_errors"]:
        fail(f"console errors: {result['console_errors']}")
    if len(result["keyboard_segments"]) != 2:
        fail(f"the keyboard labelled {result['keyboard_segments']} on the first recording, not 2 segments")
    first = [s for s in dataset["segments"] if s["video"] == dataset["segments"][0]["video"]]
    if not result["saved"].startswith("saved") or len(dataset["segments"]) < 10 or not first:
        fail(f"the dataset was not saved: {result['saved']}, {len(dataset['segments'])} segments")
    job = next((j for j in jobs if j["id"] == result["job"]), None)
    if job is None or job["state"] != "succeeded" or result["progress"] != 1:
        fail(f"training: {job and job['state']}, progress {result['progress']}: {result['jobs']}")
    if "The new model" not in result["report_verdict"]:
        fail(f"the report has no verdict: {result['report_verdict']}")
    if result["shadow_bars"] < 1:
        fail("no shadow segment on the page")
    shas = lambda events: {m["sha256"] for e in events for m in e.get("models", [])}  # noqa: E731
    if not during or promoted_sha not in shas(during):
        fail(f"after the promote the camera's segments do not come from the candidate ({len(during)} events)")
    if not after or original not in shas(after) or promoted_sha in shas(after):
        fail(f"after the rollback the camera's segments do not come from the original model ({len(after)} events)")
    if any(e.get("shadow") for e in everything):
        fail("a shadow event was journaled")
    ends = {e["segment"]["id"]: e["segment"]["end_reason"] for e in everything if e["type"] == "segment.end"}
    open_ = [e["segment"]["id"] for e in everything if e["type"] == "segment.start" and e["segment"]["id"] not in ends
             and e["segment"]["start"]["time"] < utc(result["rolled_back"])]
    if open_:
        fail(f"segments left open: {open_}")
    if "reconfigured" not in ends.values():
        fail(f"no segment ended 'reconfigured' at the promote: {sorted(set(ends.values()))}")
    for png in (args.label_png, args.report_png):
        if not os.path.getsize(png):
            fail(f"no screenshot {png}")
    print(f"teach in the browser: {len(dataset['segments'])} segments labelled, job {result['job']} trained, "
          f"{result['shadow_bars']} shadow segment(s) shown ({result['agreement']}), promoted and rolled back; "
          f"screenshots {args.label_png}, {args.report_png}")
