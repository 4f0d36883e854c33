#!/usr/bin/python3
"""actiond against VLC's RTSP server (`cvlc --sout '#rtp{sdp=rtsp://...}'`), a server the project did
not write, as an operator would point it at one. VLC offers RTP over UDP only and streams a looping
file, so the camera joins between key frames. With the default camera config:
  - the camera connects: one status says TCP was refused and UDP is tried, then it runs;
  - nothing reads "missing a plug-in";
  - the pictures the decoder cannot reconstruct before the first key frame (grey-green smears) are
    dropped, never analysed: every segment is the stream's real action (red for the test models).

Usage (from ctest): test_vlc_rtsp.py --actiond BIN --actionctl BIN --models DIR
Exit 77 (skipped) when cvlc is not installed.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from testlib import fail, free_port, skip


def start_vlc(video: str, port: int) -> subprocess.Popen:
    """VLC refuses to run as root: run it as nobody then."""
    cmd = ["cvlc", "-q", "--loop", video, "--sout", f"#rtp{{sdp=rtsp://127.0.0.1:{port}/test}}", "--sout-keep"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "nobody", "--"] + cmd
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_listening(port: int, timeout: float) -> bool:
    import socket
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def test_vlc_rtsp(args) -> None:
    if shutil.which("cvlc") is None:
        skip("cvlc not installed (scripts/install-deps.sh installs vlc-bin)")

    with tempfile.TemporaryDirectory() as root:
        os.chmod(root, 0o755)
        video = os.path.join(root, "red.ts")
        # 12 s of red, a key frame every 4 s: VLC's loop is joined between key frames most of the time.
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "pattern=red", "num-buffers=300", "!",
                        "video/x-raw,width=320,height=240,framerate=25/1", "!", "x264enc", "key-int-max=100",
                        "speed-preset=ultrafast", "!", "h264parse", "!", "mpegtsmux", "!", "filesink",
                        f"location={video}"], check=True, timeout=60)
        os.chmod(video, 0o644)
        port = free_port()
        vlc = start_vlc(video, port)
        try:
            if not wait_listening(port, 20):
                fail("VLC's RTSP server did not listen within 20 s")
            endpoint = f"tcp://127.0.0.1:{free_port()}"
            os.makedirs(os.path.join(root, "cameras"))
            with open(os.path.join(root, "actiond.json"), "w") as f:
                json.dump({"publish": {"endpoint": endpoint, "heartbeat_s": 0},
                           "control": {"endpoint": "tcp://127.0.0.1:*"}, "metrics": {"enabled": False},
                           "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, f)
            with open(os.path.join(root, "cameras", "vlc.json"), "w") as f:
                # The default transport; a sensitive tracker, so a second of bad frames would show.
                json.dump({"id": "vlc", "uri": f"rtsp://127.0.0.1:{port}/test", "fps": 5,
                           "tracker": {"min_duration_s": 0.2, "confirm_frames": 1},
                           "models": {"backbone": "bb", "segmenter": "seg"}}, f)
            tail = subprocess.Popen([args.actionctl, "events", "--endpoint", endpoint], stdout=subprocess.PIPE,
                                    text=True)
            daemon = subprocess.Popen([args.actiond, "--config", root, "--model-dir", args.models,
                                       "--log-level", "warn"])
            time.sleep(12)
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(30)
            time.sleep(0.5)
            tail.terminate()
            out, _ = tail.communicate(timeout=10)
        finally:
            vlc.terminate()
            vlc.wait(10)
        if code != 0:
            fail(f"actiond exit code {code}")
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        statuses = [(e["state"], e["reason"]) for e in events if e["type"] == "stream.status"]
        print("statuses:", statuses)
        refusals = [s for s in statuses if s == ("starting", "RTSP server refused TCP transport (461); trying UDP")]
        if len(refusals) != 1:
            fail(f"expected one TCP refusal status: {statuses}")
        if not any(state == "running" for state, _ in statuses):
            fail(f"the camera never ran: {statuses}")
        if any("plug-in" in reason for _, reason in statuses):
            fail(f"a status blames a plug-in: {statuses}")
        starts = [e["segment"]["label"] for e in events if e["type"] == "segment.start"]
        ends = [e for e in events if e["type"] == "segment.end"]
        if not starts or len(starts) != len(ends):
            fail(f"segments: {starts}, {len(ends)} ends")
        if any(label != "red" for label in starts):
            fail(f"a segment of another label than the stream's red: {starts}")
        print(f"ok: {len(starts)} red segment(s), {len(events)} events")
