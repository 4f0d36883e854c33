#!/usr/bin/python3
"""The demo's default models (trained on the synthetic workbench) in front of real footage they have
never seen: opencv-doc's vtest.avi (pedestrians) and Megamind.avi (animated people). The demo camera's
file, only its source moved to the video: its calibrated models must say background, so no segment
opens and no recognition names an action with confidence >= the camera's min_confidence. The demo
camera itself runs beside them as the control: it must publish segments.

Usage (from ctest): test_default_ood.py --actiond BIN --source DIR [--videos DIR]
"""
import json
import os
import tempfile

from testlib import all_at_eos, fail, free_port, run_daemon_until

OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"


def test_default_ood(args) -> None:
    args.videos = args.videos or OPENCV_DATA
    videos = {"vtest": "vtest.avi", "megamind": "Megamind.avi"}
    for v in videos.values():
        if not os.path.exists(os.path.join(args.videos, v)):
            fail(f"{os.path.join(args.videos, v)} missing (Debian package opencv-doc)")
    demo = os.path.join(args.source, "config", "examples", "demo")
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "cfg")
        os.makedirs(os.path.join(root, "cameras"))
        with open(os.path.join(demo, "actiond.json")) as f:
            cfg = json.load(f)
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        cfg["publish"]["endpoint"] = endpoint
        cfg["metrics"]["listen"] = f"127.0.0.1:{free_port()}"
        cfg["clips"]["dir"] = os.path.join(tmp, "clips")
        cfg["journal"] = {"dir": os.path.join(tmp, "journal")}
        cfg["model_dir"] = os.path.abspath(os.path.join(args.source, "models", "default"))
        cfg.pop("$schema", None)
        with open(os.path.join(root, "actiond.json"), "w") as f:
            json.dump(cfg, f)
        with open(os.path.join(demo, "cameras", "workbench.json")) as f:
            cam = json.load(f)
        cam.pop("$schema", None)
        for cid, v in videos.items():
            with open(os.path.join(root, "cameras", cid + ".json"), "w") as f:
                json.dump(dict(cam, id=cid, uri="file://" + os.path.join(args.videos, v)), f)
        # The control: the demo camera itself, on the footage the models know, publishes actions meanwhile.
        with open(os.path.join(root, "cameras", "workbench.json"), "w") as f:
            json.dump(cam, f)
        ok, rc, events = run_daemon_until(args.actiond, root, endpoint, all_at_eos(list(videos)), 240,
                                          ["--log-level", "warn"])
    if not ok or rc != 0:
        fail(f"the cameras did not reach the end of their videos within 240 s (actiond exit {rc})")
    min_conf = cam["recognition"]["min_confidence"]
    control = [e for e in events if e.get("camera") == cam["id"] and e["type"] == "segment.start"]
    if not control:
        fail(f"the control camera {cam['id']} (the workbench the models were trained on) published no segment")
    events = [e for e in events if e.get("camera") in videos]
    recs = [e for e in events if e["type"] == "recognition"]
    actions = [e for e in recs if e["label"] != "background" and e["confidence"] >= min_conf]
    segs = [e for e in events if e["type"] == "segment.start"]
    per_cam = {c: sum(e["camera"] == c for e in recs) for c in videos}
    if any(n == 0 for n in per_cam.values()):
        fail(f"a camera published no recognition at all: {per_cam}")
    if segs or actions:
        fail(f"{len(segs)} segments ({[s['segment']['label'] for s in segs][:10]}) and {len(actions)} confident action "
             f"recognitions ({[(a['camera'], a['label'], a['confidence']) for a in actions][:10]}) on footage unlike the training")
    print(f"ok: {sum(per_cam.values())} recognitions {per_cam}, all background; no segment "
          f"(the control camera: {len(control)} segments)")
