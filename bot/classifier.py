"""Which classifier the configuration asks for: its own module, so `rapport classify` loads no more of the bot."""

from __future__ import annotations

import logging

from bot.config import Settings
from nlp.rules import RuleClassifier
from nlp.types import Classifier

log = logging.getLogger(__name__)


def load_classifier(settings: Settings) -> Classifier:
    """The configured classifier; the rule classifier when asked for, or when the model cannot load."""
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
        threads=nlp.threads,
        batch_size=nlp.batch_size,
        low_confidence=nlp.low_confidence,
    )
