"""Follow-up texts from `[relationships.templates]`, with per-channel overrides ("csat.x")."""

from __future__ import annotations

from collections.abc import Mapping

from bot.templates import render


def render_followup(templates: Mapping[str, str], template: str, on_channel: str, /, **fields: str) -> str:
    """The channel's own version of a template if there is one, else the general one."""
    specific = f"{template}.{on_channel}"
    return render(templates, specific if specific in templates else template, **fields)
