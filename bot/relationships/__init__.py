"""Customer relationships: one profile across channels, value tiers, relationship stages, follow-ups,
CSAT, churn and sales signals, and the root causes behind complaints."""
