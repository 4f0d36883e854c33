#!/usr/bin/python3
"""config/examples/people (what `scripts/demo.sh --people` runs) as shipped: the same files, only the
endpoints moved to free ports, the journal to a temporary folder and the model directory given as the
demo gives it. For ~20 s of
vtest.avi its events must validate against config/schema/events.schema.json and show people: tracks
that start and end, walking segments about a tracked person.

Usage (from ctest): test_people_example.py --actiond BIN --pretrained DIR --source DIR
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from testlib import Subscriber, fail, require_pretrained, run_example, shipped_example


def test_people_example(args) -> None:
    events = run_example(args, "people", {}, "movenet-multipose.pt",
                         lambda evs: sum(e["type"] == "segment.start" for e in evs) >= 2, realtime_off=False)
    starts = {e["track"]["track_id"] for e in events if e["type"] == "track.start"}
    ends = {e["track"]["track_id"] for e in events if e["type"] == "track.end"}
    segs = [e for e in events if e["type"] == "segment.start"]
    if not starts or starts != ends or any(s["subject"]["track_id"] not in starts for s in segs):
        fail(f"tracks started {sorted(starts)}, ended {sorted(ends)}; segments about {[s['subject'] for s in segs]}")
    print(f"ok: {len(events)} schema-valid events, {len(starts)} tracks, {len(segs)} person segments")


def test_shadow_on_a_pose_camera(args) -> None:
    """A candidate tried beside a pose camera's person segmenter: it decides per person as the
    camera's does, on the same tracks; its events carry the person (`subject`) and `"shadow": true`
    and go to `<camera>/shadow.*` only; stopping it ends its open segments `reconfigured`."""
    require_pretrained(os.path.join(args.pretrained, "movenet-multipose.pt"))
    with tempfile.TemporaryDirectory() as tmp:
        root, endpoint = shipped_example(args.source, "people", tmp, {}, realtime_off=False)
        candidate = os.path.join(root, "teach", "candidates", "try", "segmenter.pt")
        os.makedirs(os.path.dirname(candidate))
        shutil.copy(os.path.join(args.pretrained, "..", "tiny", "pose_walking.pt"), candidate)
        with open(os.path.join(root, "actiond.json")) as f:
            control = json.load(f)["control"]["endpoint"]
        sub = Subscriber(endpoint)
        daemon = subprocess.Popen([args.actiond, "--config", root, "--model-dir", args.pretrained, "--log-level", "warn"])
        try:
            if not sub.wait_for(lambda evs: any(e["type"] == "track.start" for e in evs), 60):
                fail("no person tracked")
            run = subprocess.run([args.actionctl, "shadow", "pedestrians", candidate, "--control", control],
                                 capture_output=True, text=True, timeout=60)
            if run.returncode != 0:
                fail(f"actionctl shadow on a pose camera: {run.stderr}")
            if not sub.wait_for(lambda evs: any(e.get("shadow") and e["type"] == "segment.start" for e in evs), 60):
                fail("no shadow segment about a person")
            subprocess.run([args.actionctl, "shadow", "pedestrians", "--stop", "--control", control],
                           check=True, capture_output=True, timeout=60)
            time.sleep(1)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            events = sub.close()
    tracks = {e["track"]["track_id"] for e in events if e["type"] == "track.start"}
    shadowed = [e for e in events if e.get("shadow")]
    starts = [e for e in shadowed if e["type"] == "segment.start"]
    if any(e["subject"]["track_id"] not in tracks for e in starts):
        fail(f"shadow segments about unknown people: {[e['subject'] for e in starts]}")
    ended = {e["segment"]["id"]: e["segment"]["end_reason"] for e in shadowed if e["type"] == "segment.end"}
    if any(e["segment"]["id"] not in ended for e in starts):
        fail(f"shadow segments left open: {[e['segment']['id'] for e in starts if e['segment']['id'] not in ended]}")
    print(f"ok: {len(starts)} shadow segments about {len({e['subject']['track_id'] for e in starts})} people, "
          f"ended {sorted(set(ended.values()))}")
