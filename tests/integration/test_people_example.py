#!/usr/bin/python3
"""config/examples/people (what `scripts/demo.sh --people` runs) as shipped: the same files, only the
endpoints moved to free ports, the journal to a temporary folder and the model directory given as the
demo gives it. For ~20 s of
vtest.avi its events must validate against config/schema/events.schema.json and show people: tracks
that start and end, walking segments about a tracked person.

Usage (from ctest): test_people_example.py --actiond BIN --pretrained DIR --source DIR
"""

from testlib import fail, run_example


def test_people_example(args) -> None:
    events = run_example(args, "people", {}, "movenet-multipose.pt",
                         lambda evs: sum(e["type"] == "segment.start" for e in evs) >= 2, realtime_off=False)
    starts = {e["track"]["track_id"] for e in events if e["type"] == "track.start"}
    ends = {e["track"]["track_id"] for e in events if e["type"] == "track.end"}
    segs = [e for e in events if e["type"] == "segment.start"]
    if not starts or starts != ends or any(s["subject"]["track_id"] not in starts for s in segs):
        fail(f"tracks started {sorted(starts)}, ended {sorted(ends)}; segments about {[s['subject'] for s in segs]}")
    print(f"ok: {len(events)} schema-valid events, {len(starts)} tracks, {len(segs)} person segments")
