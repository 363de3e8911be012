"""Build the classifier the bot uses, falling back to keyword rules if the model can't be loaded."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from nlp.runtime.tokenizer import ENCODER_BATCH
from nlp.types import Classifier

if TYPE_CHECKING:
    from nlp.manifest import Manifest
    from nlp.model import TransformerClassifier

log = logging.getLogger(__name__)

# What "auto" means when the exported encoder is there: see "Runtime" in nlp/README.md for the
# per-label agreement with PyTorch that chose it.
AUTO = "onnx"

BACKENDS = ("auto", "onnx", "onnx-int8", "torch", "int8")
ONNX = ("onnx", "onnx-int8")


def load_classifier(
    *,
    model: str | None = None,
    weights: str | None = None,
    backend: str = "auto",
    max_length: int = 128,
    threads: int | None = None,
    batch_size: int = ENCODER_BATCH,
    low_confidence: float = 0.5,
) -> Classifier:
    """The trained transformer classifier; `RuleClassifier` (with a warning) if it cannot be loaded.

    `model` is the encoder (None: the packaged all-MiniLM-L6-v2): an exported directory for the ONNX
    backends, a local path or hub id for PyTorch; `weights` a directory written by `rapport train`.
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


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None


def choose(backend: str, model: str | None) -> str:
    """The backend "auto" stands for: ONNX when the encoder is exported, else PyTorch if installed."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend != "auto":
        return backend
    from nlp.runtime.files import NotExported, exported_dir

    try:
        exported_dir(model)
        return AUTO
    except NotExported as exc:
        if not torch_installed():
            raise NotExported(f"{exc}; or install the PyTorch backend with: pip install 'rapport[train]'") from None
        log.info("%s; using PyTorch", exc)
        return "torch"


def load_transformer(
    *,
    model: str | None = None,
    weights: str | None = None,
    backend: str = "auto",
    max_length: int = 128,
    threads: int | None = None,
    batch_size: int = ENCODER_BATCH,
    low_confidence: float = 0.5,
) -> TransformerClassifier:
    """Like `load_classifier`, but raises instead of falling back (for training and evaluation)."""
    from nlp.manifest import WEIGHTS_DIR, read_manifest

    directory = Path(weights) if weights else WEIGHTS_DIR
    manifest = read_manifest(directory)
    if model is None and not manifest.packaged:
        model = manifest.base_model  # weights trained on another encoder need that encoder
    chosen = choose(backend, model)
    options = {"max_length": max_length, "batch_size": batch_size, "low_confidence": low_confidence}
    if chosen in ONNX:
        return _onnx(directory, manifest, model, chosen, threads, options)
    if not torch_installed():
        raise RuntimeError(f"the {chosen} backend needs PyTorch: pip install 'rapport[train]'")
    return _torch(directory, model, chosen, threads, options)


def _onnx(
    directory: Path, manifest: Manifest, model: str | None, backend: str, threads: int | None, options: dict[str, float]
) -> TransformerClassifier:
    from nlp.lexical import Lexical
    from nlp.manifest import BLOCKS, HEADS_FILE
    from nlp.model import TransformerClassifier
    from nlp.runtime.files import BASE, TOKENIZER, exported_dir
    from nlp.runtime.heads import NumpyHeads
    from nlp.runtime.session import OnnxEncoder
    from nlp.runtime.spec import EncoderSpec
    from nlp.runtime.tokenizer import fast_tokenizer
    from nlp.runtime.weights import Checkpoints

    lean = exported_dir(model)
    spec = EncoderSpec.read(lean)
    if spec.hidden != manifest.hidden_size:
        raise ValueError(f"weights expect hidden size {manifest.hidden_size}, the encoder has {spec.hidden}")
    base = Checkpoints([lean / BASE])
    tuned = Checkpoints([directory / BLOCKS])
    strangers = [k for k in tuned.keys() if k not in base]
    if strangers or spec.layers <= manifest.split:
        raise ValueError(f"weights do not fit this encoder (e.g. {strangers[:2]})")
    heads = NumpyHeads(directory / HEADS_FILE)
    if heads.dim != manifest.hidden_size:
        raise ValueError(f"{directory / HEADS_FILE}: heads take {heads.dim} inputs, the encoder gives {spec.hidden}")
    int8 = backend == "onnx-int8"
    encoder = OnnxEncoder(lean, spec, Checkpoints([lean / BASE, directory / BLOCKS]), int8=int8, threads=threads)

    def base_encoder() -> OnnxEncoder:
        return OnnxEncoder(lean, spec, Checkpoints([lean / BASE]), int8=False, threads=threads)

    return TransformerClassifier(
        fast_tokenizer(lean / TOKENIZER),
        spec.pad_token_id,
        encoder,
        heads,
        manifest,
        max_length=max(8, min(int(options["max_length"]), spec.max_length)),
        batch_size=int(options["batch_size"]),
        low_confidence=options["low_confidence"],
        backend=backend,
        lexical=Lexical.load(directory),
        base_pooler=base_encoder,
    )


def _torch(
    directory: Path, model: str | None, backend: str, threads: int | None, options: dict[str, float]
) -> TransformerClassifier:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from nlp import artifacts
    from nlp.encoder import load_backbone
    from nlp.lexical import Lexical
    from nlp.manifest import HEADS_FILE
    from nlp.model import TransformerClassifier
    from nlp.runtime.heads import NumpyHeads
    from nlp.torch_backend import quantize, torch_pooler, transformers_encode

    if threads:
        torch.set_num_threads(threads)
    tokenizer, encoder = load_backbone(model)
    _, manifest = artifacts.load_into(directory, encoder)  # checks the blocks fit and the temperatures
    if backend == "int8":
        encoder = quantize(encoder)
    return TransformerClassifier(
        transformers_encode(tokenizer),
        tokenizer.pad_token_id or 0,  # type: ignore[attr-defined]
        torch_pooler(encoder),
        NumpyHeads(directory / HEADS_FILE),
        manifest,
        max_length=max(8, min(int(options["max_length"]), 512)),  # BERT-family position limit
        batch_size=int(options["batch_size"]),
        low_confidence=options["low_confidence"],
        backend=backend,
        lexical=Lexical.load(directory),
        base_pooler=lambda: torch_pooler(load_backbone(model)[1]),
    )
