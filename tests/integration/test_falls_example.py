#!/usr/bin/python3
"""config/examples/falls (what `scripts/demo.sh --falls` runs) as shipped, with the shipped fall model
(models/falls): each camera plays one clip of ../shared/data/falls that the model was neither trained
nor validated on. Its events must validate against config/schema/events.schema.json; on the two clips
with a fall the person's first alarm (a `falling` segment.start) comes before a `lying` segment of the
same person, which carries a growing `duration_s` in its updates, and the alarm is published within
3 s of stream time of the labelled end of the fall; the clip without a fall publishes no `falling`
or `lying` segment at all.

Usage (from ctest): test_falls_example.py --actiond BIN --pretrained DIR --source DIR
"""
import csv
import os

from testlib import all_at_eos, fail, run_example

FALLS = {"coffee-room-01-10": "coffee_room_01_10", "home-01-12": "home_01_12"}
FALL_FREE = {"coffee-room-02-66": "coffee_room_02_66"}


def fall_end_s(shared: str, clip: str) -> float:
    with open(os.path.join(shared, "data", "falls", "index.csv")) as f:
        row = next(r for r in csv.DictReader(f) if r["clip"] == clip)
    return int(row["fall_end"]) / float(row["fps"])  # Le2i's 1-based last frame: its end


def test_falls_example(args) -> None:
    events = run_example(args, "falls", {"falls": "models/falls/segmenter.pt"}, "movenet-lightning.pt", all_at_eos(list(FALLS) + list(FALL_FREE)))
    shared = os.path.join(os.path.abspath(args.source), "..", "shared")
    summary = {}
    for cam, clip in FALLS.items():
        starts = [e for e in events if e["camera"] == cam and e["type"] == "segment.start"]
        labels = [(e["segment"]["label"], e["subject"]["track_id"]) for e in starts]
        alarm = next((e for e in starts if e["segment"]["label"] == "falling"), None)
        if alarm is None:
            fail(f"{cam}: no falling segment: {labels}")
        who = alarm["subject"]["track_id"]
        lying = [e for e in starts if e["segment"]["label"] == "lying" and e["subject"]["track_id"] == who
                 and e["seq"] > alarm["seq"]]
        if not lying:
            fail(f"{cam}: no lying segment of person {who} after the fall: {labels}")
        lid = lying[0]["segment"]["id"]
        durations = [e["segment"]["duration_s"] for e in events
                     if e["type"] in ("segment.update", "segment.end") and e["segment"]["id"] == lid]
        if not durations or durations != sorted(durations) or durations[-1] <= 0:
            fail(f"{cam}: the lying segment's duration_s does not grow: {durations}")
        late = alarm["pts"] - fall_end_s(shared, clip)
        if late > 3.0:
            fail(f"{cam}: the alarm came {late:.1f} s after the labelled end of the fall")
        summary[cam] = {"segments": labels, "alarm_after_fall_end_s": round(late, 2), "lying_s": durations[-1]}
    for cam in FALL_FREE:
        bad = [e["segment"]["label"] for e in events if e["camera"] == cam and e["type"] == "segment.start"
               and e["segment"]["label"] in ("falling", "lying")]
        if bad:
            fail(f"{cam}: a clip without a fall published {bad}")
        summary[cam] = "no fall"
    print(f"ok: {len(events)} schema-valid events; {summary}")
