#!/usr/bin/python3
"""The JSON Schemas of the configuration files agree with the daemon's own validation.

Every shipped configuration (demo, people, service) validates against config/schema/*.schema.json with an
independent validator (python3-jsonschema), and `actiond --check-config` accepts it; a set of bad
files is rejected by both the schema and the daemon.

Usage (from ctest): test_config_schema.py --actiond BIN --source DIR --models DIR
"""
import glob
import json
import os
import subprocess
import tempfile

from jsonschema import Draft202012Validator
from testlib import fail


GOOD_CAMERA = {"id": "door", "uri": "test://pattern", "models": {"backbone": "bb", "segmenter": "seg"}}
BAD_CAMERAS = [
    {**GOOD_CAMERA, "fps": 0},
    {**GOOD_CAMERA, "fsp": 5},
    {**GOOD_CAMERA, "id": "front door"},
    {**GOOD_CAMERA, "uri": "ftp://x/y"},
    {**GOOD_CAMERA, "tracker": {"confirm_frames": 0}},
    {**GOOD_CAMERA, "transport": "sctp"},
    {**GOOD_CAMERA, "$schema": 7},
    {**GOOD_CAMERA, "recognition": {"interval_s": 1}},
    {**GOOD_CAMERA, "password_file": "pw"},
    {"id": "door", "uri": "test://pattern", "models": {"backbone": "bb"}},
    {"id": "door", "uri": "test://pattern", "models": {"segmenter": "seg"}},
    {**GOOD_CAMERA, "uri": "features:///tmp/f.npy"},
    {**GOOD_CAMERA, "skip_frames": "b_frames"},
    {**GOOD_CAMERA, "persons": {"max_tracks": 3}},
    {"id": "door", "uri": "test://pattern", "models": {"pose": "bb", "backbone": "bb"}},
    {"id": "door", "uri": "test://pattern", "models": {"pose": "bb", "recognizer": "seg"}},
    {"id": "door", "uri": "test://pattern", "models": {"pose": "bb"}, "persons": {"gate": {"threshold": -1}}},
    {"id": "door", "uri": "test://pattern", "models": {"pose": "bb"}, "persons": {"follow": "yes"}},
]
BAD_DAEMONS = [
    {"publish": {"endpoint": "udp://1.2.3.4:5"}},
    {"inference": {"max_batch": 0}},
    {"log": {"level": "loud"}},
    {"modelz": {}},
    {"journal": {"fsync": "sometimes"}},
    {"metrics": {"listen": "7702"}},
    {"security": {"allowed_clients_file": "clients.txt"}},
    {"sinks": [{"name": "a", "type": "amqp"}]},
    {"sinks": [{"name": "a", "type": "redis", "url": "redis://x"}]},
    {"sinks": [{"name": "a", "type": "webhook"}]},
    {"sinks": [{"name": "a", "type": "kafka"}]},
    {"sinks": [{"name": "a", "type": "redis", "format": "frigate"}]},
    {"sinks": [{"name": "a", "type": "mqtt", "filter": {"types": ["segment.begin"]}}]},
    {"journal": {"sink_backlog_max_mb": 0}},
    {"cluster": {"etcd": ["10.0.0.1:2379"]}},
    {"cluster": {"lease_ttl_s": 1}},
    {"cluster": {"ttl": 5}},
]


def test_config_schema(args) -> None:
    schema_dir = os.path.join(args.source, "config", "schema")
    daemon_v = Draft202012Validator(json.load(open(os.path.join(schema_dir, "actiond.schema.json"))))
    camera_v = Draft202012Validator(json.load(open(os.path.join(schema_dir, "camera.schema.json"))))
    shipped = [os.path.join(args.source, "config", "examples", name) for name in ("demo", "people", "workout", "mqtt")]
    shipped.append(os.path.join(args.source, "config", "service"))
    def check_schema_ref(path: str, doc: dict, schema_name: str) -> None:
        """Shipped files name their schema for editors: relative to the file in the source tree, the
        installed path (file:///usr/share/actiond/schema/...) for the service configuration."""
        ref = doc.get("$schema", "")
        if ref.startswith("file:///usr/share/actiond/schema/"):
            target = os.path.join(schema_dir, ref.rsplit("/", 1)[1])
        else:
            target = os.path.normpath(os.path.join(os.path.dirname(path), ref))
        if os.path.basename(target) != schema_name or not os.path.isfile(target):
            fail(f"{path}: \"$schema\" is {ref!r}, which is not {schema_name}")

    for conf in shipped:
        daemon_file = os.path.join(conf, "actiond.json")
        doc = json.load(open(daemon_file))
        check_schema_ref(daemon_file, doc, "actiond.schema.json")
        for e in daemon_v.iter_errors(doc):
            fail(f"{conf}/actiond.json: {e.message}")
        for cam in glob.glob(os.path.join(conf, "cameras", "*.json*")):
            doc = json.load(open(cam))
            check_schema_ref(cam, doc, "camera.schema.json")
            for e in camera_v.iter_errors(doc):
                fail(f"{cam}: {e.message}")
    daemon_ok = {"models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}}}
    if list(daemon_v.iter_errors(daemon_ok)) or list(camera_v.iter_errors(GOOD_CAMERA)):
        fail("the minimal good configuration does not validate")

    def check_config(daemon: dict, camera: dict) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "cameras"))
            json.dump(daemon, open(os.path.join(tmp, "actiond.json"), "w"))
            json.dump(camera, open(os.path.join(tmp, "cameras", "door.json"), "w"))
            return subprocess.run([args.actiond, "--config", tmp, "--model-dir", args.models, "--check-config"],
                                  capture_output=True).returncode

    if check_config(daemon_ok, GOOD_CAMERA) != 0:
        fail("actiond rejects the minimal good configuration")
    for cam in BAD_CAMERAS:
        if not list(camera_v.iter_errors(cam)):
            fail(f"camera schema accepts a bad file: {cam}")
        if check_config(daemon_ok, cam) == 0:
            fail(f"actiond accepts a bad camera file: {cam}")
    for d in BAD_DAEMONS:
        if not list(daemon_v.iter_errors(d)):
            fail(f"actiond schema accepts a bad file: {d}")
        if check_config({**daemon_ok, **d}, GOOD_CAMERA) == 0:
            fail(f"actiond accepts a bad actiond.json: {d}")
    print(f"ok: {len(shipped)} shipped configurations valid; {len(BAD_CAMERAS) + len(BAD_DAEMONS)} bad files "
          "rejected by schema and daemon alike")
