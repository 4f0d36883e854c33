#!/usr/bin/python3
"""What the motion gate saves and costs on real video: vtest.avi (pedestrians, 79 s) through the daemon
at 5 fps with movenet-multipose, person tracks and the walking segmenter, once per gate setting, as
fast as analysis allows. Per setting: the share of frames that ran the pose model, the daemon's CPU
seconds, tracks (fewer, longer tracks = fewer breaks), tracks lasting >= 8 s, their mean length,
walking segments and their total length.

    PYTHONPATH=models/train /usr/bin/python3 scripts/bench_pose_gate.py --actiond build/daemon/actiond \
        --pretrained build/models/pretrained --models build/tests/models [--thresholds 0,2,4]
threshold 0 = gate off. Prints one JSON line per setting.
"""
import argparse
import json
import os
import signal
import subprocess
import tempfile
import time

from actiond_train.daemon_client import Subscriber, cpu_seconds, free_port, metric_sum

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def run(args, threshold: float) -> dict:
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "cameras"))
        endpoint, port = f"tcp://127.0.0.1:{free_port()}", free_port()
        with open(os.path.join(root, "actiond.json"), "w") as f:
            json.dump({"publish": {"endpoint": endpoint}, "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}"},
                       "metrics": {"listen": f"127.0.0.1:{port}"}, "journal": {"enabled": False},
                       "inference": {"intra_op_threads": 2, "max_batch": 4},
                       "model_dir": os.path.abspath(args.models),
                       "models": {"pose": {"path": os.path.abspath(os.path.join(args.pretrained, "movenet-multipose.pt"))},
                                  "walking": {"path": "pose_walking.pt"}}}, f)
        with open(os.path.join(root, "cameras", "people.json"), "w") as f:
            json.dump({"id": "people", "uri": "file://" + VIDEO, "fps": 5, "realtime": False,
                       "models": {"pose": "pose", "segmenter": "walking"},
                       "persons": {"min_score": 0.2, "gate": {"enabled": threshold > 0, "threshold": max(threshold, 0.1),
                                                              "max_skip": args.max_skip}},
                       "tracker": {"confirm_frames": 2, "min_duration_s": 1.0}}, f)
        sub = Subscriber(endpoint)
        proc = subprocess.Popen([args.actiond, "--config", root, "--log-level", "warn"])
        sub.wait_for(lambda evs: any(e["type"] == "stream.status" and e["state"] == "eos" for e in evs), timeout=600)
        ran, skipped = metric_sum(port, "actiond_pose_frames_total", result="ran"), metric_sum(port, "actiond_pose_frames_total", result="skipped")
        cpu = cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        time.sleep(0.3)
        events = sub.close()
    ends = [e["track"] for e in events if e["type"] == "track.end"]
    segs = [e for e in events if e["type"] == "segment.end"]
    return {"gate_threshold": threshold, "max_skip": args.max_skip if threshold > 0 else 0,
            "pose_model_share": round(ran / max(ran + skipped, 1), 3), "cpu_s": round(cpu, 1),
            "tracks": len(ends), "tracks_8s": sum(1 for t in ends if t["last_seen_pts"] - t["start_pts"] >= 8),
            "mean_track_s": round(sum(t["last_seen_pts"] - t["start_pts"] for t in ends) / max(len(ends), 1), 2),
            "walking_segments": len(segs),
            "walking_s": round(sum(s["segment"]["end"]["pts"] - s["segment"]["start"]["pts"] for s in segs), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--pretrained", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--thresholds", default="0,1,2,4")
    ap.add_argument("--max-skip", type=int, default=1)
    args = ap.parse_args()
    for t in (float(v) for v in args.thresholds.split(",")):
        print(json.dumps(run(args, t)), flush=True)


if __name__ == "__main__":
    main()
