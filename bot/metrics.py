"""Prometheus metrics, all named `rapport_*`, on a registry of each app's own (not the global one).

Events are counted as they happen (messages ingested, classifier calls, webhook failures); what the
database holds (processing queue, outbox, open escalations, SLA breaches) is counted at scrape time,
so it is right whichever process did the work (a gateway and its workers share one database).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Classifier calls take milliseconds (rules) to seconds (a batch through the transformer on a CPU).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The database's and the process's state at one scrape."""

    queue_depth: int = 0
    replies: Mapping[str, int] = field(default_factory=dict)  # outbox rows by status
    open_escalations: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (priority, status) -> count
    sla_breaches: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (priority, target) -> count
    connectors: Mapping[str, bool] = field(default_factory=dict)  # name -> up
    webhooks: Mapping[str, int] = field(default_factory=dict)  # deliveries by status


class _State(Collector):
    """Yields the families of the last snapshot; the scrape handler sets it just before rendering."""

    def __init__(self) -> None:
        self.snapshot = StateSnapshot()

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        yield GaugeMetricFamily(
            "rapport_processing_queue_depth", "Messages stored and not processed yet", value=snap.queue_depth
        )
        backlog = GaugeMetricFamily(
            "rapport_outbox_backlog", "Replies waiting in the outbox, by status", labels=["status"]
        )
        for status in ("queued", "sending"):
            backlog.add_metric([status], snap.replies.get(status, 0))
        yield backlog
        yield CounterMetricFamily(
            "rapport_outbox_failed",
            "Replies the outbox gave up on (failed for good)",
            value=snap.replies.get("failed", 0),
        )
        yield CounterMetricFamily("rapport_outbox_sent", "Replies delivered", value=snap.replies.get("sent", 0))
        open_ = GaugeMetricFamily(
            "rapport_open_escalations", "Open and claimed escalations, by priority", labels=["priority", "status"]
        )
        for (priority, status), count in sorted(snap.open_escalations.items()):
            open_.add_metric([priority, status], count)
        yield open_
        breaches = GaugeMetricFamily(
            "rapport_sla_breached_escalations",
            "Active escalations past an SLA target (first response or resolution), by priority",
            labels=["priority", "target"],
        )
        for (priority, target), count in sorted(snap.sla_breaches.items()):
            breaches.add_metric([priority, target], count)
        yield breaches
        up = GaugeMetricFamily(
            "rapport_connector_up", "1 while a connector runs, 0 while it is down", labels=["connector"]
        )
        for name, running in sorted(snap.connectors.items()):
            up.add_metric([name], 1 if running else 0)
        yield up
        hooks = GaugeMetricFamily("rapport_webhook_deliveries", "Webhook deliveries by status", labels=["status"])
        for status, count in sorted(snap.webhooks.items()):
            hooks.add_metric([status], count)
        yield hooks


class Metrics:
    """One app's instruments. `render(snapshot)` is the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ingested = Counter(
            "rapport_messages_ingested", "Customer messages stored, by channel", ["channel"], registry=self.registry
        )
        self.classification = Histogram(
            "rapport_classification_seconds",
            "Time one classifier call took (a batch of messages)",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.classified = Counter("rapport_messages_classified", "Messages classified", registry=self.registry)
        self.webhook_failures = Counter(
            "rapport_webhook_failures",
            "Webhook delivery attempts that failed, by webhook",
            ["webhook"],
            registry=self.registry,
        )
        self._state = _State()
        self.registry.register(self._state)

    def timed(self, messages: int, seconds: float) -> None:
        """One classifier call (the pipeline's `timed` hook)."""
        self.classification.observe(seconds)
        self.classified.inc(messages)

    def render(self, snapshot: StateSnapshot) -> bytes:
        # No await between setting the snapshot and rendering it: concurrent scrapes cannot mix.
        self._state.snapshot = snapshot
        return generate_latest(self.registry)
