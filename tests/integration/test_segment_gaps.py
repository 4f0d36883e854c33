#!/usr/bin/python3
"""Segments follow their person across edits: real clips of ../shared/data/falls joined with 1 s of
blank frames between them (as an edited recording someone reviews), played by two pose cameras (the
fall model on MoveNet lightning following its person; MoveNet multipose with the walking model). No
segment and no track may span a blank stretch: each ends at the last frame of its clip at the latest
(`scene_change` or `track_lost`), and people are tracked again after the blank. The first clip ends
with its person lying on the floor, so a segment is open when the picture goes blank: the test fails
if the cut does not end it.

Usage (from ctest): test_segment_gaps.py --actiond BIN --pretrained DIR --source DIR --tiny DIR
"""
import os
import subprocess
import tempfile

from testlib import all_at_eos, fail, require_pretrained, run_daemon_until, skip, write_config

CLIPS = ["coffee_room_01_01", "home_01_05", "coffee_room_01_03"]  # 157, 192 (24 fps), 304 frames
CAPS = "video/x-raw,format=I420,width=320,height=240,framerate=25/1"
BLANK_S = 1.0


def join(shared: str, out: str) -> list:
    """Writes the clips with BLANK_S of black between them as one H.264 MP4 at 25 fps.
    -> [(start, end)] of each blank stretch in seconds."""
    args = ["gst-launch-1.0", "-q", "concat", "name=c", "!", "videoconvert", "!", "x264enc", "speed-preset=ultrafast",
            "key-int-max=25", "!", "mp4mux", "!", "filesink", f"location={out}"]
    gaps, t = [], 0.0
    for i, clip in enumerate(CLIPS):
        path = os.path.join(shared, "data", "falls", "videos", clip + ".mp4")
        if not os.path.exists(path):
            skip(f"{path} is not there (../shared/data is absent)")
        if i > 0:
            args += ["videotestsrc", "pattern=black", f"num-buffers={int(25 * BLANK_S)}", "!", CAPS, "!", "c."]
            gaps.append((t, t + BLANK_S))
            t += BLANK_S
        args += ["filesrc", f"location={path}", "!", "decodebin", "!", "videoconvert", "!", "videoscale", "!",
                 "videorate", "!", CAPS, "!", "c."]
        with open(os.path.join(shared, "data", "falls", "labels", clip + ".txt")) as f:
            frames = sum(1 for line in f if line.strip())
        t += round(frames * 25 / (24 if clip.startswith("home") else 25)) / 25
    subprocess.run(args, check=True, timeout=120)
    return gaps


def spans(start: float, end: float, gap) -> bool:
    """True when [start, end] covers frames on both sides of the gap (analysed at 10 fps: 0.1 s slack)."""
    return start < gap[0] - 0.15 and end > gap[1] + 0.15


def test_segment_gaps(args) -> None:
    lightning = require_pretrained(os.path.join(args.pretrained, "movenet-lightning.pt"))
    multipose = require_pretrained(os.path.join(args.pretrained, "movenet-multipose.pt"))
    shared = os.path.join(os.path.abspath(args.source), "..", "shared")
    with tempfile.TemporaryDirectory() as tmp:
        video = os.path.join(tmp, "joined.mp4")
        gaps = join(shared, video)
        common = {"uri": "file://" + video, "fps": 10, "loop": False, "realtime": False}
        cams = {"falls": dict(common, models={"pose": "lightning", "segmenter": "falls"}, persons={"follow": True, "min_score": 0.15}),
                "walking": dict(common, models={"pose": "multipose", "segmenter": "walking"})}
        daemon = {"journal": {"dir": os.path.join(tmp, "journal")}, "metrics": {"enabled": False},
                  "models": {"lightning": {"path": lightning}, "multipose": {"path": multipose},
                             "falls": {"path": os.path.join(os.path.abspath(args.source), "models", "falls", "segmenter.pt")},
                             "walking": {"path": os.path.join(os.path.abspath(args.tiny), "pose_walking.pt")}}}
        endpoint = write_config(os.path.join(tmp, "cfg"), daemon, cams)
        ok, rc, events = run_daemon_until(args.actiond, os.path.join(tmp, "cfg"), endpoint, all_at_eos(cams), 180,
                                          ["--log-level", "warn"])
    if not ok or rc != 0:
        fail(f"the cameras did not play to the end (actiond exit {rc})")
    report = {}
    for cam in cams:
        evs = [e for e in events if e["camera"] == cam]
        tracks = {e["track"]["track_id"]: e for e in evs if e["type"] == "track.end"}
        segments = [e for e in evs if e["type"] == "segment.end"]
        for gap in gaps:
            for t in tracks.values():
                if spans(t["track"]["start_pts"], t["track"]["last_seen_pts"], gap):
                    fail(f"{cam}: track {t['track']['track_id']} spans the blank {gap}: {t['track']}")
            for s in segments:
                if spans(s["segment"]["start"]["pts"], s["segment"]["end"]["pts"], gap):
                    fail(f"{cam}: segment {s['segment']['label']} spans the blank {gap}: {s['segment']}")
            # Someone is tracked before and after each blank (the joined clips are all of people).
            if not any(t["track"]["start_pts"] < gap[0] for t in tracks.values()) or \
               not any(t["track"]["start_pts"] > gap[1] for t in tracks.values()):
                fail(f"{cam}: nobody tracked on both sides of {gap}: {[t['track'] for t in tracks.values()]}")
        # Whoever is tracked when the picture goes blank ends there with scene_change (someone lost
        # before it ends as track_lost: the spans check above holds for them too).
        cut = [e for e in evs if e["type"] == "track.end" and e["track"]["end_reason"] == "scene_change"]
        if not cut or any(abs(e["pts"] - g[0]) > 0.15 for e in cut for g in [min(gaps, key=lambda g: abs(e["pts"] - g[0]))]):
            fail(f"{cam}: tracks ended by the cuts: {[(e['pts'], e['track']['track_id']) for e in cut]}, blanks {gaps}")
        report[cam] = {"tracks": len(tracks), "cut": [round(e["pts"], 2) for e in cut], "segments": [(s["segment"]["label"], s["segment"]["end_reason"]) for s in segments]}
    # The first clip ends on the floor: the fall camera had a segment open when the picture went blank.
    first = [s for s in events if s["camera"] == "falls" and s["type"] == "segment.end"
             and s["segment"]["start"]["pts"] < gaps[0][0] and s["segment"]["end_reason"] == "scene_change"]
    if not first:
        fail("falls: no segment was open at the first blank, so nothing was tested there: "
             f"{report['falls']['segments']}")
    print(f"ok: blanks at {gaps}; {report}")
