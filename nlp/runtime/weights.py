"""The encoder's weights as the ONNX graph takes them: named, transposed for MatMul, int8 if asked.

Weights come from two safetensors files: the base encoder's (embeddings and any frozen blocks) and the
fine-tuned blocks in the weights directory, which replace the base's blocks of the same name. Read
with safetensors' numpy API, so no PyTorch is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from safetensors import safe_open

from nlp.runtime.spec import EncoderSpec

# Checkpoints saved from a task model prefix the encoder's keys; the bare encoder's have no prefix.
PREFIXES = ("bert.", "roberta.", "model.")
# Graph part -> checkpoint key, per block. Query, key and value run as one matrix product ("qkv").
ATTENTION = ("attention.self.query", "attention.self.key", "attention.self.value")
QKV = "attention.self.qkv"
LINEARS = {
    "qkv": QKV,
    "attn_out": "attention.output.dense",
    "inter": "intermediate.dense",
    "out": "output.dense",
}
NORMS = {"ln_attn": "attention.output.LayerNorm", "ln_out": "output.LayerNorm"}
WORDS = "embeddings.word_embeddings.weight"
POSITIONS = "embeddings.position_embeddings.weight"
TYPE0 = "embeddings.token_type_embeddings.weight"  # only row 0 is used: every token is segment 0
EMB_NORM = "embeddings.LayerNorm"


def block_key(layer: int, part: str) -> str:
    return f"encoder.layer.{layer}.{part}"


def shapes(spec: EncoderSpec, int8: bool) -> Iterator[tuple[str, type, tuple[int, ...]]]:
    """Name, numpy dtype and shape of every initializer the graph expects, in graph order."""
    d = spec.hidden
    # The tables stay fp16 (as exported) and are cast after the lookup: half the memory, same values.
    yield WORDS, np.float16, (spec.vocab_size, d)
    yield POSITIONS, np.float16, (spec.max_positions, d)
    yield TYPE0, np.float32, (d,)
    yield f"{EMB_NORM}.weight", np.float32, (d,)
    yield f"{EMB_NORM}.bias", np.float32, (d,)
    for layer in range(spec.layers):
        for part, key in LINEARS.items():
            k_in, n_out = {"qkv": (d, 3 * d), "inter": (d, spec.intermediate), "out": (spec.intermediate, d)}.get(
                part, (d, d)
            )
            name = block_key(layer, key)
            if int8:
                yield f"{name}.weight.int8", np.int8, (k_in, n_out)
                yield f"{name}.weight.scale", np.float32, (n_out,)
            else:
                yield f"{name}.weight.T", np.float32, (k_in, n_out)
            yield f"{name}.bias", np.float32, (n_out,)
        for key in NORMS.values():
            yield f"{block_key(layer, key)}.weight", np.float32, (d,)
            yield f"{block_key(layer, key)}.bias", np.float32, (d,)


class Checkpoints:
    """Tensors by key from several safetensors files; a later file's tensor replaces an earlier one's."""

    def __init__(self, files: list[Path]) -> None:
        self._where: dict[str, tuple[Path, str]] = {}
        for path in files:
            with safe_open(str(path), framework="np") as f:
                for key in f.keys():
                    bare = next((key[len(p) :] for p in PREFIXES if key.startswith(p)), key)
                    self._where[bare] = (path, key)

    def keys(self) -> list[str]:
        return list(self._where)

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def get(self, key: str) -> np.ndarray:
        if key not in self._where:
            raise ValueError(f"no tensor {key!r} in the encoder's weights")
        path, stored = self._where[key]
        with safe_open(str(path), framework="np") as f:
            return f.get_tensor(stored)  # type: ignore[no-any-return]


def quantize_columns(w_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column (scale = max |w| / 127), as ONNX Runtime's dynamic quantisation."""
    scale = np.abs(w_t).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.ascontiguousarray(np.clip(np.rint(w_t / scale), -127, 127), dtype=np.int8), scale


def arrays(spec: EncoderSpec, checkpoints: Checkpoints, int8: bool) -> dict[str, np.ndarray]:
    """Every initializer of the graph, contiguous and in the graph's dtype."""

    def f32(key: str) -> np.ndarray:
        return np.ascontiguousarray(checkpoints.get(key), dtype=np.float32)

    def f16(key: str) -> np.ndarray:
        return np.ascontiguousarray(checkpoints.get(key), dtype=np.float16)

    out = {
        WORDS: f16(WORDS),
        POSITIONS: f16(POSITIONS),
        TYPE0: f32(TYPE0)[0].copy(),
        f"{EMB_NORM}.weight": f32(f"{EMB_NORM}.weight"),
        f"{EMB_NORM}.bias": f32(f"{EMB_NORM}.bias"),
    }
    for layer in range(spec.layers):
        for key in NORMS.values():
            name = block_key(layer, key)
            out[f"{name}.weight"], out[f"{name}.bias"] = f32(f"{name}.weight"), f32(f"{name}.bias")
        for key in LINEARS.values():
            name = block_key(layer, key)
            parts = [block_key(layer, k) for k in ATTENTION] if key == QKV else [name]
            w_t = np.concatenate([checkpoints.get(f"{p}.weight").T for p in parts], axis=1)
            out[f"{name}.bias"] = np.concatenate([f32(f"{p}.bias") for p in parts])
            if int8:
                out[f"{name}.weight.int8"], out[f"{name}.weight.scale"] = quantize_columns(w_t.astype(np.float32))
            else:
                out[f"{name}.weight.T"] = np.ascontiguousarray(w_t, dtype=np.float32)
    expected = {name: (dtype, shape) for name, dtype, shape in shapes(spec, int8)}
    for name, a in out.items():
        dtype, shape = expected[name]
        if a.dtype != dtype or a.shape != shape:
            raise ValueError(f"{name}: weights have {a.dtype} {a.shape}, the encoder needs {np.dtype(dtype)} {shape}")
    return out
