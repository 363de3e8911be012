"""Config: defaults without a file, typos and wrong types named, secrets from the environment."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import Settings, load_settings
from bot.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rapport.toml"
    path.write_text(text)
    return path


def test_defaults_work_with_no_file() -> None:
    settings = load_settings(None, env={})
    assert settings.database.url == "sqlite:///rapport.db"
    assert [r.name for r in settings.routing.rules][:2] == ["abusive", "no-templates"]
    assert not settings.slack.enabled and not settings.discord.enabled and not settings.x.enabled


def test_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "config.example.toml"
    settings = load_settings(example, env={})
    assert settings.routing.rules


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"database\.urll: unknown key"):
        load_settings(write(tmp_path, '[database]\nurll = "sqlite:///x.db"\n'), env={})


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"outbox\.max_attempts"):
        load_settings(write(tmp_path, '[outbox]\nmax_attempts = "many"\n'), env={})


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[database\n"), env={})


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_secrets_come_from_environment_and_never_appear_in_errors(tmp_path: Path) -> None:
    settings = load_settings(None, env={"SLACK_BOT_TOKEN": "xoxb-very-secret", "DISCORD_TOKEN": "disc-secret"})
    assert settings.slack.enabled and settings.discord.enabled
    assert "xoxb-very-secret" not in repr(settings) and "disc-secret" not in str(settings)
    path = write(tmp_path, '[slack]\nbot_token = "xoxb-in-file-secret"\nmode = "carrier-pigeon"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "slack.mode" in str(info.value) and "xoxb-in-file-secret" not in str(info.value)


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///elsewhere.db"\n')
    assert load_settings(None, env={"RAPPORT_CONFIG": str(path)}).database.url == "sqlite:///elsewhere.db"


def test_rule_using_an_undefined_template_is_rejected(tmp_path: Path) -> None:
    text = '[[routing.rules]]\nname = "r"\naction = "reply"\nreply = "nope"\n'
    with pytest.raises(ConfigError, match="template 'nope'"):
        load_settings(write(tmp_path, text), env={})


def test_template_with_unknown_placeholder_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bad placeholder"):
        load_settings(write(tmp_path, '[templates]\nthanks = "Hi {nmae}"\n'), env={})


def test_rule_with_unknown_channel_or_intent_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown channel"):
        load_settings(
            write(tmp_path, '[[routing.rules]]\nname="r"\naction="record"\nwhen={channel=["myspace"]}\n'), env={}
        )
    with pytest.raises(ConfigError, match="intent"):
        load_settings(write(tmp_path, '[[routing.rules]]\nname="r"\naction="record"\nwhen={intent=["rant"]}\n'), env={})


def _example_keys() -> dict[str, set[str]]:
    """Keys per section in config.example.toml, commented-out ones included."""
    sections: dict[str, set[str]] = {"": set()}
    current = ""
    for line in (Path(__file__).parents[2] / "config.example.toml").read_text().splitlines():
        text = line.strip().lstrip("#").strip()
        header = re.match(r"^\[\[?([a-z_.]+)\]\]?", text)
        if header:
            current = header.group(1)
            sections.setdefault(current, set())
            continue
        key = re.match(r'^"?([a-z_][a-z0-9_.]*)"?\s*=', text)
        if key:  # a dotted key (targets.urgent = ...) documents its first part
            sections.setdefault(current, set()).add(key.group(1).split(".")[0])
    return sections


def _setting_keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from _setting_keys(kind, f"{prefix}{name}.")
        elif not (prefix == "" and name == "templates"):
            yield prefix.rstrip("."), name


@pytest.mark.parametrize(("section", "key"), sorted(set(_setting_keys(Settings))))
def test_example_config_lists_every_setting(section: str, key: str) -> None:
    """config.example.toml names every setting (commented out where it has no sensible example value)."""
    keys = _example_keys()
    documented = key in keys.get(section, set()) or f"{section}.{key}".lstrip(".") in keys  # a table of its own
    assert documented, f"[{section}] {key} missing from config.example.toml"
