#!/usr/bin/python3
"""The service contract with systemd, on the real binary:

- the unit passes `systemd-analyze verify` (no warning at all) where systemd-analyze exists, runs as
  the user actiond and scores at most 2.0 on `systemd-analyze security` (0 = locked down, 10 = unprotected);
- the installed default configuration is valid (`actiond --check-config`);
- Type=notify: READY=1 (with STATUS=) once running, WATCHDOG=1 pings at half WatchdogSec,
  RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM, exit 0 -- read from a
  fake NOTIFY_SOCKET, as systemd would.

Usage (from ctest): test_systemd.py --actiond BIN --unit FILE --models DIR --source DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from testlib import fail


def verify_unit(unit: str) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("skip: systemd-analyze not installed")
        return
    r = subprocess.run([tool, "verify", "--man=no", unit], capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0 or out:
        fail(f"systemd-analyze verify {unit}: rc {r.returncode}: {out}")
    print("ok: systemd-analyze verify")
    # The sandbox: systemd's own exposure score (0 = locked down, 10 = unprotected) at most 2.0,
    # and never root.
    r = subprocess.run([tool, "security", "--offline=yes", "--threshold=20", "--no-pager", unit],
                       capture_output=True, text=True)
    score = [line for line in r.stdout.splitlines() if "Overall exposure level" in line]
    if r.returncode != 0 or not score:
        fail(f"systemd-analyze security {unit}: rc {r.returncode} (exposure above 2.0?): {score or r.stderr}")
    with open(unit) as f:
        users = [line.strip() for line in f if line.startswith("User=")]
    if users != ["User=actiond"]:
        fail(f"the unit must run as the unprivileged user actiond: {users}")
    print("ok: " + score[0].strip())


def check_service_config(actiond: str, source: str) -> None:
    r = subprocess.run([actiond, "--config", os.path.join(source, "config", "service"), "--model-dir",
                        os.path.join(source, "models", "default"), "--check-config"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"the installed default configuration is not valid: {r.stdout} {r.stderr}")
    print("ok: default service configuration")


def notify_protocol(actiond: str, models: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "conf")
        os.makedirs(os.path.join(conf, "cameras"))
        with open(os.path.join(conf, "actiond.json"), "w") as f:
            json.dump({"publish": {"endpoint": "tcp://127.0.0.1:*", "startup_grace_ms": 0},
                       "control": {"endpoint": "tcp://127.0.0.1:*"}, "metrics": {"listen": "127.0.0.1:0"},
                       "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}, f)
        with open(os.path.join(conf, "cameras", "live.json"), "w") as f:
            json.dump({"id": "live", "uri": "test://pattern?cycle=red&width=160&height=120&fps=10", "fps": 5,
                       "models": {"backbone": "bb", "segmenter": "seg"}}, f)
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="600000")
        env.pop("WATCHDOG_PID", None)
        daemon = subprocess.Popen([actiond, "--config", conf, "--model-dir", models, "--log-level", "warn"], env=env)
        messages = []

        def until(pred, what: str, timeout: float = 30.0) -> None:
            deadline = time.time() + timeout
            while time.time() < deadline:
                if any(pred(m) for m in messages):
                    return
                try:
                    messages.append(sock.recv(4096).decode())
                except socket.timeout:
                    break
            daemon.kill()
            fail(f"no {what} from actiond; got {messages}")

        try:
            until(lambda m: "READY=1" in m, "READY=1")
            ready = next(m for m in messages if "READY=1" in m)
            if "STATUS=" not in ready:
                fail(f"READY=1 without STATUS=: {ready!r}")
            start = len(messages)
            time.sleep(1.5)  # pings every 0.3 s
            sock.settimeout(0.1)
            try:
                while True:
                    messages.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
            sock.settimeout(30)
            pings = sum(1 for m in messages[start:] if m == "WATCHDOG=1")
            if pings < 3:
                fail(f"expected WATCHDOG=1 every 0.3 s, got {messages[start:]}")
            mark = len(messages)
            daemon.send_signal(signal.SIGHUP)
            until(lambda m: m == "RELOADING=1", "RELOADING=1 after SIGHUP")
            reloading = messages.index("RELOADING=1", mark)
            until(lambda m: "READY=1" in m and messages.index(m) > reloading, "READY=1 after the reload")
            daemon.send_signal(signal.SIGTERM)
            until(lambda m: m.startswith("STOPPING=1"), "STOPPING=1 on SIGTERM")
            rc = daemon.wait(timeout=30)
            if rc != 0:
                fail(f"actiond exited with {rc} after SIGTERM")
        finally:
            if daemon.poll() is None:
                daemon.kill()
        print(f"ok: notify protocol ({len(messages)} messages, {pings} watchdog pings in 1.5 s)")


def test_systemd(args) -> None:
    verify_unit(args.unit)
    check_service_config(args.actiond, args.source)
    notify_protocol(args.actiond, args.models)
