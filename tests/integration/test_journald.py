#!/usr/bin/python3
"""Under systemd the daemon logs to journald natively with structured fields: ACTIOND_MODULE (the
module) and ACTIOND_CAMERA (the camera a line is about), so `journalctl ACTIOND_CAMERA=door` works.

Where no journald runs (containers, CI), the test plays journald: it binds the native socket
/run/systemd/journal/socket, runs actiond with JOURNAL_STREAM set as systemd would, and reads the
datagrams (journald's native protocol) -- then removes the socket. With a real journald it asks
journalctl instead.

Usage (from ctest): test_journald.py --actiond BIN --models DIR
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from testlib import fail, skip, write_config

SOCKET = "/run/systemd/journal/socket"


def parse(datagram: bytes) -> dict:
    """journald's native protocol: KEY=value lines, or KEY\\n<64-bit length><value>\\n for binary values."""
    out, data = {}, datagram
    while data:
        nl = data.find(b"\n")
        line, data = data[:nl], data[nl + 1:]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            out[k.decode()] = v.decode(errors="replace")
        else:
            n = int.from_bytes(data[:8], "little")
            out[line.decode()] = data[8:8 + n].decode(errors="replace")
            data = data[8 + n + 1:]
    return out


def test_journald(args) -> None:
    if os.path.exists(SOCKET):
        skip("a journald runs here (its socket exists); the fake-journald check needs its place")
    if os.geteuid() != 0:
        skip("binding /run/systemd/journal/socket needs root")
    created_dir = not os.path.isdir(os.path.dirname(SOCKET))
    os.makedirs(os.path.dirname(SOCKET), exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(SOCKET)
    sock.settimeout(0.2)
    records = []
    try:
        with tempfile.TemporaryDirectory() as root:
            write_config(root, {"metrics": {"enabled": False}, "model_dir": args.models,
                                "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}},
                         {"door": {"uri": "test://pattern?cycle=red,black&period=1&width=160&height=120&fps=25",
                                   "fps": 5, "models": {"backbone": "bb", "segmenter": "seg"}}})
            env = dict(os.environ, JOURNAL_STREAM="8:12345")
            daemon = subprocess.Popen([args.actiond, "--config", root], env=env, stderr=subprocess.PIPE)
            end = time.time() + 20
            while time.time() < end and not any(r.get("ACTIOND_CAMERA") == "door" for r in records):
                try:
                    records.append(parse(sock.recv(65536)))
                except socket.timeout:
                    pass
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=30)
    finally:
        sock.close()
        os.unlink(SOCKET)
        if created_dir:
            shutil.rmtree(os.path.dirname(SOCKET), ignore_errors=True)
    door = [r for r in records if r.get("ACTIOND_CAMERA") == "door"]
    if not door:
        fail(f"no journal record with ACTIOND_CAMERA=door among {len(records)}: {records[:3]}; stderr: {err[-500:]!r}")
    r = door[0]
    for key, want in (("SYSLOG_IDENTIFIER", "actiond"), ("PRIORITY", "6")):
        if r.get(key) != want:
            fail(f"record {r}: {key} is {r.get(key)!r}, want {want!r}")
    if not r.get("ACTIOND_MODULE") or "camera door" not in r.get("MESSAGE", ""):
        fail(f"record {r}: needs ACTIOND_MODULE and a MESSAGE naming the camera")
    plain = [x for x in records if "ACTIOND_MODULE" in x and "ACTIOND_CAMERA" not in x]
    if not plain:
        fail("no record without a camera (daemon-wide lines carry only ACTIOND_MODULE)")
    if b"camera door" in err:
        fail("lines journald took were also written to stderr")
    print(f"journald: {len(records)} records, {len(door)} with ACTIOND_CAMERA=door, e.g. {r['MESSAGE']!r} "
          f"(module {r['ACTIOND_MODULE']})")
