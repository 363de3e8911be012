"""Reply texts from the `[templates]` config section, per language.

English texts are the plain `[templates]` keys; `[templates.<code>]` tables (ISO 639-1) hold another
language's, over the ones Rapport ships in `bot/data/templates.toml` (Spanish, French, German,
Portuguese). A language has templates when it has such a table; a text a language lacks (a template a
user added in English only) falls back to English rather than leaving the customer without a reply.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from bot.errors import ConfigError

BUNDLED_LANGUAGES = Path(__file__).parent / "data" / "templates.toml"
DEFAULT_LANGUAGE = "en"


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise ConfigError(f"template field {{{key}}} is not known")


@cache
def bundled_languages() -> dict[str, dict[str, str]]:
    """The translations shipped with Rapport: {"es": {"acknowledge": ...}, ...}."""
    data = tomllib.loads(BUNDLED_LANGUAGES.read_text(encoding="utf-8"))
    return {code: {k: str(v) for k, v in table.items()} for code, table in data.items()}


def render(templates: Mapping[str, str], template: str, /, **fields: str) -> str:
    """Fill a named template; field values are plain text (braces in them are not re-expanded)."""
    try:
        text = templates[template]
    except KeyError:
        raise ConfigError(f"no template named {template!r} in [templates]") from None
    defaults = {"name": "there", "ticket": "", "channel": "", "answer": "", "handle": "", "opens": ""}
    return text.format_map(_Fields({**defaults, **{k: v for k, v in fields.items() if v}}))


class Templates:
    """The reply texts of every language that has them."""

    def __init__(self, texts: Mapping[str, str | Mapping[str, str]]) -> None:
        english = {k: v for k, v in texts.items() if isinstance(v, str)}
        self.languages: dict[str, dict[str, str]] = {DEFAULT_LANGUAGE: english}
        for code, table in texts.items():
            if not isinstance(table, str):
                self.languages[code] = {**english, **table}  # English where a translation is missing

    def has(self, language: str) -> bool:
        """Whether replies can be written in `language` ("unknown": too short to tell, taken as English)."""
        return language in self.languages or language == "unknown"

    def language_for(self, language: str) -> str:
        return language if language in self.languages else DEFAULT_LANGUAGE

    def render(self, template: str, language: str = DEFAULT_LANGUAGE, /, **fields: str) -> str:
        return render(self.languages[self.language_for(language)], template, **fields)

    def __contains__(self, template: object) -> bool:
        return template in self.languages[DEFAULT_LANGUAGE]
