"""`[relationships]` settings: typos and impossible values are errors naming the key; templates per channel."""

import pytest

from bot.config import RELATIONSHIP_TEMPLATES, load_settings
from bot.errors import ConfigError
from bot.relationships.templates import render_followup


def settings_from(tmp_path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "rapport.toml"
    path.write_text(text)
    return load_settings(path, env={})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[relationships]\nauto_merj = true\n", "relationships.auto_merj: unknown key"),
        ('[relationships]\ntimezone = "Mars/Olympus"\n', "unknown time zone"),
        ('[relationships]\nquiet_start = "25:00"\n', "is not HH:MM"),
        ("[relationships.tiers]\ngold_value = 9000\n", "platinum thresholds must be at least the gold ones"),
        ('[relationships.templates]\ncsat_typo = "hi"\n', "template 'csat_typo': unknown"),
        ('[relationships.templates]\ncsat = "hi {nmae}"\n', "bad placeholder"),
    ],
)
def test_bad_relationship_settings_are_rejected_by_name(tmp_path, toml: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        settings_from(tmp_path, toml)


def test_a_channel_can_have_its_own_template(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = settings_from(tmp_path, '[relationships.templates]\n"csat.x" = "Rate us 1-5, {name}! (#{ticket})"\n')
    templates = s.relationships.templates
    assert render_followup(templates, "csat", "x", name="Ana", ticket="7") == "Rate us 1-5, Ana! (#7)"
    assert render_followup(templates, "csat", "discord", name="Ana", ticket="7").startswith("Hi Ana, your request #7")
    assert set(RELATIONSHIP_TEMPLATES) <= set(templates)


def test_defaults_keep_quiet_hours_and_review_before_merging() -> None:
    s = load_settings(env={})
    assert s.relationships.auto_merge is False and s.relationships.quiet_start == "21:00"
