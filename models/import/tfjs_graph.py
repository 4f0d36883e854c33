"""Reading a TensorFlow.js graph model (model.json + weight shards) into NumPy: the first stage of the
TF.js -> TorchScript importer (issue 17). No TensorFlow needed.

    model = load_graph_model("movenet-lightning.json")
    model.nodes        # [Node(name, op, inputs, attr)] in file order
    model.weights      # {name: np.ndarray}, dequantised (float16/uint8/uint16 -> float32)
    model.inputs, model.outputs   # from the signature

Errors are GraphModelError with the file and the weight or node at fault.
"""
import json
import os
from dataclasses import dataclass, field

import numpy as np

# Bytes per stored element of each (quantised) dtype.
_STORED = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
           "uint8": np.uint8, "uint16": np.uint16}


class GraphModelError(ValueError):
    pass


@dataclass
class Node:
    name: str
    op: str
    inputs: list
    attr: dict = field(default_factory=dict)


@dataclass
class GraphModel:
    path: str
    nodes: list
    weights: dict
    inputs: dict   # signature name -> tensor name
    outputs: dict
    source: str    # generatedBy (where the model came from)


def _dequantise(raw: np.ndarray, dtype: str, quant: dict, where: str) -> np.ndarray:
    qdtype = quant.get("dtype")
    if qdtype == "float16":
        return raw.astype(np.float32)
    if qdtype in ("uint8", "uint16"):
        if "scale" not in quant or "min" not in quant:
            raise GraphModelError(f"{where}: {qdtype} quantisation without scale and min")
        out = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        return out.astype(np.int32) if dtype == "int32" else out
    raise GraphModelError(f"{where}: unsupported quantisation dtype {qdtype!r}")


def _read_weights(path: str, manifest: list) -> dict:
    base = os.path.dirname(path)
    weights = {}
    for group in manifest:
        shards = []
        for shard in group["paths"]:
            shard_path = os.path.join(base, shard)
            try:
                with open(shard_path, "rb") as f:
                    shards.append(f.read())
            except OSError as e:
                raise GraphModelError(f"{path}: weight shard {shard_path}: {e.strerror}") from None
        data = b"".join(shards)
        offset = 0
        for w in group["weights"]:
            where = f"{path}: weight {w['name']}"
            quant = w.get("quantization") or {}
            stored = quant.get("dtype", w["dtype"])
            if stored not in _STORED:
                raise GraphModelError(f"{where}: unsupported dtype {stored!r}")
            count = int(np.prod(w["shape"], dtype=np.int64)) if w["shape"] else 1
            size = count * np.dtype(_STORED[stored]).itemsize
            if offset + size > len(data):
                raise GraphModelError(f"{where}: the shards end at byte {len(data)}, the weight needs "
                                      f"{offset + size}")
            raw = np.frombuffer(data, dtype=_STORED[stored], count=count, offset=offset).reshape(w["shape"])
            offset += size
            weights[w["name"]] = _dequantise(raw, w["dtype"], quant, where) if quant else raw.copy()
        if offset != len(data):
            raise GraphModelError(f"{path}: the manifest uses {offset} of the shards' {len(data)} bytes")
    return weights


def load_graph_model(path: str) -> GraphModel:
    try:
        with open(path) as f:
            model = json.load(f)
    except OSError as e:
        raise GraphModelError(f"{path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise GraphModelError(f"{path}: not JSON: {e}") from None
    if model.get("format") != "graph-model":
        raise GraphModelError(f"{path}: not a TF.js graph model (format {model.get('format')!r})")
    nodes = [Node(n["name"], n["op"], list(n.get("input", [])), n.get("attr", {}))
             for n in model["modelTopology"]["node"]]
    sig = model.get("signature", {})
    return GraphModel(path=path, nodes=nodes, weights=_read_weights(path, model["weightsManifest"]),
                      inputs={k: v["name"] for k, v in sig.get("inputs", {}).items()},
                      outputs={k: v["name"] for k, v in sig.get("outputs", {}).items()},
                      source=model.get("generatedBy", ""))
