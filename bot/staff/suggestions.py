"""Suggested replies for a case: the knowledge base's best articles for what the customer wrote, and what
staff answered on resolved cases that began most like this one. A person picks one and sends it.

Past cases are scored as articles are (bot/knowledge/index.py): the encoder's cosine blended with BM25's
share when the classifier has an encoder, BM25 alone otherwise, against the case's customer text. Their
vectors are kept for the life of the process, so each past case is embedded once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bot.config import SuggestionSettings
from bot.desk import Desk
from bot.domain import OutboundReply
from bot.errors import InputError, NotFound
from bot.knowledge.cache import unit
from bot.knowledge.index import SEMANTIC_WEIGHT, Encoder, KnowledgeBase, queries
from bot.knowledge.lexical import Lexical, terms
from bot.storage.staff import PastReply, StaffStore

_CACHED_CASES = 256  # suggestion lists kept per process (a card is re-rendered on every change)
_TEXT_CHARS = 2000  # of the customer's messages scored


@dataclass(frozen=True, slots=True)
class Suggestion:
    key: str  # "kb:<article>" or "reply:<reply id>": what a Send button or the API names
    kind: str  # "knowledge" or "past_reply"
    source: str  # the article's stem, or "#<escalation>" the reply was sent on
    text: str
    score: float


class Suggestions:
    def __init__(
        self,
        settings: SuggestionSettings,
        desk: Desk,
        knowledge: KnowledgeBase,
        store: StaffStore,
        encoder: Encoder | None = None,
    ) -> None:
        self.settings = settings
        self._desk = desk
        self._knowledge = knowledge
        self._store = store
        self._encoder = encoder
        self._vectors: dict[int, np.ndarray] = {}  # past reply id -> unit vector of what its case began with
        self._cases: OrderedDict[tuple[object, ...], list[Suggestion]] = OrderedDict()

    async def for_case(self, escalation_id: int) -> list[Suggestion]:
        """Knowledge-base answers first, then past staff replies, each kind best first."""
        card = await self._desk.card(escalation_id)
        if card is None:
            raise NotFound(f"escalation #{escalation_id} does not exist")
        messages = await self._desk.repo.messages.query(escalation_id=escalation_id, limit=20)
        texts = [card.opening.message.text] + [m.message.text for m in messages if m.id != card.opening.id]
        text = "\n".join(texts)[:_TEXT_CHARS]
        language = card.analysis.language if card.analysis else None
        past = await self._store.past_replies(limit=self.settings.resolved_cases)
        key = (escalation_id, text, language, tuple(p.reply_id for p in past[-1:]), len(past))
        if key in self._cases:
            self._cases.move_to_end(key)
            return self._cases[key]
        found = await asyncio.to_thread(self._suggest, text, language, past)
        self._cases[key] = found
        while len(self._cases) > _CACHED_CASES:
            self._cases.popitem(last=False)
        return found

    def _suggest(self, text: str, language: str | None, past: list[PastReply]) -> list[Suggestion]:
        s = self.settings
        articles = self._knowledge.search(
            text, language, limit=s.limit, floor=s.min_score, floor_lexical=s.min_score_lexical
        )
        out = [Suggestion(f"kb:{a.article}", "knowledge", a.article, a.reply, a.score) for a in articles]
        return out + self._similar(text, past)

    def _similar(self, text: str, past: list[PastReply]) -> list[Suggestion]:
        asked = queries(text)
        if not past or not asked:
            return []
        lexical = Lexical([terms(p.asked) for p in past])
        scores = np.stack([lexical.scores(terms(q)) for q in asked]).max(axis=0)
        floor = self.settings.min_score_lexical
        vectors = self._past_vectors(past)
        if vectors is not None and self._encoder is not None:
            try:
                query = unit(np.asarray(self._encoder.embed(asked), dtype=np.float32))
            except Exception:  # a failing encoder leaves BM25 suggesting, as in the knowledge base
                query = None
            if query is not None:
                cosine = (query @ vectors.T).max(axis=0)
                scores = SEMANTIC_WEIGHT * cosine + (1 - SEMANTIC_WEIGHT) * scores
                floor = self.settings.min_score
        out: list[Suggestion] = []
        seen: set[str] = set()
        for i in np.argsort(-scores, kind="stable"):
            p, score = past[int(i)], float(scores[int(i)])
            if score < floor or score <= 0 or len(out) >= self.settings.limit:
                break
            same = " ".join(p.text.lower().split())
            if same in seen:  # the same macro sent on ten cases is one suggestion
                continue
            seen.add(same)
            out.append(Suggestion(f"reply:{p.reply_id}", "past_reply", f"#{p.escalation_id}", p.text, round(score, 4)))
        return out

    def _past_vectors(self, past: list[PastReply]) -> np.ndarray | None:
        if self._encoder is None:
            return None
        missing = [p for p in past if p.reply_id not in self._vectors]
        if missing:
            try:
                fresh = unit(np.asarray(self._encoder.embed([p.asked[:_TEXT_CHARS] for p in missing]), np.float32))
            except Exception:
                return None
            self._vectors.update({p.reply_id: v for p, v in zip(missing, fresh, strict=True)})
        return np.stack([self._vectors[p.reply_id] for p in past])

    async def text_of(self, key: str) -> str:
        """The text a suggestion key stands for; InputError when it names nothing suggestible."""
        kind, _, ref = key.partition(":")
        if kind == "kb":
            for article in self._knowledge.articles:
                if article.stem == ref:
                    return article.reply
        elif kind == "reply" and ref.isdigit() and len(ref) < 12:
            found = await self._store.past_reply(int(ref))
            if found is not None:
                return found.text
        raise InputError(f"no suggestion {key[:60]!r}", field="key")

    async def send(self, escalation_id: int, staff: str, key: str, *, request_key: str = "") -> OutboundReply:
        """Send a suggestion as `staff`'s reply; the audit entry marks it as suggested (and which)."""
        text = await self.text_of(key)
        return await self._desk.reply(escalation_id, staff, text, key=request_key, marker={"suggested": key})
