"""actiond-train DATA --out MODEL_DIR: teach actiond your own actions in one command.

Reads and checks DATA (see actiond_train.dataset for the two layouts), then runs what our best path
is today and a plain baseline beside it, and writes MODEL_DIR:
  segmenter.pt, recognizer.pt (+ backbone.pt for frame features)  the models (manifests inside)
  baseline/segmenter.pt                                            the plain causal GRU
  camera.json                                                      a camera snippet that uses them
  report.html                                                      figures, verdict, timelines
  result.json                                                      the same figures as JSON
Stages run in order; each one's outputs land in MODEL_DIR/work/ and it is recorded as done, so the
same command after an interruption goes on from the first stage not done (--restart: from scratch).
--budget-min spreads a time budget over the training stages (fewer steps, never more).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Dict, List

from actiond_train import dataset, report

# Stage name -> its share of a typical run's time (the ETA and the budget split use these).
FRAME_STAGES = {"check": 1, "frames": 6, "backbone": 25, "features": 6, "segmenter": 24, "baseline": 10,
                "ensemble": 1, "recognizer": 8, "calibrate": 4, "decoding": 5, "evaluate": 5, "write": 1}
POSE_STAGES = {"check": 1, "features": 20, "segmenter": 30, "baseline": 14, "ensemble": 1, "recognizer": 10,
               "calibrate": 5, "decoding": 8, "evaluate": 8, "write": 1}
TRAINED = ("backbone", "segmenter", "baseline", "recognizer")
ANALYSIS_FPS = 5


class Run:
    """One training run's folders, its record of done stages, its progress line."""

    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.work = os.path.join(self.out, "work")
        self.state_path = os.path.join(self.work, "state.json")
        self.started = time.time()
        self.stages: Dict[str, int] = {}
        self.state = {"done": {}, "options": self.options_key()}

    def options_key(self) -> str:
        a = self.args
        key = json.dumps([os.path.abspath(a.data), a.features, a.seed, a.background, a.min_examples,
                          a.budget_min, a.steps_scale, a.backbone], sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def load(self) -> None:
        if self.args.restart and os.path.isdir(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work, exist_ok=True)
        if os.path.exists(self.state_path):
            with open(self.state_path) as f:
                old = json.load(f)
            if old.get("options") == self.state["options"]:
                self.state = old
                if old["done"]:
                    log(f"resuming: {', '.join(old['done'])} already done (--restart to start over)")
            else:
                log("the options or the data changed since the last run here: starting over")
                shutil.rmtree(self.work)
                os.makedirs(self.work)

    def save(self) -> None:
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.state_path)

    def minutes_for(self, stage: str) -> float:
        """The stage's share of what is left of --budget-min (0: no budget)."""
        if self.args.budget_min <= 0:
            return 0.0
        left_min = self.args.budget_min - (time.time() - self.started) / 60
        todo = [s for s in self.stages if s not in self.state["done"]]
        weight = sum(self.stages[s] for s in todo)
        return max(0.1, left_min * self.stages[stage] / max(weight, 1))

    def stage(self, name: str, fn) -> None:
        names = list(self.stages)
        k = names.index(name) + 1
        if name in self.state["done"]:
            return
        done_w = sum(self.stages[s] for s in self.state["done"] if s in self.stages)
        spent = sum(self.state["done"].values())
        eta = ""
        if done_w > 0 and spent > 0:
            left = spent / done_w * (sum(self.stages.values()) - done_w)
            eta = f", about {fmt_s(left)} left"
        log(f"[{k}/{len(names)}] {name}{eta}")
        t0 = time.time()
        fn()
        self.state["done"][name] = round(time.time() - t0, 1)
        self.save()

    def path(self, *parts) -> str:
        return os.path.join(self.work, *parts)


def log(msg: str) -> None:
    sys.stderr.write(f"actiond-train: {msg}\n")
    sys.stderr.flush()


def fmt_s(s: float) -> str:
    return f"{s / 60:.0f} min" if s >= 90 else f"{s:.0f} s"


def run(cmd: List[str], stdout=None, stdin=None) -> None:
    """A step of the pipeline; its own progress goes to stderr. Stops the run when it fails."""
    result = subprocess.run(cmd, stdout=stdout, stdin=stdin)
    if result.returncode != 0:
        raise SystemExit(f"actiond-train: this step failed (exit {result.returncode}): {' '.join(cmd)}")


def py(module: str, *args) -> List[str]:
    return [sys.executable, "-m", f"actiond_train.{module}", *args]


def steps(run_: Run, n: int) -> str:
    return str(max(20, int(n * run_.args.steps_scale)))


def choose_features(args, ds: dataset.Dataset, r: Run) -> str:
    """pose when people carry the actions: a person found in most frames of the actions (sampled
    from the training videos), frames otherwise; a pose model must be at hand for pose."""
    if args.features != "auto":
        return args.features
    if args.backbone:
        log("features: frames (--backbone)")
        return "frames"
    if not args.pose_model or not os.path.exists(args.pose_model):
        log("features: frames (no pose model found for auto; --pose-model PATH)")
        return "frames"
    probe_dir = r.path("pose-probe")
    sample = ds.splits["train"][: max(1, min(4, len(ds.splits["train"])))]
    os.makedirs(probe_dir + "-videos", exist_ok=True)
    for n in sample:
        link = os.path.join(probe_dir + "-videos", os.path.basename(ds.videos[n].path))
        if not os.path.lexists(link):
            os.symlink(ds.videos[n].path, link)
    run([args.actiond, "extract", "--model", args.pose_model, "--videos", probe_dir + "-videos", "--out", probe_dir,
         "--fps", "2", "--threads", str(args.threads)])
    import numpy as np
    seen = total = 0
    for n in sample:
        track = np.load(os.path.join(probe_dir, f"{n}.track.npy"))
        pts = np.load(os.path.join(probe_dir, f"{n}.pts.npy"))
        labels = ds.videos[n].labels
        for t, p in zip(track, pts):
            k = min(len(labels) - 1, int(p * dataset.LABEL_FPS))
            if labels[k] != ds.labels[0]:
                total += 1
                seen += int(t != 0)
    share = seen / max(total, 1)
    choice = "pose" if share >= 0.6 else "frames"
    log(f"features: {choice} (a person is found in {share:.0%} of the action frames sampled)")
    return choice


def evaluate(args, r: Run, segmenter: str, split: str, out_json: str, decisions: str = "", tune: bool = False) -> None:
    cmd = [args.actiond, "eval", "--workbench", r.path("data"), "--features", r.path("features"), "--segmenter",
           segmenter, "--split", split, "--analysis-fps", str(ANALYSIS_FPS), "--video-fps", str(dataset.LABEL_FPS),
           "--json"]
    if tune:
        cmd.append("--tune")
    if decisions:
        cmd += ["--decisions", decisions]
    with open(out_json, "w") as f:
        run(cmd, stdout=f)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="actiond-train", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=dataset.__doc__)
    ap.add_argument("data", help="the labelled videos (layouts below)")
    ap.add_argument("--out", required=True, help="MODEL_DIR: the models, report.html, camera.json")
    ap.add_argument("--features", choices=["auto", "pose", "frames"], default="auto",
                    help="pose: people's keypoints (MoveNet); frames: a frame CNN trained here; auto: pose when a "
                         "person is in most action frames")
    ap.add_argument("--budget-min", type=float, default=0.0, help="spread about this many minutes over the run")
    ap.add_argument("--restart", action="store_true", help="start over instead of resuming")
    ap.add_argument("--check-only", action="store_true", help="check the data, report, stop")
    ap.add_argument("--background", default="background", help="the label of 'nothing happening'")
    ap.add_argument("--min-examples", type=int, default=2, help="segments each class needs in the training videos")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--steps-scale", type=float, default=1.0, help="multiply every training length (tests: 0.05)")
    ap.add_argument("--actiond", default=shutil.which("actiond") or "actiond", help="the actiond binary")
    ap.add_argument("--pose-model", default="", help="MoveNet TorchScript (default: the installed lightning model)")
    ap.add_argument("--backbone", default="", help="frame features from this backbone (e.g. a camera's own) "
                    "instead of training one: the models then run beside it, and shadow mode can try them")
    ap.add_argument("--name", default="", help="the model's name in its manifest (default: MODEL_DIR's name)")
    args = ap.parse_args(argv)
    args.name = args.name or os.path.basename(os.path.abspath(args.out).rstrip("/"))
    if not os.path.exists(args.actiond):
        ap.error(f"--actiond {args.actiond}: no such file")
    try:
        ds = dataset.read_dataset(args.data, args.actiond, args.background, args.min_examples, args.seed)
    except dataset.DatasetError as e:
        for p in e.problems:
            sys.stderr.write(f"actiond-train: {p}\n")
        sys.stderr.write(f"actiond-train: {len(e.problems)} problem(s) in {args.data}; nothing was trained\n")
        return 2
    for note in ds.notes:
        log(note)
    counts = {s: len(v) for s, v in ds.splits.items()}
    log(f"{args.data}: {len(ds.videos)} videos ({ds.layout}), labels {', '.join(ds.labels)}; splits {counts}")
    if args.check_only:
        return 0
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        sys.stderr.write(f"actiond-train: training needs python3-torch and python3-numpy ({e}); "
                         "apt install python3-torch python3-numpy\n")
        return 3
    r = Run(args)
    r.load()
    try:
        return train(args, ds, r)
    except KeyboardInterrupt:
        log("interrupted; the same command goes on from where it stopped")
        return 130


def train(args, ds: dataset.Dataset, r: Run) -> int:
    dataset.write_normalised(ds, r.path("data"))
    features = r.state.get("features") or choose_features(args, ds, r)
    r.state["features"] = features
    r.save()
    r.stages = dict(FRAME_STAGES if features == "frames" else POSE_STAGES)
    r.stage("check", lambda: None)
    data, feats, thr = r.path("data"), r.path("features"), str(args.threads)
    common = ["--world", data, "--seed", str(args.seed), "--threads", thr]
    if features == "frames" and args.backbone:
        r.stages.pop("frames")
        r.stages.pop("backbone")
        r.stage("features", lambda: run([args.actiond, "extract", "--model", args.backbone, "--videos",
                                         r.path("data", "videos"), "--out", feats, "--fps", str(ANALYSIS_FPS)]))
    elif features == "frames":
        r.stage("frames", lambda: run([args.actiond, "extract", "--videos", r.path("data", "videos"), "--out",
                                       r.path("frames"), "--frames", "64x64", "--fps", str(ANALYSIS_FPS)]))
        r.stage("backbone", lambda: run(py("train_backbone", *common, "--frames", r.path("frames"), "--out",
                                           r.path("backbone.pt"), "--epochs", steps(r, 8),
                                           "--minutes", f"{r.minutes_for('backbone'):.2f}")))
        r.stage("features", lambda: run([args.actiond, "extract", "--model", r.path("backbone.pt"), "--videos",
                                         r.path("data", "videos"), "--out", feats, "--fps", str(ANALYSIS_FPS)]))
    else:
        r.stage("features", lambda: run([args.actiond, "extract", "--model", args.pose_model, "--videos",
                                         r.path("data", "videos"), "--out", feats, "--fps", str(ANALYSIS_FPS),
                                         "--threads", thr]))
    r.stage("segmenter", lambda: run(py("train_segmenter", *common, "--features", feats, "--out",
                                        r.path("asquery.pt"), "--steps", steps(r, 4000), "--lookahead", "5",
                                        "--minutes", f"{r.minutes_for('segmenter'):.2f}")))
    os.makedirs(r.path("gru"), exist_ok=True)
    r.stage("baseline", lambda: run(py("train_zoo", "--model", "gru", *common, "--features", feats, "--out-dir",
                                       r.path("gru"), "--name", args.name, "--window", "40", "--steps", steps(r, 1500),
                                       "--minutes", f"{r.minutes_for('baseline'):.2f}"),
                                    stdout=subprocess.DEVNULL))
    r.stage("ensemble", lambda: run(py("ensemble", "--segmenter", r.path("asquery.pt"), "--segmenter",
                                       r.path("gru", "gru-segmenter.pt"), "--name", args.name, "--out",
                                       r.path("ensemble", "segmenter.pt"))))
    r.stage("recognizer", lambda: run(py("train_recognizer", *common, "--features", feats, "--out",
                                         r.path("recognizer.pt"), "--steps", steps(r, 3000),
                                         "--minutes", f"{r.minutes_for('recognizer'):.2f}")))
    r.stage("calibrate", lambda: run(py("calibrate_frames", "--world", data, "--features", feats, "--segmenter",
                                        r.path("ensemble", "segmenter.pt"), "--recognizer", r.path("recognizer.pt"),
                                        "--out-dir", r.path("calibrated"))))
    cal = r.path("calibrated", "segmenter.pt")

    def choose_decoding() -> None:
        evaluate(args, r, cal, "val", r.path("val.json"), tune=True)
        with open(r.path("val.json")) as f:
            run(py("set_decoding", "--model", cal, "--chosen-on", f"val split of {os.path.abspath(args.data)}"),
                stdin=f)

    r.stage("decoding", choose_decoding)

    def evaluate_both() -> None:
        evaluate(args, r, cal, "test", r.path("test.json"), r.path("test-decisions.json"))
        evaluate(args, r, r.path("gru", "gru-segmenter.pt"), "test", r.path("baseline-test.json"),
                 r.path("baseline-decisions.json"))

    r.stage("evaluate", evaluate_both)
    r.stage("write", lambda: write_model_dir(args, ds, r, features))
    with open(os.path.join(r.out, "result.json")) as f:
        result = json.load(f)
    log(result["verdict"])
    log(f"report: {os.path.join(r.out, 'report.html')}; camera snippet: {os.path.join(r.out, 'camera.json')}")
    return 0


def write_model_dir(args, ds: dataset.Dataset, r: Run, features: str) -> None:
    out = r.out
    os.makedirs(os.path.join(out, "baseline"), exist_ok=True)
    shutil.copy(r.path("calibrated", "segmenter.pt"), os.path.join(out, "segmenter.pt"))
    shutil.copy(r.path("calibrated", "recognizer.pt"), os.path.join(out, "recognizer.pt"))
    shutil.copy(r.path("gru", "gru-segmenter.pt"), os.path.join(out, "baseline", "segmenter.pt"))
    if features == "frames":
        shutil.copy(args.backbone or r.path("backbone.pt"), os.path.join(out, "backbone.pt"))
    loaded = {}
    for name in ("test", "baseline-test", "test-decisions", "baseline-decisions"):
        with open(r.path(f"{name}.json")) as f:
            loaded[name] = json.load(f)
    facts = {"data": os.path.abspath(args.data), "layout": ds.layout, "features": features,
             "labels": ", ".join(ds.labels), "videos (train/val/test)": "/".join(str(len(ds.splits[s]))
                                                                              for s in ("train", "val", "test")),
             "seed": str(args.seed), "stage times": ", ".join(f"{k} {fmt_s(v)}" for k, v in r.state["done"].items()),
             "command": " ".join(["actiond-train"] + sys.argv[1:])}
    beats = report.write_report(os.path.join(out, "report.html"), f"actiond-train: {args.name}", loaded["test"],
                                loaded["baseline-test"], {"ours": loaded["test-decisions"],
                                                          "baseline": loaded["baseline-decisions"]}, facts, ds.labels)
    _, text = report.verdict(loaded["test"], loaded["baseline-test"])
    ours, base = report.online_row(loaded["test"]), report.online_row(loaded["baseline-test"])
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump({"beats_baseline": beats, "verdict": text, "ours": ours, "baseline": base, "features": features,
                   "labels": ds.labels, "splits": ds.splits, "notes": ds.notes, "stage_s": r.state["done"]}, f, indent=2)
    write_camera_snippet(args, out, features)


def write_camera_snippet(args, out: str, features: str) -> None:
    """camera.json: a camera file (cameras/<id>.json) using the models, and the actiond.json models
    entries it names."""
    name = args.name
    models = {f"{name}-segmenter": {"path": os.path.join(out, "segmenter.pt")},
              f"{name}-recognizer": {"path": os.path.join(out, "recognizer.pt")}}
    cam_models = {"segmenter": f"{name}-segmenter", "recognizer": f"{name}-recognizer"}
    if features == "frames":
        models[f"{name}-backbone"] = {"path": os.path.join(out, "backbone.pt")}
        cam_models["backbone"] = f"{name}-backbone"
    else:
        models[f"{name}-pose"] = {"path": os.path.abspath(args.pose_model)}
        cam_models["pose"] = f"{name}-pose"
    snippet = {"actiond.json models": models,
               "camera": {"id": f"{name}-camera", "uri": "rtsp://CAMERA/stream", "fps": ANALYSIS_FPS,
                          "models": cam_models}}
    with open(os.path.join(out, "camera.json"), "w") as f:
        json.dump(snippet, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
