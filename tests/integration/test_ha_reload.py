#!/usr/bin/python3
"""Home Assistant discovery follows a reload: a camera whose segmenter a reload replaces by one with
other labels gets a binary sensor per new label, and the sensors of the labels it lost are removed
(an empty retained config), through a real mosquitto.

Usage (from ctest): test_ha_reload.py --actiond BIN --models DIR
"""
import json
import os
import signal
import subprocess
import tempfile
import time

from sinklib import MqttCollector, Mosquitto
from testlib import fail, write_config

PREFIX = "homeassistant/binary_sensor/actiond_door"


def configs(collector: MqttCollector) -> dict:
    """The latest retained discovery payload per label sensor of camera door (b"" once removed)."""
    out = {}
    for topic, payload, _retained in collector.messages():
        if topic.startswith(PREFIX + "/") and topic.endswith("/config"):
            out[topic[len(PREFIX) + 1:-len("/config")]] = payload
    return out


def wait_for(what: str, pred, daemon: subprocess.Popen, timeout: float = 30.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        if daemon.poll() is not None:
            fail(f"actiond exited ({daemon.returncode}) while waiting for {what}")
        time.sleep(0.2)
    fail(f"timed out waiting for {what}")


def test_ha_reload(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        broker = Mosquitto(root)
        broker.start()
        collector = MqttCollector(broker.port, "homeassistant/#")
        conf = os.path.join(root, "conf")
        camera = {"uri": "test://pattern?cycle=red,green&period=2", "fps": 5,
                  "models": {"backbone": "bb", "segmenter": "seg"}}
        write_config(conf, {
            "model_dir": os.path.abspath(args.models), "metrics": {"enabled": False}, "reload": {"watch": False},
            "journal": {"enabled": True, "dir": os.path.join(root, "journal")},
            "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"},
                       "renamed": {"path": "segmenter_renamed.pt"}},
            "sinks": [{"name": "ha", "type": "mqtt", "host": "127.0.0.1", "port": broker.port, "discovery": {"enabled": True}}],
        }, {"door": camera})
        daemon = subprocess.Popen([args.actiond, "--config", conf])
        try:
            wait_for("discovery of the first model's labels",
                     lambda: all(configs(collector).get(k) for k in ("red", "green", "blue")), daemon)
            with open(os.path.join(conf, "cameras", "door.json"), "w") as f:
                json.dump(dict(camera, id="door", models={"backbone": "bb", "segmenter": "renamed"}), f)
            daemon.send_signal(signal.SIGHUP)
            wait_for("discovery of the new labels and removal of the old ones",
                     lambda: all(configs(collector).get(k) for k in ("pour", "stir", "wipe")) and
                     all(configs(collector).get(k) == b"" for k in ("red", "green", "blue")), daemon)
            for label in ("pour", "stir", "wipe"):
                payload = json.loads(configs(collector)[label])
                if label not in payload.get("value_template", ""):
                    fail(f"sensor {label}: its template does not test the label: {payload}")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            collector.close()
            broker.kill()
        if daemon.returncode != 0:
            fail(f"actiond exited with {daemon.returncode}")
        print("ok: discovery followed the reload (pour, stir, wipe announced; red, green, blue removed)")
