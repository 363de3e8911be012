"""Data access for customer relationships; like the core repository, it returns domain objects only."""

from __future__ import annotations

from bot.storage.relationships.accounts import AccountStore
from bot.storage.relationships.followups import FollowUpStore
from bot.storage.relationships.merges import MergeStore
from bot.storage.relationships.topics import TopicStore

__all__ = ["RelationshipRepository"]


class RelationshipRepository(AccountStore, FollowUpStore, MergeStore, TopicStore):
    """Accounts, purchases, follow-ups, surveys, opt-outs, merges and topics. One transaction per method."""
