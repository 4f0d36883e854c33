"""TensorFlow graph ops (as TF.js graph models use them) evaluated with torch ops, with TF's semantics:
NHWC tensors, TF "SAME" padding, int32 indices, half-pixel bilinear resizing.

    OPS[op](node, args) -> Tensor or tuple of Tensors (multi-output ops: "name", "name:1", ...)

`args` are the node's input values in order. An op missing here is not supported (the importer refuses
the model naming the op and the node). Stateless: plain functions.
"""
import torch
import torch.nn.functional as F

_DTYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_BOOL": torch.bool, "DT_INT64": torch.int64}


class OpError(ValueError):
    pass


def attr_int(node, key, default=0):
    return int(node.attr.get(key, {}).get("i", default))


def attr_ints(node, key):
    return [int(v) for v in node.attr.get(key, {}).get("list", {}).get("i", [])]


def attr_str(node, key, default=""):
    import base64
    value = node.attr.get(key, {}).get("s")
    return base64.b64decode(value).decode() if value is not None else default


def attr_strs(node, key):
    import base64
    return [base64.b64decode(v).decode() for v in node.attr.get(key, {}).get("list", {}).get("s", [])]


def attr_bool(node, key, default=False):
    return bool(node.attr.get(key, {}).get("b", default))


def attr_type(node, key):
    name = node.attr.get(key, {}).get("type", "DT_FLOAT")
    if name not in _DTYPES:
        raise OpError(f"data type {name} ({key})")
    return _DTYPES[name]


def ints(t):
    """A small constant tensor as Python ints (shapes, axes, slice bounds)."""
    return [int(v) for v in t.reshape(-1).tolist()]


def _same_pads(size, kernel, stride, dilation):
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _pads(x, node, kh, kw):
    """(left, right, top, bottom) of TF padding for NCHW `x`."""
    padding = attr_str(node, "padding", "VALID")
    if padding == "VALID":
        return 0, 0, 0, 0
    if padding != "SAME":
        raise OpError(f"padding {padding}")
    _, sh, sw, _ = attr_ints(node, "strides") or [1, 1, 1, 1]
    dil = attr_ints(node, "dilations") or [1, 1, 1, 1]
    top, bottom = _same_pads(x.shape[2], kh, sh, dil[1])
    left, right = _same_pads(x.shape[3], kw, sw, dil[2])
    return left, right, top, bottom


def _pad_nchw(x, node, kh, kw, value=0.0):
    pads = _pads(x, node, kh, kw)
    return x if not any(pads) else F.pad(x, pads, value=value)


def _check_nhwc(node):
    fmt = attr_str(node, "data_format", "NHWC")
    if fmt != "NHWC":
        raise OpError(f"data_format {fmt}")


def _activate(node, y, fused):
    for op in fused:
        if op == "BiasAdd":
            continue
        if op == "Relu":
            y = torch.relu(y)
        elif op == "Relu6":
            y = F.hardtanh(y, 0.0, 6.0)  # = clamp; the form XNNPACK's rewrite fuses into the convolution
        elif op == "Sigmoid":
            y = torch.sigmoid(y)
        else:
            raise OpError(f"fused op {op}")
    return y


def _conv(node, args, depthwise):
    _check_nhwc(node)
    x, w = args[0], args[1]
    kh, kw = w.shape[0], w.shape[1]
    strides = attr_ints(node, "strides") or [1, 1, 1, 1]
    dil = attr_ints(node, "dilations") or [1, 1, 1, 1]
    xc = x.permute(0, 3, 1, 2)
    left, right, top, bottom = _pads(xc, node, kh, kw)
    # Even padding goes into the convolution (no padded copy; one operator for XNNPACK); TF's uneven
    # SAME padding of strided convolutions stays a separate pad.
    if left == right and top == bottom:
        conv_padding = (top, left)
    else:
        xc = F.pad(xc, (left, right, top, bottom))
        conv_padding = (0, 0)
    if depthwise:
        channels, mult = w.shape[2], w.shape[3]
        weight = w.permute(2, 3, 0, 1).reshape(channels * mult, 1, kh, kw)
        groups = channels
    else:
        weight = w.permute(3, 2, 0, 1)
        groups = 1
    fused = attr_strs(node, "fused_ops")
    if fused and fused[0] != "BiasAdd":
        raise OpError(f"fused ops {fused}")
    bias = args[2] if fused else None
    y = F.conv2d(xc, weight.contiguous(), bias, stride=(strides[1], strides[2]), padding=conv_padding,
                 dilation=(dil[1], dil[2]), groups=groups)
    return _activate(node, y, fused).permute(0, 2, 3, 1)


def _resize_bilinear(node, args):
    x, size = args
    h, w = ints(size)
    if attr_bool(node, "align_corners"):
        y = F.interpolate(x.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=True)
    elif attr_bool(node, "half_pixel_centers"):
        y = F.interpolate(x.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=False)
    else:
        raise OpError("ResizeBilinear without half_pixel_centers or align_corners (TF's legacy mapping)")
    return y.permute(0, 2, 3, 1)


def _max_pool(node, args):
    _check_nhwc(node)
    _, kh, kw, _ = attr_ints(node, "ksize")
    _, sh, sw, _ = attr_ints(node, "strides")
    xc = _pad_nchw(args[0].permute(0, 3, 1, 2), node, kh, kw, value=float("-inf"))
    return F.max_pool2d(xc, (kh, kw), (sh, sw)).permute(0, 2, 3, 1)


def _strided_slice(node, args):
    x, begin, end, strides = args[0], ints(args[1]), ints(args[2]), ints(args[3])
    masks = {k: attr_int(node, k + "_mask") for k in ("begin", "end", "ellipsis", "new_axis", "shrink_axis")}
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        bit = 1 << i
        if masks["ellipsis"] & bit:
            index.append(Ellipsis)
        elif masks["new_axis"] & bit:
            index.append(None)
        elif masks["shrink_axis"] & bit:
            index.append(b)
        else:
            if s <= 0:
                raise OpError(f"StridedSlice with stride {s}")
            index.append(slice(None if masks["begin"] & bit else b, None if masks["end"] & bit else e, s))
    return x[tuple(index)]


def _gather_nd(node, args):
    params, indices = args
    idx = indices.long()
    return params[tuple(idx[..., i] for i in range(idx.shape[-1]))]


def _select(node, args):
    cond, t, e = args
    if node.op == "Select" and cond.dim() < t.dim():
        cond = cond.reshape(list(cond.shape) + [1] * (t.dim() - cond.dim()))
    return torch.where(cond, t, e)


def _reduce(fn):
    def op(node, args):
        axes = ints(args[1])
        keep = attr_bool(node, "keep_dims")
        return fn(args[0], dim=axes, keepdim=keep) if axes else args[0]
    return op


def _topk(node, args):
    values, indices = torch.topk(args[0], ints(args[1])[0], dim=-1, largest=True, sorted=True)
    return values, indices.to(torch.int32)


def _argmax(node, args):
    return torch.argmax(args[0], dim=ints(args[1])[0]).to(attr_type(node, "output_type"))


def _squeeze(node, args):
    dims = attr_ints(node, "squeeze_dims")
    x = args[0]
    if not dims:
        return x.squeeze()
    for d in sorted((d % x.dim() for d in dims), reverse=True):
        x = x.squeeze(d)
    return x


def _floordiv(node, args):
    a, b = args
    if a.is_floating_point() or b.is_floating_point():
        return torch.floor(a / b)
    return torch.div(a, b, rounding_mode="floor").to(a.dtype)


def _range(node, args):
    start, limit, delta = (v.item() for v in args)
    dtype = args[0].dtype
    return torch.arange(start, limit, delta, dtype=dtype)


OPS = {
    "Identity": lambda n, a: a[0],
    "Cast": lambda n, a: a[0].to(attr_type(n, "DstT")),
    "_FusedConv2D": lambda n, a: _conv(n, a, depthwise=False),
    "Conv2D": lambda n, a: _conv(n, a, depthwise=False),
    "FusedDepthwiseConv2dNative": lambda n, a: _conv(n, a, depthwise=True),
    "DepthwiseConv2dNative": lambda n, a: _conv(n, a, depthwise=True),
    "ResizeBilinear": _resize_bilinear,
    "MaxPool": _max_pool,
    "Relu": lambda n, a: torch.relu(a[0]),
    "Relu6": lambda n, a: F.hardtanh(a[0], 0.0, 6.0),
    "Sigmoid": lambda n, a: torch.sigmoid(a[0]),
    "Sqrt": lambda n, a: torch.sqrt(a[0]),
    "Exp": lambda n, a: torch.exp(a[0]),
    "Abs": lambda n, a: torch.abs(a[0]),
    "Reciprocal": lambda n, a: torch.reciprocal(a[0]),
    "AddV2": lambda n, a: a[0] + a[1],
    "Add": lambda n, a: a[0] + a[1],
    "AddN": lambda n, a: sum(a[1:], a[0]),
    "Sub": lambda n, a: a[0] - a[1],
    "Mul": lambda n, a: a[0] * a[1],
    "RealDiv": lambda n, a: a[0] / a[1],
    "FloorDiv": _floordiv,
    "SquaredDifference": lambda n, a: (a[0] - a[1]) * (a[0] - a[1]),
    "Maximum": lambda n, a: torch.maximum(a[0], a[1]),
    "Minimum": lambda n, a: torch.minimum(a[0], a[1]),
    "Less": lambda n, a: a[0] < a[1],
    "Greater": lambda n, a: a[0] > a[1],
    "GreaterEqual": lambda n, a: a[0] >= a[1],
    "Equal": lambda n, a: a[0] == a[1],
    "LogicalAnd": lambda n, a: torch.logical_and(a[0], a[1]),
    "Select": _select,
    "SelectV2": _select,
    "Reshape": lambda n, a: a[0].reshape(ints(a[1])),
    "ExpandDims": lambda n, a: a[0].unsqueeze(ints(a[1])[0] if ints(a[1])[0] >= 0 else a[0].dim() + 1 + ints(a[1])[0]),
    "Squeeze": _squeeze,
    "Pack": lambda n, a: torch.stack(a, dim=attr_int(n, "axis")),
    "Unpack": lambda n, a: tuple(torch.unbind(a[0], dim=attr_int(n, "axis"))),
    "ConcatV2": lambda n, a: torch.cat(a[:-1], dim=ints(a[-1])[0]),
    "Split": lambda n, a: tuple(torch.chunk(a[1], attr_int(n, "num_split"), dim=ints(a[0])[0])),
    "StridedSlice": _strided_slice,
    "Tile": lambda n, a: a[0].repeat(ints(a[1])),
    "Fill": lambda n, a: torch.full(ints(a[0]), a[1].item(), dtype=a[1].dtype),
    "Range": _range,
    "Size": lambda n, a: torch.tensor(a[0].numel(), dtype=torch.int32),
    "Shape": lambda n, a: torch.tensor(list(a[0].shape), dtype=torch.int32),
    "TopKV2": _topk,
    "GatherNd": _gather_nd,
    "ArgMax": _argmax,
    "Max": _reduce(torch.amax),
    "Sum": _reduce(torch.sum),
}
