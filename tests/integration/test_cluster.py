#!/usr/bin/python3
"""Cluster mode on real etcd and nats-server -js, with real actiond processes on loopback.

Twelve cameras are stored with `actionctl cluster put`; three hosts start and share them. Then:
  1. kill -9 one host: its cameras run again on the others within TTL + backoff (failover: the
     dead host's open segments are ended `source_lost` by the new owner, stream.status `failover`);
  2. SIGSTOP another host past its lease TTL, then SIGCONT: it drops its cameras at once; the log
     refuses anything it still had;
  3. a fourth host joins: cameras move to it by hand-off (segments end `handoff`), none twice.
Throughout, checked from the JetStream log: per camera a contiguous seq from 1 with no duplicate, every
event written by the camera's owner of that moment, every segment ended once; from etcd's history:
never two owners of one camera. Prints the figures docs/SCALING.md quotes.

Usage (from ctest): test_cluster.py --actiond BIN --actionctl BIN --models DIR --source DIR
"""
import base64
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request

from jsonschema import Draft202012Validator
from sinklib import Etcd, Nats
from testlib import fail, free_port, read_metrics

TTL = 3
CAMERAS = [f"cam{i:02d}" for i in range(12)]
PREFIX = "t"


class Host:
    def __init__(self, root: str, name: str, actiond: str, etcd: Etcd, nats: Nats, models: str) -> None:
        self.name, self.actiond = name, actiond
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.control = f"tcp://127.0.0.1:{free_port()}"
        self.mport = free_port()
        cfg = {"publish": {"endpoint": f"tcp://127.0.0.1:{free_port()}"}, "control": {"endpoint": self.control},
               "metrics": {"listen": f"127.0.0.1:{self.mport}"}, "model_dir": models,
               "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}},
               "cluster": {"etcd": [etcd.url], "nats": f"nats://127.0.0.1:{nats.port}", "host": name,
                           "capacity": 12, "lease_ttl_s": TTL, "poll_s": 0.5, "prefix": PREFIX, "stream": "CLUSTER"}}
        with open(os.path.join(self.dir, "actiond.json"), "w") as f:
            json.dump(cfg, f)
        self.proc = None
        self.started_at = 0.0

    def start(self) -> None:
        self.log = open(os.path.join(self.dir, "actiond.log"), "ab")
        self.proc = subprocess.Popen([self.actiond, "--config", self.dir], stdout=self.log, stderr=self.log)
        self.started_at = time.time()

    def metrics(self) -> dict:
        return read_metrics(self.mport)

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        if rc != 0:
            fail(f"{self.name}: actiond exited with {rc} (log {self.dir}/actiond.log)")


def headers(text: str) -> dict:
    out = {}
    for line in text.splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def read_log(nats: Nats) -> dict:
    """camera -> [(kind, host, body)] in stream order."""
    per = {c: [] for c in CAMERAS}
    for subject, hdrs, data in nats.stream_messages("CLUSTER"):
        cam = subject[len(PREFIX + ".events."):]
        h = headers(hdrs)
        per.setdefault(cam, []).append((h.get("Actiond-Kind", "event"), h.get("Actiond-Host", ""), json.loads(data)))
    return per


def check_log(per: dict, final: bool) -> dict:
    """The invariants of every camera's log; -> per camera the owner records [(host, reason, previous)]."""
    moves = {}
    for cam, msgs in per.items():
        owner, seq, open_ids, records = None, 0, set(), []
        for kind, host, body in msgs:
            if kind == "owner":
                owner = host
                records.append((host, body["reason"], body["previous_host"]))
                continue
            if kind == "release":
                if host != owner:
                    fail(f"{cam}: release by {host} while {owner} owned it")
                owner = None
                continue
            if host != owner:
                fail(f"{cam}: event seq {body.get('seq')} written by {host}, but the owner was {owner}")
            if body["seq"] != seq + 1:
                fail(f"{cam}: seq {body['seq']} after {seq} (a gap or a duplicate)")
            seq = body["seq"]
            if body["type"] == "segment.start":
                open_ids.add(body["segment"]["id"])
            elif body["type"] == "segment.end":
                if body["segment"]["id"] not in open_ids:
                    fail(f"{cam}: segment.end of {body['segment']['id']} which is not open")
                open_ids.discard(body["segment"]["id"])
        if final and open_ids:
            fail(f"{cam}: segments never ended: {sorted(open_ids)}")
        if seq == 0:
            fail(f"{cam}: no event in the log")
        moves[cam] = records
    return moves


def owners(etcd: Etcd) -> dict:
    out = {}
    for rev, kind, key, value in etcd.history(f"/{PREFIX}/owners/"):
        out[key.rsplit("/", 1)[1]] = value if kind == "PUT" else None
    return out


def check_history(etcd: Etcd) -> int:
    """Never two owners: each owner key is created only when absent. -> ownership changes seen."""
    holder, changes = {}, 0
    for rev, kind, key, value in etcd.history(f"/{PREFIX}/owners/"):
        if kind == "PUT":
            if holder.get(key) is not None:
                fail(f"etcd revision {rev}: {key} given to {value} while {holder[key]} held it")
            holder[key] = value
            changes += 1
        else:
            holder[key] = None
    return changes


def wait(what: str, pred, timeout: float) -> float:
    start = time.time()
    while time.time() - start < timeout:
        if pred():
            return time.time() - start
        time.sleep(0.25)
    fail(f"not within {timeout} s: {what}")


def loads(etcd: Etcd, hosts: list) -> dict:
    o = owners(etcd)
    return {h: sum(1 for c in CAMERAS if o.get(c) == h) for h in hosts}


def running_here(host: Host) -> int:
    return int(host.metrics().get("actiond_cluster_cameras", -1))


def test_cluster(args) -> None:
    with tempfile.TemporaryDirectory(prefix="actiond-cluster-") as root:
        etcd, nats = Etcd(root), Nats(root)
        etcd.start()
        nats.start()
        hosts = {n: Host(root, n, args.actiond, etcd, nats, args.models) for n in ("h1", "h2", "h3", "h4")}
        try:
            run(args, root, etcd, nats, hosts)
        except SystemExit:
            for h in hosts.values():  # what each host said, for the failure report
                path = os.path.join(h.dir, "actiond.log")
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print(f"--- {h.name}: last lines of its log\n" + "".join(f.readlines()[-12:]))
            raise
        finally:
            for h in hosts.values():
                if h.proc and h.proc.poll() is None:
                    h.proc.kill()
            etcd.kill()
            nats.kill()


def run(args, root: str, etcd: Etcd, nats: Nats, hosts: dict) -> None:
    cams = os.path.join(root, "cameras")
    os.makedirs(cams)
    for c in CAMERAS:
        with open(os.path.join(cams, c + ".json"), "w") as f:
            json.dump({"id": c, "uri": "test://pattern?cycle=red,black&period=1&width=160&height=120&fps=25", "fps": 5,
                       "tracker": {"min_duration_s": 0.4, "update_interval_s": 0.4},
                       "models": {"backbone": "bb", "segmenter": "seg"}}, f)
    ctl = [args.actionctl, "cluster", "--config", hosts["h1"].dir]
    bad = os.path.join(root, "bad.json")
    with open(bad, "w") as f:
        json.dump({"id": "bad", "uri": "test://pattern", "models": {"backbone": "nope"}}, f)
    r = subprocess.run(ctl + ["put", bad], capture_output=True, text=True, timeout=30)
    if r.returncode == 0 or 'bad.json: /models/backbone: unknown model "nope"' not in r.stderr:
        fail(f"actionctl cluster put of an invalid camera: rc {r.returncode}, stderr {r.stderr!r}")
    subprocess.run(ctl + ["put"] + [os.path.join(cams, c + ".json") for c in CAMERAS], check=True, timeout=60)

    # All twelve run, each on exactly one host.
    for n in ("h1", "h2", "h3"):
        hosts[n].start()
    three = ["h1", "h2", "h3"]
    t = wait("12 cameras owned by 3 hosts, 4 each",
             lambda: sorted(loads(etcd, three).values()) == [4, 4, 4] and all(running_here(hosts[n]) == 4 for n in three), 60)
    print(f"start: 12 cameras on 3 hosts after {t:.1f} s: {loads(etcd, three)}")
    status = json.loads(subprocess.run(ctl + ["status", "--json"], check=True, capture_output=True, text=True).stdout)
    if sorted(status["cameras"]) != CAMERAS or any(status["hosts"][n]["load"] != 4 for n in three):
        fail(f"actionctl cluster status: {status}")
    time.sleep(3)

    # 1. kill -9 h1: its cameras run elsewhere within TTL + backoff.
    before = owners(etcd)
    lost = [c for c in CAMERAS if before.get(c) == "h1"]
    t0 = time.time()
    hosts["h1"].proc.kill()
    hosts["h1"].proc.wait()

    def failed_over() -> bool:
        per = read_log(nats)
        return all(any(k == "owner" and h != "h1" and b["reason"] == "failover" for k, h, b in per[c]) for c in lost) and \
            all(any(k == "event" and h != "h1" and b["type"] == "stream.status" and b["reason"] == "failover"
                    for k, h, b in per[c]) for c in lost)
    failover_s = wait("h1's cameras running on other hosts", failed_over, TTL + 10)
    print(f"failover: {len(lost)} cameras of the killed host running elsewhere after {failover_s:.1f} s (TTL {TTL} s)")
    per = read_log(nats)
    check_log(per, final=False)
    for c in lost:
        ends = [b for k, h, b in per[c] if k == "event" and h != "h1" and b["type"] == "segment.end"
                and b["segment"]["end_reason"] == "source_lost"]
        starts = {b["segment"]["id"] for k, h, b in per[c] if h == "h1" and b.get("type") == "segment.start"}
        ended_by_h1 = {b["segment"]["id"] for k, h, b in per[c] if h == "h1" and b.get("type") == "segment.end"}
        left_open = starts - ended_by_h1
        if {e["segment"]["id"] for e in ends} != left_open:
            fail(f"{c}: h1 left {sorted(left_open)} open; the new owner ended {[e['segment']['id'] for e in ends]} (source_lost)")
    two = ["h2", "h3"]
    wait("6 cameras each on h2, h3", lambda: sorted(loads(etcd, two).values()) == [6, 6], 30)

    # 2. SIGSTOP h2 past its TTL, then SIGCONT: it stops its cameras; its writes are refused.
    h2_cams = [c for c, h in owners(etcd).items() if h == "h2"]
    hosts["h2"].signal(signal.SIGSTOP)
    wait("h3 runs all 12 while h2 is stopped", lambda: loads(etcd, two)["h3"] == 12 and running_here(hosts["h3"]) == 12,
         TTL + 15)
    hosts["h2"].signal(signal.SIGCONT)
    wait("h2 noticed the lost lease", lambda: hosts["h2"].metrics().get(
        'actiond_cluster_ownership_changes_total{change="lease_lost"}', 0) >= 1, 10)
    print(f"pause: h2 stopped past its TTL; its {len(h2_cams)} cameras went to h3; after SIGCONT it dropped them")
    wait("h2 and h3 balanced again", lambda: sorted(loads(etcd, two).values()) == [6, 6], 60)
    check_log(read_log(nats), final=False)

    # 3. A fourth host joins: cameras move to it by hand-off, none twice.
    per = read_log(nats)
    records_before = {c: len([1 for k, h, b in per[c] if k == "owner"]) for c in CAMERAS}
    time.sleep(6)  # every camera has stayed long enough to be movable
    hosts["h4"].start()
    three = ["h2", "h3", "h4"]
    join_s = wait("4 cameras each on h2, h3, h4", lambda: sorted(loads(etcd, three).values()) == [4, 4, 4], 60)
    time.sleep(5)  # no further moves
    per = read_log(nats)
    moved = {}
    for c in CAMERAS:
        new = [(h, b) for k, h, b in per[c] if k == "owner"][records_before[c]:]
        if new:
            moved[c] = new
    if sorted(loads(etcd, three).values()) != [4, 4, 4]:
        fail(f"not stable after the join: {loads(etcd, three)}")
    for c, recs in moved.items():
        if len(recs) != 1 or recs[0][0] != "h4" or recs[0][1]["reason"] != "handoff":
            fail(f"{c} moved {len(recs)} times after h4 joined: {[(h, b['reason']) for h, b in recs]}")
        if not any(k == "event" and h == "h4" and b["type"] == "stream.status" and b["reason"] == "handoff" for k, h, b in per[c]):
            fail(f"{c}: no stream.status handoff from h4")
    if len(moved) != 4:
        fail(f"{len(moved)} cameras moved to h4, expected 4: {sorted(moved)}")
    print(f"join: h4 took {sorted(moved)} by hand-off in {join_s:.1f} s, each moved once")
    m4 = hosts["h4"].metrics()
    up4 = time.time() - hosts["h4"].started_at
    etcd_rate = m4["actiond_cluster_etcd_requests_total"] / up4

    # Operators change the set: a camera removed, another changed; their owners act on it.
    subprocess.run(ctl + ["rm", "cam00"], check=True, timeout=30)
    r = subprocess.run(ctl + ["rm", "nosuch"], capture_output=True, text=True, timeout=30)
    if r.returncode != 3 or "camera nosuch: not in the cluster" not in r.stderr:
        fail(f"actionctl cluster rm of an unknown camera: rc {r.returncode}, {r.stderr!r}")
    changed = os.path.join(cams, "cam01.json")
    with open(changed) as f:
        doc = json.load(f)
    doc["fps"] = 4
    with open(changed, "w") as f:
        json.dump(doc, f)
    subprocess.run(ctl + ["put", changed], check=True, timeout=30)

    def acted() -> bool:
        per = read_log(nats)
        removed = any(k == "release" and b["reason"] == "reconfigured" for k, h, b in per["cam00"])
        restarted = any(k == "release" and b["reason"] == "reconfigured" for k, h, b in per["cam01"]) and \
            any(k == "owner" for k, h, b in per["cam01"][-40:]) and \
            any(k == "event" and b.get("type") == "stream.status" and b.get("state") == "running" and b["fps_in"] >= 0
                for k, h, b in per["cam01"][-20:])
        return removed and restarted and owners(etcd).get("cam00") is None
    wait("cam00 stopped and cam01 restarted after actionctl rm / put", acted, 30)
    ls = subprocess.run(ctl + ["ls"], check=True, capture_output=True, text=True, timeout=30).stdout
    if "cam00" in ls or "cam01" not in ls:
        fail(f"actionctl cluster ls after rm: {ls}")
    print("operators: cam00 removed (its owner stopped it), cam01 changed (restarted with seq continued)")

    # Every host stops: cameras released; the log is whole.
    span = time.time() - t0
    for n in three:
        hosts[n].signal(signal.SIGTERM)
    for n in three:
        hosts[n].stop()
    per = read_log(nats)
    check_log(per, final=True)
    schema = Draft202012Validator(json.load(open(os.path.join(args.source, "config", "schema", "events.schema.json"))))
    for c in CAMERAS:
        for k, h, b in per[c]:
            if k == "event":
                errors = sorted(schema.iter_errors(b), key=str)
                if errors:
                    fail(f"{c}: event seq {b.get('seq')} does not match events.schema.json: {errors[0].message}")
    changes = check_history(etcd)
    events = sum(1 for c in CAMERAS for k, h, b in per[c] if k == "event")
    first = min(time.mktime(time.strptime(b["emitted_at"][:19], "%Y-%m-%dT%H:%M:%S")) for c in CAMERAS
                for k, h, b in per[c] if k == "event")
    seconds = time.time() - first
    body_bytes = sum(len(json.dumps(b)) for c in CAMERAS for k, h, b in per[c] if k == "event") / max(1, events)
    req = urllib.request.Request(etcd.url + "/v3/kv/range", method="POST", data=json.dumps(
        {"key": base64.b64encode(f"/{PREFIX}/cameras/".encode()).decode(),
         "range_end": base64.b64encode(f"/{PREFIX}/cameras0".encode()).decode(), "keys_only": True}).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        range_bytes_per_camera = len(r.read()) / len(CAMERAS)
    print("figures: " + json.dumps({"event_bytes": round(body_bytes), "range_bytes_per_camera": round(range_bytes_per_camera),"failover_s": round(failover_s, 2), "lease_ttl_s": TTL, "poll_s": 0.5,
                                    "etcd_requests_per_s_host_with_4_cameras": round(etcd_rate, 2),
                                    "jetstream_messages_per_s_per_camera": round(events / seconds / len(CAMERAS), 2),
                                    "events": events, "ownership_changes": changes, "span_s": round(span, 1)}))
    print("cluster: ok")
