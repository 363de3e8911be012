"""One customer, many platform accounts: link, unlink, merge and undo, and suggestions for review.

Suggestions only propose; nothing is merged without a person unless `auto_merge` is configured, and
every merge remembers what it moved so it can be undone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from bot.domain import CHANNELS, Customer, Identity
from bot.errors import InputError
from bot.events import EventBus
from bot.relationships.models import LinkSuggestion, Merge
from bot.storage import Repository
from bot.storage.relationships import RelationshipRepository

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# How sure each kind of evidence makes us, on its own.
SAME_EMAIL = 0.99
EMAIL_MENTIONED = 0.95
SAME_HANDLE = 0.8
SAME_FULL_NAME = 0.6
SAME_SINGLE_NAME = 0.3


def _handle(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _name(value: str) -> str:
    return " ".join(value.lower().split())


def suggest_links(
    customers: Sequence[Customer],
    mentions: Iterable[tuple[int, str]] = (),
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[LinkSuggestion]:
    """Pairs of customers that look like one person, most likely first. Pure."""
    evidence: dict[tuple[int, int], list[tuple[float, str]]] = defaultdict(list)
    live = [c for c in customers if c.id not in exclude]

    def add(a: int, b: int, confidence: float, reason: str) -> None:
        if a != b:
            evidence[(min(a, b), max(a, b))].append((confidence, reason))

    by_handle: dict[str, set[tuple[int, str, str]]] = defaultdict(set)
    by_name: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for c in live:
        for i in c.identities:
            if len(_handle(i.handle)) >= 3:
                by_handle[_handle(i.handle)].add((c.id, i.channel, i.handle))
            if i.display_name.strip():
                by_name[_name(i.display_name)].add((c.id, i.channel))
    for entries in by_handle.values():
        for h1 in entries:
            for h2 in entries:
                if h1[0] < h2[0] and h1[1] != h2[1]:
                    add(h1[0], h2[0], SAME_HANDLE, f"same handle @{h1[2]} on {h1[1]} and {h2[1]}")
    for name, names in by_name.items():
        confidence = SAME_FULL_NAME if len(name.split()) > 1 else SAME_SINGLE_NAME
        for n1 in names:
            for n2 in names:
                if n1[0] < n2[0] and n1[1] != n2[1]:
                    add(n1[0], n2[0], confidence, f"same display name {name!r} on {n1[1]} and {n2[1]}")
    by_email: dict[str, set[int]] = defaultdict(set)
    for c in live:
        if c.email:
            by_email[c.email.lower()].add(c.id)
    for email, ids in by_email.items():
        for a in ids:
            for b in ids:
                if a < b:
                    add(a, b, SAME_EMAIL, f"same email {email}")
    for writer, text in mentions:
        if writer in exclude:
            continue
        for found in {e.lower().rstrip(".") for e in _EMAIL.findall(text)}:
            for owner in by_email.get(found, ()):
                add(writer, owner, EMAIL_MENTIONED, f"customer #{writer} wrote {found}, the email of #{owner}")
    out = []
    for (low, high), items in evidence.items():
        miss = 1.0
        for confidence, _reason in items:
            miss *= 1 - confidence
        reasons = "; ".join(sorted({r for _c, r in items}))
        out.append(LinkSuggestion(low, high, round(1 - miss, 3), reasons))
    return sorted(out, key=lambda s: (-s.confidence, s.customer_id, s.other_id))


class Identities:
    """Staff-facing identity actions, each audited with who did it."""

    def __init__(self, repo: Repository, rel: RelationshipRepository, events: EventBus) -> None:
        self.repo = repo
        self.rel = rel
        self.events = events

    async def link(self, channel: str, platform_user_id: str, customer_id: int, actor: str) -> Identity:
        """Point an account at a customer. An account that already wrote in as someone else brings its
        history along through a merge, so the link can be undone like any merge."""
        if channel not in CHANNELS:
            raise InputError(f"unknown channel {channel[:40]!r} (known: {', '.join(sorted(CHANNELS))})")
        platform_user_id = platform_user_id.strip()
        if not platform_user_id:
            raise InputError("platform user id is empty")
        owner = await self.rel.identity_owner(channel, platform_user_id)
        if owner is not None and owner != customer_id:
            alone = [
                c for c in await self.repo.customers.find(platform_user_id) if c.id == owner and len(c.identities) == 1
            ]
            source = owner if alone else (await self.unlink(channel, platform_user_id, actor))[1]
            await self.merge(source, customer_id, actor, f"link {channel}:{platform_user_id}")
        identity = await self.repo.customers.link_identity(channel, platform_user_id, customer_id)
        await self.repo.audit.record(
            "identity.linked",
            {"channel": channel, "platform_user_id": platform_user_id},
            actor=actor,
            customer_id=customer_id,
        )
        return identity

    async def unlink(self, channel: str, platform_user_id: str, actor: str) -> tuple[int, int]:
        """Split an account (and its messages) off into a customer of its own: (old id, new id)."""
        old, new = await self.rel.unlink(channel, platform_user_id)
        await self.repo.audit.record(
            "identity.unlinked",
            {"channel": channel, "platform_user_id": platform_user_id, "new_customer_id": new},
            actor=actor,
            customer_id=old,
        )
        return old, new

    async def merge(self, source_id: int, target_id: int, actor: str, reason: str = "") -> Merge:
        merge = await self.rel.merge(source_id, target_id, actor, reason)
        await self.repo.audit.record(
            "customer.merged",
            {
                "merge_id": merge.id,
                "source_id": source_id,
                "reason": reason,
                "moved": {k: len(v) for k, v in merge.moved.items()},
            },
            actor=actor,
            customer_id=target_id,
        )
        return merge

    async def undo(self, merge_id: int, actor: str) -> Merge:
        merge = await self.rel.undo_merge(merge_id)
        await self.repo.audit.record(
            "customer.unmerged",
            {"merge_id": merge.id, "source_id": merge.source_id},
            actor=actor,
            customer_id=merge.target_id,
        )
        return merge

    async def suggestions(self, customer_id: int | None = None, min_confidence: float = 0.0) -> list[LinkSuggestion]:
        customers = await self.repo.customers.find("", limit=100_000)
        found = suggest_links(customers, await self.rel.email_mentions(), await self.rel.merged_ids())
        return [
            s
            for s in found
            if s.confidence >= min_confidence and (customer_id is None or customer_id in (s.customer_id, s.other_id))
        ]

    async def suggestions_for(self, customer_id: int, min_confidence: float = 0.0) -> list[LinkSuggestion]:
        """This customer's suggestions, as `suggestions(customer_id)` finds them, from only the customers
        that share a handle, a name or an email with it: what runs after every message must not load them all."""
        me = await self.repo.customers.get(customer_id)
        if me is None:
            return []
        mentions = await self.rel.email_mentions(writer=me.id, containing=me.email)
        keys = {i.handle for i in me.identities if len(_handle(i.handle)) >= 3}
        keys |= {i.display_name for i in me.identities if i.display_name.strip()}
        keys |= {me.email} if me.email else set()
        keys |= {e.lower().rstrip(".") for writer, text in mentions if writer == me.id for e in _EMAIL.findall(text)}
        candidates = {me.id: me}
        for key in keys:
            for c in await self.repo.customers.find(key, limit=50):
                candidates[c.id] = c
        for writer, _text in mentions:
            if writer not in candidates and (other := await self.repo.customers.get(writer)) is not None:
                candidates[writer] = other
        found = suggest_links(list(candidates.values()), mentions, await self.rel.merged_ids())
        return [s for s in found if s.confidence >= min_confidence and customer_id in (s.customer_id, s.other_id)]

    async def auto_merge(self, customer_id: int, min_confidence: float) -> list[Merge]:
        """Merge this customer's suggestions at or above `min_confidence` into the older customer."""
        merges = []
        merged = set(await self.rel.merged_ids())  # read once; each merge made here adds its source
        for s in await self.suggestions_for(customer_id, min_confidence):
            if s.customer_id in merged or s.other_id in merged:
                continue
            merges.append(await self.merge(s.other_id, s.customer_id, "bot", f"auto: {s.reason} ({s.confidence})"))
            merged.add(s.other_id)
        return merges
