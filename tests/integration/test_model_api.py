#!/usr/bin/python3
"""Model changes through the real daemon: the HTTP API (GET /api/models, POST promote/rollback with
the write token; 403 without one configured or with the read-only token, 400/404/409 with their
messages) and actionctl (models,
promote, rollback over the control socket). A running camera's segments follow each change; seq
stays contiguous and no segment stays open.

Usage (from ctest): pytest test_model_api.py --actiond BIN --actionctl BIN --models DIR
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from testlib import Subscriber, fail, free_port, write_config

CAMERA = {"uri": "test://pattern?cycle=black,red&period=1&width=64&height=48&fps=10", "fps": 5,
          "models": {"backbone": "bb", "segmenter": "seg"},
          "tracker": {"min_duration_s": 0.2, "confirm_frames": 1}}


def call(port: int, method: str, path: str, token: str = "", body=None) -> tuple:
    headers = {"Authorization": "Bearer " + token} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start(args, root: str, token: str, extra: dict = None):
    models = os.path.join(root, "models")
    os.makedirs(models)
    for f in ("backbone.pt", "segmenter.pt"):
        shutil.copy(os.path.join(args.models, f), models)
    shutil.copy(os.path.join(args.models, "segmenter_renamed.pt"), os.path.join(models, "candidate.pt"))
    port = free_port()
    daemon_cfg = {"metrics": {"listen": f"127.0.0.1:{port}"}, "journal": {"enabled": False}, "model_dir": models,
                  "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}", "allow_reload": True},
                  "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}
    if token:
        with open(os.path.join(root, "token"), "w") as f:
            f.write(token + "\n")
        with open(os.path.join(root, "viewer"), "w") as f:
            f.write("read-only-token\n")
        daemon_cfg["api"] = {"token_file": "token", "read_token_file": "viewer"}
    daemon_cfg.update(extra or {})
    endpoint = write_config(root, daemon_cfg, {"cam": CAMERA})
    with open(os.path.join(root, "actiond.json")) as f:
        control = json.load(f)["control"]["endpoint"]
    sub = Subscriber(endpoint)
    proc = subprocess.Popen([args.actiond, "--config", root, "--log-level", "warn"])
    end = time.time() + 30
    while time.time() < end:
        try:
            if call(port, "GET", "/healthz")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    return proc, sub, port, control, models


def starts(label: str, after: int = 0):
    return lambda evs: any(e["type"] == "segment.start" and e["segment"]["label"] == label for e in evs[after:])


def stop(proc, sub) -> list:
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=30) != 0:
        fail(f"actiond exited with {proc.returncode}")
    time.sleep(0.3)
    return sub.close()


def check_stream(events: list) -> None:
    seqs = [e["seq"] for e in events if e["camera"] == "cam"]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        fail(f"seq not contiguous: {seqs}")
    open_ids = set()
    for e in events:
        if e["type"] == "segment.start":
            open_ids.add(e["segment"]["id"])
        elif e["type"] == "segment.end":
            open_ids.discard(e["segment"]["id"])
    if open_ids:
        fail(f"segments left open: {open_ids}")


def test_http_model_changes(args) -> None:
    token = "write-token"
    with tempfile.TemporaryDirectory() as root:
        proc, sub, port, _control, models = start(args, root, token)
        try:
            if not sub.wait_for(starts("red"), 30):
                fail("no red segment before the promote")
            if call(port, "GET", "/api/models")[0] != 401:
                fail("GET /api/models without the token is not 401")
            code, got = call(port, "GET", "/api/models", token)
            seg = next(m for m in got["models"] if m["name"] == "seg")
            if code != 200 or seg["model_name"] != "tiny-colour-seg" or seg["previous"] is not None or seg["cameras"] != ["cam"]:
                fail(f"GET /api/models: {code} {got}")
            cases = [("/api/models/seg/promote", None, 400,
                      'promote needs a JSON body {"candidate": "FILE"} (a model file in the model directory)'),
                     ("/api/models/nope/promote", {"candidate": "candidate.pt"}, 404, "no model 'nope'"),
                     ("/api/models/seg/rollback", None, 409,
                      f"rollback: no previous version of seg is kept ({models}/segmenter.pt.previous)"),
                     ("/api/models/seg/promote", {"candidate": "/etc/passwd"}, 409,
                      f"promote: /etc/passwd: outside the model directory {models} and the training candidates {root}/teach/candidates (copy it there first)")]
            # The read-only token watches but may not change anything.
            if call(port, "GET", "/api/models", "read-only-token")[0] != 200:
                fail("the read-only token cannot read /api/models")
            for method, path in (("POST", "/api/models/seg/rollback"), ("DELETE", "/api/cameras/cam/shadow")):
                got = call(port, method, path, "read-only-token")
                if got != (403, {"error": "this token may only read (actiond.json /api/read_token_file)"}):
                    fail(f"{method} {path} with the read-only token: {got}")
            for path, body, status, message in cases:
                got = call(port, "POST", path, token, body)
                if got != (status, {"error": message}):
                    fail(f"POST {path} {body}: {got}, expected {status} {message!r}")
            mark = len(sub.events)
            code, got = call(port, "POST", "/api/models/seg/promote", token, {"candidate": "candidate.pt"})
            if code != 200 or got.get("changed") != ["cam"] or got.get("model") != "seg":
                fail(f"promote: {code} {got}")
            if not sub.wait_for(starts("pour", mark), 30):
                fail("the camera's segments do not come from the promoted model")
            mark = len(sub.events)
            code, got = call(port, "POST", "/api/models/seg/rollback", token)
            if code != 200 or got.get("changed") != ["cam"]:
                fail(f"rollback: {code} {got}")
            if not sub.wait_for(starts("red", mark), 30):
                fail("the camera's segments do not come from the rolled-back model")
            # Shadow mode: the candidate beside the camera's model, on shadow topics only.
            for path, body, status, message in [
                    ("/api/cameras/nope/shadow", {"candidate": "candidate.pt"}, 404, "shadow: no camera 'nope'"),
                    ("/api/cameras/cam/shadow", None, 400,
                     'shadow needs a JSON body {"candidate": "FILE"} (a segmenter in the model directory)')]:
                got = call(port, "POST", path, token, body)
                if got != (status, {"error": message}):
                    fail(f"POST {path} {body}: {got}")
            mark = len(sub.events)
            code, got = call(port, "POST", "/api/cameras/cam/shadow", token, {"candidate": "candidate.pt"})
            if code != 200 or got["shadow"]["name"] != "tiny-colour-seg-renamed":
                fail(f"shadow: {code} {got}")
            if not sub.wait_for(lambda evs: any(e.get("shadow") and e["type"] == "segment.start" and
                                                e["segment"]["label"] == "pour" for e in evs[mark:]), 30):
                fail("no shadow segment")
            code, got = call(port, "DELETE", "/api/cameras/cam/shadow", token)
            if code != 200 or got["shadow"] is not None:
                fail(f"DELETE shadow: {code} {got}")
        finally:
            events = stop(proc, sub)
        check_stream([e for e in events if not e.get("shadow")])
        check_stream([e for e in events if e.get("shadow")])
        ends = {e["segment"]["end_reason"] for e in events if e["type"] == "segment.end"}
        print(f"HTTP: promote and rollback on a running camera; {len(events)} events, end reasons {sorted(ends)}")


def test_writes_need_a_token_and_actionctl_changes_models(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        proc, sub, port, control, models = start(args, root, "")
        try:
            got = call(port, "POST", "/api/models/seg/promote", body={"candidate": "candidate.pt"})
            if got != (403, {"error": "model changes over HTTP need a token (actiond.json /api/token_file)"}):
                fail(f"POST without a token configured: {got}")
            if not sub.wait_for(starts("red"), 30):
                fail("no red segment")

            def ctl(*words) -> dict:
                # From the model directory: a relative FILE is taken from where actionctl runs.
                r = subprocess.run([args.actionctl, *words, "--control", control], capture_output=True, text=True,
                                   timeout=150, cwd=models)
                if r.returncode != 0:
                    fail(f"actionctl {' '.join(words)}: {r.returncode} {r.stderr}")
                return json.loads(r.stdout)

            mark = len(sub.events)
            if ctl("promote", "seg", "candidate.pt").get("changed") != ["cam"]:
                fail("actionctl promote did not restart the camera")
            if not sub.wait_for(starts("pour", mark), 30):
                fail("actionctl promote: segments not from the new model")
            listed = {m["name"]: m for m in ctl("models")["models"]}
            if listed["seg"]["model_name"] != "tiny-colour-seg-renamed" or listed["seg"]["previous"]["version"] != "1":
                fail(f"actionctl models: {listed}")
            r = subprocess.run([args.actionctl, "rollback", "bb", "--control", control], capture_output=True,
                               text=True, timeout=150)
            if r.returncode != 1 or r.stderr.strip() != \
                    f"actionctl: rollback: no previous version of bb is kept ({models}/backbone.pt.previous)":
                fail(f"actionctl rollback bb: {r.returncode} {r.stderr!r}")
            ctl("rollback", "seg")
        finally:
            events = stop(proc, sub)
        check_stream(events)


def test_shadow_events_never_reach_a_sink(args) -> None:
    """With the MQTT sink on (a real mosquitto), a candidate in shadow mode publishes on the event
    socket's shadow topics only: the broker gets the camera's own events, none of the shadow's."""
    from sinklib import MqttCollector, Mosquitto
    with tempfile.TemporaryDirectory() as root:
        mosq = Mosquitto(root)
        mosq.start()
        collector = MqttCollector(mosq.port, "#")
        sink = {"name": "ha", "type": "mqtt", "port": mosq.port, "backoff_min_s": 0.5, "backoff_max_s": 2}
        proc, sub, port, control, _ = start(args, root, "", {"journal": {"enabled": True, "fsync": "batch"},
                                                             "sinks": [sink]})
        try:
            shadow = subprocess.run([args.actionctl, "shadow", "cam", "candidate.pt", "--control", control],
                                    capture_output=True, text=True, timeout=60, cwd=os.path.join(root, "models"))
            if shadow.returncode != 0:
                fail(f"actionctl shadow: {shadow.stderr}")
            if not sub.wait_for(lambda evs: sum(1 for e in evs if e.get("shadow") and e["type"] == "segment.end") >= 2
                                and sum(1 for e in evs if not e.get("shadow") and e["type"] == "segment.end") >= 2, 60):
                fail("no shadow and own segments on the event socket")
            time.sleep(3)  # the sink delivers what the journal holds
        finally:
            events = stop(proc, sub)
            msgs = list(collector.msgs)
            collector.c.loop_stop()
            mosq.kill()
    own = [e for e in events if not e.get("shadow") and e["type"] == "segment.end"]
    shadowed = [e for e in events if e.get("shadow")]
    bodies = [json.loads(p) for t, p, _ in msgs if p.startswith(b"{")]
    delivered = [b for b in bodies if b.get("type", "").startswith("segment.")]
    if not delivered:
        fail(f"the MQTT sink delivered no segment event ({len(msgs)} messages)")
    leaked = [b for b in bodies if b.get("shadow")] + [t for t, _, _ in msgs if "shadow" in t]
    if leaked:
        fail(f"shadow events reached the MQTT sink: {leaked[:3]}")
    print(f"MQTT sink: {len(delivered)} segment events delivered, none of the {len(shadowed)} shadow events "
          f"({len(own)} own segments ended on the socket)")
