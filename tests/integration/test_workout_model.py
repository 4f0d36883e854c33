#!/usr/bin/python3
"""The trained workout model (models/workout/segmenter.pt) in the daemon, on a real test video of
../shared/data/workout, and the train-your-own path's promise that training reads what serving computes.

1. A pose camera (movenet-lightning following its person, the workout segmenter, its manifest's
   decoding settings) plays the video: it must publish an exercise segment of the video's class with
   `repetition` events counting 1, 2, ... and a `segment.end` whose `repetitions` equals the last count.
2. `actiond extract` writes the tracked person's features of the same video. Replayed through a
   features:// camera with the same segmenter, they must give the same decisions as the pose camera:
   the same segments (label, start, repetition count) with the same confidence (to 1e-4), and the
   same repetitions at the same frames. Any difference between the features extract writes and those the
   daemon computes online would show here.

Usage (from ctest): test_workout_model.py --actiond BIN --pretrained DIR --shared DIR --model FILE
"""
import json
import os
import subprocess
import tempfile

import numpy as np

from testlib import all_at_eos, fail, free_port, require_pretrained, run_daemon_until, skip

VIDEO = ("squats", "squat_19")
FPS = 10


def run_daemon(actiond: str, root: str, models: dict, cameras: dict) -> list:
    os.makedirs(os.path.join(root, "cameras"), exist_ok=True)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    with open(os.path.join(root, "actiond.json"), "w") as f:
        json.dump({"publish": {"endpoint": endpoint}, "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}"},
                   "metrics": {"enabled": False}, "journal": {"enabled": False},
                   "inference": {"intra_op_threads": 2, "max_batch": 4}, "models": models}, f)
    for cid, cam in cameras.items():
        with open(os.path.join(root, "cameras", cid + ".json"), "w") as f:
            json.dump(dict(cam, id=cid), f)
    ok, _, events = run_daemon_until(actiond, root, endpoint, all_at_eos(cameras), 240, ["--log-level", "error"])
    if not ok:
        fail(f"cameras {list(cameras)} did not reach the end of their input")
    return events


def yellow_pixels(path: str, seek_s: float = -1.0) -> int:
    """Pixels of the snapshot's box colour (255, 210, 0) in a JPEG, or in a clip's frame at seek_s."""
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    pipe = Gst.parse_launch(f'filesrc location="{path}" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=s sync=false')
    sink = pipe.get_by_name("s")
    pipe.set_state(Gst.State.PAUSED)
    pipe.get_state(10 * Gst.SECOND)
    if seek_s >= 0:
        pipe.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE, int(seek_s * Gst.SECOND))
        pipe.get_state(10 * Gst.SECOND)
    smp = sink.emit("try-pull-preroll", 5 * Gst.SECOND)
    pipe.set_state(Gst.State.NULL)
    if smp is None:
        fail(f"{path}: no picture")
    ok, info = smp.get_buffer().map(Gst.MapFlags.READ)
    d = bytes(info.data)
    return sum(1 for i in range(0, len(d) - 2, 3) if d[i] > 200 and 150 < d[i + 1] < 240 and d[i + 2] < 90)


def check_pose_snapshot(events: list, clips_dir: str) -> None:
    """Pose camera clips: segment.end carries the person's pose at the peak, and the snapshot draws it."""
    ends = [e for e in events if e["type"] == "segment.end"]
    readies = {e["segment_id"]: e for e in events if e["type"] == "clip.ready"}
    if not ends or any(e["segment"]["id"] not in readies for e in ends):
        fail(f"pose camera clips: segment ends {[e['segment']['id'] for e in ends]}, clip.ready for {list(readies)}")
    for e in ends:
        pose = e["segment"].get("peak", {}).get("pose")
        if not pose or len(pose["keypoints"]) != 17 or len(pose["box"]) != 4:
            fail(f"segment.end without the peak's pose: {e['segment']}")
        ready = readies[e["segment"]["id"]]
        snap = os.path.join(clips_dir, ready["snapshot"]["file"])
        clip = os.path.join(clips_dir, ready["clip"]["file"])
        drawn = yellow_pixels(snap)
        plain = yellow_pixels(clip, ready["snapshot"]["pts"] - ready["clip"]["start_pts"])
        if drawn < plain + 200:
            fail(f"the snapshot {snap} shows no drawn box: {drawn} box-coloured pixels, the clip's frame {plain}")


def decisions(events: list, camera: str) -> list:
    out = []
    for e in events:
        if e["camera"] != camera:
            continue
        if e["type"] == "segment.end":
            s = e["segment"]
            out.append(("segment", s["label"], s["end_reason"], s["confidence"], s.get("repetitions"), s["start"]["pts"]))
        elif e["type"] == "repetition":
            out.append(("repetition", e["label"], e["count"], e["pts"]))
    return out


def test_workout_model(args) -> None:
    lightning = require_pretrained(os.path.join(args.pretrained, "movenet-lightning.pt"))
    video = os.path.join(os.path.abspath(args.shared), "data", "workout", "videos", VIDEO[0], VIDEO[1] + ".mp4")
    if not os.path.exists(video):
        skip(f"{video} is not there (../shared/data is absent)")
    models = {"lightning": {"path": lightning}, "workout": {"path": os.path.abspath(args.model)}}
    with tempfile.TemporaryDirectory() as root:
        live = run_daemon(args.actiond, os.path.join(root, "live"), models, {
            "live": {"uri": "file://" + video, "fps": FPS, "realtime": False,
                     "models": {"pose": "lightning", "segmenter": "workout"}, "persons": {"follow": True},
                     "clips": {"enabled": True, "pre_s": 1, "post_s": 1}}})
        check_pose_snapshot(live, os.path.join(root, "live", "clips"))
        out = os.path.join(root, "extract")
        subprocess.run([args.actiond, "extract", "--model", lightning, "--follow", "--fps", str(FPS), "--videos", video,
                        "--out", out], check=True, capture_output=True)
        feats = np.load(os.path.join(out, VIDEO[1] + ".features.npy"))
        track = np.load(os.path.join(out, VIDEO[1] + ".track.npy"))
        pts = np.load(os.path.join(out, VIDEO[1] + ".pts.npy"))
        seen = np.nonzero(track > 0)[0]
        if len(seen) == 0 or len(set(track[seen].tolist())) != 1 or seen[-1] - seen[0] + 1 != len(seen):
            fail(f"extract: expected one person tracked without a gap, got track ids {track.tolist()}")
        np.save(os.path.join(out, "person.npy"), feats[seen])
        replay = run_daemon(args.actiond, os.path.join(root, "replay"), models, {
            "replay": {"uri": "features://" + os.path.join(out, "person.npy"), "fps": FPS, "realtime": False,
                       "models": {"segmenter": "workout"}}})
    got_live, got_replay = decisions(live, "live"), decisions(replay, "replay")
    segments = [d for d in got_live if d[0] == "segment"]
    reps = [d for d in got_live if d[0] == "repetition"]
    if not segments or segments[0][1] != VIDEO[0]:
        fail(f"live: expected a {VIDEO[0]} segment, got {got_live}")
    if not reps or [r[2] for r in reps] != list(range(1, len(reps) + 1)) or segments[-1][4] != reps[-1][2]:
        fail(f"live: expected repetitions counting 1..n and segment.end repetitions n, got {got_live}")
    # Replayed row r (pts r / FPS) is the person's frame seen[r]: map its times to the video's.
    def live_time(replay_pts: float) -> float:
        r = int(round(replay_pts * FPS))
        return float(pts[seen[min(r, len(seen) - 1)]]) if r < len(seen) else float(pts[seen[-1]]) + (r - len(seen) + 1) / FPS

    if len(got_live) != len(got_replay):
        fail(f"live {got_live} vs replayed features {got_replay}")
    for a, b in zip(got_live, got_replay):
        if a[0] == "repetition":
            same = a[:3] == b[:3] and abs(a[3] - live_time(b[3])) <= 1e-3
        else:
            same = a[1] == b[1] and a[4] == b[4] and abs(a[3] - b[3]) <= 1e-4 and abs(a[5] - live_time(b[5])) <= 1e-3
        if not same:
            fail(f"live {a} vs replayed features {b}; all live {got_live}; all replayed {got_replay}")
    print(f"ok: {VIDEO[1]}: {len(segments)} segment(s), {len(reps)} repetition(s); live and replayed extract agree: "
          f"{got_live}")
