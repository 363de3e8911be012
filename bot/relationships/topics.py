"""Root causes: complaints from every channel grouped into topics, each with its count, trend, examples
and escalations, and a weekly summary for Slack.

Texts become vectors through the classifier's base sentence encoder when it offers one
(`embed(texts)`), else TF-IDF;
topics are average-link clusters by cosine similarity, labelled with their most telling words.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from bot.config import RelationshipSettings
from bot.events import EventBus
from bot.relationships.cluster import average_link, tfidf
from bot.relationships.events import TopicSummary, publish
from bot.relationships.models import Complaint, Topic
from bot.storage import Repository
from bot.storage.relationships import RelationshipRepository

Embed = Callable[[Sequence[str]], Any]  # texts -> 2-D array, one row per text
_WEEK_KEY = "relationships:topic_summary_week"
_EXAMPLES = 3
_NOISE = re.compile(r"@\w+|https?://\S+|\b\w+n['’]t\b")


@dataclass(frozen=True, slots=True)
class Draft:
    """A topic before it is stored: its label, top terms and member positions in the input."""

    label: str
    terms: tuple[str, ...]
    members: tuple[int, ...]


def _plain_words(text: str) -> str:
    # @handles, links and the stems of "hasn't"/"doesn't" say nothing about what went wrong.
    return _NOISE.sub(" ", text.lower())


_WORD = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z]+\b")


def _tfidf(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    # Single words: complaints are short, and bigrams thin out what two of them share.
    try:
        return tfidf(texts, _plain_words, _WORD)
    except ValueError:  # nothing but stop words
        return np.zeros((len(texts), 1)), np.array([""])


def group_complaints(texts: Sequence[str], min_similarity: float, embed: Embed | None = None) -> list[Draft]:
    """Cluster texts into topics, largest first. Pure and deterministic for the same input."""
    if not texts:
        return []
    weights, terms = _tfidf(texts)
    vectors = np.asarray(embed(texts), dtype=float) if embed is not None else weights
    norms = np.linalg.norm(vectors, axis=1)
    usable = [i for i in range(len(texts)) if norms[i] > 0]
    labels = np.full(len(texts), -1)
    if len(usable) == 1:
        labels[usable[0]] = 0
    elif usable:
        labels[usable] = average_link(vectors[usable], 1 - min_similarity)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label) if label >= 0 else -1 - i, []).append(i)  # no words: a topic of its own
    drafts = []
    for members in groups.values():
        centroid = weights[members].mean(axis=0)
        top = [str(terms[j]) for j in np.argsort(-centroid)[:5] if centroid[j] > 0]
        words = top[:3]
        label = ", ".join(words) if words else texts[members[0]][:60]
        drafts.append(Draft(label, tuple(top), tuple(members)))
    return sorted(drafts, key=lambda d: (-len(d.members), d.label))


def describe(topic_id: int, label: str, members: Sequence[Complaint], now: datetime) -> Topic:
    week = now - timedelta(days=7)
    fortnight = now - timedelta(days=14)
    examples: list[str] = []
    for c in sorted(members, key=lambda c: c.at, reverse=True):
        if c.text not in examples and len(examples) < _EXAMPLES:
            examples.append(c.text[:280])
    return Topic(
        id=topic_id,
        label=label,
        count=len(members),
        recent=sum(c.at >= week for c in members),
        previous=sum(fortnight <= c.at < week for c in members),
        examples=tuple(examples),
        escalation_ids=tuple(sorted({c.escalation_id for c in members if c.escalation_id is not None})),
        channels=tuple(sorted({c.channel for c in members})),
        message_ids=tuple(c.message_id for c in members),
    )


class RootCauses:
    """Recomputes and stores topics; posts the weekly summary."""

    def __init__(
        self,
        repo: Repository,
        rel: RelationshipRepository,
        settings: RelationshipSettings,
        events: EventBus,
        embed: Embed | None = None,
    ) -> None:
        self.repo = repo
        self.rel = rel
        self.settings = settings
        self.events = events
        self.embed = embed

    async def refresh(self, now: datetime) -> list[Topic]:
        """Cluster the complaints of the window afresh and store the topics; largest first."""
        complaints = await self.rel.complaints(now - timedelta(days=self.settings.topic_window_days))
        drafts = await asyncio.to_thread(
            group_complaints,
            [c.text for c in complaints],
            # Sentence vectors of related texts sit much closer than TF-IDF ones: each has its threshold.
            self.settings.topic_min_similarity_encoder if self.embed else self.settings.topic_min_similarity,
            self.embed,
        )
        stored = [(d.label, {"terms": list(d.terms)}, [complaints[i].message_id for i in d.members]) for d in drafts]
        ids = await self.rel.replace_topics(stored)
        return [
            describe(tid, d.label, [complaints[i] for i in d.members], now) for tid, d in zip(ids, drafts, strict=True)
        ]

    async def stored(self, now: datetime) -> list[Topic]:
        topics = [describe(tid, label, members, now) for tid, label, _terms, members in await self.rel.topic_members()]
        return sorted(topics, key=lambda t: (-t.count, t.id))

    async def weekly(self, now: datetime) -> None:
        """On the configured weekday, once per ISO week: refresh topics and publish the summary."""
        if now.weekday() != self.settings.topic_summary_weekday:
            return
        year, week, _ = now.isocalendar()
        label = f"{year}-W{week:02d}"
        if await self.repo.state.get(_WEEK_KEY) == label:
            return
        topics = await self.refresh(now)
        await self.repo.state.set(_WEEK_KEY, label)
        await publish(self.events, TopicSummary(label, tuple(topics[:10])))
