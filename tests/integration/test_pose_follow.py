#!/usr/bin/python3
"""Single-person mode: movenet-lightning reading a crop that follows the person (persons.follow) against
the same model on the whole letterboxed frame, on one real exercise video of each class of
../shared/data/workout (one person each). Both cameras run in one daemon on the same file. Follow
mode must find the person and keep one track to the end of each video (never `lost`), its boxes must
agree with the whole-frame ones (IoU >= 0.5 at the last frame), and its person scores must be higher
on average (the person fills more of the model's input). A multi-person model with follow is refused.

Usage (from ctest): test_pose_follow.py --actiond BIN --pretrained DIR --shared DIR
"""
import csv
import json
import os
import signal
import subprocess
import tempfile
import time

from testlib import Subscriber, fail, free_port, require_pretrained, skip


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_pose_follow(args) -> None:
    lightning = require_pretrained(os.path.join(args.pretrained, "movenet-lightning.pt"))
    args.shared = os.path.abspath(args.shared)
    index = os.path.join(args.shared, "data", "workout", "index.csv")
    if not os.path.exists(index):
        skip(f"{index} is not there (../shared/data is absent)")
    videos = {}
    with open(index) as f:
        for row in csv.DictReader(f):
            if row["class"] not in videos and " " not in row["name"]:
                videos[row["class"]] = os.path.join(args.shared, "data", "workout", "videos", row["class"], row["name"] + ".mp4")
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "cameras"))
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        with open(os.path.join(root, "actiond.json"), "w") as f:
            json.dump({"publish": {"endpoint": endpoint}, "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}"},
                       "metrics": {"enabled": False}, "journal": {"enabled": False},
                       "inference": {"intra_op_threads": 2, "max_batch": 8},
                       "models": {"lightning": {"path": lightning},
                                  "multipose": {"path": os.path.join(os.path.dirname(lightning), "movenet-multipose.pt")}}},
                      f)
        for cls, path in videos.items():
            for mode in ("follow", "whole"):
                with open(os.path.join(root, "cameras", f"{cls}-{mode}.json"), "w") as f:
                    json.dump({"id": f"{cls}-{mode}", "uri": "file://" + path, "fps": 5, "realtime": False,
                               "models": {"pose": "lightning"},
                               "persons": {"follow": mode == "follow", "birth_frames": 2, "death_frames": 10}}, f)
        with open(os.path.join(root, "cameras", "refused.json"), "w") as f:
            json.dump({"id": "refused", "uri": "file://" + path, "models": {"pose": "multipose"},
                       "persons": {"follow": True}}, f)
        sub = Subscriber(endpoint)
        daemon = subprocess.Popen([args.actiond, "--config", root, "--log-level", "error"])
        cams = [f"{c}-{m}" for c in videos for m in ("follow", "whole")]
        ok = sub.wait_for(lambda evs: daemon.poll() is not None or all(
            any(e["camera"] == c and e["type"] == "stream.status" and e["state"] == "eos" for e in evs) for c in cams),
            timeout=300)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        time.sleep(0.3)
        events = sub.close()
    if not ok:
        fail("not every camera reached the end of its video")
    refused = [e for e in events if e["camera"] == "refused"]
    if not refused or refused[0].get("state") != "failed" or "persons.follow needs a single-person pose model" not in refused[0]["reason"]:
        fail(f"multipose with follow: {[(e['type'], e.get('reason')) for e in refused][:2]}")
    gains = []
    for cls in videos:
        ends = {}
        for mode in ("follow", "whole"):
            evs = [e for e in events if e["camera"] == f"{cls}-{mode}"]
            tracks = [e for e in evs if e["type"] == "track.end"]
            ends[mode] = tracks
            if mode == "follow" and (len(tracks) != 1 or tracks[0]["track"]["end_reason"] != "eos"):
                fail(f"{cls} follow: expected one track ending at eos, got {[t['track'] for t in tracks]}")
        if not ends["whole"]:
            fail(f"{cls}: the whole-frame camera found nobody")
        f_end, w_end = ends["follow"][0]["track"], max(ends["whole"], key=lambda e: e["track"]["frames"])["track"]
        overlap = iou(f_end["box"], w_end["box"])
        if overlap < 0.5:
            fail(f"{cls}: follow box {f_end['box']} vs whole-frame box {w_end['box']}: IoU {overlap:.2f}")
        gains.append((cls, f_end["mean_score"], w_end["mean_score"], round(overlap, 2)))
    mean_follow = sum(g[1] for g in gains) / len(gains)
    mean_whole = sum(g[2] for g in gains) / len(gains)
    if mean_follow <= mean_whole:
        fail(f"follow does not score higher: {gains}")
    print(f"ok: mean person score follow {mean_follow:.3f} vs whole frame {mean_whole:.3f}; (class, follow, whole, IoU): {gains}")
