#!/usr/bin/python3
"""config/examples/people (what `scripts/demo.sh --people` runs) as shipped: the same files, only the
endpoints moved to free ports and the model directory given as the demo gives it. For ~20 s of
vtest.avi its events must validate against config/schema/events.schema.json and show people: tracks
that start and end, walking segments about a tracked person.

Usage (from ctest): test_people_example.py --actiond BIN --pretrained DIR --source DIR
"""
import argparse
import json
import os
import shutil
import tempfile

from jsonschema import Draft202012Validator
from testlib import fail, free_port, require_pretrained, run_daemon_until


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--pretrained", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    require_pretrained(os.path.join(args.pretrained, "movenet-multipose.pt"))
    with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
        validator = Draft202012Validator(json.load(f))
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "people")
        shutil.copytree(os.path.join(args.source, "config", "examples", "people"), root)
        path = os.path.join(root, "actiond.json")
        with open(path) as f:
            cfg = json.load(f)
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        cfg["publish"]["endpoint"] = endpoint
        cfg["control"]["endpoint"] = f"tcp://127.0.0.1:{free_port()}"
        cfg["journal"] = {"dir": os.path.join(tmp, "journal")}
        with open(path, "w") as f:
            json.dump(cfg, f)
        ok, rc, events = run_daemon_until(
            args.actiond, root, endpoint, lambda evs: sum(e["type"] == "segment.start" for e in evs) >= 2, 120,
            ["--model-dir", args.pretrained, "--log-level", "warn"])
    if not ok or rc != 0:
        fail(f"no person segments within 120 s (actiond exit {rc}); events: {[e['type'] for e in events][:20]}")
    for e in events:
        errors = list(validator.iter_errors(e))
        if errors:
            fail(f"#{e['seq']} {e['type']} is not schema-valid: {errors[0].message}")
    starts = {e["track"]["track_id"] for e in events if e["type"] == "track.start"}
    ends = {e["track"]["track_id"] for e in events if e["type"] == "track.end"}
    segs = [e for e in events if e["type"] == "segment.start"]
    if not starts or starts != ends or any(s["subject"]["track_id"] not in starts for s in segs):
        fail(f"tracks started {sorted(starts)}, ended {sorted(ends)}; segments about {[s['subject'] for s in segs]}")
    print(f"ok: {len(events)} schema-valid events, {len(starts)} tracks, {len(segs)} person segments")


if __name__ == "__main__":
    main()
