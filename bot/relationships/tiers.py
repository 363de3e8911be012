"""Value tiers (the customer pyramid): what a customer brings in against what they cost to serve.

Pure: the same account, history and thresholds always give the same tier and the same reason.
"""

from __future__ import annotations

from bot.config import TierThresholds
from bot.relationships.models import Account, CustomerStats, Tier, TierResult


def cost_to_serve(stats: CustomerStats, t: TierThresholds) -> float:
    return (
        stats.complaints * t.complaint_cost
        + stats.escalations * t.escalation_cost
        + stats.handling_hours * t.handling_hour_cost
    )


def _money(value: float) -> str:
    return f"{value:,.2f}"


def compute_tier(account: Account, stats: CustomerStats, t: TierThresholds) -> TierResult:
    """Platinum, gold, iron or lead, with a reason a person can check against the thresholds."""
    cost = cost_to_serve(stats, t)
    net = account.lifetime_value - cost
    facts = (
        f"lifetime value {_money(account.lifetime_value)}, {account.orders} orders; cost to serve {_money(cost)} "
        f"({stats.complaints} complaints, {stats.escalations} escalations, {stats.handling_hours:.1f} h handling); "
        f"net {_money(net)}"
    )
    if net >= t.platinum_value and account.orders >= t.platinum_orders:
        return TierResult(Tier.PLATINUM, f"{facts} ≥ {_money(t.platinum_value)} with ≥ {t.platinum_orders} orders")
    if net >= t.gold_value and account.orders >= t.gold_orders:
        return TierResult(Tier.GOLD, f"{facts} ≥ {_money(t.gold_value)} with ≥ {t.gold_orders} orders")
    if net < t.lead_below:
        # Lead tier is for attention (win back, or understand the cost), never for worse service.
        return TierResult(
            Tier.LEAD,
            f"{facts} < {_money(t.lead_below)}: costs more to serve than it brings in; flagged for attention",
            attention=True,
        )
    return TierResult(Tier.IRON, f"{facts}: below gold ({_money(t.gold_value)} with ≥ {t.gold_orders} orders)")
