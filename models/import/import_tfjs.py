"""Imports a TF.js graph pose model (MoveNet) as a TorchScript pose model with actiond's manifest.

    /usr/bin/python3 models/import/import_tfjs.py --package <npm package dir> \
        --model models/movenet-lightning.json --name movenet-lightning --size 192x192 --out lightning.pt

The TorchScript model: forward(uint8 [B,H,W,3] RGB) -> float [B,P,56], per person 17 x (y, x, score)
in COCO-17 order, then (ymin, xmin, ymax, xmax, score); coordinates are fractions of the input. Single
person models (P = 1) get the box of their keypoints scoring >= 0.2 and the mean keypoint score.
The network runs on the whole batch; the model's decoding (written for batch 1) runs per image.
Exit 1 with one line naming the file and node on any error (unsupported op, damaged weights).
"""
import argparse
import hashlib
import json
import os
import sys
from typing import List

import torch

from tfjs_graph import GraphModelError, load_graph_model
from tfjs_torch import TorchGraph

KEYPOINTS = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
             "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle"]
SKELETON = [[0, 1], [0, 2], [1, 3], [2, 4], [5, 6], [5, 7], [7, 9], [6, 8], [8, 10], [5, 11], [6, 12],
            [11, 12], [11, 13], [13, 15], [12, 14], [14, 16]]
BOX_KEYPOINT_SCORE = 0.2


class PoseModel(torch.nn.Module):
    def __init__(self, net, decode, single: bool):
        super().__init__()
        self.net = net
        self.decode = decode
        self.single = single

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats: List[torch.Tensor] = self.net([images.to(torch.int32)])
        outs: List[torch.Tensor] = []
        for b in range(images.size(0)):
            one: List[torch.Tensor] = [f[b:b + 1] for f in feats]
            outs.append(self.decode(one)[0])
        y = torch.cat(outs)
        if not self.single:
            return y
        kp = y.reshape(y.size(0), 1, 17, 3)
        score = kp[..., 2]
        mask = score >= 0.2  # BOX_KEYPOINT_SCORE
        mask = mask | ~mask.any(dim=-1, keepdim=True)
        ys, xs = kp[..., 0], kp[..., 1]
        big = torch.full_like(ys, 2.0)
        box = torch.stack([torch.where(mask, ys, big).amin(-1), torch.where(mask, xs, big).amin(-1),
                           torch.where(mask, ys, -big).amax(-1), torch.where(mask, xs, -big).amax(-1),
                           score.mean(-1)], dim=-1)
        return torch.cat([kp.reshape(y.size(0), 1, 51), box], dim=-1)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(model_path: str, height: int, width: int):
    """(scripted model, TorchGraph) for the graph model at `model_path`. Raises GraphModelError."""
    graph = TorchGraph(load_graph_model(model_path), height, width)
    example = torch.zeros(1, height, width, 3, dtype=torch.int32)
    example[0, height // 4: 3 * height // 4, width // 3: 2 * width // 3] = 128
    net, decode, _ = graph.trace(example)
    out = graph.outputs(example)[0]
    if list(out.shape) == [1, 1, 17, 3]:
        single = True
    elif out.dim() == 3 and out.shape[0] == 1 and out.shape[2] == 56:
        single = False
    else:
        raise GraphModelError(f"{model_path}: output shape {list(out.shape)} is neither a single pose "
                              "[1,1,17,3] nor multi-pose [1,P,56]")
    model = torch.jit.freeze(torch.jit.script(PoseModel(net, decode, single)).eval())
    return model, graph, single, (1 if single else int(out.shape[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", required=True, help="directory of the npm package (with package.json)")
    ap.add_argument("--model", required=True, help="the graph model's JSON, relative to --package")
    ap.add_argument("--name", required=True)
    ap.add_argument("--size", required=True, help="input WIDTHxHEIGHT (multiples of 32)")
    ap.add_argument("--licence", required=True, help="the model's licence, as its source states it")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"import_tfjs: --size {args.size!r}: want WIDTHxHEIGHT", file=sys.stderr)
        return 2
    if width % 32 or height % 32 or width <= 0 or height <= 0:
        print(f"import_tfjs: --size {args.size}: width and height must be positive multiples of 32", file=sys.stderr)
        return 2
    model_path = os.path.join(args.package, args.model)
    try:
        with open(os.path.join(args.package, "package.json")) as f:
            package = json.load(f)
        model, graph, single, persons = convert(model_path, height, width)
    except (GraphModelError, OSError, json.JSONDecodeError) as e:
        print(f"import_tfjs: {e}", file=sys.stderr)
        return 1
    with open(model_path) as f:
        shards = [p for g in json.load(f)["weightsManifest"] for p in g["paths"]]
    files = [args.model] + [os.path.join(os.path.dirname(args.model), p) for p in shards]
    manifest = {
        "kind": "pose",
        "name": args.name,
        "version": package["version"],
        "input": {"width": width, "height": height, "format": "RGB"},
        "keypoints": KEYPOINTS,
        "skeleton": SKELETON,
        "max_persons": persons,
        "output": "float [B,P,56]: per person 17 x (y, x, score), then (ymin, xmin, ymax, xmax, score); "
                  "coordinates are fractions of the input image",
        "source": {"package": package["name"], "version": package["version"],
                   "files": {p: sha256(os.path.join(args.package, p)) for p in files},
                   "generated_by": graph.model.source},
        "licence": args.licence,
        "importer": "models/import/import_tfjs.py",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    torch.jit.save(model, tmp, _extra_files={"manifest.json": json.dumps(manifest, indent=1)})
    os.replace(tmp, args.out)
    print(f"import_tfjs: {model_path} -> {args.out} ({'single' if single else f'{persons} persons'}, "
          f"{width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
