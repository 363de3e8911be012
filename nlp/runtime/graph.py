"""Write the ONNX graph of a BERT-family encoder with mean pooling, its weights left out.

The graph holds every initializer's name, type and shape but no data (external data that
`nlp.runtime.session` hands ONNX Runtime as arrays when it opens the session). So one small graph
file serves every set of fine-tuned weights for an encoder, and retraining needs no new export.
Building the graph needs the `onnx` package (export time only: importing it takes most of a second).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from nlp.runtime import weights as w
from nlp.runtime.spec import EncoderSpec, graph_file

OPSET = 17
INPUTS = ("input_ids", "position_ids", "attention_mask")
OUTPUT = "pooled"
# Where the weights "are": nowhere on disk, a name that says who hands them over.
EXTERNAL = "supplied-by-rapport-at-load"


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []
        self._n = 0

    def op(self, kind: str, *inputs: str, domain: str = "", **attrs: Any) -> str:
        self._n += 1
        out = f"{kind.lower()}_{self._n}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], name=out, domain=domain, **attrs))
        return out

    def split(self, x: str, sizes: str, n: int) -> list[str]:
        self._n += 1
        outs = [f"split_{self._n}_{i}" for i in range(n)]
        self.nodes.append(helper.make_node("Split", [x, sizes], outs, name=f"split_{self._n}", axis=-1))
        return outs

    def const(self, name: str, value: np.ndarray) -> str:
        self.constants.append(onnx.numpy_helper.from_array(value, name))
        return name


def _placeholder(name: str, dtype: type, shape: tuple[int, ...]) -> onnx.TensorProto:
    """An initializer with a shape and no data: ONNX Runtime's add_external_initializers supplies it."""
    t = TensorProto()
    t.name = name
    t.data_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    t.dims.extend(shape)
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", EXTERNAL
    return t


def build(spec: EncoderSpec, int8: bool) -> onnx.ModelProto:
    """Encoder plus mean pooling over the attention mask, as transformers' BertModel computes it.

    Weights enter as the checkpoint stores them (fp16, linear layers as out x in); the casts,
    transposes and joins on them depend on nothing else, so ONNX Runtime folds them once on load.
    """
    b = _Builder()
    d, heads = spec.hidden, spec.heads
    fp32: dict[str, str] = {}

    def f32(name: str) -> str:
        if name not in fp32:
            fp32[name] = b.op("Cast", name, to=TensorProto.FLOAT)
        return fp32[name]

    def matrix(key: str) -> str:  # in x out, fp32
        return b.op("Transpose", f32(f"{key}.weight"), perm=[1, 0])

    def linear(x: str, key: str, parts: list[str]) -> str:
        biases = [f32(f"{p}.bias") for p in parts]
        bias = biases[0] if len(parts) == 1 else b.op("Concat", *biases, axis=0)
        if int8:  # activations quantised per batch by the op, weights int8 per column
            return b.op("DynamicQuantizeMatMul", x, f"{key}.int8", f"{key}.scale", "", bias, domain="com.microsoft")
        weights = matrix(parts[0]) if len(parts) == 1 else b.op("Concat", *(matrix(p) for p in parts), axis=1)
        return b.op("Add", b.op("MatMul", x, weights), bias)

    def norm(x: str, key: str) -> str:
        return b.op("LayerNormalization", x, f32(f"{key}.weight"), f32(f"{key}.bias"), axis=-1, epsilon=spec.eps)

    thirds = b.const("qkv_split", np.array([d, d, d], dtype=np.int64))
    one = b.const("one", np.array(1.0, dtype=np.float32))
    segment0 = b.const("segment_0", np.array([0], dtype=np.int64))
    axis1 = b.const("axis_1", np.array([1], dtype=np.int64))
    axis_last = b.const("axis_last", np.array([-1], dtype=np.int64))

    words = b.op("Cast", b.op("Gather", w.WORDS, "input_ids"), to=TensorProto.FLOAT)
    positions = b.op("Cast", b.op("Gather", w.POSITIONS, "position_ids"), to=TensorProto.FLOAT)
    segment = f32(b.op("Gather", w.TYPES, segment0))  # 1 x hidden: every token is in segment 0
    x = norm(b.op("Add", b.op("Add", words, positions), segment), w.EMB_NORM)
    mask = b.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    padding = b.op("Cast", "attention_mask", to=TensorProto.INT32)  # 1 attend, 0 padding

    for layer in range(spec.layers):
        qkv = [w.block_key(layer, p) for p in w.ATTENTION]
        q, k, v = b.split(linear(x, w.block_key(layer, w.QKV), qkv), thirds, 3)
        # ONNX Runtime's fused attention: softmax(q k^T / sqrt(head size), padding masked) v, heads merged.
        context = b.op("MultiHeadAttention", q, k, v, "", padding, domain="com.microsoft", num_heads=heads)
        attn_out, inter, out = (w.block_key(layer, p) for p in w.DENSE)
        x = norm(b.op("Add", linear(context, attn_out, [attn_out]), x), w.block_key(layer, w.NORMS["ln_attn"]))
        inner = linear(x, inter, [inter])
        half = b.const(f"half_{layer}", np.array(0.5, dtype=np.float32))
        root2 = b.const(f"sqrt2_{layer}", np.array(math.sqrt(2.0), dtype=np.float32))
        gelu = b.op("Mul", b.op("Mul", inner, half), b.op("Add", b.op("Erf", b.op("Div", inner, root2)), one))
        x = norm(b.op("Add", linear(gelu, out, [out]), x), w.block_key(layer, w.NORMS["ln_out"]))

    weights3 = b.op("Unsqueeze", mask, axis_last)  # batch, length, 1
    total = b.op("ReduceSum", b.op("Mul", x, weights3), axis1, keepdims=0)
    count = b.op("Max", b.op("ReduceSum", weights3, axis1, keepdims=0), one)
    b.nodes.append(helper.make_node("Div", [total, count], [OUTPUT], name=OUTPUT))

    dims = ["batch", "length"]
    graph = helper.make_graph(
        b.nodes,
        f"{spec.model_type}-{spec.layers}x{spec.hidden}{'-int8' if int8 else ''}",
        [helper.make_tensor_value_info(name, TensorProto.INT64, dims) for name in INPUTS],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", d])],
        initializer=[*b.constants, *(_placeholder(*s) for s in w.shapes(spec, int8))],
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="rapport")
    model.ir_version = 8  # readable by every ONNX Runtime since 1.10
    return model


def write(spec: EncoderSpec, directory: Path) -> list[Path]:
    """The fp32 and int8 graphs for this encoder, byte for byte the same on every run."""
    paths = []
    for int8 in (False, True):
        path = directory / graph_file(int8)
        path.write_bytes(build(spec, int8).SerializeToString(deterministic=True))
        paths.append(path)
    return paths
