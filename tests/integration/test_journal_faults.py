#!/usr/bin/python3
"""The journal's file system fails under a running daemon: first read-only, then full, then healthy.

The test enters a private mount namespace (it needs CAP_SYS_ADMIN, as root in CI has; without it the
test reports SKIP, exit 77) and gives actiond a small tmpfs as its journal directory:
  1. the tmpfs starts read-only   -> every journal write fails (EROFS), events are still published;
  2. remounted read-write         -> journaling resumes;
  3. it fills up (16 KiB)         -> writes fail with ENOSPC, some mid-line (short writes);
  4. grown to 4 MiB               -> journaling resumes.
Two looping file cameras run throughout. Checks: the daemon stays up and exits 0 on SIGTERM; both
cameras stay running; each failure is visible (log line naming the error, the
actiond_journal_failures_total metric, `status` over the control socket); every published event
arrives once with contiguous seq and every segment.start has its segment.end; every journal line is
a complete event identical to the published one with that seq (no partial or duplicated lines); the
events missing from the journal are exactly as many as the failures counted; the last events
(after recovery) are journaled.

Usage (from ctest): test_journal_faults.py --actiond BIN --models DIR
"""
import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

CLONE_NEWNS = 0x00020000
CAMERAS = ("left", "right")


def enter_mount_namespace() -> None:
    """A private mount namespace for this process and its children (before any thread starts)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        import pytest  # (testlib comes after the namespace)
        pytest.skip(f"cannot enter a mount namespace: {os.strerror(ctypes.get_errno())} (needs CAP_SYS_ADMIN)",
                    allow_module_level=True)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)


enter_mount_namespace()

import zmq  # noqa: E402  (after unshare: libzmq starts threads)
from testlib import fail, free_port, make_video  # noqa: E402


def metric(port: int, name: str) -> float:
    """A metric's value; -1 while the daemon's HTTP server is not up yet."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except urllib.error.URLError:
        return -1.0
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    fail(f"/metrics lacks {name}")
    return 0.0


def control(ctx: zmq.Context, endpoint: str, request: dict) -> dict:
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sock.send_json(request)
    reply = sock.recv_json()
    sock.close()
    return reply


def wait_for(what: str, predicate, timeout: float, daemon: subprocess.Popen) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if daemon.poll() is not None:
            fail(f"actiond exited ({daemon.returncode}) while waiting for {what}")
        if predicate():
            return
        time.sleep(0.2)
    fail(f"timed out after {timeout} s waiting for {what}")


def journal_lines(journal: str, camera: str) -> list:
    """Every line of a camera's journal files, oldest file first; each must be complete JSON."""
    out = []
    cam_dir = os.path.join(journal, camera)
    for name in sorted(os.listdir(cam_dir)):
        with open(os.path.join(cam_dir, name), "rb") as f:
            data = f.read()
        if not data:
            fail(f"empty journal file {name} left behind")
        if not data.endswith(b"\n"):
            fail(f"journal file {name} ends mid-line: {data[-80:]!r}")
        for line in data.decode().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                fail(f"journal file {name} has a line that is not JSON: {line!r}")
    return out


def test_journal_faults(args) -> None:

    with tempfile.TemporaryDirectory(prefix="actiond-journal-faults-") as tmp:
        video = os.path.join(tmp, "loop.mp4")
        make_video(video, 160, 120)
        journal = os.path.join(tmp, "journal")
        os.makedirs(journal)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", journal], check=True)
        try:
            run(args, tmp, video, journal)
        finally:
            subprocess.run(["umount", "-l", journal], check=False)


def write_config(conf: str, endpoint: str, ctl_endpoint: str, metrics_port: int, journal: str, video: str) -> None:
    os.makedirs(os.path.join(conf, "cameras"))
    with open(os.path.join(conf, "actiond.json"), "w") as f:
        json.dump({"publish": {"endpoint": endpoint, "heartbeat_s": 0.05},
                   "control": {"endpoint": ctl_endpoint},
                   "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
                   "journal": {"enabled": True, "dir": journal, "fsync": "batch"},
                   "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, f)
    for cam in CAMERAS:
        with open(os.path.join(conf, "cameras", cam + ".json"), "w") as f:
            json.dump({"id": cam, "uri": "file://" + video, "fps": 5, "realtime": True, "loop": True,
                       "tracker": {"update_interval_s": 0.2},
                       "models": {"backbone": "bb", "segmenter": "seg"}}, f)


def inject_faults(daemon: subprocess.Popen, ctx: zmq.Context, ctl_endpoint: str, metrics_port: int,
                  journal: str, log_path: str) -> float:
    """Steps 1-4 of the module docstring; returns the failures counted after recovery."""
    def failures() -> float:
        return metric(metrics_port, "actiond_journal_failures_total")

    def log_has(text: str) -> bool:
        with open(log_path) as f:
            return text in f.read()

    # 1. Read-only.
    wait_for("journal failures on the read-only tmpfs", lambda: failures() >= 20, 60, daemon)
    wait_for("the read-only error in the log", lambda: log_has("Read-only file system"), 10, daemon)
    status = control(ctx, ctl_endpoint, {"cmd": "status"})
    if status["daemon"]["journal_failures"] < 20:
        fail(f"status does not show the journal failures: {status}")
    # 2. Writable again.
    subprocess.run(["mount", "-o", "remount,rw", journal], check=True)
    wait_for("journal files after the remount", lambda: all(
        os.path.isdir(os.path.join(journal, c)) and os.listdir(os.path.join(journal, c)) for c in CAMERAS), 20, daemon)
    # 3. Full: 16 KiB fill up within seconds.
    wait_for("the full-device error in the log", lambda: log_has("No space left on device"), 60, daemon)
    before = failures()
    wait_for("more journal failures while full", lambda: failures() >= before + 10, 30, daemon)
    # 4. Space again.
    subprocess.run(["mount", "-o", "remount,size=4m", journal], check=True)
    wait_for("the recovery log line", lambda: log_has("writing again"), 20, daemon)
    settled = failures()
    time.sleep(3)
    if failures() != settled:
        fail(f"journal failures still growing after the tmpfs grew: {settled} -> {failures()}")
    status = control(ctx, ctl_endpoint, {"cmd": "status"})
    states = {c: status["cameras"][c]["state"] for c in CAMERAS}
    # Looping cameras: "eos" for the moment between the end of the file and its restart.
    if any(state not in ("running", "reconnecting", "eos") for state in states.values()):
        fail(f"a camera left running: {states}")
    return settled


def check_events(published: list, journal: str, failures: float) -> int:
    """Published events complete and paired; the journal a faithful subset missing `failures`."""
    total_missing = 0
    for cam in CAMERAS:
        events = [e for e in published if e["camera"] == cam]
        seqs = [e["seq"] for e in events]
        if seqs != list(range(1, len(seqs) + 1)):
            fail(f"{cam}: published seq not contiguous from 1 (gaps or duplicates)")
        opened = {e["segment"]["id"] for e in events if e["type"] == "segment.start"}
        closed = [e["segment"]["id"] for e in events if e["type"] == "segment.end"]
        if not opened or sorted(opened) != sorted(closed):
            fail(f"{cam}: segments started {sorted(opened)} and ended {closed} do not pair")
        by_seq = {e["seq"]: e for e in events}
        journaled = journal_lines(journal, cam)
        jseqs = [e["seq"] for e in journaled]
        if jseqs != sorted(set(jseqs)):
            fail(f"{cam}: journal seqs out of order or duplicated")
        for e in journaled:
            if by_seq.get(e["seq"]) != e:
                fail(f"{cam}: journaled event differs from the published one: {e} vs {by_seq.get(e['seq'])}")
        if jseqs[-1] != seqs[-1]:
            fail(f"{cam}: the last events after recovery are not journaled ({jseqs[-1]} vs {seqs[-1]})")
        total_missing += len(seqs) - len(jseqs)
    # The last scrape was before SIGTERM; nothing can fail after recovery.
    if total_missing != failures:
        fail(f"{total_missing} events missing from the journal, {failures} failures counted")
    return total_missing


def run(args: argparse.Namespace, tmp: str, video: str, journal: str) -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctl_endpoint = f"tcp://127.0.0.1:{free_port()}"
    metrics_port = free_port()
    conf = os.path.join(tmp, "conf")
    write_config(conf, endpoint, ctl_endpoint, metrics_port, journal, video)

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.RCVTIMEO, 200)
    sub.connect(endpoint)
    published = []
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                published.append(json.loads(sub.recv_multipart()[1]))
            except zmq.Again:
                continue

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    time.sleep(0.3)
    log_path = os.path.join(os.environ.get("KEEP_LOG_DIR", tmp), "actiond.log")
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([args.actiond, "--config", conf, "--model-dir", args.models], stderr=log)
        try:
            failures = inject_faults(daemon, ctx, ctl_endpoint, metrics_port, journal, log_path)
            daemon.send_signal(signal.SIGTERM)
            rc = daemon.wait(timeout=30)
        finally:
            if daemon.poll() is None:
                daemon.kill()
    time.sleep(0.5)
    stop.set()
    receiver.join()
    if rc != 0:
        fail(f"actiond exited with {rc}")
    missing = check_events(published, journal, failures)
    print(f"ok: {len(published)} events published, {missing} not journaled = failures counted "
          f"(read-only, then full), both cameras running, exit 0")
