"""Helpers shared by the Python process tests (imported from the tests' own directory)."""
import socket
import subprocess
import sys


def fail(msg: str) -> None:
    """Report a failed check and exit 1 (ctest shows stderr)."""
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_video(path: str, width: int = 320, height: int = 240) -> None:
    """An H.264 MP4 at 25 fps: 1 s black, 2 s red, 1 s black (the tiny test models' red action)."""
    parts = [("black", 1), ("red", 2), ("black", 1)]
    cmd = ["gst-launch-1.0", "-q", "concat", "name=c", "!", "videoconvert", "!", "x264enc",
           "speed-preset=ultrafast", "!", "h264parse", "!", "mp4mux", "!", "filesink", f"location={path}"]
    for pattern, seconds in parts:
        cmd += ["videotestsrc", f"pattern={pattern}", f"num-buffers={int(seconds * 25)}", "!",
                f"video/x-raw,format=I420,width={width},height={height},framerate=25/1", "!", "c."]
    subprocess.run(cmd, check=True, timeout=60)
