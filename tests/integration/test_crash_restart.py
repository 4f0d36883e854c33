#!/usr/bin/python3
"""kill -9 with a segment open, then a restart: the segment gets its segment.end (end_reason
"restart", dated at the camera's last journaled event) as the camera's first event of the new run,
in the journal and on the live stream; seq stays contiguous and every start has exactly one end.

Usage (from ctest): test_crash_restart.py --actiond BIN --models DIR --source DIR
"""
import glob
import json
import os
import signal
import subprocess
import tempfile

from jsonschema import Draft202012Validator
from testlib import Subscriber, fail, free_port




def journal_events(root: str) -> list:
    out = []
    for path in sorted(glob.glob(os.path.join(root, "journal", "door", "*.jsonl"))):
        with open(path) as f:
            out += [json.loads(line) for line in f if line.endswith("\n")]
    return out


def check_lifecycle(events: list, where: str) -> None:
    seqs = [e["seq"] for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        fail(f"{where}: seq not contiguous from 1: {seqs}")
    open_id = None
    for e in events:
        if e["type"] == "segment.start":
            if open_id is not None:
                fail(f"{where}: segment {e['segment']['id']} started while {open_id} is open")
            open_id = e["segment"]["id"]
        elif e["type"] == "boundary" and e["from"] == e["to"]:
            fail(f"{where}: a boundary between the same label: {e}")
        elif e["type"] == "segment.end":
            if e["segment"]["id"] != open_id:
                fail(f"{where}: segment.end for {e['segment']['id']} while {open_id} is open")
            open_id = None


def test_crash_restart(args) -> None:
    with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
        validator = Draft202012Validator(json.load(f))

    with tempfile.TemporaryDirectory() as root:
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        os.makedirs(os.path.join(root, "cameras"))
        with open(os.path.join(root, "actiond.json"), "w") as f:
            json.dump({"publish": {"endpoint": endpoint, "heartbeat_s": 0.5},
                       "control": {"endpoint": "tcp://127.0.0.1:*"}, "metrics": {"enabled": False},
                       "journal": {"fsync": "always"},
                       "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, f)
        with open(os.path.join(root, "cameras", "door.json"), "w") as f:
            # A live camera that shows the tiny models' action (red) all the time: a segment stays open.
            json.dump({"id": "door", "uri": "test://pattern?cycle=red&width=160&height=120&fps=25", "fps": 5,
                       "tracker": {"min_duration_s": 0.4, "update_interval_s": 0.4},
                       "models": {"backbone": "bb", "segmenter": "seg"}}, f)
        cmd = [args.actiond, "--config", root, "--model-dir", args.models, "--log-level", "warn"]

        # Run 1: a segment opens and gets updates; then the process is killed without warning.
        sub = Subscriber(endpoint)
        first = subprocess.Popen(cmd)
        if not sub.wait_for(lambda ev: sum(e["type"] == "segment.update" for e in ev) >= 2, 60):
            first.kill()
            fail("run 1: no open segment with updates within 60 s")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        run1 = sub.close()
        before = journal_events(root)
        check_lifecycle(before, "journal after kill -9")
        segment_events = [e for e in before if e["type"].startswith("segment.")]
        if not segment_events or segment_events[-1]["type"] == "segment.end":
            fail(f"run 1 left no open segment: {[e['type'] for e in before]}")
        left_open = segment_events[-1]["segment"]
        last = before[-1]

        # Run 2: the open segment ends first (restart), then the camera carries on.
        sub = Subscriber(endpoint)
        second = subprocess.Popen(cmd)
        ok = sub.wait_for(lambda ev: any(e["type"] == "segment.start" for e in ev), 60)
        second.send_signal(signal.SIGTERM)
        code = second.wait(30)
        live = sub.close()
        if not ok:
            fail(f"run 2: no new segment within 60 s: {[e['type'] for e in live]}")
        if code != 0:
            fail(f"run 2: exit code {code}")

        after = journal_events(root)
        check_lifecycle(after, "journal after restart")
        new = after[len(before):]
        end = new[0]
        if end["type"] != "segment.end" or end["segment"]["end_reason"] != "restart":
            fail(f"the first event after the restart is not the restart end: {end}")
        if end["segment"]["id"] != left_open["id"] or end["segment"]["start"] != left_open["start"]:
            fail(f"restart end names another segment: {end['segment']} vs {left_open}")
        expected_time = last.get("time", last["emitted_at"])
        if end["segment"]["end"] != {"pts": last["pts"], "time": expected_time} or end["time"] != expected_time:
            fail(f"restart end not dated at the last journaled event {last}: {end}")
        if end["seq"] != last["seq"] + 1:
            fail(f"seq does not continue: {last['seq']} -> {end['seq']}")
        live_door = [e for e in live if e["camera"] == "door"]
        if not live_door or live_door[0] != end:
            fail(f"the live stream's first event is not the journaled restart end: {live_door[:1]}")
        for e in run1 + live + after:
            errors = sorted(validator.iter_errors(e), key=lambda x: x.path)
            if errors:
                fail(f"event not valid against events.schema.json: {errors[0].message}: {e}")
        print(f"ok: segment {left_open['id']} ended with restart at seq {end['seq']}; "
              f"{len(after)} journaled events, contiguous")
