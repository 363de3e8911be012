"""The knowledge base: Markdown articles the bot answers questions from (articles), retrieval by
meaning and by words (index, lexical), cached article vectors (cache) and `rapport kb` (cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.knowledge.cache import VectorCache, default_folder
from bot.knowledge.index import BUNDLED, Encoder, KnowledgeBase

__all__ = ["BUNDLED", "Encoder", "KnowledgeBase", "load_knowledge"]


def load_knowledge(settings: Settings, classifier: Any) -> KnowledgeBase:
    """The configured folder, using the classifier's sentence encoder when it has one (BM25 alone else).

    Raises ConfigError naming the articles that cannot be used.
    """
    kb = settings.knowledge
    folder = Path(kb.path) if kb.path else BUNDLED
    embed = getattr(classifier, "embed", None)
    encoder = Encoder(embed, str(getattr(classifier, "version", "unknown"))) if callable(embed) else None
    cache = VectorCache(Path(kb.cache) if kb.cache else default_folder(settings.database.url), folder)
    return KnowledgeBase(
        folder, min_score=kb.min_score, min_score_lexical=kb.min_score_lexical, encoder=encoder, cache=cache
    )
