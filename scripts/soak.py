#!/usr/bin/python3
"""Soak run (called by scripts/soak.sh): the daemon under churn for a long time, sampled from outside.

Load: N cameras looping a short H.264 file in real time (a reconnect, epoch + 1, at every loop), one
RTSP camera on a real RTSP server that goes away for 5 s every 45 s (actiond_rtsp_flapper), the
synthetic workbench camera (scripted actions, so segments open and close), and a second synthetic
camera whose file is added and removed every --churn-s seconds (inotify reload). A subscriber (connected before the
daemon binds) checks every event: per camera, seq must be contiguous (nothing lost or duplicated),
and every segment.start must have its segment.end by the end of the run (after SIGTERM).
Sampled every 10 s: RSS, open fds, threads. "Flat" = each grew < 5 % from the first samples after
the warm-up to the last ones (means of 3 samples each).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import zmq
from actiond_train.daemon_client import free_port, process_sample


class Checker(threading.Thread):
    """Collects events; checks seq contiguity per camera and segment pairing."""

    def __init__(self, endpoint: str):
        super().__init__(daemon=True)
        self.endpoint, self.stop = endpoint, threading.Event()
        self.events = 0
        self.last = {}
        self.gaps, self.duplicates = [], []
        self.open = {}
        self.types = {}

    def run(self) -> None:
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVTIMEO, 200)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.connect(self.endpoint)
        while not self.stop.is_set():
            try:
                _topic, body = sub.recv_multipart()
            except zmq.Again:
                continue
            ev = json.loads(body)
            self.events += 1
            cam, seq, kind = ev["camera"], ev["seq"], ev["type"]
            self.types[kind] = self.types.get(kind, 0) + 1
            prev = self.last.get(cam, 0)
            if seq <= prev:
                self.duplicates.append((cam, seq))
            elif seq != prev + 1:
                self.gaps.append((cam, prev, seq))
            self.last[cam] = max(prev, seq)
            if kind == "segment.start":
                self.open[ev["segment"]["id"]] = cam
            elif kind == "segment.end":
                self.open.pop(ev["segment"]["id"], None)
        sub.close()


def growth(values: list) -> float:
    a, b = sum(values[:3]) / 3, sum(values[-3:]) / 3
    return round(100.0 * (b - a) / a, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--flapper", required=True, help="actiond_rtsp_flapper binary")
    ap.add_argument("--models", required=True)
    ap.add_argument("--video", required=True, help="short H.264 file the file cameras loop")
    ap.add_argument("--cameras", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--warmup-minutes", type=float, default=5)
    ap.add_argument("--churn-s", type=float, default=20)
    ap.add_argument("--trace", help="append every sample as a JSON line")
    args = ap.parse_args()
    if args.minutes <= args.warmup_minutes + 1:
        sys.exit("soak: --minutes must exceed --warmup-minutes by more than 1")

    flapper = subprocess.Popen([args.flapper, "40", "5"], stdout=subprocess.PIPE, text=True)
    rtsp_uri = flapper.stdout.readline().strip()
    with tempfile.TemporaryDirectory() as conf:
        os.makedirs(os.path.join(conf, "cameras"))
        events = f"tcp://127.0.0.1:{free_port()}"
        with open(os.path.join(conf, "actiond.json"), "w") as f:
            json.dump({"publish": {"endpoint": events, "startup_grace_ms": 1000, "sndhwm": 100000},
                       "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}"},
                       "metrics": {"listen": f"127.0.0.1:{free_port()}"},
                       "journal": {"dir": os.path.join(conf, "journal")},
                       "inference": {"intra_op_threads": 1, "inter_op_threads": 1},
                       "reload": {"watch": True, "debounce_ms": 300}, "log": {"level": "warn"},
                       "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, f)
        models = {"backbone": "bb", "segmenter": "seg"}
        for i in range(args.cameras):
            with open(os.path.join(conf, "cameras", f"file{i}.json"), "w") as f:
                json.dump({"id": f"file{i}", "uri": "file://" + os.path.abspath(args.video), "fps": 5,
                           "loop": True, "models": models}, f)
        with open(os.path.join(conf, "cameras", "synth.json"), "w") as f:  # scripted actions: segments
            json.dump({"id": "synth", "uri": "synthetic://workbench?seed=3", "fps": 5, "models": models}, f)
        with open(os.path.join(conf, "cameras", "rtsp.json"), "w") as f:
            json.dump({"id": "rtsp", "uri": rtsp_uri, "fps": 5, "stall_timeout_s": 3,
                       "reconnect": {"initial_s": 0.5, "max_s": 2}, "models": models}, f)
        checker = Checker(events)
        checker.start()
        log = open(os.path.join(conf, "actiond.log"), "w")
        proc = subprocess.Popen([args.actiond, "--config", conf, "--model-dir", args.models], stderr=log)
        samples, churns = [], 0
        start = time.time()
        next_churn = start + args.churn_s
        try:
            while time.time() - start < args.minutes * 60:
                time.sleep(1)
                if proc.poll() is not None:
                    sys.exit(f"soak: actiond exited with {proc.returncode}: {open(log.name).read()[-2000:]}")
                now = time.time()
                if now >= next_churn:
                    churn = os.path.join(conf, "cameras", "churn.json")
                    if os.path.exists(churn):
                        os.remove(churn)
                    else:
                        with open(churn + ".tmp", "w") as f:
                            json.dump({"id": "churn", "uri": "synthetic://workbench?seed=7", "fps": 5,
                                       "models": models}, f)
                        os.rename(churn + ".tmp", churn)
                    churns += 1
                    next_churn = now + args.churn_s
                if int(now - start) % 10 == 0:
                    s = dict(process_sample(proc.pid), t=round(now - start))
                    samples.append(s)
                    if args.trace:
                        with open(args.trace, "a") as f:
                            f.write(json.dumps(s) + "\n")
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=60)
            time.sleep(1)
            checker.stop.set()
            checker.join()
            flapper.kill()
        after = [s for s in samples if s["t"] >= args.warmup_minutes * 60]
        result = {
            "minutes": args.minutes, "warmup_minutes": args.warmup_minutes, "file_cameras": args.cameras,
            "rtsp_outages": int(args.minutes * 60 // 45), "camera_file_churns": churns, "exit_code": rc,
            "rss_mb_start": after[0]["rss_mb"], "rss_mb_end": after[-1]["rss_mb"],
            "rss_growth_percent": growth([s["rss_mb"] for s in after]),
            "fds_growth_percent": growth([s["fds"] for s in after]),
            "threads_growth_percent": growth([s["threads"] for s in after]),
            "events": checker.events, "event_types": checker.types,
            "seq_gaps": len(checker.gaps), "seq_duplicates": len(checker.duplicates),
            "segments_left_open": len(checker.open),
        }
        result["flat"] = all(result[k] < 5 for k in ("rss_growth_percent", "fds_growth_percent", "threads_growth_percent"))
        result["events_ok"] = result["seq_gaps"] == 0 and result["seq_duplicates"] == 0 and result["segments_left_open"] == 0
        print(json.dumps(result))
        if checker.gaps or checker.duplicates:
            print(f"soak: gaps {checker.gaps[:10]} duplicates {checker.duplicates[:10]}", file=sys.stderr)
        sys.exit(0 if result["flat"] and result["events_ok"] and rc == 0 else 1)


if __name__ == "__main__":
    main()
