"""The slack-bolt AsyncApp: which listener handles which kind of request, and what errors answer.

`process_before_response=True` makes bolt finish the listener before it acknowledges, so a message is
acknowledged only once the core stored it (the Sink contract), in HTTP and Socket Mode alike. Slack
retries a slow acknowledgement; `EventLedger` makes such a retry a no-op.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import StorageError
from connectors.slack.actions import CardActions
from connectors.slack.background import Background
from connectors.slack.commands import SlashCommand
from connectors.slack.home import AppHome
from connectors.slack.messages import MessageHandler

log = logging.getLogger(__name__)

_ANY = re.compile(".*")
_OURS = re.compile(r"^rapport\.")

Ack = Callable[..., Awaitable[Any]]


class _QuietTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment on its own and then warns that the client's token
    wins; we always pass the client (for `api_url`), so the warning is noise on every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_bolt_log = logging.getLogger("connectors.slack.bolt")
_bolt_log.addFilter(_QuietTokenWarning())


def build_app(
    client: AsyncWebClient,
    signing_secret: str,
    *,
    messages: MessageHandler,
    actions: CardActions,
    command: SlashCommand,
    home: AppHome,
    background: Background,
    socket_mode: bool,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        # Socket Mode frames are authenticated by the app token, not signed.
        request_verification_enabled=not socket_mode,
        logger=_bolt_log,
    )

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        await messages.on_event(body, event)

    # Clicks and App Home opens are acknowledged at once and worked on after: Slack shows the user an
    # error past 3 seconds, and nothing there must happen before the ack. Messages are the exception:
    # they are acknowledged only once stored.
    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        user = event.get("user")
        if isinstance(user, str) and event.get("tab", "home") == "home":
            background.spawn(home.publish(user), f"app home for {user}")

    @app.event(_ANY)
    async def on_other_event() -> None:
        """Events we subscribe to but do not act on (or Slack sends anyway): acknowledged, nothing done."""

    @app.action(_OURS)
    async def on_card_action(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        background.spawn(actions.on_action(body), "card action")

    @app.action(_ANY)
    async def on_unknown_action(ack: Ack) -> None:
        await ack()

    @app.command(command.command)
    async def on_command(ack: Ack, body: dict[str, Any]) -> None:
        await ack(**await command.answer(body))

    @app.command(_ANY)
    async def on_unknown_command(ack: Ack) -> None:
        await ack()

    for register in (app.view, app.shortcut, app.options):

        @register(_ANY)
        async def on_anything_else(ack: Ack) -> None:
            await ack()

    @app.error
    async def on_error(error: Exception) -> BoltResponse:
        if isinstance(error, StorageError):
            # The message was not stored: let Slack deliver it again (it tries three more times).
            log.warning("slack: storage unavailable, asking Slack to retry: %s", error)
            return BoltResponse(status=503, body="")
        log.error("slack: listener failed: %s", error, exc_info=error)
        # Acknowledge anyway: a 500 would only make Slack repeat a request that fails the same way.
        return BoltResponse(status=200, body="")

    return app
