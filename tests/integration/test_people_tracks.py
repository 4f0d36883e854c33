#!/usr/bin/python3
"""Real people through the daemon: opencv-doc's vtest.avi (pedestrians, 79 s) analysed at 5 fps by the
imported movenet-multipose with person tracks and a per-person segmenter (the test models' walking
rule over pose features). Checks on the published events:
- every event valid against config/schema/events.schema.json, seq contiguous;
- every track.start has exactly one track.end; a plausible number of people (peak 2..10 at once);
- boxes are person-shaped and inside the picture; people who walk across keep one id for >= 8 s
  and their box moves;
- per-person segments carry `subject` of a live track and end before (or with) their track;
- bad inputs do not stop the good camera: a pose model that is a backbone, and a missing pose model,
  each give a stream.status `failed` naming the file.

Usage (from ctest): test_people_tracks.py --actiond BIN --pretrained DIR --models DIR --source DIR
Exit 77 (skipped) when the pose models were not imported (npm package not fetched).
"""
import json
import os
import signal
import subprocess
import tempfile
import time

from jsonschema import Draft202012Validator
from testlib import Subscriber, fail, free_port, require_pretrained

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def write(path: str, obj: dict) -> None:
    with open(path, "w") as f:
        json.dump(obj, f)


def test_people_tracks(args) -> None:
    args.pretrained, args.models = os.path.abspath(args.pretrained), os.path.abspath(args.models)
    pose_model = require_pretrained(os.path.join(args.pretrained, "movenet-multipose.pt"))
    if not os.path.exists(VIDEO):
        fail(f"{VIDEO} is missing (opencv-doc is installed by scripts/install-deps.sh)")
    with open(os.path.join(args.source, "config", "schema", "events.schema.json")) as f:
        validator = Draft202012Validator(json.load(f))
    missing_model = os.path.join(args.pretrained, "no-such-pose.pt")
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "cameras"))
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        write(os.path.join(root, "actiond.json"), {
            "publish": {"endpoint": endpoint},
            "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}"},
            "inference": {"intra_op_threads": 2, "inter_op_threads": 1, "max_batch": 4, "max_wait_ms": 5},
            "journal": {"enabled": False},
            "model_dir": args.models,
            "models": {"multipose": {"path": pose_model}, "walking": {"path": "pose_walking.pt"},
                       "not-a-pose": {"path": "backbone.pt"}, "absent": {"path": missing_model}}})
        persons = {"birth_frames": 3, "death_frames": 10, "max_tracks": 10, "min_score": 0.2}
        write(os.path.join(root, "cameras", "people.json"), {
            "id": "people", "uri": "file://" + VIDEO, "fps": 5, "realtime": False,
            "models": {"pose": "multipose", "segmenter": "walking"}, "persons": persons,
            "tracker": {"confirm_frames": 2, "min_duration_s": 1.0, "threshold": 0.5, "update_interval_s": 2.0}})
        write(os.path.join(root, "cameras", "wrong.json"), {
            "id": "wrong", "uri": "file://" + VIDEO, "models": {"pose": "not-a-pose"}})
        write(os.path.join(root, "cameras", "absent.json"), {
            "id": "absent", "uri": "file://" + VIDEO, "models": {"pose": "absent"}})
        sub = Subscriber(endpoint)
        daemon = subprocess.Popen([args.actiond, "--config", root, "--log-level", "warn"])
        try:
            done = sub.wait_for(lambda evs: daemon.poll() is not None or any(
                e["camera"] == "people" and e["type"] == "stream.status" and e["state"] == "eos" for e in evs), timeout=400)
            if daemon.poll() is not None:
                fail(f"actiond exited early with {daemon.returncode}")
        finally:
            daemon.send_signal(signal.SIGTERM)
            rc = daemon.wait(timeout=30)
        time.sleep(0.3)
        events = sub.close()
    if not done:
        fail("the people camera did not reach the end of vtest.avi")
    if rc != 0:
        fail(f"actiond exited with {rc}")

    for e in events:
        errors = list(validator.iter_errors(e))
        if errors:
            fail(f"event {e['camera']} #{e['seq']} {e['type']} is not schema-valid: {errors[0].message}")
    by_camera = {}
    for e in events:
        by_camera.setdefault(e["camera"], []).append(e)
    for cam, evs in by_camera.items():
        seqs = [e["seq"] for e in evs]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            fail(f"{cam}: seq not contiguous")

    # Bad models: a failed status each, naming the file; nothing analysed (heartbeats say it stays failed).
    want = {"wrong": 'manifest kind is "backbone", expected "pose"',
            "absent": missing_model + ": model file does not exist (the pretrained pose models are imported at "
                      "build time from the npm package: run scripts/fetch-pretrained.sh, then build again)"}
    for cam, text in want.items():
        evs = by_camera.get(cam, [])
        kinds = {e["type"] for e in evs}
        if not evs or evs[0]["type"] != "stream.status" or evs[0]["state"] != "failed" or text not in evs[0]["reason"] \
                or not kinds <= {"stream.status", "heartbeat"}:
            fail(f"{cam}: expected a failed stream.status with {text!r} and no analysis, got "
                 f"{[(e['type'], e.get('reason')) for e in evs]}")

    evs = by_camera["people"]
    starts = {e["track"]["track_id"]: e for e in evs if e["type"] == "track.start"}
    ends = {e["track"]["track_id"]: e for e in evs if e["type"] == "track.end"}
    if len(starts) != len([e for e in evs if e["type"] == "track.start"]) or set(starts) != set(ends):
        fail(f"tracks started {sorted(starts)} and ended {sorted(ends)} differ (or an id started twice)")
    live, peak = set(), 0
    for e in evs:
        if e["type"] == "track.start":
            live.add(e["track"]["track_id"])
            peak = max(peak, len(live))
        elif e["type"] == "track.end":
            live.discard(e["track"]["track_id"])
        elif e.get("subject") and e["subject"]["track_id"] not in live:
            fail(f"#{e['seq']} {e['type']} is about person {e['subject']['track_id']}, whose track is not live")
    if not 10 <= len(starts) <= 80 or not 2 <= peak <= 10:
        fail(f"implausible people count: {len(starts)} tracks, at most {peak} at once")
    for tid, e in list(starts.items()) + list(ends.items()):
        x0, y0, x1, y1 = e["track"]["box"]
        w, h = x1 - x0, y1 - y0
        if not (-0.05 <= x0 < x1 <= 1.05 and -0.05 <= y0 < y1 <= 1.05 and 0.05 <= h <= 0.9 and h > 0.8 * w):
            fail(f"track {tid}: box {e['track']['box']} is not a person in the picture")
    walkers = []
    for tid, end in ends.items():
        t = end["track"]
        if t["last_seen_pts"] - t["start_pts"] >= 8.0:
            a, b = starts[tid]["track"]["box"], t["box"]
            moved = abs((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) + abs((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2)
            walkers.append((tid, round(t["last_seen_pts"] - t["start_pts"], 1), round(moved, 2)))
    if len([w for w in walkers if w[2] >= 0.1]) < 4:
        fail(f"fewer than 4 people tracked for >= 8 s while walking: {walkers}")
    seg_starts = [e for e in evs if e["type"] == "segment.start"]
    seg_ends = {e["segment"]["id"]: e for e in evs if e["type"] == "segment.end"}
    if not seg_starts or any(s["segment"]["id"] not in seg_ends for s in seg_starts):
        fail(f"{len(seg_starts)} person segments; every one must end")
    if any("subject" not in s for s in seg_starts) or any(s["segment"]["label"] != "walking" for s in seg_starts):
        fail("person segments must be 'walking' with a subject")
    reasons = sorted({e["segment"]["end_reason"] for e in seg_ends.values()})
    print(f"ok: {len(starts)} tracks (peak {peak} at once), {len(walkers)} tracked >= 8 s: {walkers}; "
          f"{len(seg_starts)} walking segments ending by {reasons}; {len(evs)} events")
