"""Relationship stages inferred from the history: exploration, awareness, expansion, engagement,
dissolution. Pure: recent messages and purchases in, a stage and its reason out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config import RelationshipSettings
from bot.relationships.models import Signal, Stage, StageResult
from nlp.types import Intent, Sentiment


def infer_stage(
    signals: Sequence[Signal], last_purchase: datetime | None, now: datetime, cfg: RelationshipSettings
) -> StageResult:
    """The stage, first match wins: dissolution, expansion, engagement, awareness, exploration.

    `signals` are oldest first; only the last `stage_window` within `stage_window_days` count.
    """
    since = now - timedelta(days=cfg.stage_window_days)
    window = [s for s in signals if s.at >= since][-cfg.stage_window :]
    recent = window[-cfg.dissolution_recent :]
    cancels = [s for s in window if s.intent is Intent.CANCELLATION]
    if cancels:
        return StageResult(Stage.DISSOLUTION, f"cancellation intent on {cancels[-1].at:%Y-%m-%d}")
    negative = sum(s.sentiment is Sentiment.NEGATIVE for s in recent)
    earlier = window[: -cfg.dissolution_recent]
    earlier_share = sum(s.sentiment is Sentiment.NEGATIVE for s in earlier) / len(earlier) if earlier else 0.0
    if negative >= cfg.dissolution_negative and negative / len(recent) > earlier_share:
        return StageResult(
            Stage.DISSOLUTION,
            f"sentiment turning negative: {negative} of the last {len(recent)} "
            f"messages negative (before: {earlier_share:.0%})",
        )
    if last_purchase is not None and last_purchase >= now - timedelta(days=cfg.expansion_days):
        return StageResult(Stage.EXPANSION, f"purchase on {last_purchase:%Y-%m-%d}, within {cfg.expansion_days} days")
    interest = [s for s in window if s.intent is Intent.PURCHASE_INTEREST]
    if interest:
        return StageResult(Stage.EXPANSION, f"purchase interest on {interest[-1].at:%Y-%m-%d}")
    if len(window) >= cfg.engagement_messages:
        share = sum(s.sentiment is not Sentiment.NEGATIVE for s in window) / len(window)
        if share >= cfg.engagement_positive_share:
            positive = sum(s.sentiment is Sentiment.POSITIVE for s in window)
            return StageResult(
                Stage.ENGAGEMENT,
                f"steady contact: {len(window)} messages, {share:.0%} not negative ({positive} positive)",
            )
    if len(window) <= cfg.exploration_messages:
        what = "no messages yet" if not window else f"{len(window)} message{'s' if len(window) > 1 else ''} so far"
        return StageResult(Stage.EXPLORATION, f"first contact: {what}")
    questions = sum(s.intent is Intent.QUESTION for s in window)
    if questions:
        return StageResult(
            Stage.AWARENESS,
            f"{questions} question{'s' if questions > 1 else ''} about what we offer "
            f"in the last {len(window)} messages",
        )
    return StageResult(Stage.EXPLORATION, f"{len(window)} messages, no questions, purchases or steady contact yet")


def moved_towards_dissolution(before: str, after: Stage) -> bool:
    return after is Stage.DISSOLUTION and before != Stage.DISSOLUTION.value
