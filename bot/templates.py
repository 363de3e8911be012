"""Reply texts from the `[templates]` config section."""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import ConfigError


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise ConfigError(f"template field {{{key}}} is not known")


def render(templates: Mapping[str, str], template: str, /, **fields: str) -> str:
    """Fill a named template; field values are plain text (braces in them are not re-expanded)."""
    try:
        text = templates[template]
    except KeyError:
        raise ConfigError(f"no template named {template!r} in [templates]") from None
    defaults = {"name": "there", "ticket": "", "channel": "", "answer": "", "handle": ""}
    return text.format_map(_Fields({**defaults, **{k: v for k, v in fields.items() if v}}))
