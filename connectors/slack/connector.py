"""`SlackConnector`: a customer channel (name "slack") and the staff triage desk, on one bolt app."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.desk import Desk
from bot.domain import OutboundReply
from bot.errors import ConfigError, DeliveryFailed
from bot.events import EventBus
from bot.ports import AsgiApp, UsageReport
from bot.staff.tools import StaffTools
from bot.text import split_parts
from connectors.base import Sink, StateStore
from connectors.parts import send_in_parts
from connectors.slack.actions import CardActions
from connectors.slack.app import build_app
from connectors.slack.background import Background
from connectors.slack.blocks import escape
from connectors.slack.client import SlackApi, slack_errors
from connectors.slack.commands import SlashCommand
from connectors.slack.home import AppHome
from connectors.slack.http import EVENTS_PATH, SlackEvents
from connectors.slack.messages import MessageHandler
from connectors.slack.notices import Notices
from connectors.slack.retries import EventLedger
from connectors.slack.socket import SocketReceiver
from connectors.slack.staff import StaffDirectory
from connectors.slack.triage import TriageDesk

log = logging.getLogger(__name__)

# Slack accepts 40,000 characters but shows a long message collapsed and advises 4,000 at most: a longer
# reply goes out as numbered messages in the thread.
MESSAGE_LIMIT = 4_000


def _secret(value: object, key: str) -> str:
    raw = value.get_secret_value() if value is not None and hasattr(value, "get_secret_value") else ""
    if not raw:
        raise ConfigError(f"slack.{key} is required (or its SLACK_* environment variable)")
    return str(raw)


class SlackConnector:
    """Ingests customer messages from Slack, renders the triage desk, and delivers replies to Slack users."""

    def __init__(
        self,
        settings: Settings,
        desk: Desk,
        events: EventBus,
        state: StateStore,
        usage: Sequence[UsageReport] = (),
        tools: StaffTools | None = None,
    ) -> None:
        """`usage`: metered platforms whose spend the App Home shows (X's reads and posts); `tools`: suggested
        replies on the cards, macros and shifts (none without)."""
        s = settings.slack
        self._settings = settings
        self._state = state
        self._events = events
        token = _secret(s.bot_token, "bot_token")
        socket_mode = s.mode == "socket"
        signing_secret = "" if socket_mode else _secret(s.signing_secret, "signing_secret")
        self._app_token = _secret(s.app_token, "app_token") if socket_mode else ""
        if not s.triage_channel:
            log.warning("slack: no triage_channel set; escalations will not get cards")
        # slack_sdk appends method names to base_url as is: "…/api" would call "…/apiauth.test".
        self.client = AsyncWebClient(token=token, base_url=s.api_url.rstrip("/") + "/")
        self.api = SlackApi(self.client)
        self.staff = StaffDirectory(self.api, s.triage_channel, s.staff_user_ids)
        self.triage = TriageDesk(s, self.api, desk, state, self.staff, tools)
        self.messages = MessageHandler(s, self.api, self.triage, self.staff, EventLedger(state))
        self.notices = Notices(self.api, desk, s.triage_channel)
        self.background = Background()
        self.app = build_app(
            self.client,
            signing_secret,
            socket_mode=socket_mode,
            messages=self.messages,
            actions=CardActions(self.api, desk, self.staff, self.triage, s.snooze_minutes, tools),
            command=SlashCommand(s.command, desk, self.staff, tools),
            home=AppHome(self.api, desk, self.staff, usage),
            background=self.background,
        )
        self.http: SlackEvents | None = None
        self.socket: SocketReceiver | None = None
        if socket_mode:
            self.socket = SocketReceiver(self.app, self._app_token)
        else:
            self.http = SlackEvents(self.app, signing_secret)

    @property
    def name(self) -> str:
        return "slack"

    def http_routes(self) -> Mapping[str, AsgiApp]:
        """HTTP mode: Slack's events endpoint, for Rapport's HTTP server to mount ([server] host/port)."""
        return {EVENTS_PATH: self.http} if self.http is not None else {}

    async def start(self, sink: Sink) -> None:
        # auth.test first: bad tokens fail here with AuthFailed, and it names the bot user to ignore.
        async with slack_errors():
            auth = await self.client.auth_test()
        bot_user_id = str(auth.get("user_id", ""))
        self.messages.bot_user_id = bot_user_id
        self.staff.bot_user_id = bot_user_id
        self.messages.sink = sink
        self._events.subscribe(self.triage.on_event)
        self._events.subscribe(self.notices.on_event)
        try:
            if self.socket is not None:
                await self.socket.start()
            if self.http is not None:
                self.http.ready = True
        except BaseException:
            # The runner retries start(): leave nothing subscribed or bound behind.
            await self.stop()
            raise

    async def stop(self) -> None:
        if self.http is not None:
            self.http.ready = False  # Slack's deliveries from now on get 503 and come again
        self._events.unsubscribe(self.triage.on_event)
        self._events.unsubscribe(self.notices.on_event)
        if self.socket is not None:
            await self.socket.stop()
        await self.background.drain()
        self.messages.sink = None

    async def send(self, reply: OutboundReply) -> str:
        """Post a reply to a Slack customer, in their thread; returns the new message's ts."""
        channel, _, replied_ts = reply.in_reply_to.partition(":")
        if not channel or not replied_ts:
            if not reply.direct or not reply.recipient_id:
                raise DeliveryFailed("no Slack channel to answer in", retryable=False, connector="slack")
            channel = await self.api.open_dm(reply.recipient_id)
        # In a DM, answer inline unless the customer started a thread there.
        thread = reply.conversation_id if not (reply.direct and reply.conversation_id == replied_ts) else None

        async def post(text: str, previous: str | None) -> str:
            # The core's text is plain; Slack reads &, < and > as markup, so escape them.
            return await self.api.post(channel, escape(text) or " ", thread_ts=thread)

        return await send_in_parts(self._state, reply.id, split_parts(reply.text, MESSAGE_LIMIT), post)
