#!/usr/bin/python3
"""actiond-train checks a dataset before training: broken layouts (missing files, wrong lengths,
unknown labels, empty classes, too few examples, a video that does not decode, bad segment lists)
each give their exact message, exit status 2, and nothing is trained (no work folder).

Usage (from ctest): pytest test_train_dataset.py --actiond BIN
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from testlib import make_video

FRAMES = 100  # make_video: 4 s at 25 fps


@pytest.fixture(scope="module")
def clip():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        make_video(path, 160, 120)
        yield path


def ms_tcn(root: str, clip: str, names=("a", "b", "c", "d")) -> str:
    """A valid MS-TCN dataset: each video background, red (1-3 s), background."""
    for sub in ("videos", "groundTruth"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, "mapping.txt"), "w") as f:
        f.write("0 background\n1 red\n")
    for n in names:
        shutil.copy(clip, os.path.join(root, "videos", n + ".mp4"))
        write_gt(root, n, ["background"] * 25 + ["red"] * 50 + ["background"] * 25)
    return root


def write_gt(root: str, name: str, labels) -> None:
    with open(os.path.join(root, "groundTruth", name + ".txt"), "w") as f:
        f.writelines(lab + "\n" for lab in labels)


def train(args, data: str, *extra) -> tuple:
    out = os.path.join(os.path.dirname(data), "model")
    env = dict(os.environ, LC_ALL="C")
    r = subprocess.run([sys.executable, "-m", "actiond_train.teach", data, "--out", out, "--actiond", args.actiond,
                        "--features", "frames", *extra], capture_output=True, text=True, timeout=300, env=env)
    lines = [line.removeprefix("actiond-train: ") for line in r.stderr.splitlines()]
    return r.returncode, lines, os.path.exists(os.path.join(out, "work"))


def refused(args, data: str, *extra) -> list:
    rc, lines, trained = train(args, data, *extra)
    assert rc == 2, lines
    assert not trained
    assert lines[-1].endswith(f"problem(s) in {data}; nothing was trained"), lines
    return lines[:-1]


def test_a_valid_dataset_passes_the_check(args, clip, tmp_path) -> None:
    data = ms_tcn(str(tmp_path / "data"), clip)
    rc, lines, _ = train(args, data, "--check-only")
    assert rc == 0, lines
    assert "no splits/: held out 1 video(s) for test and 1 for val (seed 1)" in lines
    assert f"{data}: 4 videos (ms-tcn), labels background, red; splits {{'train': 2, 'val': 1, 'test': 1}}" in lines


def test_no_videos_folder(args, tmp_path) -> None:
    data = str(tmp_path / "data")
    os.makedirs(data)
    assert refused(args, data) == [f"{data}: no videos/ folder (see actiond-train --help for the layouts)"]


def test_missing_and_wrong_label_files(args, clip, tmp_path) -> None:
    data = ms_tcn(str(tmp_path / "data"), clip, names=("a", "b", "c", "d", "e"))
    os.remove(os.path.join(data, "groundTruth", "a.txt"))
    write_gt(data, "b", ["background"] * 90)
    labels = ["background"] * FRAMES
    labels[29] = "blue"
    write_gt(data, "c", labels)
    write_gt(data, "z", ["background"] * FRAMES)
    with open(os.path.join(data, "videos", "e.mp4"), "wb") as f:
        f.write(os.urandom(3000))
    problems = refused(args, data)
    assert "groundTruth/z.txt: no video videos/z.* for it" in problems
    assert "videos/a.mp4: no labels (groundTruth/a.txt is missing)" in problems
    assert "groundTruth/b.txt: 90 labels for the 100 frames of videos/b.mp4 (25 fps, 4.00 s)" in problems
    assert 'groundTruth/c.txt line 30: unknown label "blue" (mapping.txt has: background, red)' in problems
    assert any(p.startswith("videos/e.mp4: cannot be read: it does not decode") for p in problems), problems


def test_empty_and_thin_classes(args, clip, tmp_path) -> None:
    data = ms_tcn(str(tmp_path / "data"), clip)
    with open(os.path.join(data, "mapping.txt"), "a") as f:
        f.write("2 wave\n")
    problems = refused(args, data, "--min-examples", "3")
    assert problems == ['class "red": 2 segment(s) in the training videos, at least 3 needed '
                        '(label more, or leave the class out)',
                        'class "wave": no frame is labelled with it (remove it from the labels)']


def test_bad_mapping_and_splits(args, clip, tmp_path) -> None:
    data = ms_tcn(str(tmp_path / "data"), clip)
    with open(os.path.join(data, "mapping.txt"), "w") as f:
        f.write("0 background\n2 red\n")
    os.makedirs(os.path.join(data, "splits"))
    with open(os.path.join(data, "splits", "train.split1.bundle"), "w") as f:
        f.write("a.mp4\nq.mp4\n")
    problems = refused(args, data)
    assert f'{data}/mapping.txt line 2: expected "1 NAME" (ids 0, 1, 2, ... in order), got "2 red"' in problems
    assert "splits/test.split1.bundle: missing (splits/ needs train and test; val is optional)" in problems
    assert 'splits/train.split1.bundle: no video "q" in videos/' in problems


def test_segment_lists(args, clip, tmp_path) -> None:
    data = str(tmp_path / "data")
    os.makedirs(os.path.join(data, "videos"))
    for n in ("a", "b", "c"):
        shutil.copy(clip, os.path.join(data, "videos", n + ".mp4"))
    with open(os.path.join(data, "segments.csv"), "w") as f:
        f.write("video,label,start,end\n"
                "a.mp4,red,1.0,3.0\n"
                "a,red,2.5,3.5\n"
                "b,red,3.0,9.0\n"
                "x,red,1,2\n"
                "b,red,2,1\n"
                "b,two words,0,1\n"
                "b,red,soon,2\n")
    problems = refused(args, data)
    assert problems == [
        "segments.csv line 3: overlaps segments.csv line 2 (a, 1-3 s)",
        "segments.csv line 4: ends at 9 s, after the end of videos/b.mp4 (4.00 s)",
        "segments.csv line 5: no video videos/x.* (known: a, b, c)",
        "segments.csv line 6: the segment must end after it starts (start 2 s, end 1 s)",
        'segments.csv line 7: the label must be one word, got "two words"',
        'segments.csv line 8: start and end must be seconds, got "soon" and "2"',
        "videos/b.mp4: no labels (no segment names it)",
        "videos/c.mp4: no labels (no segment names it)",
        f"{data}: 1 labelled video(s); at least 3 are needed without splits/ (one to train on, one to choose "
        "settings on, one to test)",
    ]


def test_segment_list_header(args, clip, tmp_path) -> None:
    data = str(tmp_path / "data")
    os.makedirs(os.path.join(data, "videos"))
    shutil.copy(clip, os.path.join(data, "videos", "a.mp4"))
    with open(os.path.join(data, "segments.csv"), "w") as f:
        f.write("file,label,from,to\na,red,1,2\n")
    problems = refused(args, data)
    assert problems[0] == "segments.csv line 1: the header must name video, label, start, end (missing: video, start, end)"
