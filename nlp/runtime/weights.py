"""The encoder's weights as the ONNX graph takes them: checkpoint tensors read in place from safetensors files.

Weights come from two files: the base encoder's (embeddings and any frozen blocks) and the fine-tuned
blocks in the weights directory, which replace the base's blocks of the same name. Both are mapped
into memory, not read: ONNX Runtime copies what it needs when it opens the session (casting to fp32,
transposing and joining the query, key and value matrices as it folds the graph's constants), and
`release()` then hands the mapped pages back, so the process holds one copy of the weights, not two.
Only int8 needs numpy work of its own: the quantised matrices (see `quantize_columns`).
"""

from __future__ import annotations

import json
import mmap
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nlp.runtime.spec import EncoderSpec

# Checkpoints saved from a task model prefix the encoder's keys; the bare encoder's have no prefix.
PREFIXES = ("bert.", "roberta.", "model.")
# Per block: query, key and value run as one matrix product; the other products one each.
ATTENTION = ("attention.self.query", "attention.self.key", "attention.self.value")
QKV = "attention.self.qkv"
DENSE = ("attention.output.dense", "intermediate.dense", "output.dense")
NORMS = {"ln_attn": "attention.output.LayerNorm", "ln_out": "output.LayerNorm"}
WORDS = "embeddings.word_embeddings.weight"
POSITIONS = "embeddings.position_embeddings.weight"
TYPES = "embeddings.token_type_embeddings.weight"  # only row 0 is used: every token is segment 0
EMB_NORM = "embeddings.LayerNorm"
STORED = np.float16  # what export and training write; other dtypes are converted on load
DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "I64": np.int64}


def block_key(layer: int, part: str) -> str:
    return f"encoder.layer.{layer}.{part}"


def linear_shape(spec: EncoderSpec, part: str) -> tuple[int, int]:
    """(out, in) of a checkpoint's linear layer, as stored."""
    d = spec.hidden
    return {"intermediate.dense": (spec.intermediate, d), "output.dense": (d, spec.intermediate)}.get(part, (d, d))


def shapes(spec: EncoderSpec, int8: bool) -> Iterator[tuple[str, type, tuple[int, ...]]]:
    """Name, numpy dtype and shape of every initializer the graph expects, in graph order."""
    d = spec.hidden
    yield WORDS, STORED, (spec.vocab_size, d)
    yield POSITIONS, STORED, (spec.max_positions, d)
    yield TYPES, STORED, (spec.type_vocab, d)
    yield f"{EMB_NORM}.weight", STORED, (d,)
    yield f"{EMB_NORM}.bias", STORED, (d,)
    for layer in range(spec.layers):
        if int8:
            yield f"{block_key(layer, QKV)}.int8", np.int8, (d, 3 * d)
            yield f"{block_key(layer, QKV)}.scale", np.float32, (3 * d,)
        for part in ATTENTION if not int8 else ():
            yield f"{block_key(layer, part)}.weight", STORED, (d, d)
        for part in ATTENTION:
            yield f"{block_key(layer, part)}.bias", STORED, (d,)
        for part in DENSE:
            out_dim, in_dim = linear_shape(spec, part)
            if int8:
                yield f"{block_key(layer, part)}.int8", np.int8, (in_dim, out_dim)
                yield f"{block_key(layer, part)}.scale", np.float32, (out_dim,)
            else:
                yield f"{block_key(layer, part)}.weight", STORED, (out_dim, in_dim)
            yield f"{block_key(layer, part)}.bias", STORED, (out_dim,)
        for part in NORMS.values():
            yield f"{block_key(layer, part)}.weight", STORED, (d,)
            yield f"{block_key(layer, part)}.bias", STORED, (d,)


class MappedSafetensors:
    """The tensors of one safetensors file as read-only numpy views of the mapped file (its documented layout:
    an 8-byte header length, a JSON header of dtype, shape and byte offsets, then the data)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        (length,) = struct.unpack("<Q", self._map[:8])
        header = json.loads(self._map[8 : 8 + length])
        header.pop("__metadata__", None)
        self._start = 8 + length
        self._header: dict[str, dict[str, Any]] = header

    def keys(self) -> list[str]:
        return list(self._header)

    def get(self, key: str) -> np.ndarray:
        entry = self._header[key]
        dtype = DTYPES.get(str(entry["dtype"]))
        if dtype is None:
            raise ValueError(f"{self.path}: {key} is {entry['dtype']}, which the ONNX path does not read")
        begin, end = (int(x) for x in entry["data_offsets"])
        shape = tuple(int(x) for x in entry["shape"])
        count = (end - begin) // np.dtype(dtype).itemsize
        return np.frombuffer(self._map, dtype=dtype, count=count, offset=self._start + begin).reshape(shape)

    def release(self) -> None:
        """Drop the mapped pages from this process's memory; they are read from the file again if touched."""
        self._map.madvise(mmap.MADV_DONTNEED)


class Checkpoints:
    """Tensors by key from several safetensors files; a later file's tensor replaces an earlier one's."""

    def __init__(self, files: list[Path]) -> None:
        self.files = [MappedSafetensors(p) for p in files]
        self._where: dict[str, tuple[MappedSafetensors, str]] = {}
        for f in self.files:
            for key in f.keys():
                bare = next((key[len(p) :] for p in PREFIXES if key.startswith(p)), key)
                self._where[bare] = (f, key)

    def keys(self) -> list[str]:
        return list(self._where)

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def get(self, key: str) -> np.ndarray:
        if key not in self._where:
            raise ValueError(f"no tensor {key!r} in the encoder's weights")
        f, stored = self._where[key]
        return f.get(stored)

    def release(self) -> None:
        for f in self.files:
            f.release()


def quantize_columns(w_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column (scale = max |w| / 127), as ONNX Runtime's dynamic quantisation."""
    scale = np.abs(w_t).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.ascontiguousarray(np.clip(np.rint(w_t / scale), -127, 127), dtype=np.int8), scale


def arrays(spec: EncoderSpec, checkpoints: Checkpoints, int8: bool) -> dict[str, np.ndarray]:
    """Every initializer of the graph: views of the mapped files, and the quantised matrices for int8."""
    out: dict[str, np.ndarray] = {}
    for name, dtype, shape in shapes(spec, int8):
        stem, _, kind = name.rpartition(".")
        if kind in ("int8", "scale"):
            if kind == "int8":
                parts = [stem.replace(QKV, p) for p in ATTENTION] if stem.endswith(QKV) else [stem]
                w_t = np.concatenate([checkpoints.get(f"{p}.weight").astype(np.float32).T for p in parts], axis=1)
                out[f"{stem}.int8"], out[f"{stem}.scale"] = quantize_columns(w_t)
            continue
        a = checkpoints.get(name)
        if a.dtype != dtype:
            a = a.astype(dtype)  # a copy: weights saved in another precision
        if a.shape != shape:
            raise ValueError(f"{name}: the weights have shape {a.shape}, the encoder needs {shape}")
        out[name] = a
    return out
