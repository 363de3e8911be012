"""`rapport train` end to end: read the data, fine-tune, calibrate, save the weights."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import torch

from nlp import artifacts
from nlp.data import Corpus, shared_corpus
from nlp.train import Labels, TrainConfig, calibrate, fit, prepare, training_index

log = logging.getLogger(__name__)

OWN_EXAMPLES = Path(__file__).parent / "data" / "examples.jsonl"


def corpus(data_root: Path, extra: Sequence[Path] = (OWN_EXAMPLES,)) -> Corpus:
    """The shared public sets plus our own labelled examples."""
    return shared_corpus(data_root, extra)


def train(data_root: Path, out: Path, extra: Sequence[Path] = (OWN_EXAMPLES,), cfg: TrainConfig | None = None) -> artifacts.Manifest:
    """Train on `data_root` (+ `extra` JSON lines) and write the weights and manifest to `out`."""
    cfg = cfg or TrainConfig()
    started = time.monotonic()
    data = corpus(data_root, extra)
    examples = data.train + data.calibration
    top, states = prepare(examples, cfg)
    labels = Labels.of(examples)
    n_train = len(data.train)
    log.info("training on %d examples, calibrating on %d", n_train, len(data.calibration))
    fit(top, states, labels, training_index(data.train, cfg), cfg)
    temps = calibrate(top, states[n_train:], labels.take(list(range(n_train, len(examples)))))
    log.info("temperatures %s", temps)
    seconds = round(time.monotonic() - started)
    manifest = artifacts.Manifest(
        version=f"minilm-top{cfg.trainable_layers}-{datetime.now(UTC):%Y%m%d}" if cfg.model is None else f"custom-top{cfg.trainable_layers}",
        base_model="packaged:all-MiniLM-L6-v2" if cfg.model is None else cfg.model,
        split=top.split,
        max_length=cfg.max_length,
        hidden_size=int(top.model.config.hidden_size),  # type: ignore[union-attr]
        temperatures=temps,
        trained={
            "data": [str(data_root)] + [str(p) for p in extra],
            "examples": n_train,
            "calibration_examples": len(data.calibration),
            "epochs": cfg.epochs,
            "trainable_layers": cfg.trainable_layers,
            "seconds": seconds,
            "threads": torch.get_num_threads(),
        },
    )
    artifacts.save(out, top.model, top.heads, manifest)
    log.info("saved to %s in %ds", out, seconds)
    return manifest
