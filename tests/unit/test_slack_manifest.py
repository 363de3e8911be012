"""The shipped Slack app manifest matches what the connector listens to and calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import SlackSettings
from connectors.slack.http import EVENTS_PATH

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).parents[2] / "connectors" / "slack" / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_events_cover_channels_private_channels_dms_and_app_home(manifest: dict[str, Any]) -> None:
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups", "message.im", "app_home_opened"} <= events


def test_every_request_url_is_the_one_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    assert settings["interactivity"]["is_enabled"] is True


def test_slash_command_is_the_default_command(manifest: dict[str, Any]) -> None:
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [SlackSettings().command]


def test_scopes_cover_the_web_api_methods_the_connector_calls(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update/postEphemeral, users.info, conversations.members (public + private), conversations.open
    assert {"chat:write", "users:read", "channels:read", "groups:read", "im:write", "commands"} <= scopes
    assert {"channels:history", "groups:history", "im:history"} <= scopes
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
