"""Which classifier the configuration asks for: its own module, so `rapport classify` loads no more of the bot."""

from __future__ import annotations

import logging
import os

from bot.config import Settings
from nlp.rules import RuleClassifier
from nlp.types import Classifier

log = logging.getLogger(__name__)


def serving_threads() -> int:
    """Classifier threads for a long-running bot: every core this process may use but one.

    The bot's event loop does the database work and the connectors while the next batch is classified;
    with the classifier on every core the two starve each other. Measured with bench/pipeline.py on two
    cores: 31 messages/s with two classifier threads, 52 with one.
    """
    return max(1, len(os.sched_getaffinity(0)) - 1)


def load_classifier(settings: Settings, *, serving: bool = False) -> Classifier:
    """The configured classifier; the rule classifier when asked for, or when the model cannot load.
    `serving`: for a long-running bot, where `[nlp] threads` unset leaves a core to the event loop."""
    nlp = settings.nlp
    if nlp.backend == "rules":
        return RuleClassifier(low_confidence=nlp.low_confidence)
    try:
        from nlp.loader import load_classifier as load_model
    except ImportError:  # the trained model is not installed in this build
        log.warning("no trained classifier available; using the rule classifier")
        return RuleClassifier(low_confidence=nlp.low_confidence)
    return load_model(
        model=nlp.model,
        weights=nlp.weights,
        backend=nlp.backend,
        max_length=nlp.max_length,
        threads=nlp.threads or (serving_threads() if serving else None),
        batch_size=nlp.encoder_batch,
        low_confidence=nlp.low_confidence,
    )
