"""Assembling the bot from settings: database, classifier, pipeline, outbox, desk and connectors."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.access.service import Access
from bot.classifier import load_classifier
from bot.config import Settings
from bot.conversation import Conversations
from bot.desk import Desk
from bot.domain import InboundMessage, utcnow
from bot.errors import ConfigError, ConnectorError, StorageError
from bot.events import RELAY_WINDOW, EventBus
from bot.fleet import periodically, process_name, requeue_lost
from bot.knowledge import load_knowledge
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.pipeline import Outcome, Pipeline, Services
from bot.ports import AsgiApp, Connector, HttpEndpoints, UsageReport, WorkQueue
from bot.relationships.service import RelationshipService
from bot.sla_watch import SlaWatch
from bot.staff.assignment import SUBSCRIBER as AUTO_ASSIGN
from bot.staff.assignment import AutoAssigner, Shifts
from bot.staff.business_hours import business_hours
from bot.staff.macros import Macros
from bot.staff.suggestions import Suggestions
from bot.staff.tools import StaffTools
from bot.storage import Database, Repository, upgrade
from bot.storage.backlog import Backlog
from bot.storage.conversations import ConversationStore
from bot.storage.events import RepositoryEvents
from bot.storage.leader import Leadership
from bot.storage.presence import Presence
from bot.storage.repository import RepositoryState
from bot.storage.staff import StaffStore
from bot.storage.stats import StatsQueries
from bot.storage.turns import ConversationTurns
from bot.templates import Templates
from bot.webhooks.dispatcher import SUBSCRIBER as WEBHOOKS
from bot.webhooks.dispatcher import Webhooks
from bot.worker import LocalQueue, Worker
from nlp.rules import RuleClassifier
from nlp.types import Classifier

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.server import HttpServer

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """For a serving process, once started: what it loaded (the model, configuration, templates, compiled
    statements) lives as long as the process, so it leaves the collector's generations and a full
    collection stops scanning it. Measured with bench/pipeline.py at 50 msgs/s on two cores: the one
    full collection in a run paused the event loop 66 ms, and the messages waiting meanwhile made the
    run's p99. Not for tests and tools that build many bots in one process: frozen cycles are never
    collected."""
    gc.collect()
    gc.freeze()


class Rapport:
    """The whole bot. `async with Rapport(settings) as bot:` migrates the database and wires the parts."""

    def __init__(self, settings: Settings, *, classifier: Classifier | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database.url, busy_timeout=settings.database.busy_timeout)
        self.repo = Repository(self.db)
        self.events = EventBus(RepositoryEvents(self.db))
        self.hours = business_hours(settings.business_hours)  # None: always open
        self.desk = Desk(self.repo, self.events, settings.sla, self.hours)
        self.shifts = Shifts(StaffStore(self.db), self.repo)
        self.assigner = AutoAssigner(settings.assignment, self.shifts.store, self.repo, self.events)
        if settings.assignment.enabled:
            self.events.subscribe(self.assigner.on_event, name=AUTO_ASSIGN)
        self.access = Access(self.repo, self.db)
        self.metrics = Metrics()
        self.stats = StatsQueries(self.db)
        self.webhooks: Webhooks | None = None
        if settings.webhooks:
            # A durable subscriber from the start: the relay then hands it whatever it missed.
            self.webhooks = Webhooks(self.repo, self.db, settings.webhooks, self.metrics)
            self.events.subscribe(self.webhooks.on_event, name=WEBHOOKS)
        self.sla = SlaWatch(settings.sla, self.desk, self.repo, self.events, self.state_for("sla"))
        self._classifier = classifier
        self.connected: dict[str, Connector] = {}  # started connectors: the outbox delivers only to these
        self.outbox = Outbox(self.repo, self.connected, settings.outbox)
        self.desk.wake = self.outbox.poke
        self.pipeline: Pipeline | None = None
        self.name = process_name()
        self._started = utcnow()
        self.backlog = Backlog(self.db)
        # Exactly one process (whichever holds the lease) runs the schedulers, however many gateways run.
        self.leader = Leadership(self.db, lease_seconds=settings.queue.lease_seconds)
        self.queue: WorkQueue = LocalQueue()
        self.presence: Presence | None = None
        if (url := settings.queue.url) is not None:
            from bot.storage.stream import RedisQueue

            q = settings.queue
            self.queue = RedisQueue(url, prefix=q.prefix, consumer=self.name, claim_idle=q.claim_idle_seconds)
            self.presence = Presence(url, prefix=q.prefix)
        self.status: dict[str, str] = {}
        self.http: HttpServer | None = None  # the running server (rapport run); `port` says where

    async def __aenter__(self) -> Rapport:
        await upgrade(self.settings.database.url)
        classifier = self._classifier
        if classifier is None:
            classifier = await asyncio.to_thread(lambda: load_classifier(self.settings, serving=True))
            # Load lazily-built parts (language models, the encoder's first pass) now, not on the
            # first customer message: Slack wants its events acknowledged within 3 seconds.
            await asyncio.to_thread(classifier.classify, ["Warming up: is my order on its way?"])
        # Root-cause topics cluster complaints on the classifier's own encoder when it has one.
        self.relationships = RelationshipService(
            self.repo,
            self.db,
            self.settings.relationships,
            self.events,
            wake=self.outbox.poke,
            embed=getattr(classifier, "embed", None),
        )
        self.desk.linker = self.relationships.identities.link
        # Built here, in a thread: the first start embeds every article (later ones read the cache).
        self.knowledge = await asyncio.to_thread(load_knowledge, self.settings, classifier)
        suggestions = Suggestions(
            self.settings.suggestions, self.desk, self.knowledge, self.shifts.store, self.knowledge.encoder
        )
        self.staff = StaffTools(suggestions, Macros(self.settings.macros, self.desk), self.shifts)
        services = Services(
            repo=self.repo,
            classifier=classifier,
            fallback=RuleClassifier(),
            rules=self.settings.routing.rules,
            templates=Templates(self.settings.templates),
            knowledge=self.knowledge,
            events=self.events,
            conversations=Conversations(self.settings.conversation, ConversationStore(self.db)),
            turns=ConversationTurns(self.db),
            interceptors=self.relationships.interceptors,
            observers=self.relationships.observers,
            deferred=(self.relationships,),
            timed=self.metrics.timed,
            announce_messages=self.webhooks is not None and self.webhooks.wants_messages,
            hours=self.hours,
        )
        self.pipeline = Pipeline(services)
        self.worker = Worker(
            self.pipeline,
            self.queue,
            batch_size=self.settings.nlp.batch_size,
            sweep_seconds=self.settings.queue.sweep_seconds,
            on_done=self._processed,
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for connector in list(self.connected.values()):
            await self.detach(connector)
        await self.leader.release()
        await self.queue.close()
        if self.presence is not None:
            await self.presence.close()
        await self.db.close()

    @property
    def classifier(self) -> Classifier:
        assert self.pipeline is not None, "use `async with Rapport(...)`"
        return self.pipeline.services.classifier

    async def process(self, message: InboundMessage) -> Outcome:
        """Run one message through the pipeline and wake the outbox."""
        assert self.pipeline is not None, "use `async with Rapport(...)`"
        outcome = await self.pipeline.process(message)
        if outcome.reply_ids:
            self.outbox.poke()
        return outcome

    async def sink(self, message: InboundMessage) -> None:
        """What connectors call: store, announce to the worker, return. Raises StorageError when the
        message could not be stored (the connector then makes the platform retry)."""
        assert self.pipeline is not None, "use `async with Rapport(...)`"
        stored, created = await self.pipeline.store(message)
        if created:
            self.metrics.ingested.labels(channel=message.channel).inc()
            await self.queue.put(stored.id)

    async def attach(self, connector: Connector) -> None:
        """Start a connector and let the outbox deliver through it."""
        await connector.start(self.sink)
        self.connected[connector.name] = connector
        self.status[connector.name] = "running"
        self.outbox.poke()

    async def detach(self, connector: Connector, *, status: str = "stopped") -> None:
        self.connected.pop(connector.name, None)
        try:
            await connector.stop()
        except Exception:
            log.exception("connector %s failed to stop cleanly", connector.name)
        self.status[connector.name] = status

    async def supervise(self, connector: Connector, stop: asyncio.Event, *, max_delay: float = 300.0) -> None:
        """Keep a connector running until `stop`: start it, watch it, restart it with backoff when it
        fails to start or dies later. One connector's failure never stops the others."""
        delay = 1.0
        while not stop.is_set():
            try:
                await self.attach(connector)
                delay = 1.0
                await self._watch(connector, stop)
                if stop.is_set():
                    return
                raise ConnectorError("stopped unexpectedly", connector=connector.name)
            except Exception as exc:
                # Never format the exception with its arguments' repr: SDK errors can carry tokens.
                self.connected.pop(connector.name, None)
                self.status[connector.name] = f"down ({type(exc).__name__}); retrying in {delay:.0f}s"
                log.error("connector %s: %s; retrying in %.0fs", connector.name, exc, delay)
                await self.detach(connector, status=self.status[connector.name])
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
                delay = min(max_delay, delay * 2)

    @staticmethod
    async def _watch(connector: Connector, stop: asyncio.Event) -> None:
        """Return when `stop` is set or the connector ends; raise what ended it."""
        wait = getattr(connector, "wait", None)
        if wait is None:  # a connector that cannot tell us it died: trust it until stop
            await stop.wait()
            return
        ended = asyncio.ensure_future(wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({ended, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if ended.done():
            ended.result()  # raises the connector's fatal error, if any
        else:
            ended.cancel()

    def connector_status(self) -> dict[str, str]:
        """Each connector's own account of itself where it gives one, else what the supervisor saw."""
        out = dict(self.status)
        for name, connector in self.connected.items():
            out[name] = str(getattr(connector, "status", out.get(name, "running")))
        return out

    def connectors_up(self) -> dict[str, bool]:
        """Each known connector: running (and not saying it is down) or not."""
        return {
            name: name in self.connected and not status.startswith("down")
            for name, status in self.connector_status().items()
        }

    async def webhook_backlog(self) -> dict[str, int]:
        """Webhook deliveries by status (none until webhooks are configured)."""
        return await self.webhooks.store.by_status() if self.webhooks is not None else {}

    def web_app(self, connectors: Sequence[Connector] = ()) -> FastAPI:
        """The HTTP server's ASGI app: the API, /metrics, and each connector's platform endpoints."""
        from bot.server import build_app

        endpoints: dict[str, AsgiApp] = {}
        for connector in connectors:
            if isinstance(connector, HttpEndpoints):
                endpoints.update(connector.http_routes())
        return build_app(self, endpoints)

    async def serve_http(
        self, connectors: Sequence[Connector], stop: asyncio.Event, *, max_delay: float = 300.0
    ) -> None:
        """Serve [server] host:port until `stop`; a port that cannot be bound is retried with backoff,
        and never stops the connectors (those in Socket Mode, Discord and X need no server)."""
        from bot.server import HttpServer

        app = self.web_app(connectors)
        delay = min(1.0, max_delay)
        while not stop.is_set():
            server = HttpServer(app, self.settings.server.host, self.settings.server.port)
            try:
                await server.start()
                self.http = server
                delay = min(1.0, max_delay)
                ended = asyncio.ensure_future(server.wait())
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({ended, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if ended.done():
                    ended.result()
                    raise ConfigError("the HTTP server stopped unexpectedly")
                ended.cancel()
            except Exception as exc:
                log.error("http server: %s; retrying in %.0fs", exc, delay)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
                delay = min(max_delay, delay * 2)
            finally:
                await server.stop()
                self.http = None

    async def run(self, connectors: Sequence[Connector], stop: asyncio.Event, *, role: str = "all") -> None:
        """Finish interrupted work, start every connector, deliver replies until `stop` is set.

        Roles: "all" (the one-process default: everything), "gateway" (connectors, outbox, event relay,
        schedulers: no processing, which `rapport worker` processes do), "worker" (processing only).
        """
        assert self.pipeline is not None, "use `async with Rapport(...)`"
        processes, serves = role in ("all", "worker"), role in ("all", "gateway")
        q = self.settings.queue
        background: list[asyncio.Task[None]] = []
        if self.presence is not None:
            beat = periodically(stop, q.heartbeat_seconds, lambda: self._beat(role), what="heartbeat")
            background.append(asyncio.create_task(beat, name="heartbeat"))
        if serves:
            requeued = await self.outbox.recover()
            if requeued:
                log.info("recovered %d interrupted replies", requeued)
            background.append(asyncio.create_task(self.outbox.run(stop), name="outbox"))
            await self.leader.try_lead()  # so the first rounds of the schedulers already know who leads
            background.append(asyncio.create_task(self.leader.run(stop), name="scheduler-lease"))
            lead = self.leader.confirm
            # Workers in other processes write the events; the gateway's relay delivers them promptly.
            every = 1.0 if role == "gateway" else 30.0
            relay = periodically(stop, every, self.relay_once, what="event relay", leading=lead)
            background.append(asyncio.create_task(relay, name="event-relay"))
            background.append(
                asyncio.create_task(self.relationships.scheduler.run(stop, leading=lead), name="followups")
            )
            if role == "gateway":  # the database is the source of truth; the stream is only the work list
                sweep = periodically(
                    stop,
                    q.sweep_seconds,
                    lambda: requeue_lost(self.queue, self.backlog, older_than=q.sweep_seconds),
                    what="re-enqueue sweep",
                    leading=lead,
                )
                background.append(asyncio.create_task(sweep, name="re-enqueue"))
            sla = periodically(stop, self.settings.sla.check_seconds, self.sla.check, what="SLA watch", leading=lead)
            background.append(asyncio.create_task(sla, name="sla-watch"))
            background.append(asyncio.create_task(self.serve_http(connectors, stop), name="http"))
            if self.webhooks is not None:
                background.append(asyncio.create_task(self.webhooks.run(stop), name="webhooks"))
        if processes:
            # Alone, this process finishes what a stopped one stored. A worker among several does not: they
            # would all start on the same oldest messages; the stream (and the gateway's sweep) hands them out.
            resumed = len(await self.pipeline.resume()) if role == "all" else 0
            if resumed:
                log.info("processed %d messages a stopped process had stored", resumed)
            background.append(asyncio.create_task(self.worker.run(stop), name="worker"))
        tasks = [asyncio.create_task(self.supervise(c, stop), name=f"start-{c.name}") for c in connectors]
        try:
            await stop.wait()
            for connector in connectors:
                await self.detach(connector)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in background:
                await task
            if self.presence is not None:
                try:
                    await self.presence.leave(self.name)
                except StorageError:
                    pass  # the entry expires by itself

    def _processed(self, outcomes: list[Outcome]) -> None:
        if any(o.reply_ids for o in outcomes):
            self.outbox.poke()

    async def relay_once(self) -> None:
        """Deliver stored events a subscriber missed (a crash, Slack down, a worker's), and prune old ones."""
        delivered = await self.events.relay()
        if delivered:
            log.info("event relay: delivered %d missed events", delivered)
        if self.events.store is not None:
            await self.events.store.prune(utcnow() - 7 * RELAY_WINDOW)

    async def _beat(self, role: str) -> None:
        """This process's line in `rapport status`, alive for three heartbeats."""
        assert self.presence is not None
        info = {
            "role": role,
            "pid": os.getpid(),
            "started": self._started.isoformat(),
            "beat": utcnow().isoformat(),
            "leader": role != "worker" and await self.leader.confirm(),
            "processed": self.worker.processed if role != "gateway" else None,
            "connectors": self.connector_status(),
        }
        await self.presence.beat(self.name, info, ttl=3 * self.settings.queue.heartbeat_seconds)

    def state_for(self, namespace: str) -> RepositoryState:
        return RepositoryState(self.repo, namespace)

    def build_connectors(self) -> list[Connector]:
        """The platform connectors whose sections are configured (a token is set)."""
        s = self.settings
        found: list[Connector] = []
        usage: list[UsageReport] = []
        x = None
        if s.x.enabled:
            from connectors.x import XConnector

            x = XConnector(s.x, self.state_for("x"), notify=self.events.publish)
            usage.append(x)  # the App Home shows what listening on X costs this month
        if s.slack.enabled:
            from connectors.slack import SlackConnector

            found.append(SlackConnector(s, self.desk, self.events, self.state_for("slack"), usage, tools=self.staff))
        if s.discord.enabled:
            from connectors.discord import DiscordConnector

            found.append(DiscordConnector(s.discord, self.state_for("discord")))
        if x is not None:
            found.append(x)
        return found
