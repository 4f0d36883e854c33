"""Talking to a running actiond from Python: free loopback ports for its sockets, its /metrics, its
events (a ZeroMQ subscriber collecting in the background) and its process figures. Used by the
benchmarks, the soak and the process tests (python3-zmq from Debian)."""
import json
import os
import socket
import threading
import time
import urllib.request

import zmq


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_metrics(port: int) -> dict:
    """The daemon's /metrics on 127.0.0.1:`port` as {"name{labels}": value}."""
    out = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
    return out


def metric_sum(port: int, name: str, **labels) -> float:
    """The sum of metric `name` over the series whose labels include `labels`."""
    total = 0.0
    for key, value in read_metrics(port).items():
        series, _, rest = key.partition("{")
        if series == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_sample(pid: int) -> dict:
    """RSS (MiB), open fds and threads of process `pid`."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return {"rss_mb": round(rss, 1), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


class Subscriber:
    """Collects every event published on `endpoint` from a background thread."""

    def __init__(self, endpoint: str) -> None:
        self.events = []
        self.lock = threading.Lock()
        self.stop = False
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.setsockopt(zmq.RCVTIMEO, 100)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.connect(endpoint)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop:
            try:
                _topic, body = self.sock.recv_multipart()
            except zmq.Again:
                continue
            with self.lock:
                self.events.append(json.loads(body))

    def wait_for(self, pred, timeout: float) -> bool:
        """True once pred(events so far) holds; False after `timeout` seconds."""
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if pred(list(self.events)):
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> list:
        """Stops collecting; every event received."""
        self.stop = True
        self.thread.join()
        self.sock.close()
        return list(self.events)
