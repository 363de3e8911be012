"""Complaint detection by k-fold cross-validation of the training recipe.

Stage 1 of training never sees a complaint tweet, so each fold starts from the stage-1 weights,
runs stage 2 with that fold's complaint tweets held out (from training and calibration alike),
then scores them: complaint or cancellation vs the data set's label. Each fold also fits the
lexical complaint model without its tweets, so the blend of the two is cross-validated too.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nlp import lexical
from nlp.data import Example
from nlp.lexical_train import complaint_label, labelled
from nlp.metrics import binary_report
from nlp.text import normalise
from nlp.train import Labels, Top, TrainConfig, calibrate, predict_logits, stage2

log = logging.getLogger(__name__)

BLEND_WEIGHTS = tuple(w / 20 for w in range(13))  # 0 to 0.6


def fold_of(group: str, folds: int) -> int:
    """A stable fold for a tweet id, the same on every machine."""
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % folds


@dataclass(frozen=True, slots=True)
class OutOfFold:
    """Every complaint tweet's probabilities, each from the fold that held it out."""

    folds: np.ndarray
    truth: np.ndarray
    encoder: np.ndarray  # P(complaint or cancellation) from the heads
    lexical_logp: np.ndarray  # log-probabilities (no, yes) of the lexical complaint model

    def blended(self, weight: float, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        return lexical.binary_mix(self.encoder[rows], self.lexical_logp[rows], weight, 1.0)

    def best_weight(self, rows: np.ndarray) -> float:
        """The blend weight with the best macro-F1 on `rows` (the first of equals: the least lexical)."""
        scores = [binary_report(self.truth[rows], self.blended(w, rows)).macro_f1 for w in BLEND_WEIGHTS]
        return BLEND_WEIGHTS[int(np.argmax(scores))]

    def nested(self) -> tuple[np.ndarray, list[float]]:
        """Blended probabilities where each fold's weight is chosen on the other folds only."""
        out = np.zeros(len(self.truth))
        weights = []
        for k in sorted(set(self.folds.tolist())):
            w = self.best_weight(self.folds != k)
            out[self.folds == k] = self.blended(w, self.folds == k)
            weights.append(w)
        return out, weights


def crossvalidate(
    top: Top,
    states: list[torch.Tensor],
    examples: Sequence[Example],
    n_train: int,
    cfg: TrainConfig,
    folds: int = 5,
) -> OutOfFold:
    """Out-of-fold complaint probabilities of the heads and of the lexical model, for every complaint tweet.

    `top` holds the stage-1 weights; `examples[:n_train]` train and the rest calibrate.
    """
    labels = Labels.of(examples)
    stage1 = copy.deepcopy(top.state_dict())
    # The lexical vocabulary is built over the sentiment tweets too, as in the shipped model.
    sentiment_texts, _ = labelled(examples[:n_train], "sentiment")
    sentiment_counts = lexical.document_frequencies(sentiment_texts)
    fold_ids: list[int] = []
    truth: list[int] = []
    encoder: list[float] = []
    lexical_logp: list[np.ndarray] = []
    for fold in range(folds):
        held = {i for i, e in enumerate(examples) if e.source == "complaints" and fold_of(e.group, folds) == fold}
        top.load_state_dict(stage1)
        stage2(top, states, labels, examples[:n_train], cfg, skip=held)
        calib = [i for i in range(n_train, len(examples)) if i not in held]
        calibrate(top, [states[i] for i in calib], labels.take(calib))
        order = sorted(held)
        intent = top.heads.calibrated(predict_logits(top, [states[i] for i in order]))["intent"].numpy()
        encoder += lexical.complaint_probability(intent).tolist()

        texts, y = labelled([e for i, e in enumerate(examples[:n_train]) if i not in held], lexical.COMPLAINT)
        words = lexical.fit({lexical.COMPLAINT: texts}, {lexical.COMPLAINT: y}, vocabulary_only=sentiment_counts)
        lexical_logp.append(words.log_probabilities([normalise(examples[i].text) for i in order])[lexical.COMPLAINT])

        fold_ids += [fold] * len(order)
        truth += [int(complaint_label(examples[i]) == 1) for i in order]
        running = binary_report(np.array(truth), np.array(encoder)).macro_f1
        log.info("fold %d done: running complaint macro-F1 of the heads %.3f", fold, running)
    top.load_state_dict(stage1)
    return OutOfFold(np.array(fold_ids), np.array(truth), np.array(encoder), np.concatenate(lexical_logp))
