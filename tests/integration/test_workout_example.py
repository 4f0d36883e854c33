#!/usr/bin/python3
"""config/examples/workout (what `scripts/demo.sh --workout` runs) as shipped: the same files, only the
endpoints moved to free ports, the journal to a temporary folder, the model directory given as the
demo gives it, the cameras' relative `file:` URIs resolved from where the files are shipped (the
copy lives elsewhere) and `realtime` off (every frame analysed however loaded the machine is). Each camera plays one test video of ../shared/data/workout to its end: its
events must validate against config/schema/events.schema.json, and it must publish a segment of the
video's exercise with `repetition` events counting 1..n and `repetitions` n at its end.

Usage (from ctest): test_workout_example.py --actiond BIN --pretrained DIR --source DIR
"""
import argparse
import json
import os
import shutil
import tempfile

from jsonschema import Draft202012Validator
from testlib import all_at_eos, fail, free_port, require_pretrained, run_daemon_until

EXERCISE = {"squat-19": "squats", "pull-up-14": "pull-ups", "push-up-12": "push-ups"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--pretrained", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    require_pretrained(os.path.join(args.pretrained, "movenet-lightning.pt"))
    shipped = os.path.join(os.path.abspath(args.source), "config", "examples", "workout")
    with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
        validator = Draft202012Validator(json.load(f))
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "workout")
        shutil.copytree(shipped, root)
        for name in os.listdir(os.path.join(root, "cameras")):
            path = os.path.join(root, "cameras", name)
            with open(path) as f:
                cam = json.load(f)
            video = os.path.normpath(os.path.join(shipped, "cameras", cam["uri"][len("file:"):]))
            if not os.path.exists(video):
                print(f"SKIP: {video} is not there (../shared/data is absent)")
                raise SystemExit(77)
            cam["uri"] = "file://" + video
            cam["realtime"] = False  # every frame analysed, whatever else the machine is doing
            with open(path, "w") as f:
                json.dump(cam, f)
        path = os.path.join(root, "actiond.json")
        with open(path) as f:
            cfg = json.load(f)
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        cfg["publish"]["endpoint"] = endpoint
        cfg["control"]["endpoint"] = f"tcp://127.0.0.1:{free_port()}"
        cfg["journal"] = {"dir": os.path.join(tmp, "journal")}
        cfg["models"]["workout"]["path"] = os.path.join(os.path.abspath(args.source), "models", "workout", "segmenter.pt")
        with open(path, "w") as f:
            json.dump(cfg, f)
        ok, rc, events = run_daemon_until(args.actiond, root, endpoint, all_at_eos(EXERCISE), 120,
                                          ["--model-dir", args.pretrained, "--log-level", "warn"])
    if not ok or rc != 0:
        fail(f"the cameras did not play to the end (actiond exit {rc}); events: {[e['type'] for e in events][:20]}")
    for e in events:
        errors = list(validator.iter_errors(e))
        if errors:
            fail(f"#{e['seq']} {e['type']} is not schema-valid: {errors[0].message}")
    summary = {}
    for cam, exercise in EXERCISE.items():
        evs = [e for e in events if e["camera"] == cam]
        ends = [e for e in evs if e["type"] == "segment.end" and e["segment"]["label"] == exercise]
        if not ends:
            fail(f"{cam}: no {exercise} segment: {[(e['type'], e.get('segment', {}).get('label')) for e in evs]}")
        for end in ends:
            reps = [e["count"] for e in evs if e["type"] == "repetition" and e["segment_id"] == end["segment"]["id"]]
            if reps != list(range(1, len(reps) + 1)) or end["segment"]["repetitions"] != len(reps):
                fail(f"{cam}: repetitions {reps} but segment.end says {end['segment']['repetitions']}")
        summary[cam] = [(e["segment"]["label"], e["segment"]["repetitions"]) for e in ends]
    print(f"ok: {len(events)} schema-valid events; segments (exercise, repetitions): {summary}")


if __name__ == "__main__":
    main()
