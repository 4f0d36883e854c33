#!/usr/bin/python3
"""The example subscribers (docs/subscribers/subscriber.py and the C++ one) against the real
daemon: each prints exactly the journaled events from where it started, in seq order, none missing,
none twice -- even when its socket is too slow and misses events (publish.sndhwm = 2), which it
recovers with `replay`.

Usage (from ctest): test_subscribers.py --actiond BIN --cpp-subscriber BIN --models DIR --source DIR
"""
import json
import os
import signal
import subprocess
import tempfile
import time
from testlib import fail, free_port


def test_subscribers(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "conf")
        os.makedirs(os.path.join(conf, "cameras"))
        events, control = (f"tcp://127.0.0.1:{free_port()}" for _ in range(2))
        with open(os.path.join(conf, "actiond.json"), "w") as f:
            json.dump({"publish": {"endpoint": events, "heartbeat_s": 0.3, "sndhwm": 2},
                       "control": {"endpoint": control}, "metrics": {"enabled": False},
                       "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, f)
        for cam, cycle in (("a", "red,black"), ("b", "green,black,blue")):
            with open(os.path.join(conf, "cameras", f"{cam}.json"), "w") as f:
                json.dump({"id": cam, "uri": f"test://pattern?cycle={cycle}&width=160&height=120&fps=10&period=1",
                           "fps": 5, "tracker": {"min_duration_s": 0.4, "update_interval_s": 0.2},
                           "models": {"backbone": "bb", "segmenter": "seg"}}, f)
        daemon = subprocess.Popen([args.actiond, "--config", conf, "--model-dir", args.models, "--log-level", "warn"])
        time.sleep(1.5)
        subs = {
            "python": subprocess.Popen([os.path.join(args.source, "docs", "subscribers", "subscriber.py"),
                                        "--events", events, "--control", control, "--seconds", "5"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            "c++": subprocess.Popen([args.cpp_subscriber, "--events", events, "--control", control, "--seconds", "5"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        }
        outputs = {name: p.communicate(timeout=30) for name, p in subs.items()}
        journal = {}
        for cam in ("a", "b"):
            r = subprocess.run([os.path.join(os.path.dirname(args.actiond), "actionctl"), "replay", "--control", control,
                                "--camera", cam, "--from", "1"], capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                fail(f"actionctl replay: {r.stderr}")
            journal[cam] = {e["seq"]: e for e in map(json.loads, r.stdout.splitlines())}
        daemon.send_signal(signal.SIGTERM)
        if daemon.wait(timeout=30) != 0:
            fail("actiond did not exit cleanly")
        for name, (out, err) in outputs.items():
            if subs[name].returncode != 0:
                fail(f"{name} subscriber failed: {err}")
            got = [json.loads(line) for line in out.splitlines()]
            for cam in ("a", "b"):
                seqs = [e["seq"] for e in got if e["camera"] == cam]
                if len(seqs) < 10:
                    fail(f"{name}: too few events for {cam}: {seqs}")
                if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
                    fail(f"{name}: {cam} seq not contiguous: {seqs}")
                for e in got:
                    if e["camera"] == cam and journal[cam].get(e["seq"]) != e:
                        fail(f"{name}: event differs from the journal: {e}")
            gaps = err.count("gap on")
            print(f"ok: {name} subscriber: {len(got)} events, contiguous and equal to the journal "
                  f"({gaps} gaps recovered by replay)")
