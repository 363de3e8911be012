"""Complaint detection by k-fold cross-validation of the whole training recipe.

Each fold retrains the top blocks and heads with that fold's complaint tweets held out (from
training and calibration alike), then scores them: complaint or cancellation vs the label.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import torch

from nlp import encoder as enc
from nlp.data import Example
from nlp.labels import INTENTS
from nlp.metrics import Report, report
from nlp.train import Labels, TrainConfig, Top, calibrate, fit, predict_logits, training_index

log = logging.getLogger(__name__)

COMPLAINT_LIKE = [INTENTS.index("complaint"), INTENTS.index("cancellation")]


def fold_of(group: str, folds: int) -> int:
    """A stable fold for a tweet id, the same on every machine."""
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % folds


def complaint_probability(intent_probs: np.ndarray) -> np.ndarray:
    """P(complaint) + P(cancellation): a cancellation is also a complaint in the data set's sense."""
    return intent_probs[:, COMPLAINT_LIKE].sum(1)


def crossvalidate(
    top: Top,
    states: list[torch.Tensor],
    train: Sequence[Example],
    calibration: Sequence[Example],
    cfg: TrainConfig,
    folds: int = 5,
    only: Sequence[int] | None = None,
) -> Report:
    """Macro-F1 etc. of complaint detection over the complaint tweets of the chosen folds."""
    examples = list(train) + list(calibration)
    labels = Labels.of(examples)
    fresh = copy.deepcopy(enc.layers(top.model).state_dict()), copy.deepcopy(top.heads.state_dict())
    truth: list[int] = []
    scores: list[float] = []
    for fold in only if only is not None else range(folds):
        held = {i for i, e in enumerate(examples) if e.source == "complaints" and fold_of(e.group, folds) == fold}
        enc.layers(top.model).load_state_dict(fresh[0])
        top.heads.load_state_dict(fresh[1])
        fit(top, states, labels, training_index(train, cfg, skip=held), cfg)
        calib = [i for i in range(len(train), len(examples)) if i not in held]
        calibrate(top, [states[i] for i in calib], labels.take(calib))
        order = sorted(held)
        intent = torch.softmax(predict_logits(top, [states[i] for i in order])["intent"], -1).numpy()
        p = complaint_probability(intent)
        truth += [int(bool(set(examples[i].intents) & set(COMPLAINT_LIKE))) for i in order]
        scores += p.tolist()
        r = report(np.array(truth), _two_way(np.array(scores)), ("no", "yes"))
        log.info("fold %d done: running complaint macro-F1 %.3f over %d tweets", fold, r.macro_f1, r.n)
    enc.layers(top.model).load_state_dict(fresh[0])
    top.heads.load_state_dict(fresh[1])
    return report(np.array(truth), _two_way(np.array(scores)), ("no", "yes"))


def _two_way(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)
