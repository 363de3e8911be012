"""[[webhooks]] and the API's settings: what is accepted, and errors that name the key without the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError

HOOK = 'url = "https://crm.example.com/hook"\nsecret = "0123456789abcdef-secret"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rapport.toml"
    path.write_text(text)
    return path


def test_a_webhook_takes_the_events_it_lists_and_is_named_by_its_host(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, f'[[webhooks]]\n{HOOK}events = ["escalation.opened"]\n'), env={})
    [hook] = settings.webhooks
    assert hook.events == ("escalation.opened",) and hook.key == "crm.example.com" and hook.retry_hours == 24


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (f'[[webhooks]]\n{HOOK}events = ["escalation.lost"]\n', "webhooks.0.events.0"),
        (f"[[webhooks]]\n{HOOK}events = []\n", "webhooks.0.events"),
        ('[[webhooks]]\nurl = "ftp://x"\nsecret = "0123456789abcdef"\nevents = ["sales.alert"]\n', "webhooks.0.url"),
        ('[[webhooks]]\nurl = "https://x"\nsecret = "short"\nevents = ["sales.alert"]\n', "webhooks.0.secret"),
        (f'[[webhooks]]\n{HOOK}events = ["sales.alert"]\n[[webhooks]]\n{HOOK}events = ["csat.received"]\n', "webhooks"),
        ('[relationships]\ncurrency = "euro"\n', "relationships.currency"),
    ],
)
def test_a_bad_webhook_or_currency_is_an_error_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={})
    assert key in str(caught.value)
    assert "0123456789abcdef" not in str(caught.value)  # never the secret
