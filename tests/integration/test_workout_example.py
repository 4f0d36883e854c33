#!/usr/bin/python3
"""config/examples/workout (what `scripts/demo.sh --workout` runs) as shipped: the same files, only the
endpoints moved to free ports, the journal to a temporary folder, the model directory given as the
demo gives it, the cameras' relative `file:` URIs resolved from where the files are shipped (the
copy lives elsewhere) and `realtime` off (every frame analysed however loaded the machine is). Each camera plays one test video of ../shared/data/workout to its end: its
events must validate against config/schema/events.schema.json, and it must publish a segment of the
video's exercise with `repetition` events counting 1..n and `repetitions` n at its end.

Usage (from ctest): test_workout_example.py --actiond BIN --pretrained DIR --source DIR
"""

from testlib import all_at_eos, fail, run_example

EXERCISE = {"squat-19": "squats", "pull-up-14": "pull-ups", "push-up-12": "push-ups"}


def test_workout_example(args) -> None:
    events = run_example(args, "workout", {"workout": "models/workout/segmenter.pt"}, "movenet-lightning.pt", all_at_eos(EXERCISE))
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
