"""Build the classifier the bot uses, falling back to keyword rules if the model can't be loaded."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlp.types import Classifier

if TYPE_CHECKING:
    from nlp.model import TransformerClassifier

log = logging.getLogger(__name__)

# What "auto" means: fp32 PyTorch, because int8 moved the sentence vectors too far (see MODEL_CARD.md).
AUTO = "torch"

BACKENDS = ("auto", "torch", "int8", "onnx")


def load_classifier(
    *,
    model: str | None = None,
    weights: str | None = None,
    backend: str = "auto",
    max_length: int = 128,
    threads: int | None = None,
    batch_size: int = 32,
    low_confidence: float = 0.5,
) -> Classifier:
    """The trained transformer classifier; `RuleClassifier` (with a warning) if it cannot be loaded.

    `model` is a local path or hub id of a transformers encoder (None: the packaged all-MiniLM-L6-v2);
    `weights` a directory written by `rapport train` (None: the shipped nlp/weights/).
    """
    try:
        return load_transformer(
            model=model,
            weights=weights,
            backend=backend,
            max_length=max_length,
            threads=threads,
            batch_size=batch_size,
            low_confidence=low_confidence,
        )
    except Exception as exc:  # any failure must leave the bot running on the fallback
        from nlp.rules import RuleClassifier

        log.warning("transformer classifier unavailable (%s: %s); using keyword rules", type(exc).__name__, exc)
        return RuleClassifier(low_confidence=low_confidence)


def load_transformer(
    *,
    model: str | None = None,
    weights: str | None = None,
    backend: str = "auto",
    max_length: int = 128,
    threads: int | None = None,
    batch_size: int = 32,
    low_confidence: float = 0.5,
) -> TransformerClassifier:
    """Like `load_classifier`, but raises instead of falling back (for training and evaluation)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from nlp import artifacts
    from nlp.encoder import load_backbone
    from nlp.lexical import Lexical
    from nlp.model import Pooler, TransformerClassifier, torch_pooler

    if threads:
        torch.set_num_threads(threads)
    directory = Path(weights) if weights else artifacts.WEIGHTS_DIR
    manifest = artifacts.read_manifest(directory)
    if model is None and not manifest.base_model.startswith("packaged:"):
        model = manifest.base_model  # weights trained on another encoder need that encoder
    tokenizer, encoder = load_backbone(model)
    heads, manifest = artifacts.load_into(directory, encoder)
    chosen = AUTO if backend == "auto" else backend
    pooler: Pooler | None = None
    if chosen == "onnx":
        try:
            from nlp.onnx_backend import onnx_pooler

            pooler = onnx_pooler(encoder, threads)
        except Exception as exc:  # no `onnx` package to export with, or an export failure
            log.warning(
                "ONNX backend unavailable (%s: %s); using PyTorch. Install it with: pip install 'rapport[onnx]'",
                type(exc).__name__,
                exc,
            )
            chosen = "torch"
    if chosen == "int8":
        encoder = _quantize(encoder)
    return TransformerClassifier(
        tokenizer,
        pooler or torch_pooler(encoder),
        heads,
        manifest,
        max_length=max(8, min(max_length, 512)),  # BERT-family position limit
        batch_size=batch_size,
        low_confidence=low_confidence,
        backend=chosen,
        lexical=Lexical.load(directory),
        base_pooler=lambda: torch_pooler(load_backbone(model)[1]),
    )


def _quantize(encoder: Any) -> Any:
    """Dynamic int8 quantisation of the linear layers: weights int8, activations quantised per batch."""
    import warnings

    import torch
    from torch import nn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch flags the eager quantisation API as deprecated
        return torch.ao.quantization.quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8)
