"""Typed settings: a TOML file plus environment variables for secrets, loaded once at start-up.

Every section is a frozen pydantic model that forbids unknown keys, so a typo in the config file is
an error naming the key rather than a silently ignored setting.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from bot.domain import CHANNELS, Priority
from bot.errors import ConfigError
from nlp.types import Intent, Sentiment

CONFIG_ENV = "RAPPORT_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///rapport.db"
    # Seconds SQLite waits for another writer's lock before the write fails (and the platform is told to
    # retry): below Slack's 3 s acknowledgement limit.
    busy_timeout: float = Field(2.0, gt=0, le=60)


class NlpSettings(_Section):
    model: str | None = None  # None: the packaged all-MiniLM-L6-v2; else an exported directory, path or hub id
    weights: str | None = None  # None: the weights shipped in nlp/weights
    # auto: ONNX Runtime when the encoder is exported (the packaged one is), else PyTorch
    backend: Literal["auto", "onnx", "onnx-int8", "torch", "int8", "rules"] = "auto"
    max_length: int = Field(128, ge=8, le=512)
    threads: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)  # messages per classifier call: what the worker takes at once
    # Texts per encoder run inside a call (sorted by length, so little padding): see nlp.runtime.tokenizer.
    encoder_batch: int = Field(4, ge=1)
    low_confidence: float = Field(0.5, ge=0, le=1)


class Conditions(_Section):
    """What a message must look like for a rule to fire. Unset fields match anything."""

    intent: tuple[Intent, ...] | None = None
    sentiment: tuple[Sentiment, ...] | None = None
    urgent: bool | None = None
    abusive: bool | None = None
    low_confidence: bool | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    english: bool | None = None
    templated: bool | None = None  # Rapport has reply templates in the message's language
    channel: tuple[str, ...] | None = None
    tier: tuple[str, ...] | None = None
    direct: bool | None = None


class Rule(_Section):
    name: str
    when: Conditions = Conditions()
    action: Literal["reply", "escalate", "answer", "sales_alert", "record"]
    reply: str | None = None  # a template name under [templates]
    priority: Priority = Priority.NORMAL
    flag: bool = False  # mark the escalation for a careful human read (abuse)
    reason: str = ""


def _rule(name: str, action: str, reason: str, **kw: Any) -> Rule:
    when = kw.pop("when", {})
    return Rule.model_validate({"name": name, "action": action, "reason": reason, "when": when, **kw})


DEFAULT_RULES: tuple[Rule, ...] = (
    _rule("abusive", "escalate", "abusive message: a human reads it first", when={"abusive": True}, flag=True),
    _rule("no-templates", "escalate", "no templates for this language: a human answers", when={"templated": False}),
    _rule(
        "cancellation",
        "escalate",
        "wants to leave",
        when={"intent": ["cancellation"]},
        reply="acknowledge",
        priority="high",
    ),
    _rule("complaint", "escalate", "complaint", when={"intent": ["complaint"]}, reply="acknowledge"),
    # Acknowledged all the same: a customer is never left without an answer or an acknowledgement.
    _rule(
        "low-confidence",
        "escalate",
        "unsure what this is: a human decides",
        when={"low_confidence": True},
        reply="received",
    ),
    _rule("praise", "reply", "praise gets thanks", when={"intent": ["praise"]}, reply="thanks"),
    _rule(
        "question",
        "answer",
        "question: answer from the knowledge base",
        when={"intent": ["question"]},
        reply="question",
    ),
    _rule(
        "purchase-interest",
        "sales_alert",
        "purchase interest: tell sales",
        when={"intent": ["purchase_interest"]},
        reply="sales",
    ),
    _rule(
        "request", "escalate", "request needs a person", when={"intent": ["request"]}, reply="received", priority="low"
    ),
    _rule("other", "record", "nothing to do"),
)

DEFAULT_TEMPLATES: dict[str, str] = {
    "acknowledge": "Sorry to hear that, {name}. We've passed this to our team (ref #{ticket}) and will get back to "
    "you shortly.",
    "question": "Good question, {name}. We've passed it to our team (ref #{ticket}) and will answer shortly.",
    "received": "Thanks, {name}. We've passed your request to our team (ref #{ticket}).",
    "thanks": "Thank you, {name}! That means a lot to the team.",
    "sales": "Thanks for your interest, {name}! Someone from our team will reach out with the details.",
    "followup": "Thanks, {name}. I've added that to your case #{ticket}; a person will reply here.",
    "handoff": "Of course, {name}. I've asked a person to take over your case #{ticket}; they'll reply here.",
    # Outside [business_hours], added to the acknowledgement; {opens} is "Monday 09:00" in `weekdays`.
    "after_hours": "A person will reply from {opens}.",
    "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}
TEMPLATE_FIELDS = {"name": "there", "ticket": "0", "channel": "x", "answer": "", "handle": "", "opens": "Monday 09:00"}


class RoutingSettings(_Section):
    rules: tuple[Rule, ...] = DEFAULT_RULES

    @field_validator("rules")
    @classmethod
    def _channels_known(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        for rule in rules:
            unknown = set(rule.when.channel or ()) - CHANNELS
            if unknown:
                raise ValueError(f"rule {rule.name!r}: unknown channel {sorted(unknown)}")
        return rules


class KnowledgeSettings(_Section):
    path: str | None = None  # a folder of Markdown articles; None: the one bundled (bot/data/knowledge/)
    # Answer only at or above this score (the encoder's cosine blended with BM25, see bot/knowledge/index.py),
    # calibrated on CLINC150 by bench/kb_clinc.py: the stricter of its two validation calibrations. BM25
    # alone (`min_score_lexical`) scores when the classifier has no encoder (backend "rules", or the model
    # failed to load); it never reaches 0.90 precision with 5 phrasings an article, hence the strict bar.
    min_score: float = Field(0.64, ge=0, le=1)
    min_score_lexical: float = Field(0.86, ge=0, le=1)
    cache: str | None = None  # folder for article vectors; None: .rapport-cache/ beside the SQLite file


class OutboxSettings(_Section):
    max_attempts: int = Field(6, ge=1)
    backoff_initial: float = Field(2.0, gt=0)  # seconds; doubles each attempt
    backoff_max: float = Field(600.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)
    # The console's session cookie is marked Secure when a request arrives over HTTPS, and always when
    # a proxy in front terminates HTTPS (the request Rapport sees is then plain HTTP).
    behind_https: bool = False
    session_hours: int = Field(12, ge=1, le=24 * 30)  # a console sign-in lasts this long


class SlackSettings(_Section):
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    mode: Literal["http", "socket"] = "http"
    customer_channels: tuple[str, ...] = ()
    triage_channel: str | None = None
    sales_channel: str | None = None
    staff_user_ids: tuple[str, ...] = ()
    api_url: str = "https://slack.com/api/"
    command: str = "/rapport"
    note_prefix: str = "note:"
    macro_prefix: str = "macro:"  # "macro: NAME" in a card's thread sends that macro to the customer
    snooze_minutes: int = Field(60, ge=1, le=7 * 24 * 60)  # what the card's Snooze button snoozes for

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None


class DiscordSettings(_Section):
    token: SecretStr | None = None
    guild_ids: tuple[int, ...] = ()  # empty: every guild the bot is in
    channel_ids: tuple[int, ...] = ()  # empty: every channel it can read
    reply_mode: Literal["reply", "dm"] = "reply"
    api_url: str | None = None  # None: Discord's own
    gateway_url: str | None = None

    @property
    def enabled(self) -> bool:
        return self.token is not None


class XSettings(_Section):
    bearer_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    user_id: str | None = None
    poll_interval: float = Field(60.0, gt=0)
    daily_post_budget: int = Field(100, ge=0)
    # X bills per post read and per post created: these cap a UTC calendar month (unset: no cap), and the
    # unit prices (your plan's, in dollars) only turn the counts into money in `rapport status`.
    monthly_read_budget: int | None = Field(None, ge=1)
    monthly_post_budget: int | None = Field(None, ge=0)
    cost_per_read: float | None = Field(None, ge=0)
    cost_per_post: float | None = Field(None, ge=0)
    read_dms: bool = False
    api_url: str = "https://api.x.com"

    @property
    def enabled(self) -> bool:
        return self.bearer_token is not None or self.access_token is not None


class SlaTarget(_Section):
    first_response_minutes: int = Field(ge=1)
    resolution_minutes: int = Field(ge=1)


class SlaSettings(_Section):
    targets: dict[Priority, SlaTarget] = {
        Priority.URGENT: SlaTarget(first_response_minutes=15, resolution_minutes=240),
        Priority.HIGH: SlaTarget(first_response_minutes=60, resolution_minutes=480),
        Priority.NORMAL: SlaTarget(first_response_minutes=240, resolution_minutes=1440),
        Priority.LOW: SlaTarget(first_response_minutes=1440, resolution_minutes=4320),
    }
    remind_before_minutes: int = Field(10, ge=0)
    check_seconds: float = Field(60.0, gt=0)  # how often reminders and breaches are looked for


class TierThresholds(_Section):
    """The customer pyramid. Net value is lifetime value minus the cost to serve; a tier needs both its
    net value and its order count."""

    platinum_value: float = Field(5000.0, ge=0)
    platinum_orders: int = Field(10, ge=0)
    gold_value: float = Field(1000.0, ge=0)
    gold_orders: int = Field(3, ge=0)
    # Net value under this is lead: costs clearly more than they bring in. Below zero so that one complaint
    # from a new contact does not make them "lead" on first contact.
    lead_below: float = -100.0
    complaint_cost: float = Field(20.0, ge=0)
    escalation_cost: float = Field(50.0, ge=0)
    handling_hour_cost: float = Field(30.0, ge=0)  # per hour an escalation stayed open

    @model_validator(mode="after")
    def _ordered(self) -> TierThresholds:
        if self.platinum_value < self.gold_value or self.platinum_orders < self.gold_orders:
            raise ValueError("platinum thresholds must be at least the gold ones")
        if self.lead_below > self.gold_value:
            raise ValueError("lead_below must be under gold_value")
        return self


RELATIONSHIP_TEMPLATES: dict[str, str] = {
    "csat": "Hi {name}, your request #{ticket} was resolved. How did we do, from 1 (poor) to 5 (great)? "
    'Reply with a number, or "stop" for no more messages like this.',
    "csat_reask": "Sorry, {name}, we didn't catch that: please reply with a single number from 1 to 5.",
    "csat_thanks": "Thank you for your feedback, {name}!",
    "purchase_thanks": "Thank you for your purchase, {name}! Reply here any time if you need anything.",
    "keep_in_touch": 'Hi {name}, it\'s been a while! Anything we can help you with? (Reply "stop" to opt out.)',
    "birthday": "Happy birthday, {name}! Everyone here wishes you a great day.",
    "opt_out": 'Done, {name}: no more follow-up messages on {channel}. Reply "start" to change your mind.',
    "opt_in": "Welcome back, {name}: follow-up messages on {channel} are on again.",
}


class RelationshipSettings(_Section):
    """Customer relationships: tiers, stages, follow-ups, identity merging, root-cause topics."""

    tiers: TierThresholds = TierThresholds()
    recompute_minutes: int = Field(60, ge=1)  # tiers of every customer are recomputed this often
    # Under load replies come first: a customer's tier and stage catch up within this many seconds of
    # their message (at once when the bot is idle).
    refresh_within_seconds: float = Field(30.0, ge=0)
    stage_window: int = Field(10, ge=2)  # the last N messages decide the stage
    stage_window_days: int = Field(90, ge=1)
    exploration_messages: int = Field(1, ge=1)  # up to this many messages is a first contact
    expansion_days: int = Field(30, ge=1)  # a purchase this recent means the customer is expanding
    engagement_messages: int = Field(4, ge=2)
    engagement_positive_share: float = Field(0.7, ge=0, le=1)  # share of messages that are not negative
    dissolution_negative: int = Field(2, ge=1)  # this many negative among the last `dissolution_recent`...
    dissolution_recent: int = Field(3, ge=1)
    csat_delay_minutes: int = Field(60, ge=0)
    csat_expire_hours: int = Field(72, ge=1)  # an unanswered survey is recorded as such after this
    thanks_delay_minutes: int = Field(60, ge=0)
    keep_in_touch_days: int = Field(30, ge=1)
    keep_in_touch_tiers: tuple[str, ...] = ("platinum", "gold")
    birthday_hour: int = Field(10, ge=0, le=23)  # local hour birthday messages go out
    quiet_start: str | None = "21:00"  # HH:MM local; None: no quiet hours
    quiet_end: str = "08:00"
    timezone: str = "UTC"
    poll_seconds: float = Field(60.0, gt=0)  # how often the follow-up scheduler wakes
    auto_merge: bool = False  # merge suggested identities without review (at or above the confidence)
    auto_merge_confidence: float = Field(0.95, ge=0, le=1)
    topic_window_days: int = Field(28, ge=1)
    topic_min_similarity: float = Field(0.2, gt=0, le=1)  # cosine, average link
    # The same on the classifier's base encoder (sentence-similarity vectors: related wording scores
    # 0.45-0.8, unrelated complaints 0.1-0.35).
    topic_min_similarity_encoder: float = Field(0.45, gt=0, le=1)
    topic_summary_weekday: int = Field(0, ge=0, le=6)  # Monday
    templates: dict[str, str] = RELATIONSHIP_TEMPLATES  # "<name>.<channel>" overrides per channel
    # The one currency values are kept in (ISO 4217): the API refuses a purchase in another, since
    # Rapport converts nothing.
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is None:
            return value
        hh, sep, mm = value.partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"{value!r} is not HH:MM")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value[:60]!r}") from None
        return value

    @field_validator("templates")
    @classmethod
    def _templates_render(cls, templates: dict[str, str]) -> dict[str, str]:
        merged = {**RELATIONSHIP_TEMPLATES, **templates}
        for name, text in merged.items():
            base, _, channel = name.partition(".")
            if base not in RELATIONSHIP_TEMPLATES or (channel and channel not in CHANNELS):
                raise ValueError(
                    f"template {name!r}: unknown (known: {', '.join(RELATIONSHIP_TEMPLATES)}, optionally .<channel>)"
                )
            try:
                text.format_map(TEMPLATE_FIELDS)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"template {name!r}: bad placeholder {exc}") from None
        return merged


# Asking for a person, per language we have templates for (regular expressions, case-insensitive).
# Recognised whatever the classifier says: "can I talk to a human" is a hand-off, not a question.
_PERSON_EN = r"(person|human|agent|representative|rep|operator|some\s?one|somebody|staff|advisor)"
DEFAULT_HANDOFF: dict[str, tuple[str, ...]] = {
    "en": (
        rf"\b(talk|speak|chat)\s+(to|with)\s+(a|an|some|the)?\s*(real|live|actual|human)?\s*{_PERSON_EN}\b",
        r"\b(real|live|actual)\s+(person|human|agent)\b",
        rf"\b(get|give|put|connect|transfer|pass)\s+me\s+(to|through\s+to|with)?\s*(a|an)?\s*(real|live)?\s*{_PERSON_EN}\b",
        r"^\W*(human|agent|operator|representative)(\s+please)?\W*$",
        r"\b(want|need)\s+(a|an|to\s+talk\s+to\s+a)\s+(human|person|agent)\b",
    ),
    "es": (
        r"\bhablar\s+con\s+(una|un|alguna|algún)?\s*(persona|humano|agente|alguien|asesor)\b",
        r"\bpersona\s+real\b",
    ),
    "fr": (
        r"\bparler\s+(à|a|avec)\s+(une?|quelqu'un|un\s+vrai|une\s+vraie)?\s*(personne|humain|agent|conseill[eè]re?|quelqu'un)\b",
        r"\bvraie\s+personne\b",
    ),
    "de": (
        r"\b(mit\s+)?(einem|einer)\s+(echten\s+)?(menschen|mitarbeiter(in)?|person|berater(in)?)\s+(sprechen|reden)\b",
        r"\becht(e|en)?\s+(mensch|person)\b",
    ),
    "pt": (
        r"\bfalar\s+com\s+(uma|um|alguém)?\s*(pessoa|humano|atendente|agente|alguém)\b",
        r"\bpessoa\s+real\b",
    ),
}


class DetailRequest(_Section):
    """Something the bot asks for when a message needs it and lacks it (an order number)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    intents: tuple[Intent, ...] = (Intent.COMPLAINT,)
    # The message must contain one of these words (as a word's start: "deliver" matches "delivery");
    # empty: any message of those intents.
    words: tuple[str, ...] = ()
    pattern: str  # regular expression: its first matching group (or the whole match) is the value
    question: str  # asked in English; `questions` per language code
    questions: dict[str, str] = {}

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from None
        return value


DEFAULT_DETAILS: tuple[DetailRequest, ...] = (
    DetailRequest(
        name="order_number",
        words=(
            "order",
            "deliver",
            "package",
            "parcel",
            "shipment",
            "shipping",
            "arriv",
            "charg",
            "refund",
            "payment",
            "paid",
            "pedido",
            "commande",
            "bestell",
            "encomenda",
        ),
        # "#55120", "#AB-1234", or a bare 5-12 digit number that is not part of an amount or a date.
        pattern=r"#\s?([A-Za-z0-9][A-Za-z0-9-]{3,19})\b|(?<![\w$€£.,:/-])(\d{5,12})(?![\w.,:/-]*\d)",
        question="Could you share your order number?",
        questions={
            "es": "¿Podrías indicarnos tu número de pedido?",
            "fr": "Pourriez-vous nous indiquer votre numéro de commande ?",
            "de": "Kannst du uns deine Bestellnummer nennen?",
            "pt": "Pode indicar-nos o número da sua encomenda?",
        },
    ),
)


class ConversationSettings(_Section):
    """How the bot holds a conversation: what joins a case, when it stays quiet, what it asks for."""

    # A customer's consecutive messages on one platform this close together belong to one conversation
    # (five quick top-level Slack messages are one case, not five).
    window_minutes: float = Field(3.0, ge=0)
    # After acknowledging a follow-up on an open case, further follow-ups get no reply for this long.
    quiet_minutes: float = Field(30.0, ge=0)
    handoff_phrases: dict[str, tuple[str, ...]] = DEFAULT_HANDOFF
    details: tuple[DetailRequest, ...] = DEFAULT_DETAILS

    @field_validator("handoff_phrases")
    @classmethod
    def _phrases_compile(cls, phrases: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        import re

        for code, patterns in phrases.items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"handoff_phrases.{code}: {pattern[:60]!r} does not compile: {exc}") from None
        return phrases


class QueueSettings(_Section):
    # None: the one-process default (an in-process queue). "redis://host:6379/0": a Redis stream that a
    # gateway (`rapport run --role gateway`) fills and any number of `rapport worker` processes drain.
    url: str | None = None
    prefix: str = "rapport:"  # key prefix of the stream, so several Rapports can share one Redis
    claim_idle_seconds: float = Field(30.0, gt=0)  # a dead worker's entries are taken over after this
    # How often a quiet worker processes stored, unprocessed messages, and the gateway re-adds those the
    # stream lost (Redis flushed or restarted) to it.
    sweep_seconds: float = Field(30.0, gt=0)
    # Exactly one process runs the schedulers: it holds a lease in PostgreSQL renewed every third of this;
    # a frozen or cut-off holder loses it after this long and another process takes over.
    lease_seconds: float = Field(30.0, ge=1)
    heartbeat_seconds: float = Field(5.0, gt=0)  # processes refresh their entry in `rapport status` this often


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")


def parse_day(value: str) -> tuple[tuple[time, time | None], ...]:
    """One day's opening ranges: "09:00-17:00", "09:00-12:00, 13:00-17:00", or "" (closed). An end of
    24:00 is midnight (None); ranges must be in order and must not overlap."""
    ranges: list[tuple[time, time | None]] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"{part[:40]!r} is not HH:MM-HH:MM")
        opens = time(int(match[1]), int(match[2]))
        closes = None if match[3] == "24:00" else time(int(match[4]), int(match[5]))
        if closes is not None and closes <= opens:
            raise ValueError(f"{part!r} ends before it starts")
        if ranges and (ranges[-1][1] is None or opens < ranges[-1][1]):  # type: ignore[operator]
            raise ValueError(f"{part!r} overlaps or precedes the range before it")
        ranges.append((opens, closes))
    return tuple(ranges)


class BusinessHoursSettings(_Section):
    """When a person is at the desk. Without this table the desk is always open."""

    timezone: str = "UTC"
    mon: str = "09:00-17:00"
    tue: str = "09:00-17:00"
    wed: str = "09:00-17:00"
    thu: str = "09:00-17:00"
    fri: str = "09:00-17:00"
    sat: str = ""
    sun: str = ""
    holidays: tuple[date, ...] = ()

    @field_validator(*WEEKDAYS)
    @classmethod
    def _ranges(cls, value: str) -> str:
        parse_day(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)

    @model_validator(mode="after")
    def _opens_sometime(self) -> BusinessHoursSettings:
        if not any(parse_day(getattr(self, day)) for day in WEEKDAYS):
            raise ValueError("every day is closed: open at least one")
        return self


class AssignmentSettings(_Section):
    """Automatic assignment of new cases, round-robin among staff on shift (`rapport staff shift`)."""

    enabled: bool = False
    max_open_per_person: int = Field(5, ge=1)  # a person with this many open cases gets no new one


class SuggestionSettings(_Section):
    """Suggested replies on a case: knowledge-base answers and staff replies from similar resolved cases."""

    limit: int = Field(3, ge=1, le=5)  # of each kind
    # Lower than [knowledge] min_score: a person reads a suggestion before sending it. On the same scales
    # as there (encoder cosine blended with BM25; BM25 alone without an encoder).
    min_score: float = Field(0.45, ge=0, le=1)
    min_score_lexical: float = Field(0.3, ge=0, le=1)
    resolved_cases: int = Field(2000, ge=0)  # the most recent resolved cases whose replies are searched


MACRO_FIELDS = {"name": "there", "ticket": "0"}
_MACRO_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _check_macros(macros: dict[str, str]) -> dict[str, str]:
    for name, text in macros.items():
        if not _MACRO_NAME.match(name):
            raise ValueError(f"macro {name[:40]!r}: use lower-case letters, digits, - and _ (up to 40)")
        if not text.strip():
            raise ValueError(f"macro {name!r} is empty")
        try:
            text.format_map(MACRO_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"macro {name!r}: bad placeholder {exc} (allowed: {{name}}, {{ticket}})") from None
    return macros


def _known_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value[:60]!r}") from None
    return value


WebhookEvent = Literal[
    "escalation.opened",
    "escalation.claimed",
    "escalation.resolved",
    "message.received",
    "sales.alert",
    "csat.received",
    "customer.tier_changed",
]
WEBHOOK_EVENTS: tuple[str, ...] = get_args(WebhookEvent)


class WebhookSettings(_Section):
    """One receiver: signed POSTs of the events it lists, retried with backoff for `retry_hours`."""

    url: str = Field(pattern=r"^https?://")
    secret: SecretStr
    events: tuple[WebhookEvent, ...] = Field(min_length=1)
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # default: the URL's host
    timeout: float = Field(10.0, gt=0, le=60)  # seconds a receiver has to answer
    backoff_initial: float = Field(10.0, gt=0)  # seconds after the first failure; doubles each time
    backoff_max: float = Field(3600.0, gt=0)
    retry_hours: float = Field(24.0, gt=0, le=24 * 7)  # then the delivery is given up (and logged)

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("use at least 16 characters")
        return value

    @property
    def key(self) -> str:
        """What names this receiver in deliveries, logs and metrics."""
        from urllib.parse import urlsplit

        return self.name or urlsplit(self.url).netloc


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    queue: QueueSettings = QueueSettings()
    nlp: NlpSettings = NlpSettings()
    routing: RoutingSettings = RoutingSettings()
    # English texts as strings; other languages as [templates.<code>] tables (see bot/templates.py).
    templates: dict[str, str | dict[str, str]] = Field(default=DEFAULT_TEMPLATES, validate_default=True)
    conversation: ConversationSettings = ConversationSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    outbox: OutboxSettings = OutboxSettings()
    server: ServerSettings = ServerSettings()
    sla: SlaSettings = SlaSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    x: XSettings = XSettings()
    relationships: RelationshipSettings = RelationshipSettings()
    webhooks: tuple[WebhookSettings, ...] = ()
    business_hours: BusinessHoursSettings | None = None  # None: always open
    assignment: AssignmentSettings = AssignmentSettings()
    suggestions: SuggestionSettings = SuggestionSettings()
    macros: dict[str, str] = {}  # name -> reply text with {name} and {ticket}
    log_level: str = "INFO"

    @field_validator("macros")
    @classmethod
    def _macros_render(cls, macros: dict[str, str]) -> dict[str, str]:
        return _check_macros(macros)

    @field_validator("templates")
    @classmethod
    def _templates_render(cls, templates: dict[str, str | dict[str, str]]) -> dict[str, str | dict[str, str]]:
        from bot.templates import bundled_languages

        merged: dict[str, str | dict[str, str]] = {**DEFAULT_TEMPLATES}
        languages = {code: dict(table) for code, table in bundled_languages().items()}
        for key, value in templates.items():
            if isinstance(value, str):
                merged[key] = value
            elif len(key) == 2 and key.isalpha() and key.islower():
                languages[key] = {**languages.get(key, {}), **value}
            else:
                raise ValueError(f"[templates.{key}]: a language table needs a two-letter ISO 639-1 code")
        for key, table in languages.items():
            unknown = set(table) - set(merged)
            if unknown:
                raise ValueError(f"[templates.{key}]: {sorted(unknown)} not defined in English under [templates]")
        fields = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        texts = [(name, text) for name, text in merged.items() if isinstance(text, str)]
        texts += [(f"{code}.{name}", text) for code, table in languages.items() for name, text in table.items()]
        for name, text in texts:
            try:
                text.format_map(TEMPLATE_FIELDS)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"template {name!r}: bad placeholder {exc} (allowed: {fields})") from None
        return {**merged, **languages}

    @model_validator(mode="after")
    def _webhook_names_differ(self) -> Settings:
        keys = [w.key for w in self.webhooks]
        if len(set(keys)) != len(keys):
            raise ValueError("two [[webhooks]] have the same name (set `name` on each)")
        return self

    @model_validator(mode="after")
    def _rules_use_known_templates(self) -> Settings:
        for rule in self.routing.rules:
            if rule.reply and rule.reply not in self.templates:
                raise ValueError(f"rule {rule.name!r} uses template {rule.reply!r}, not defined in [templates]")
        return self


# Environment variables that supply secrets (and a few deployment settings) without a file.
ENV_KEYS: dict[str, tuple[str, str]] = {
    "RAPPORT_DATABASE_URL": ("database", "url"),
    "RAPPORT_QUEUE_URL": ("queue", "url"),  # a Redis URL may carry a password
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "DISCORD_TOKEN": ("discord", "token"),
    "X_BEARER_TOKEN": ("x", "bearer_token"),
    "X_CONSUMER_KEY": ("x", "consumer_key"),
    "X_CONSUMER_SECRET": ("x", "consumer_secret"),
    "X_ACCESS_TOKEN": ("x", "access_token"),
    "X_ACCESS_TOKEN_SECRET": ("x", "access_token_secret"),
}


def _describe(exc: ValidationError, source: str) -> str:
    # Never echo input values: they may be secrets.
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {loc}: {msg}")
    return f"{source}: invalid configuration\n" + "\n".join(lines)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and environment secrets into frozen settings; ConfigError on problems."""
    env = os.environ if env is None else env
    if path is None and env.get(CONFIG_ENV):
        path = env[CONFIG_ENV]
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{source}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if "faq" in data:
        raise ConfigError(
            f"{source}: [faq] is replaced by [knowledge]: set [knowledge] path to a folder of Markdown articles "
            '(one per answer; README, "Knowledge base") and min_score on the new scale, then remove [faq]'
        )
    for var, (section, key) in ENV_KEYS.items():
        value = env.get(var)
        if value:
            part = data.setdefault(section, {})
            if not isinstance(part, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            part[key] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
