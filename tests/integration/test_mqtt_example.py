#!/usr/bin/python3
"""config/examples/mqtt as shipped (ports moved to free ones): the demo camera's events reach a real
mosquitto, each equal to its journal line, on actiond/<camera>/<type>; the retained state and
availability topics follow the camera; the Home Assistant discovery payloads validate against the
options Home Assistant documents (ha_mqtt_discovery.schema.json) and name one binary sensor per label.
With the pose models imported (--pretrained) and ../shared beside the source, a second camera, `ward3`,
plays a real fall clip with the fall model (models/falls): its discovery adds the Person down sensor
(device_class safety), which validates too, and its retained state turns it on during the fall.

Usage (from ctest): test_mqtt_example.py --actiond BIN --source DIR [--pretrained DIR]
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from jsonschema import Draft202012Validator
from sinklib import MqttCollector, Mosquitto
from testlib import fail, free_port


def test_mqtt_example(args) -> None:
    source = os.path.abspath(args.source)
    lightning = os.path.join(args.pretrained, "movenet-lightning.pt") if args.pretrained else ""
    clip = os.path.join(source, "..", "shared", "data", "falls", "videos", "coffee_room_01_10.mp4")
    ward = bool(lightning) and os.path.exists(lightning) and os.path.exists(clip)
    here = os.path.dirname(os.path.abspath(__file__))
    validator = Draft202012Validator(json.load(open(os.path.join(here, "ha_mqtt_discovery.schema.json"))))
    with tempfile.TemporaryDirectory() as root:
        conf = os.path.join(root, "mqtt")
        shutil.copytree(os.path.join(args.source, "config", "examples", "mqtt"), conf,
                        ignore=shutil.ignore_patterns("journal"))
        broker = Mosquitto(root)
        broker.start()
        with open(os.path.join(conf, "actiond.json")) as f:
            cfg = json.load(f)
        cfg["publish"]["endpoint"] = f"tcp://127.0.0.1:{free_port()}"
        cfg["control"]["endpoint"] = f"tcp://127.0.0.1:{free_port()}"
        cfg["metrics"]["listen"] = f"127.0.0.1:{free_port()}"
        cfg["model_dir"] = os.path.abspath(os.path.join(args.source, "models", "default"))
        if cfg["sinks"][0]["port"] != 1883:
            fail(f"the example's broker is not 127.0.0.1:1883: {cfg['sinks'][0]}")
        cfg["sinks"][0]["port"] = broker.port
        if ward:
            cfg["models"]["lightning"] = {"path": os.path.abspath(lightning)}
            cfg["models"]["falls"] = {"path": os.path.join(source, "models", "falls", "segmenter.pt")}
            with open(os.path.join(conf, "cameras", "ward3.json"), "w") as f:
                json.dump({"id": "ward3", "uri": "file://" + os.path.abspath(clip), "fps": 10, "loop": False,
                           "realtime": False, "models": {"pose": "lightning", "segmenter": "falls"},
                           "persons": {"follow": True, "min_score": 0.15}}, f)
        with open(os.path.join(conf, "actiond.json"), "w") as f:
            json.dump(cfg, f)
        collector = MqttCollector(broker.port, "#")
        daemon = subprocess.Popen([args.actiond, "--config", conf, "--log-level", "warn"])
        try:
            end = time.time() + 90
            def done() -> bool:
                topics = [t for t, _p, _r in collector.messages()]
                return any(t.startswith("actiond/workbench/segment.end") for t in topics) and \
                    (not ward or "actiond/ward3/stream.status" in topics and any(
                        json.loads(p).get("state") == "eos" for t, p, _r in collector.messages()
                        if t == "actiond/ward3/stream.status"))
            while time.time() < end and not done():
                time.sleep(0.2)
        finally:
            daemon.send_signal(signal.SIGTERM)
            rc = daemon.wait(timeout=60)
        time.sleep(1)
        if rc != 0:
            fail(f"actiond exited with {rc}")
        msgs = collector.messages()
        events = [json.loads(p) for t, p, _r in msgs if t.startswith("actiond/workbench/") and not t.endswith("/state")]
        journal = []
        for path in sorted(glob.glob(os.path.join(conf, "journal", "workbench", "*.jsonl"))):
            journal += [json.loads(line) for line in open(path) if line.endswith("\n")]
        by_seq = {e["seq"]: e for e in journal}
        if not any(e["type"] == "segment.end" for e in events):
            fail(f"no segment.end over MQTT in 90 s ({len(events)} events)")
        for t, p, _r in msgs:
            if t.startswith("actiond/workbench/") and not t.endswith("/state"):
                e = json.loads(p)
                if t != f"actiond/workbench/{e['type']}" or by_seq.get(e["seq"]) != e:
                    fail(f"{t}: event {e.get('seq')} differs from the journal")
        if [e["seq"] for e in events] != [e["seq"] for e in journal]:
            fail("MQTT events are not the journal's, in order")
        states = [json.loads(p) for t, p, _r in msgs if t == "actiond/workbench/state"]
        if not states or not all("action" in s for s in states):
            fail(f"no state on actiond/workbench/state: {states[:3]}")
        avail = [p.decode() for t, p, _r in msgs if t == "actiond/availability"]
        if not avail or avail[0] != "online" or avail[-1] != "offline":
            fail(f"availability: {avail}")
        disc = {t: json.loads(p) for t, p, _r in msgs if t.startswith("homeassistant/")}
        sensor = disc.get("homeassistant/sensor/actiond_workbench/action/config")
        binaries = [t for t in disc if t.startswith("homeassistant/binary_sensor/actiond_workbench/")]
        if sensor is None or not binaries:
            fail(f"discovery topics: {sorted(disc)}")
        for t, payload in disc.items():
            for e in validator.iter_errors(payload):
                fail(f"{t}: {e.message}")
            camera = t.split("/")[2][len("actiond_"):]
            if payload["state_topic"] != f"actiond/{camera}/state":
                fail(f"{t}: state_topic {payload['state_topic']}")
        if "homeassistant/binary_sensor/actiond_workbench/person_down/config" in disc:
            fail("the workbench camera's model knows no fall but got a Person down sensor")
        if ward:
            down = disc.get("homeassistant/binary_sensor/actiond_ward3/person_down/config")
            if down is None or down["device_class"] != "safety":
                fail(f"ward3: no Person down safety sensor: {sorted(t for t in disc if 'ward3' in t)}")
            ward_states = [json.loads(p) for t, p, _r in msgs if t == "actiond/ward3/state"]
            # The sensor's template: on while anyone's falling or lying segment is open.
            on = [st for st in ward_states if {"falling", "lying"} & set(st["open_labels"])]
            if not on or ward_states[-1]["open_labels"]:
                fail(f"ward3: Person down never on, or still on at the end: {[st['open_labels'] for st in ward_states]}")
        labels = {disc[t]["name"] for t in binaries}
        seen = {e["segment"]["label"] for e in events if e["type"] == "segment.start"}
        if not seen <= labels:
            fail(f"segment labels {seen} without a binary sensor ({labels})")
        collector.close()
        broker.kill()
        print(f"mqtt example: {len(events)} events as journaled, state, availability and {len(disc)} discovery "
              f"payloads valid ({sorted(labels)}); fall camera: {'person down on and off' if ward else 'skipped'}")
