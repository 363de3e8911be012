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
from nlp.labels import COMPLAINT_LIKE, HEADS
from nlp.metrics import report
from nlp.text import normalise

log = logging.getLogger(__name__)

WEIGHTS = tuple(w / 10 for w in range(8))


# The lexical complaint model learns tweet wording from these sources only: the intent data sets
# (Banking77, CLINC150, Bitext) are another register, and ten times larger, so they would swamp it.
COMPLAINT_SOURCES = ("complaints", "own")


def complaint_label(e: Example) -> int | None:
    """1 if every intent the example allows is complaint-like, 0 if none is, None if mixed or unlabelled."""
    if e.source not in COMPLAINT_SOURCES or not e.intents:
        return None
    like = set(e.intents) & set(COMPLAINT_LIKE)
    if like and like == set(e.intents):
        return 1
    return None if like else 0


def _label(e: Example, head: str) -> int | None:
    return complaint_label(e) if head == lexical.COMPLAINT else getattr(e, head)  # type: ignore[no-any-return]


def labelled(rows: Sequence[Example], head: str) -> tuple[list[str], np.ndarray]:
    """Normalised texts and labels of the rows that label `head`."""
    pairs = [(normalise(e.text), _label(e, head)) for e in rows if _label(e, head) is not None]
    return [t for t, _ in pairs], np.array([y for _, y in pairs])


def train(
    data: Corpus, weights: Path, complaint_weight: float | None = None, heads: Sequence[str] = ("sentiment",)
) -> lexical.Lexical:
    """Fit on the training split, pick blend weights and temperatures on the calibration split, save.

    `complaint_weight`, when given, is the complaint blend weight chosen by cross-validation (a
    better judge than the ~120 complaint tweets in the calibration split); its temperature is
    still fitted on the calibration split.
    """
    from nlp.loader import load_transformer

    texts, labels = {}, {}
    for head in heads:
        texts[head], labels[head] = labelled(data.train, head)
    model = lexical.fit(texts, labels)
    classifier = load_transformer(weights=str(weights), backend="torch")
    for head in heads:
        cal = [e for e in data.calibration if _label(e, head) is not None]
        truth = np.array([_label(e, head) for e in cal])
        q = model.log_probabilities([normalise(e.text) for e in cal])[head]
        probs = classifier.probabilities([e.text for e in cal], lexical=False)
        if head == lexical.COMPLAINT:
            c = lexical.complaint_probability(probs["intent"])
            p = np.stack([1 - c, c], axis=1)
        else:
            p = probs[head]
        # Macro recall is what sentiment is judged on; macro-F1 for the binary heads.
        score = {w: _score(head, truth, lexical.mixed(p, q, w, 1.0)) for w in WEIGHTS}
        weight = max(score, key=lambda w: score[w])
        if head == lexical.COMPLAINT and complaint_weight is not None:
            weight = complaint_weight
            score[weight] = _score(head, truth, lexical.mixed(p, q, weight, 1.0))
        z = torch.from_numpy((1 - weight) * np.log(np.clip(p, 1e-9, 1)) + weight * q)
        allowed = torch.nn.functional.one_hot(torch.from_numpy(truth), len(p[0]))
        temperature = fit_temperature(z.float(), allowed)
        model.blend[head] = {"weight": weight, "temperature": temperature}
        log.info(
            "lexical %s: weight %.2f (calibration split: %.3f blended, %.3f heads alone), temperature %.2f",
            head,
            weight,
            score[weight],
            score[0.0],
            temperature,
        )
    model.save(weights)
    return model


def _score(head: str, truth: np.ndarray, probs: np.ndarray) -> float:
    r = report(truth, probs, HEADS.get(head, ("no", "yes")))
    return r.macro_recall if head == "sentiment" else r.macro_f1
