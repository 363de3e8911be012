"""Complaint detection by k-fold cross-validation of the training recipe.

Stage 1 of training never sees a complaint tweet, so each fold starts from the stage-1 weights,
runs stage 2 with that fold's complaint tweets held out (from training and calibration alike),
then scores them: complaint or cancellation vs the data set's label.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import torch

from nlp.data import Example
from nlp.labels import INTENTS
from nlp.metrics import Report, report
from nlp.train import Labels, Top, TrainConfig, calibrate, fit, predict_logits, training_index

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
    examples: Sequence[Example],
    n_train: int,
    cfg: TrainConfig,
    folds: int = 5,
) -> Report:
    """Complaint-detection scores over all complaint tweets, each predicted by the fold that held it out.

    `top` holds the stage-1 weights; `examples[:n_train]` train and the rest calibrate.
    """
    labels = Labels.of(examples)
    stage1 = copy.deepcopy(top.state_dict())
    truth: list[int] = []
    scores: list[float] = []
    for fold in range(folds):
        held = {i for i, e in enumerate(examples) if e.source == "complaints" and fold_of(e.group, folds) == fold}
        top.load_state_dict(stage1)
        index = training_index(examples[:n_train], cfg.stage2, cfg.seed + 1, skip=held)
        fit(top, states, labels, index, cfg, lr_scale=cfg.stage2_lr_scale)
        calib = [i for i in range(n_train, len(examples)) if i not in held]
        calibrate(top, [states[i] for i in calib], labels.take(calib))
        order = sorted(held)
        t = float(top.heads.temperature[list(top.heads.linear).index("intent")])
        intent = torch.softmax(predict_logits(top, [states[i] for i in order])["intent"] / t, -1).numpy()
        truth += [int(bool(set(examples[i].intents) & set(COMPLAINT_LIKE))) for i in order]
        scores += complaint_probability(intent).tolist()
        r = report(np.array(truth), _two_way(np.array(scores)), ("no", "yes"))
        log.info("fold %d done: running complaint macro-F1 %.3f over %d tweets", fold, r.macro_f1, r.n)
    top.load_state_dict(stage1)
    return report(np.array(truth), _two_way(np.array(scores)), ("no", "yes"))


def _two_way(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)
