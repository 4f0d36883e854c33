#!/usr/bin/python3
"""The Grafana dashboard (config/grafana/actiond-dashboard.json) is a valid dashboard and every query
names a metric family a running actiond serves: the daemon is started with a camera and its /metrics
read (# TYPE lines; histograms' _bucket/_sum/_count series count as their family).

Usage (from ctest): test_grafana_dashboard.py --dashboard FILE --actiond BIN --models DIR
"""
import json
import re
import signal
import subprocess
import tempfile
import time
import urllib.request

from testlib import fail, free_port, write_config


def families(port: int, timeout: float = 60) -> dict:
    end = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
            break
        except OSError:
            if time.time() > end:
                fail(f"no /metrics on port {port} after {timeout} s")
            time.sleep(0.3)
    return {m.group(1): m.group(2) for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M)}


def test_grafana_dashboard(args) -> None:
    dash = json.load(open(args.dashboard))
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in dash:
            fail(f"dashboard: no \"{key}\"")
    ids = [p.get("id") for p in dash["panels"]]
    if len(set(ids)) != len(ids):
        fail(f"dashboard: panel ids repeat: {ids}")
    exprs = []
    for p in dash["panels"]:
        for key in ("title", "type", "gridPos", "targets", "datasource"):
            if key not in p:
                fail(f"panel {p.get('id')}: no \"{key}\"")
        refs = [t["refId"] for t in p["targets"]]
        if len(set(refs)) != len(refs) or not all(t.get("expr") for t in p["targets"]):
            fail(f"panel {p['title']!r}: targets need distinct refIds and an expr")
        exprs += [(p["title"], t["expr"]) for t in p["targets"]]
    exprs += [("variable " + v["name"], v["definition"]) for v in dash["templating"]["list"] if "definition" in v]

    with tempfile.TemporaryDirectory() as root:
        mport = free_port()
        write_config(root, {"metrics": {"listen": f"127.0.0.1:{mport}"}, "model_dir": args.models,
                            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}},
                     {"door": {"uri": "test://pattern?cycle=red,black&period=1&width=160&height=120&fps=25", "fps": 5,
                               "models": {"backbone": "bb", "segmenter": "seg"}}})
        daemon = subprocess.Popen([args.actiond, "--config", root])
        try:
            served = families(mport)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    used = set()
    for title, expr in exprs:
        for name in re.findall(r"\b((?:actiond|process)_[a-z0-9_]+)", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            family = name if name in served else (base if served.get(base) == "histogram" else None)
            if family is None:
                fail(f"{title!r}: {name} is not a metric actiond serves (query: {expr})")
            used.add(family)
    print(f"dashboard: {len(dash['panels'])} panels, {len(exprs)} queries, {len(used)} metric families, all served")
