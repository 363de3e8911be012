"""The torch-free runtime's parts: batching, numpy heads, int8 quantisation, mapped weights, the export check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from nlp.labels import HEADS
from nlp.loader import choose
from nlp.runtime.files import NotExported, exported_dir
from nlp.runtime.heads import NumpyHeads
from nlp.runtime.spec import EncoderSpec
from nlp.runtime.tokenizer import batches
from nlp.runtime.weights import Checkpoints, MappedSafetensors, quantize_columns


def test_batches_keep_order_pad_and_stay_within_the_token_budget() -> None:
    ids = [[1] * n for n in (5, 3, 40, 7, 40, 2)]
    got = list(batches(ids, batch_size=4, pad=0, max_tokens=90))
    assert sorted(i for b in got for i in b.index) == list(range(len(ids)))
    for b in got:
        assert b.input_ids.size <= 90 or len(b.index) == 1
        for row, i in enumerate(b.index):
            assert b.attention_mask[row].sum() == len(ids[i])
            assert (b.input_ids[row, len(ids[i]) :] == 0).all()
    assert [len(b.index) for b in got] == [4, 2]  # 4 short ones, then the two 40-token texts together


def test_one_text_longer_than_the_budget_gets_a_batch_of_its_own() -> None:
    (batch,) = batches([[7] * 100], batch_size=32, pad=0, max_tokens=10)
    assert batch.input_ids.shape == (1, 100)


def _heads_file(path: Path, temperature: float = 2.0) -> Path:
    rng = np.random.default_rng(0)
    tensors = {}
    for h, labels in HEADS.items():
        tensors[f"linear.{h}.weight"] = rng.normal(size=(len(labels), 8)).astype(np.float32)
        tensors[f"linear.{h}.bias"] = rng.normal(size=len(labels)).astype(np.float32)
    tensors["temperature"] = np.full(len(HEADS), temperature, dtype=np.float32)
    save_file(tensors, str(path))
    return path


def test_numpy_heads_are_temperature_scaled_softmaxes(tmp_path: Path) -> None:
    heads = NumpyHeads(_heads_file(tmp_path / "heads.safetensors", temperature=2.0))
    pooled = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    probs = heads.probabilities(pooled)
    tensors = load_file(str(tmp_path / "heads.safetensors"))
    for h in HEADS:
        z = (pooled @ tensors[f"linear.{h}.weight"].T + tensors[f"linear.{h}.bias"]) / 2.0
        expected = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        np.testing.assert_allclose(probs[h], expected, rtol=1e-5)


def test_numpy_heads_refuse_a_non_positive_temperature(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="temperatures"):
        NumpyHeads(_heads_file(tmp_path / "heads.safetensors", temperature=0.0))


def test_int8_columns_round_trip_within_half_a_step() -> None:
    w = np.random.default_rng(2).normal(size=(16, 5)).astype(np.float32)
    w[:, 3] = 0.0  # an all-zero column must not divide by zero
    q, scale = quantize_columns(w)
    assert q.dtype == np.int8 and scale.shape == (5,)
    assert (np.abs(q.astype(np.float32) * scale - w) <= scale / 2 + 1e-7).all()


def test_mapped_safetensors_read_what_safetensors_wrote(tmp_path: Path) -> None:
    tensors = {
        "a": np.arange(12, dtype=np.float16).reshape(3, 4),
        "bert.b": np.linspace(-1, 1, 5, dtype=np.float32),
    }
    save_file(tensors, str(tmp_path / "w.safetensors"), metadata={"format": "np"})
    mapped = MappedSafetensors(tmp_path / "w.safetensors")
    assert sorted(mapped.keys()) == ["a", "bert.b"]
    np.testing.assert_array_equal(mapped.get("a"), tensors["a"])
    checkpoints = Checkpoints([tmp_path / "w.safetensors"])
    np.testing.assert_array_equal(checkpoints.get("b"), tensors["bert.b"])  # task-model prefix dropped
    checkpoints.release()
    np.testing.assert_array_equal(checkpoints.get("b"), tensors["bert.b"])  # released pages read back


def test_a_later_checkpoint_replaces_an_earlier_ones_tensor(tmp_path: Path) -> None:
    save_file({"x": np.zeros(2, dtype=np.float16)}, str(tmp_path / "base.safetensors"))
    save_file({"x": np.ones(2, dtype=np.float16)}, str(tmp_path / "top.safetensors"))
    checkpoints = Checkpoints([tmp_path / "base.safetensors", tmp_path / "top.safetensors"])
    np.testing.assert_array_equal(checkpoints.get("x"), [1, 1])


def test_an_encoder_without_an_export_names_the_command_that_makes_it(tmp_path: Path) -> None:
    with pytest.raises(NotExported, match=f"rapport model export --model {tmp_path} --out DIR"):
        exported_dir(str(tmp_path))


def test_auto_means_onnx_when_the_packaged_encoder_is_exported() -> None:
    assert choose("auto", None) == "onnx"
    assert choose("onnx-int8", None) == "onnx-int8"
    with pytest.raises(ValueError, match="unknown backend"):
        choose("tpu", None)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"model_type": "gpt2"}, "does not support"), ({"position_embedding_type": "relative_key"}, "absolute")],
)
def test_the_onnx_path_refuses_encoders_its_graph_cannot_express(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    from nlp.runtime.files import PACKAGED_DIR

    config = json.loads((PACKAGED_DIR / "config.json").read_text()) | change
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        EncoderSpec.read(tmp_path)
