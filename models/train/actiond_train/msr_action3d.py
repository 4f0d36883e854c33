"""Builds the real-human-motion benchmark from MSR Action3D skeletons (../shared/data/msr-action3d).

Untrimmed streams: each subject's trimmed sequences are concatenated in a seeded random order, a few
per stream, with a 0.5 s "background" transition between them (the pose interpolated from the end of
one sequence to the start of the next) and at both ends. Cross-subject split: odd subjects train, even
subjects test. The output has the layout of an actiond benchmark ("world"), so the same training and
evaluation code runs on it, and each stream's features are a .npy a `features://` camera replays:

  OUT/mapping.txt                    0 background, 1..20 the actions
  OUT/splits/{train,test}.split1.bundle
  OUT/groundTruth/STREAM.txt         one label per frame (15 fps)
  OUT/features/STREAM.features.npy   float32 [T, 120]: 20 joints x (x, y, z) relative to the hip centre,
                                     scaled by the subject's torso length, then their velocity over 2 frames
  OUT/features/STREAM.pts.npy        frame times (s)
  OUT/trimmed/{train,test}.npz       the trimmed sequences (features, label, subject) for clip recognition

Usage: msr_action3d.py --data ../shared/data/msr-action3d --out DIR [--seed 1] [--per-stream 8]
"""
import argparse
import os
import re
from typing import Dict, List, Tuple

import numpy as np

ACTIONS = ["high_arm_wave", "horizontal_arm_wave", "hammer", "hand_catch", "forward_punch", "high_throw", "draw_x",
           "draw_tick", "draw_circle", "hand_clap", "two_hand_wave", "side_boxing", "bend", "forward_kick",
           "side_kick", "jogging", "tennis_swing", "tennis_serve", "golf_swing", "pick_up_and_throw"]
FPS = 15.0
HIP_CENTRE, NECK = 6, 2  # joint indices (0-based) in the dataset's order
GAP = 8                  # background frames between sequences


def read_sequence(path: str) -> np.ndarray:
    """[T, 20, 3] joint positions; frames whose joints are all zero (lost tracking) are dropped."""
    values = np.loadtxt(path, dtype=np.float64).reshape(-1, 4)
    if len(values) % 20 != 0:
        raise ValueError(f"{path}: {len(values)} joint lines, not a multiple of 20")
    joints = values.reshape(-1, 20, 4)[:, :, :3]
    keep = np.abs(joints).sum(axis=(1, 2)) > 0
    return joints[keep]


def features(joints: np.ndarray, scale: float) -> np.ndarray:
    """Position relative to the hip centre / torso length, plus velocity over 2 frames (causal)."""
    rel = (joints - joints[:, HIP_CENTRE:HIP_CENTRE + 1]) / scale
    pos = rel.reshape(len(rel), -1)
    vel = np.zeros_like(pos)
    vel[2:] = (pos[2:] - pos[:-2]) * 2.0
    vel[1:2] = (pos[1:2] - pos[0:1]) * 4.0
    return np.concatenate([pos, vel], axis=1).astype(np.float32)


def load(data: str) -> Dict[int, List[Tuple[int, np.ndarray]]]:
    """subject -> [(action 1..20, joints [T,20,3])]."""
    pat = re.compile(r"a(\d\d)_s(\d\d)_e(\d\d)_skeleton3D\.txt$")
    out: Dict[int, List[Tuple[int, np.ndarray]]] = {}
    folder = os.path.join(data, "skeletons")
    for name in sorted(os.listdir(folder)):
        m = pat.match(name)
        if not m:
            continue
        joints = read_sequence(os.path.join(folder, name))
        if len(joints) < 5:
            continue
        out.setdefault(int(m.group(2)), []).append((int(m.group(1)), joints))
    return out


def build(data: str, out: str, seed: int, per_stream: int) -> None:
    subjects = load(data)
    rng = np.random.default_rng(seed)
    for d in ("groundTruth", "features", "splits", "trimmed"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    with open(os.path.join(out, "mapping.txt"), "w") as f:
        for i, name in enumerate(["background"] + ACTIONS):
            f.write(f"{i} {name}\n")
    splits: Dict[str, List[str]] = {"train": [], "test": []}
    trimmed: Dict[str, Tuple[list, list, list]] = {"train": ([], [], []), "test": ([], [], [])}
    names = ["background"] + ACTIONS
    for subject, seqs in sorted(subjects.items()):
        split = "train" if subject % 2 == 1 else "test"
        # One scale per subject: the median neck-to-hip distance over all its frames.
        scale = float(np.median(np.concatenate([np.linalg.norm(j[:, NECK] - j[:, HIP_CENTRE], axis=1) for _, j in seqs])))
        for action, joints in seqs:
            trimmed[split][0].append(features(joints, scale))
            trimmed[split][1].append(action)
            trimmed[split][2].append(subject)
        order = rng.permutation(len(seqs))
        for s, lo in enumerate(range(0, len(order), per_stream)):
            parts, labels = [], []
            chunk = [seqs[i] for i in order[lo:lo + per_stream]]
            prev = chunk[0][1][0]
            for action, joints in chunk:
                w = np.linspace(0, 1, GAP + 2)[1:-1, None, None]
                parts.append(prev[None] * (1 - w) + joints[0][None] * w)
                labels += [0] * GAP
                parts.append(joints)
                labels += [action] * len(joints)
                prev = joints[-1]
            parts.append(np.repeat(prev[None], GAP, axis=0))
            labels += [0] * GAP
            joints_all = np.concatenate(parts)
            stream = f"s{subject:02d}_{s}"
            np.save(os.path.join(out, "features", f"{stream}.features.npy"), features(joints_all, scale))
            np.save(os.path.join(out, "features", f"{stream}.pts.npy"), np.arange(len(labels)) / FPS)
            with open(os.path.join(out, "groundTruth", f"{stream}.txt"), "w") as f:
                f.write("\n".join(names[l] for l in labels) + "\n")
            splits[split].append(stream)
    for split, streams in splits.items():
        with open(os.path.join(out, "splits", f"{split}.split1.bundle"), "w") as f:
            f.write("".join(s + ".txt\n" for s in streams))
        feats, acts, subj = trimmed[split]
        np.savez(os.path.join(out, "trimmed", f"{split}.npz"), labels=np.asarray(acts), subjects=np.asarray(subj),
                 lengths=np.asarray([len(x) for x in feats]), features=np.concatenate(feats))
    total = {k: sum(len(v[0]) for v in [trimmed[k]]) for k in trimmed}
    print(f"msr-action3d: {sum(len(v) for v in subjects.values())} sequences, streams train {len(splits['train'])} / "
          f"test {len(splits['test'])}, trimmed train {total['train']} / test {total['test']} -> {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="../shared/data/msr-action3d")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-stream", type=int, default=8, help="trimmed sequences per untrimmed stream")
    args = ap.parse_args()
    build(args.data, args.out, args.seed, args.per_stream)


if __name__ == "__main__":
    main()
