"""Train the lexical model and choose how much of it to blend into each head, on held-out data."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from nlp import lexical
from nlp.data import Corpus, Example
from nlp.heads import fit_temperature
from nlp.labels import HEADS
from nlp.metrics import report
from nlp.text import normalise

log = logging.getLogger(__name__)

WEIGHTS = tuple(w / 10 for w in range(8))


def _labelled(rows: Sequence[Example], head: str) -> tuple[list[str], np.ndarray]:
    pairs = [(normalise(e.text), getattr(e, head)) for e in rows if getattr(e, head) is not None]
    return [t for t, _ in pairs], np.array([y for _, y in pairs])


def train(data: Corpus, weights: Path) -> lexical.Lexical:
    """Fit on the training split, pick blend weights and temperatures on the calibration split, save."""
    from nlp.loader import load_transformer

    texts, labels = {}, {}
    for head in lexical.HEADS:
        texts[head], labels[head] = _labelled(data.train, head)
    model = lexical.fit(texts, labels)
    classifier = load_transformer(weights=str(weights), backend="torch")
    for head in lexical.HEADS:
        cal = [e for e in data.calibration if getattr(e, head) is not None]
        truth = np.array([getattr(e, head) for e in cal])
        p = classifier.probabilities([e.text for e in cal], lexical=False)[head]
        q = model.log_probabilities([normalise(e.text) for e in cal])[head]
        # Macro recall is what sentiment is judged on; macro-F1 for the binary heads.
        score = {w: _score(head, truth, lexical.mixed(p, q, w, 1.0)) for w in WEIGHTS}
        weight = max(score, key=lambda w: score[w])
        z = torch.from_numpy((1 - weight) * np.log(np.clip(p, 1e-9, 1)) + weight * q)
        allowed = torch.nn.functional.one_hot(torch.from_numpy(truth), len(HEADS[head]))
        temperature = fit_temperature(z.float(), allowed)
        model.blend[head] = {"weight": weight, "temperature": temperature}
        log.info(
            "lexical %s: weight %.1f (score %.3f vs %.3f alone), temperature %.2f",
            head,
            weight,
            score[weight],
            score[0.0],
            temperature,
        )
    model.save(weights)
    return model


def _score(head: str, truth: np.ndarray, probs: np.ndarray) -> float:
    r = report(truth, probs, HEADS[head])
    return r.macro_recall if head == "sentiment" else r.macro_f1
