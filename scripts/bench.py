#!/usr/bin/python3
"""Throughput benchmark (called by scripts/bench.sh): N live cameras analysed at 5 fps, against the
decode-only limit of the same streams.

For each N: the daemon runs N cameras playing an H.264 file in real time (looping), for --seconds
after a warm-up. Measured from outside: the daemon's CPU (utime+stime from /proc) and RSS; from its
/metrics: analysed frames per camera, drops by reason, and the frame-to-event processing latency
histogram (frame arrival -> its decision published), whose p50/p95/p99 are interpolated as
Prometheus' histogram_quantile does. Then a plain gst-launch-1.0 pipeline does the same decode +
rate + scale for N streams (sync to the clock, like live cameras) and its CPU is measured the same
way. A camera "kept real time" when it analysed >= 95% of 5 fps and dropped nothing for lack of
inference capacity (queue_full, undecided).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its reaped children (gst-launch is one process)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def fds_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def total(m: dict, name: str, **match) -> float:
    return sum(v for labels, v in m.get(name, []) if all(labels.get(k) == want for k, want in match.items()))


def quantile(q: float, buckets: list) -> float:
    """histogram_quantile over cumulative (le, count) pairs."""
    buckets = sorted(buckets)
    n = buckets[-1][1]
    if n <= 0:
        return float("nan")
    rank = q * n
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9)
        prev_le, prev_c = le, c
    return prev_le


def latency_buckets(before: dict, after: dict) -> list:
    """Summed over cameras, the histogram's increase during the measurement."""
    def cum(m):
        acc = {}
        for labels, v in m.get("actiond_frame_latency_seconds_bucket", []):
            le = float(labels["le"])
            acc[le] = acc.get(le, 0.0) + v
        return acc
    a, b = cum(after), cum(before)
    return [(le, a[le] - b.get(le, 0.0)) for le in a]


def write_camera(conf: str, cam: dict) -> None:
    with open(os.path.join(conf, "cameras", f"{cam['id']}.json"), "w") as f:
        json.dump(cam, f)


def run_daemon(args, n: int, tmp: str) -> dict:
    conf = os.path.join(tmp, f"daemon-{n}")
    os.makedirs(os.path.join(conf, "cameras"))
    port = free_port()
    with open(os.path.join(conf, "actiond.json"), "w") as f:
        json.dump({"publish": {"endpoint": f"tcp://127.0.0.1:{free_port()}", "heartbeat_s": 5},
                   "control": {"endpoint": f"tcp://127.0.0.1:{free_port()}"},
                   "metrics": {"listen": f"127.0.0.1:{port}"},
                   "journal": {"dir": os.path.join(conf, "journal")},
                   "inference": {"intra_op_threads": args.threads, "inter_op_threads": 1, "max_batch": args.max_batch,
                                 "max_wait_ms": args.max_wait_ms, "decoder_nice": args.decoder_nice},
                   "reload": {"watch": False}, "log": {"level": "warn"},
                   "models": {"bb": {"path": os.path.abspath(args.pose) if args.pose else "backbone.pt"},
                              "seg": {"path": "pose_walking.pt" if args.pose else "segmenter.pt"}}}, f)
    cams = []
    for i in range(n):
        cam = {"id": f"cam{i:02d}", "uri": "file://" + args.video, "fps": 5, "realtime": True, "loop": True,
               "queue_frames": 8, "decoder_threads": 1, "decoder": args.decoder,
               "models": {"backbone": "bb", "segmenter": "seg"}}
        if args.pose:
            cam["models"] = {"pose": "bb", "segmenter": "seg"}
            cam["persons"] = {"min_score": 0.2, "gate": {"enabled": args.gate}}
        cams.append(cam)
    # --stagger: cameras join one by one over that many seconds (SIGHUP reloads), so their streams'
    # key frames and analysis slots fall at different moments, as with independent cameras.
    first = 1 if args.stagger > 0 else n
    for cam in cams[:first]:
        write_camera(conf, cam)
    log = open(os.path.join(conf, "actiond.log"), "w")
    proc = subprocess.Popen([args.actiond, "--config", conf, "--model-dir", args.models], stderr=log)
    try:
        if first < n:
            time.sleep(2)
            for cam in cams[first:]:
                write_camera(conf, cam)
                proc.send_signal(signal.SIGHUP)
                time.sleep(args.stagger / n)
        time.sleep(args.warmup)
        if proc.poll() is not None:
            sys.exit(f"bench: actiond exited: {open(os.path.join(conf, 'actiond.log')).read()}")
        before, c0, t0 = scrape(port), cpu_seconds(proc.pid), time.time()
        rss = []
        trace = open(args.trace, "a") if args.trace else None
        while time.time() - t0 < args.seconds:
            time.sleep(1)
            rss.append(rss_mb(proc.pid))
            if trace is not None and len(rss) % 10 == 0:
                m = scrape(port)
                trace.write(json.dumps({"cameras": n, "t": round(time.time() - t0), "rss_mb": round(rss[-1], 1),
                                        "heap_in_use_mb": round(total(m, "actiond_heap_bytes", state="in_use") / 2**20, 1),
                                        "heap_free_mb": round(total(m, "actiond_heap_bytes", state="free") / 2**20, 1),
                                        "fds": fds_of(proc.pid), "threads": threads_of(proc.pid)}) + "\n")
                trace.flush()
        after, c1, t1 = scrape(port), cpu_seconds(proc.pid), time.time()
        proc_pid = proc.pid
        threads = threads_of(proc_pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    span = t1 - t0
    per_cam = []
    for i in range(n):
        cam = f"cam{i:02d}"
        fps = (total(after, "actiond_frames_analysed_total", camera=cam) -
               total(before, "actiond_frames_analysed_total", camera=cam)) / span
        capacity_drops = sum(total(after, "actiond_frames_dropped_total", camera=cam, reason=r) -
                             total(before, "actiond_frames_dropped_total", camera=cam, reason=r)
                             for r in ("queue_full", "undecided"))
        per_cam.append((fps, capacity_drops))
    drops = {r: total(after, "actiond_frames_dropped_total", reason=r) - total(before, "actiond_frames_dropped_total", reason=r)
             for r in ("rate_limit", "queue_full", "undecided")}
    buckets = latency_buckets(before, after)
    pose = {r: total(after, "actiond_pose_frames_total", result=r) - total(before, "actiond_pose_frames_total", result=r)
            for r in ("ran", "skipped")}
    return {
        "pose_model_share": round(pose["ran"] / max(pose["ran"] + pose["skipped"], 1), 3) if args.pose else None,
        "cameras": n,
        "realtime": all(fps >= 0.95 * 5 and d == 0 for fps, d in per_cam),
        "analysed_fps_total": round(sum(f for f, _ in per_cam), 1),
        "analysed_fps_min": round(min(f for f, _ in per_cam), 2),
        "cpu_percent": round(100 * (c1 - c0) / span, 1),
        "rss_mb": round(max(rss), 1),
        "rss_mb_per_camera": round(max(rss) / n, 1),
        # Growth after warm-up: the last sample against the sample a tenth into the measurement.
        "rss_growth_percent": round(100 * (rss[-1] - rss[len(rss) // 10]) / rss[len(rss) // 10], 2),
        "threads": threads,
        "p50_ms": round(1000 * quantile(0.50, buckets), 1),
        "p95_ms": round(1000 * quantile(0.95, buckets), 1),
        "p99_ms": round(1000 * quantile(0.99, buckets), 1),
        "drops": {k: int(v) for k, v in drops.items()},
    }


def decode_only_pipeline(video: str, n: int, width: int, height: int) -> str:
    """The bench's reference: plain GStreamer decode + rate + scale + convert of n streams."""
    branch = (f"filesrc location={video} ! qtdemux ! h264parse ! avdec_h264 max-threads=1 ! videorate drop-only=true "
              f"! video/x-raw,framerate=5/1 ! videoscale ! videoconvert ! video/x-raw,format=RGB,width={width},height={height} "
              "! fakesink sync=true signal-handoffs=true name=s{i}")
    return " ".join(branch.replace("{i}", str(i)) for i in range(n))


def decode_worker(args) -> None:
    """Runs the decode-only pipelines in this process (looping the file like the cameras) and prints
    per-stream frames/s and how late frames reached the sink (ms after their due time)."""
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst
    Gst.init(None)
    width, height = (int(v) for v in args.input.split("x"))
    pipe = Gst.parse_launch(decode_only_pipeline(args.video, args.decode_worker, width, height))
    counts = [0] * args.decode_worker
    late = []
    measuring = [False]

    segment_event = Gst.EventType.SEGMENT  # looked up once: not from streaming threads at shutdown

    def handoff(sink, buf, pad, i):
        if not measuring[0]:
            return
        counts[i] += 1
        seg = pad.get_sticky_event(segment_event, 0).parse_segment()
        due = seg.to_running_time(Gst.Format.TIME, buf.pts) + pipe.get_base_time()
        late.append(max(0, pipe.get_clock().get_time() - due) / 1e6)
    for i in range(args.decode_worker):
        sink = pipe.get_by_name(f"s{i}")
        sink.connect("handoff", handoff, i)
    bus = pipe.get_bus()
    bus.add_signal_watch()

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS or msg.type == Gst.MessageType.ERROR:
            print(json.dumps({"error": str(msg.type)}), flush=True)
            loop.quit()
    bus.connect("message", on_message)
    loop = GLib.MainLoop()
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(args.warmup * 1000), lambda: measuring.__setitem__(0, True) or print("measuring", flush=True) or False)

    def finish():
        measuring[0] = False
        late.sort()
        p99 = late[int(0.99 * (len(late) - 1))] if late else float("nan")
        print(json.dumps({"fps": [c / args.seconds for c in counts], "late_p99_ms": round(p99, 1)}), flush=True)
        loop.quit()
        return False
    GLib.timeout_add(int((args.warmup + args.seconds) * 1000), finish)
    loop.run()
    pipe.set_state(Gst.State.NULL)


def run_decode_only(args, n: int) -> dict:
    """CPU of the decode-only reference for n streams, and whether it kept real time."""
    cmd = [sys.executable, os.path.abspath(__file__), "--decode-worker", str(n), "--video", args.video,
           "--input", args.input, "--warmup", str(args.warmup), "--seconds", str(args.seconds),
           "--actiond", "-", "--models", "-", "--out", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "measuring":
            sys.exit("bench: the decode-only worker did not start")
        c0, t0 = cpu_seconds(proc.pid), time.time()
        time.sleep(args.seconds * 0.98)
        c1, t1 = cpu_seconds(proc.pid), time.time()
        result = json.loads(proc.stdout.readline())
    finally:
        proc.wait(timeout=30)
    fps = result.get("fps", [0.0])
    return {"cpu_percent": round(100 * (c1 - c0) / (t1 - t0), 1), "fps_min": round(min(fps), 2),
            "late_p99_ms": result.get("late_p99_ms"),
            "realtime": min(fps) >= 0.95 * 5 and (result.get("late_p99_ms") or 1e9) < 100}


def holds(row: dict, p99_limit_ms: float) -> bool:
    """Capacity: real time (>= 95 % of 5 fps everywhere, no capacity drops) with p99 under the limit."""
    return bool(row["realtime"]) and row["p99_ms"] < p99_limit_ms


def search(first: int, limit: int, fits) -> tuple:
    """The largest n in [1, limit] with fits(n) (assumed monotone): steps of +25 % from `first` while
    it fits, then bisection between the last n that fitted and the first that did not.
    Returns (capacity, {n: fits(n)})."""
    seen = {}

    def test(n):
        if n not in seen:
            seen[n] = fits(n)
        return seen[n]
    lo, hi = 0, limit + 1  # lo fits (0 trivially), hi does not
    n = max(1, min(first, limit))
    while test(n):
        lo = n
        if n == limit:
            return lo, seen
        n = min(limit, n + max(2, n // 4))
    hi = n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if test(mid):
            lo = mid
        else:
            hi = mid
    return lo, seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actiond", required=True)
    ap.add_argument("--models", required=True, help="directory with backbone.pt and segmenter.pt")
    ap.add_argument("--video", required=True, help="H.264 MP4 played by every camera")
    ap.add_argument("--cameras", default="1,2,4,8,16,24,32")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=8)
    ap.add_argument("--input", default="64x64", help="backbone input WxH (decode-only scales to it too)")
    ap.add_argument("--max-wait-ms", type=int, default=5, help="inference.max_wait_ms (batch gathering)")
    ap.add_argument("--max-batch", type=int, default=32, help="inference.max_batch (1 = no cross-camera batching)")
    ap.add_argument("--daemon-only", action="store_true", help="skip the decode-only reference (long RSS runs)")
    ap.add_argument("--decoder", default="gstreamer", choices=["gstreamer", "analysis"], help="the cameras' decoder path")
    ap.add_argument("--capacity", help="FIRST:LIMIT: search the largest N holding real time with p99 < 100 ms for "
                    "actiond (--decoder) and for decode-only, starting at FIRST, up to LIMIT")
    ap.add_argument("--p99-limit-ms", type=float, default=100, help="--capacity: the p99 a camera count must stay under "
                    "(0 = no limit: real time only)")
    ap.add_argument("--pose", help="a pose model .pt: cameras run it (with the walking segmenter of --models)")
    ap.add_argument("--gate", action="store_true", help="with --pose: the motion gate on")
    ap.add_argument("--threads", type=int, default=1, help="inference.intra_op_threads")
    ap.add_argument("--decoder-nice", type=int, default=10, help="inference.decoder_nice")
    ap.add_argument("--stagger", type=float, default=0, help="start the cameras one by one over this many seconds "
                    "(SIGHUP reloads): streams not in phase, as independent cameras are (0: all at once)")
    ap.add_argument("--trace", help="append RSS, fds and threads every 10 s to this JSON lines file")
    ap.add_argument("--out", required=True, help="JSON lines, one per N")
    ap.add_argument("--decode-worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.decode_worker:
        decode_worker(args)
        return
    with tempfile.TemporaryDirectory() as tmp, open(args.out, "a" if args.capacity else "w") as out:
        def emit(row):
            print(json.dumps(row), flush=True)
            out.write(json.dumps(row) + "\n")
            out.flush()
        if args.capacity:
            first, limit = (int(v) for v in args.capacity.split(":"))
            if args.p99_limit_ms <= 0:
                args.p99_limit_ms = float("inf")
            label = f"actiond-{args.decoder}" + (f"-pose{'-gate' if args.gate else ''}" if args.pose else "")

            def daemon_fits(n):
                row = run_daemon(args, n, tmp)
                row.update(mode=label, holds=holds(row, args.p99_limit_ms))
                emit(row)
                return row["holds"]

            def decode_fits(n):
                row = run_decode_only(args, n)
                row.update(mode="decode-only", cameras=n, holds=row["realtime"])
                emit(row)
                return row["holds"]
            cap, _ = search(first, limit, daemon_fits)
            summary = {"mode": label, "capacity": cap, "video": os.path.basename(args.video)}
            if not args.daemon_only:
                dcap, _ = search(cap if cap else first, limit, decode_fits)
                summary.update(decode_only_capacity=dcap, capacity_vs_decode_only=round(cap / max(dcap, 1), 2))
            emit(summary)
            return
        for n in (int(v) for v in args.cameras.split(",")):
            row = run_daemon(args, n, tmp)
            if not args.daemon_only:
                ref = run_decode_only(args, n)
                row["decode_only_cpu_percent"] = ref["cpu_percent"]
                row["decode_only_realtime"] = ref["realtime"]
                row["cpu_ratio_vs_decode_only"] = round(row["cpu_percent"] / max(ref["cpu_percent"], 0.1), 2)
            emit(row)


if __name__ == "__main__":
    main()
