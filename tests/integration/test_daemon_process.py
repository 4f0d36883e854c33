#!/usr/bin/python3
"""The real binaries end to end: actiond on a generated H.264 file, a Python subscriber (python3-zmq)
and `actionctl events` connected at the same time must receive the same events, every one valid
against config/schema/events.schema.json (python3-jsonschema); SIGTERM exits 0;
`actiond --check-config` accepts a good directory and rejects a bad one with a clear message.

Usage (from ctest): test_daemon_process.py --actiond BIN --actionctl BIN --models DIR --source DIR
"""
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import zmq
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families
from testlib import fail, free_port, make_video


def check_metrics(port: int) -> None:
    """GET /metrics parses as Prometheus text (prometheus_client's parser) and its counters moved."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("actiond_frames_analysed", "actiond_events", "actiond_frame_latency_seconds",
                 "actiond_model_inference_seconds", "actiond_camera_state", "process_resident_memory_bytes"):
        if name not in families:
            fail(f"/metrics lacks {name}: {sorted(families)}")
    analysed = [s.value for s in families["actiond_frames_analysed"].samples if s.labels.get("camera") == "desk"]
    if not analysed or analysed[0] < 5:
        fail(f"frames analysed did not move: {analysed}")
    starts = [s.value for s in families["actiond_events"].samples
              if s.labels.get("type") == "segment.start" and s.name == "actiond_events_total"]
    if starts != [1.0]:
        fail(f"segment.start counter should be 1: {starts}")
    lat = {s.name: s.value for s in families["actiond_frame_latency_seconds"].samples if "le" not in s.labels}
    if lat.get("actiond_frame_latency_seconds_count", 0) < 5:
        fail(f"latency histogram empty: {lat}")
    health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    body = json.loads(health.read())
    if health.status != 200 or body["status"] != "ok" or body["cameras"]["desk"]["state"] != "eos":
        fail(f"/healthz: {health.status} {body}")


def write_config(root: str, endpoint: str, video: str, control: str = "tcp://127.0.0.1:*",
                 metrics_port: int = 0) -> None:
    os.makedirs(os.path.join(root, "cameras"), exist_ok=True)
    with open(os.path.join(root, "actiond.json"), "w") as f:
        json.dump({"publish": {"endpoint": endpoint, "heartbeat_s": 0.5}, "control": {"endpoint": control},
                   "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
                   "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"},
                              "rec": {"path": "recognizer.pt"}}}, f)
    with open(os.path.join(root, "cameras", "desk.json"), "w") as f:
        json.dump({"id": "desk", "uri": "file://" + video, "fps": 5, "realtime": True,
                   "tracker": {"update_interval_s": 0.4}, "recognition": {"interval_s": 1.0},
                   "models": {"backbone": "bb", "segmenter": "seg", "recognizer": "rec"}}, f)


def test_daemon_process(args) -> None:

    with tempfile.TemporaryDirectory(prefix="actiond-proc-") as tmp:
        video = os.path.join(tmp, "desk.mp4")
        make_video(video)
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        conf = os.path.join(tmp, "conf")
        metrics_port = free_port()
        write_config(conf, endpoint, video, metrics_port=metrics_port)

        # --check-config: good directory, then a bad one.
        ok = subprocess.run([args.actiond, "--config", conf, "--model-dir", args.models, "--check-config"],
                            capture_output=True, text=True, timeout=60)
        if ok.returncode != 0:
            fail(f"--check-config rejected a good config: {ok.stderr}")
        bad = os.path.join(tmp, "bad")
        write_config(bad, endpoint, video)
        with open(os.path.join(bad, "cameras", "desk.json"), "w") as f:
            json.dump({"id": "desk", "uri": "file://" + video, "fps": 0,
                       "models": {"backbone": "bb", "segmenter": "seg"}}, f)
        rejected = subprocess.run([args.actiond, "--config", bad, "--check-config"],
                                  capture_output=True, text=True, timeout=60)
        if rejected.returncode != 1 or "cameras/desk.json: /fps: must be > 0, got 0" not in rejected.stderr:
            fail(f"--check-config on a bad config: rc={rejected.returncode} stderr={rejected.stderr!r}")

        # Subscribers first (they reconnect until the daemon binds), then the daemon.
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVTIMEO, 200)
        sub.connect(endpoint)
        ctl = subprocess.Popen([args.actionctl, "events", "--endpoint", endpoint],
                               stdout=subprocess.PIPE, text=True)
        ctl_lines = []
        reader = threading.Thread(target=lambda: ctl_lines.extend(line for line in ctl.stdout), daemon=True)
        reader.start()
        time.sleep(0.3)
        daemon = subprocess.Popen([args.actiond, "--config", conf, "--model-dir", args.models],
                                  stderr=subprocess.PIPE, text=True)

        py_events = []
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                topic, body = sub.recv_multipart()
            except zmq.Again:
                if daemon.poll() is not None:
                    fail(f"actiond exited early: {daemon.stderr.read()}")
                continue
            event = json.loads(body)
            if topic.decode() != f"{event['camera']}/{event['type']}":
                fail(f"topic {topic!r} does not match event {event}")
            py_events.append(event)
            if event["type"] == "stream.status" and event["state"] == "eos":
                break
        else:
            fail(f"no eos within 60 s; got {py_events}")
        check_metrics(metrics_port)

        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            fail("actiond did not exit within 20 s of SIGTERM")
        if rc != 0:
            fail(f"actiond exited with {rc}: {daemon.stderr.read()}")
        # Collect what was published during shutdown.
        while True:
            try:
                py_events.append(json.loads(sub.recv_multipart()[1]))
            except zmq.Again:
                break
        time.sleep(0.3)
        ctl.send_signal(signal.SIGTERM)
        ctl.wait(timeout=10)
        reader.join(timeout=5)

        ctl_events = [json.loads(line) for line in ctl_lines if line.strip()]
        types = [e["type"] for e in py_events]
        if types.count("segment.start") != 1 or types.count("segment.end") != 1:
            fail(f"expected one segment start and end, got {types}")
        updates = [e for e in py_events if e["type"] == "segment.update"]
        # Updates describe the open segment; top_k is the latest frame (which may already show the next label).
        if not updates or any(u["segment"]["label"] != "red" for u in updates) or updates[0]["top_k"][0]["label"] != "red":
            fail(f"segment.update should report the open red segment: {updates}")
        seqs = [e["seq"] for e in py_events]
        if seqs != list(range(1, len(seqs) + 1)):
            fail(f"seq not contiguous from 1: {seqs}")
        start = next(e for e in py_events if e["type"] == "segment.start")
        end = next(e for e in py_events if e["type"] == "segment.end")
        if start["segment"]["label"] != "red" or start["segment"]["id"] != end["segment"]["id"]:
            fail(f"unexpected segment: {start} / {end}")
        # Every event validates against the published schema (an independent validator).
        with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
            validator = Draft202012Validator(json.load(f))
        for e in py_events:
            errors = sorted(validator.iter_errors(e), key=str)
            if errors:
                fail(f"event does not match events.schema.json: {errors[0].message}\n{e}")
        for t in ("stream.status", "segment.start", "segment.update", "segment.end", "boundary", "heartbeat",
                  "recognition"):
            if t not in types:
                fail(f"expected at least one {t} event, got {types}")
        if py_events != ctl_events:
            fail(f"python and actionctl saw different events:\n{py_events}\n{ctl_events}")
        print(f"ok: {len(py_events)} events, identical for python3-zmq and actionctl; {types}")
