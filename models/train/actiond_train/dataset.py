"""A user's labelled videos, read and checked before anything is trained, then written in the one
layout the training modules read (the MS-TCN layout with background at id 0 and labels at 25 per
second). Two layouts are read:

  DATA/videos/<name>.<ext>          the videos (anything GStreamer decodes)
  DATA/groundTruth/<name>.txt       one label per video frame (MS-TCN), with DATA/mapping.txt
  DATA/splits/{train,val,test}.split1.bundle   optional: video file names per split
or
  DATA/videos/...                   as above
  DATA/segments.csv                 video,label,start,end (seconds; header row); or segments.json: a
                                    list of {"video", "label", "start", "end"}; time not covered is
                                    background

Every problem is collected and reported together (DatasetError.problems), each naming its file and
line; nothing is trained on a dataset with a problem.
"""
import csv
import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional

LABEL_FPS = 25.0  # the normalised ground truth: one label per 1/25 s
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".ts", ".webm", ".m4v", ".mpg", ".mpeg")


class DatasetError(Exception):
    def __init__(self, problems: List[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Video:
    name: str
    path: str
    fps: float
    frames: int
    labels: List[str] = field(default_factory=list)  # at LABEL_FPS

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


@dataclass
class Dataset:
    labels: List[str]  # background first
    videos: Dict[str, Video]
    splits: Dict[str, List[str]]  # train, val, test -> video names
    layout: str  # "ms-tcn" or "segments"
    notes: List[str] = field(default_factory=list)  # what was decided for the user (held-out splits, ...)


def probe_videos(actiond: str, videos_dir: str) -> Dict[str, dict]:
    """`actiond probe --json` on a folder: name -> its row (fps, frames, or error)."""
    run = subprocess.run([actiond, "probe", "--videos", videos_dir, "--json"], capture_output=True, text=True,
                         timeout=3600)
    if run.returncode != 0:
        raise DatasetError([f"{videos_dir}: {run.stderr.strip() or 'actiond probe failed'}"])
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return {r["video"]: r for r in rows if os.path.splitext(r["path"])[1].lower() in VIDEO_EXTENSIONS}


def _resample(native: List[str], fps: float) -> List[str]:
    """Labels at the video's own frame rate -> labels at LABEL_FPS."""
    n = int(round(len(native) / fps * LABEL_FPS))
    return [native[min(len(native) - 1, int(k / LABEL_FPS * fps))] for k in range(n)]


def _read_mapping(path: str, problems: List[str]) -> List[str]:
    names = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0] != str(len(names)):
                problems.append(f"{path} line {no}: expected \"{len(names)} NAME\" (ids 0, 1, 2, ... in order), "
                                f"got \"{line.strip()}\"")
                return names
            if parts[1] in names:
                problems.append(f"{path} line {no}: label \"{parts[1]}\" is listed twice")
            names.append(parts[1])
    if not names:
        problems.append(f"{path}: no labels in it")
    return names


def _read_ground_truth(root: str, probed: Dict[str, dict], videos: Dict[str, Video], problems: List[str]) -> List[str]:
    names = _read_mapping(os.path.join(root, "mapping.txt"), problems)
    gt_dir = os.path.join(root, "groundTruth")
    files = sorted(f for f in os.listdir(gt_dir) if f.endswith(".txt"))
    for f in files:
        if os.path.splitext(f)[0] not in probed:
            problems.append(f"groundTruth/{f}: no video videos/{os.path.splitext(f)[0]}.* for it")
    for name, row in sorted(probed.items()):
        gt = os.path.join(gt_dir, name + ".txt")
        if not os.path.exists(gt):
            problems.append(f"videos/{os.path.basename(row['path'])}: no labels (groundTruth/{name}.txt is missing)")
            continue
        with open(gt) as fh:
            labels = [line.strip() for line in fh if line.strip()]
        for no, label in enumerate(labels, 1):
            if names and label not in names:
                problems.append(f"groundTruth/{name}.txt line {no}: unknown label \"{label}\" "
                                f"(mapping.txt has: {', '.join(names)})")
                break
        if not row["ok"]:
            continue
        # The frame count comes from duration x rate: allow two frames (or 1 %) of slack.
        if abs(len(labels) - row["frames"]) > max(2, row["frames"] // 100):
            problems.append(f"groundTruth/{name}.txt: {len(labels)} labels for the {row['frames']} frames of "
                            f"videos/{os.path.basename(row['path'])} ({row['fps']:g} fps, {row['duration_s']:.2f} s)")
            continue
        if name in videos:
            videos[name].labels = _resample(labels, row["fps"])
    return names


def _read_segments(root: str, probed: Dict[str, dict], videos: Dict[str, Video], background: str,
                   problems: List[str]) -> List[str]:
    csv_path, json_path = os.path.join(root, "segments.csv"), os.path.join(root, "segments.json")
    rows = []  # (where, video, label, start, end)
    if os.path.exists(csv_path):
        with open(csv_path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("video", "label", "start", "end") if c not in (reader.fieldnames or [])]
            if missing:
                problems.append(f"segments.csv line 1: the header must name video, label, start, end "
                                f"(missing: {', '.join(missing)})")
                return [background]
            for r in reader:
                rows.append((f"segments.csv line {reader.line_num}", r["video"], r["label"], r["start"], r["end"]))
    else:
        try:
            with open(json_path) as f:
                items = json.load(f)
        except json.JSONDecodeError as e:
            problems.append(f"segments.json: not JSON ({e})")
            return [background]
        if not isinstance(items, list):
            problems.append("segments.json: expected a list of {\"video\", \"label\", \"start\", \"end\"}")
            return [background]
        for k, it in enumerate(items):
            it = it if isinstance(it, dict) else {}
            rows.append((f"segments.json item {k}", it.get("video"), it.get("label"), it.get("start"), it.get("end")))
    names = [background]
    by_video: Dict[str, list] = {}
    for where, video, label, start, end in rows:
        video = os.path.splitext(str(video or "").strip())[0]
        label = str(label or "").strip()
        try:
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            problems.append(f"{where}: start and end must be seconds, got \"{start}\" and \"{end}\"")
            continue
        if video not in probed:
            problems.append(f"{where}: no video videos/{video}.* (known: {', '.join(sorted(probed)) or 'none'})")
            continue
        if not label or " " in label:
            problems.append(f"{where}: the label must be one word, got \"{label}\"")
            continue
        if label == background:
            problems.append(f"{where}: \"{background}\" is what is left unlabelled; label actions only")
            continue
        if end <= start or start < 0:
            problems.append(f"{where}: the segment must end after it starts (start {start:g} s, end {end:g} s)")
            continue
        row = probed[video]
        if row["ok"] and end > row["duration_s"] + 0.1:
            problems.append(f"{where}: ends at {end:g} s, after the end of videos/{os.path.basename(row['path'])} "
                            f"({row['duration_s']:.2f} s)")
            continue
        for other in by_video.get(video, []):
            if start < other[2] and other[1] < end:
                problems.append(f"{where}: overlaps {other[0]} ({video}, {other[1]:g}-{other[2]:g} s)")
                break
        else:
            by_video.setdefault(video, []).append((where, start, end, label))
            if label not in names:
                names.append(label)
    for name, row in sorted(probed.items()):
        if name not in by_video:
            problems.append(f"videos/{os.path.basename(row['path'])}: no labels (no segment names it)")
            continue
        if name not in videos:
            continue
        n = int(round(row["duration_s"] * LABEL_FPS))
        labels = [background] * n
        for _where, start, end, label in by_video[name]:
            for k in range(int(start * LABEL_FPS), min(n, int(end * LABEL_FPS))):
                labels[k] = label
        videos[name].labels = labels
    return names


def _segments(labels: List[str]) -> List[str]:
    """The label of each run of equal labels."""
    return [lab for k, lab in enumerate(labels) if k == 0 or labels[k - 1] != lab]


def _read_splits(root: str, videos: Dict[str, Video], problems: List[str]) -> Optional[Dict[str, List[str]]]:
    d = os.path.join(root, "splits")
    if not os.path.isdir(d):
        return None
    splits = {}
    for split in ("train", "val", "test"):
        path = os.path.join(d, f"{split}.split1.bundle")
        if not os.path.exists(path):
            if split != "val":
                problems.append(f"splits/{split}.split1.bundle: missing (splits/ needs train and test; val is optional)")
            continue
        with open(path) as f:
            names = [os.path.splitext(line.strip())[0] for line in f if line.strip()]
        for n in names:
            if n not in videos:
                problems.append(f"splits/{split}.split1.bundle: no video \"{n}\" in videos/")
        splits[split] = [n for n in names if n in videos]
    return splits


def _hold_out(names: List[str], seed: int, fraction: float) -> tuple:
    """(kept, held out): a seeded shuffle; at least one video each way."""
    order = sorted(names)
    random.Random(seed).shuffle(order)
    k = min(len(order) - 1, max(1, int(round(len(order) * fraction))))
    return sorted(order[k:]), sorted(order[:k])


def read_dataset(root: str, actiond: str, background: str = "background", min_examples: int = 2,
                 seed: int = 1) -> Dataset:
    """The dataset under `root`, checked; raises DatasetError naming every problem."""
    problems: List[str] = []
    if not os.path.isdir(root):
        raise DatasetError([f"{root}: no such directory"])
    videos_dir = os.path.join(root, "videos")
    if not os.path.isdir(videos_dir):
        raise DatasetError([f"{root}: no videos/ folder (see actiond-train --help for the layouts)"])
    probed = probe_videos(actiond, videos_dir)
    if not probed:
        raise DatasetError([f"{videos_dir}: no videos ({', '.join(VIDEO_EXTENSIONS)})"])
    videos = {}
    for name, row in sorted(probed.items()):
        if not row["ok"]:
            problems.append(f"videos/{os.path.basename(row['path'])}: cannot be read: {row['error']}")
        else:
            videos[name] = Video(name, row["path"], row["fps"], row["frames"])
    has_gt = os.path.isdir(os.path.join(root, "groundTruth"))
    has_segments = any(os.path.exists(os.path.join(root, f)) for f in ("segments.csv", "segments.json"))
    if has_gt and has_segments:
        raise DatasetError([f"{root}: both groundTruth/ and a segment list; keep one"])
    if has_gt:
        if not os.path.exists(os.path.join(root, "mapping.txt")):
            raise DatasetError([f"{root}: groundTruth/ without mapping.txt (lines \"ID NAME\", ids 0, 1, 2, ...)"])
        names = _read_ground_truth(root, probed, videos, problems)
        layout = "ms-tcn"
    elif has_segments:
        names = _read_segments(root, probed, videos, background, problems)
        layout = "segments"
    else:
        raise DatasetError([f"{root}: no labels: groundTruth/ + mapping.txt, or segments.csv / segments.json"])
    notes = []
    if background in names:
        names = [background] + [n for n in names if n != background]
    else:
        names = [background] + names
        notes.append(f"no label is called \"{background}\": every frame is one of the actions "
                     f"(--background NAME names the label of 'nothing happening')")
    splits = _read_splits(root, videos, problems)
    labelled = sorted(v.name for v in videos.values() if v.labels)
    if splits is None:
        if len(labelled) < 3:
            problems.append(f"{root}: {len(labelled)} labelled video(s); at least 3 are needed without splits/ "
                            f"(one to train on, one to choose settings on, one to test)")
        else:
            rest, test = _hold_out(labelled, seed, 0.2)
            train, val = _hold_out(rest, seed + 1, 0.2)
            splits = {"train": train, "val": val, "test": test}
            notes.append(f"no splits/: held out {len(test)} video(s) for test and {len(val)} for val (seed {seed})")
    elif "val" not in splits and splits.get("train"):
        train, val = _hold_out(splits["train"], seed + 1, 0.2)
        splits["train"], splits["val"] = train, val
        notes.append(f"no splits/val.split1.bundle: held {len(val)} training video(s) out for val (seed {seed})")
    if splits is not None:
        train = [videos[n] for n in splits.get("train", []) if n in videos]
        counts = {n: 0 for n in names[1:]}
        frames = {n: 0 for n in names}
        for v in videos.values():
            for lab in v.labels:
                frames[lab] = frames.get(lab, 0) + 1
        for v in train:
            for lab in _segments(v.labels):
                if lab in counts:
                    counts[lab] += 1
        for n in names[1:]:
            if frames.get(n, 0) == 0:
                problems.append(f"class \"{n}\": no frame is labelled with it (remove it from the labels)")
            elif counts[n] < min_examples:
                problems.append(f"class \"{n}\": {counts[n]} segment(s) in the training videos, at least "
                                f"{min_examples} needed (label more, or leave the class out)")
    if problems:
        raise DatasetError(problems)
    return Dataset(names, videos, splits, layout, notes)


def write_normalised(ds: Dataset, out: str) -> None:
    """The layout the training modules read: videos/ (links), groundTruth/ at LABEL_FPS, mapping.txt
    with background at id 0, splits/{train,val,test}.split1.bundle."""
    for sub in ("videos", "groundTruth", "splits"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    with open(os.path.join(out, "mapping.txt"), "w") as f:
        f.writelines(f"{k} {n}\n" for k, n in enumerate(ds.labels))
    for v in ds.videos.values():
        link = os.path.join(out, "videos", os.path.basename(v.path))
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(v.path), link)
        with open(os.path.join(out, "groundTruth", v.name + ".txt"), "w") as f:
            f.writelines(lab + "\n" for lab in v.labels)
    for split, names in ds.splits.items():
        with open(os.path.join(out, "splits", f"{split}.split1.bundle"), "w") as f:
            f.writelines(os.path.basename(ds.videos[n].path) + "\n" for n in names)
