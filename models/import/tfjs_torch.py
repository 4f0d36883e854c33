"""A TF.js graph model as torch modules: the graph is evaluated op by op (tfjs_ops) at a fixed input size,
split into a batch-agnostic part (the network, run on a whole batch at once) and the per-image rest (the
decoding steps the graph was written for batch 1), and each part traced to TorchScript.

    graph = TorchGraph(load_graph_model("movenet-lightning.json"), height=192, width=192)
    out = graph.evaluate(image_int32_nhwc)          # the whole graph, batch 1, eager (reference)
    net, decode = graph.trace(example)              # TorchScript: net(x) -> [tensors], decode([tensors]) -> out

Values that depend only on constants and shapes (the graph's Shape/Range/Fill arithmetic) are folded at
the fixed input size. Every node is checked before anything runs: an op that tfjs_ops lacks raises
GraphModelError naming the op and the node.
"""
import torch

from tfjs_graph import GraphModel, GraphModelError
from tfjs_ops import OPS, OpError, attr_int, ints

# Ops whose result for a batch is the per-image results stacked along axis 0 (on batched inputs).
_BATCH_SAFE = {"Placeholder", "Identity", "Cast", "_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative",
               "DepthwiseConv2dNative", "ResizeBilinear", "MaxPool", "Relu", "Relu6", "Sigmoid", "Sqrt",
               "Exp", "Abs", "Reciprocal", "AddV2", "Add", "AddN", "Sub", "Mul", "RealDiv", "Maximum",
               "Minimum", "SquaredDifference"}

BATCHED, UNBATCHED, CONST, SAMPLE = "batched", "unbatched", "const", "sample"


def _base(name: str) -> str:
    """'node:1' -> 'node'; '^node' (control input) -> 'node'."""
    return name.lstrip("^").split(":")[0]


class TorchGraph:
    def __init__(self, model: GraphModel, height: int, width: int):
        self.model = model
        self.height, self.width = height, width
        self.nodes = [n for n in model.nodes]
        for n in self.nodes:
            if n.op not in OPS and n.op not in ("Const", "Placeholder"):
                raise GraphModelError(f"{model.path}: node {n.name}: unsupported op {n.op}")
        placeholders = [n for n in self.nodes if n.op == "Placeholder"]
        if len(placeholders) != 1:
            raise GraphModelError(f"{model.path}: {len(placeholders)} inputs; the importer reads models "
                                  "with one image input")
        self.input_name = placeholders[0].name
        self.output_names = list(model.outputs.values()) or [self.nodes[-1].name]
        self.values = {}   # name -> tensor of the batch-1 evaluation (constants are kept from it)
        self.kind = {}     # node name -> BATCHED | UNBATCHED | CONST | SAMPLE

    # --- evaluation -------------------------------------------------------------------------------
    def _run(self, node, values):
        args = [values[self._key(i)] for i in node.inputs if not i.startswith("^")]
        try:
            result = OPS[node.op](node, args)
        except (OpError, RuntimeError, IndexError, ValueError) as e:
            raise GraphModelError(f"{self.model.path}: node {node.name} ({node.op}): {e}") from None
        if isinstance(result, tuple):
            values[node.name] = result[0]
            for i, r in enumerate(result):
                values[f"{node.name}:{i}"] = r
        else:
            values[node.name] = result

    @staticmethod
    def _key(name: str) -> str:
        name = name.lstrip("^")
        return name[:-2] if name.endswith(":0") else name

    def evaluate(self, image: torch.Tensor) -> dict:
        """The whole graph on one image (int32 [1,H,W,3]); returns every node's value."""
        values = {}
        for n in self.nodes:
            if n.op == "Const":
                values[n.name] = torch.from_numpy(self.model.weights[n.name].copy())
            elif n.op == "Placeholder":
                values[n.name] = image
            else:
                self._run(n, values)
        return values

    def outputs(self, image: torch.Tensor) -> list:
        values = self.evaluate(image)
        return [values[self._key(o)] for o in self.output_names]

    # --- splitting --------------------------------------------------------------------------------
    def _classify(self):
        kind = {}
        for n in self.nodes:
            srcs = [kind[_base(i)] for i in n.inputs if not i.startswith("^")]
            live = [k for k in srcs if k != CONST]
            if n.op == "Const" or n.op == "Shape" or (n.op != "Placeholder" and not live):
                kind[n.name] = CONST
            elif n.op == "Placeholder":
                kind[n.name] = BATCHED
            elif any(k == SAMPLE for k in live):
                kind[n.name] = SAMPLE
            elif n.op == "Unpack" and attr_int(n, "axis") == 0 and attr_int(n, "num") == 1 and live == [BATCHED]:
                kind[n.name] = UNBATCHED   # image 0 of a batch of one: the batch axis is dropped
            elif n.op == "Squeeze" and self._dims_are_zero(n) and live == [BATCHED]:
                kind[n.name] = UNBATCHED
            elif n.op == "ExpandDims" and live == [UNBATCHED] and ints(self.values[_base(n.inputs[1])]) == [0]:
                kind[n.name] = BATCHED     # ... and put back
            elif n.op in _BATCH_SAFE and all(k == BATCHED for k in live):
                kind[n.name] = BATCHED
            else:
                kind[n.name] = SAMPLE
        return kind

    def restores_batch(self, node) -> bool:
        return self.kind[node.name] == BATCHED and node.op == "ExpandDims" and \
            self.kind[_base(node.inputs[0])] == UNBATCHED

    @staticmethod
    def _dims_are_zero(node):
        dims = node.attr.get("squeeze_dims", {}).get("list", {}).get("i", [])
        return [int(d) for d in dims] == [0]

    def trace(self, example: torch.Tensor):
        """(net, decode) traced on `example` (int32 [1,H,W,3]): net(x [B,H,W,3] int32) -> list of the
        batched tensors the rest reads; decode(list of those tensors for one image) -> list of outputs."""
        self.values = self.evaluate(example)
        self.kind = self._classify()
        consumers = {}
        for n in self.nodes:
            for i in n.inputs:
                consumers.setdefault(self._key(i), []).append(n.name)
        for n in self.nodes:
            # An image's tensor without its batch axis that the per-image steps read: they drop it there.
            if self.kind[n.name] == UNBATCHED and any(self.kind[c] == SAMPLE for c in consumers.get(n.name, [])):
                self.kind[n.name] = SAMPLE
        frontier = []
        for n in self.nodes:
            if self.kind[n.name] != BATCHED:
                continue
            if any(self.kind[c] == SAMPLE for c in consumers.get(n.name, [])) or n.name in map(self._key, self.output_names):
                frontier.append(n.name)
        net = torch.jit.trace(_Part(self, BATCHED, [self.input_name], frontier), ([example],), check_trace=False)
        unbatched = [f for f in frontier if self.kind[f] != BATCHED]
        if unbatched:
            raise GraphModelError(f"{self.model.path}: node {unbatched[0]}: per-image steps read a tensor "
                                  "whose batch axis was dropped; the importer cannot batch this graph")
        feats = [self.values[f] for f in frontier]
        decode = torch.jit.trace(_Part(self, SAMPLE, frontier, [self._key(o) for o in self.output_names]),
                                 (feats,), check_trace=False)
        return net, decode, frontier


class _Part(torch.nn.Module):
    """The nodes of one kind, fed `inputs` by name, returning `outputs` (constants from the graph)."""

    def __init__(self, graph: TorchGraph, kind: str, inputs: list, outputs: list):
        super().__init__()
        self.graph, self.kind, self.inputs, self.outputs = graph, kind, inputs, outputs

    def forward(self, feeds):
        g = self.graph
        values = {k: v for k, v in g.values.items() if g.kind.get(_base(k)) == CONST}
        values.update(zip(self.inputs, feeds))
        for n in g.nodes:
            if n.name in values:
                continue
            k = g.kind[n.name]
            if self.kind == BATCHED and (k == UNBATCHED or g.restores_batch(n)):
                # The batch axis is physically kept: dropping it for image 0 and putting it back is a no-op.
                values[n.name] = values[g._key(n.inputs[0])]
            elif k == self.kind:
                g._run(n, values)
        return [values[o] for o in self.outputs]
