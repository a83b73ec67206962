"""Prometheus metrics (the official client) and the instruments that feed them: the intake's turns, the
NLP step, every outbox delivery and webhook outcome. Names follow Prometheus conventions: base units
(seconds), `_total` on counters (the client adds it), and labels that never carry a customer id."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.channels.base import InboundSink, PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.delivery import hold_seconds_of
from bot.intake import ProposalSource
from bot.messages import Inbound, IntakeResult
from bot.operations.logs import correlation_scope, pseudonym
from bot.outbox import RetryPolicy
from flows import ExtractedValue, Proposal
from storage.outbox import OutboxEntry

if TYPE_CHECKING:
    from bot.outbox import OutboxHandler

# A timer fires within a poll interval (a second) when all is well; minutes or hours late when workers were down.
_TIMER_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# Turns take tens of milliseconds to a few seconds (NLP, file downloads); deliveries up to the 10 s timeout.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class OutboxDepth(Protocol):
    async def depth_by_kind(self) -> Mapping[str, int]: ...


class TimerBacklog(Protocol):
    async def next_due_at(self) -> datetime | None:
        """The due time of the oldest timer still waiting to fire."""


class PlaintMetrics:
    """One registry per application (tests build several apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.inbound_messages = Counter(
            "plaint_inbound_messages", "Customer messages received, platform retries included", ["channel"], registry=r
        )
        self.turns = Counter(
            "plaint_turns", "Customer turns handled (duplicates answered from the outbox excluded)", ["channel"],
            registry=r,
        )
        self.turn_errors = Counter("plaint_turn_errors", "Turns that raised an error", ["channel"], registry=r)
        self.turn_duration = Histogram(
            "plaint_turn_duration_seconds", "Time to handle one customer turn", ["channel"], registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.cases_filed = Counter("plaint_cases_filed", "Cases filed", ["channel"], registry=r)
        self.nlp_duration = Histogram(
            "plaint_nlp_duration_seconds", "Time of one NLP analysis (product and category)", registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.outbox_depth = Gauge(
            "plaint_outbox_depth", "Outbox items waiting or being sent, by kind", ["kind"], registry=r
        )
        self.outbox_delivery_duration = Histogram(
            "plaint_outbox_delivery_duration_seconds", "Time of one outbox delivery attempt", ["kind", "target"],
            registry=r, buckets=_LATENCY_BUCKETS,
        )
        self.outbox_deliveries = Counter(
            "plaint_outbox_deliveries", "Outbox delivery attempts by result (sent, retry, dead)",
            ["kind", "target", "result"], registry=r,
        )
        self.outbox_retries = Counter(
            "plaint_outbox_retries", "Outbox deliveries put back to try again", ["kind", "target"], registry=r
        )
        self.outbox_dead_letters = Counter(
            "plaint_outbox_dead_letters", "Outbox items given up on", ["kind", "target"], registry=r
        )
        self.webhook_deliveries = Counter(
            "plaint_webhook_deliveries", "Webhook delivery attempts by result", ["result"], registry=r
        )
        # Timer lag: what fired, how late (by kind: sla, csat, housekeeping, digest); and how late the oldest
        # waiting timer is right now, which keeps growing when no worker fires anything at all.
        self.timer_lag = Histogram(
            "plaint_timer_lag_seconds", "Time from a timer's due time to its firing", ["kind"], registry=r,
            buckets=_TIMER_LAG_BUCKETS,
        )
        self.timer_overdue = Gauge(
            "plaint_timer_overdue_seconds", "How long the oldest due timer has been waiting to fire (0: none due)",
            registry=r,
        )

    def webhook_result(self, result: str) -> None:
        self.webhook_deliveries.labels(result).inc()

    def delivered_on_store(self, channel: str, replies: int) -> None:
        """Replies a turn's commit delivered (channels read from the transcript): sent, without a worker pass."""
        self.outbox_deliveries.labels("message", channel, "sent").inc(replies)

    def timer_fired(self, kind: str, lag_seconds: float) -> None:
        """The timer worker's report of each firing."""
        self.timer_lag.labels(kind).observe(max(lag_seconds, 0.0))

    async def exposition(self, outbox: OutboxDepth, timers: TimerBacklog | None = None) -> bytes:
        depth = await outbox.depth_by_kind()
        for kind in {*depth, *(labels[0] for labels in _label_sets(self.outbox_depth))}:
            self.outbox_depth.labels(kind).set(depth.get(kind, 0))
        if timers is not None:
            oldest = await timers.next_due_at()
            overdue = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
            self.timer_overdue.set(max(overdue, 0.0))
        return generate_latest(self.registry)


def _label_sets(gauge: Gauge) -> list[tuple[str, ...]]:
    return [tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples]


def metrics_route(metrics: PlaintMetrics, outbox: OutboxDepth, timers: TimerBacklog | None = None) -> web.RouteDef:
    async def scrape(request: web.Request) -> web.Response:
        body = await metrics.exposition(outbox, timers)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return web.get("/metrics", scrape)


class MeteredIntake:
    """The intake service as channels see it (their InboundSink), counted and timed per channel, each turn
    under a correlation id in the logs. Wraps the one intake service; never a second orchestrator."""

    def __init__(self, intake: InboundSink, metrics: PlaintMetrics) -> None:
        self._intake = intake
        self._metrics = metrics

    async def handle(self, inbound: Inbound) -> IntakeResult:
        channel = inbound.channel
        self._metrics.inbound_messages.labels(channel).inc()
        started = time.perf_counter()
        with correlation_scope(conversation=pseudonym(f"{channel}:{inbound.sender_id}")):
            try:
                result = await self._intake.handle(inbound)
            except Exception:
                self._metrics.turn_errors.labels(channel).inc()
                raise
        if not result.duplicate:
            self._metrics.turns.labels(channel).inc()
            self._metrics.turn_duration.labels(channel).observe(time.perf_counter() - started)
        if result.case_number is not None and not result.duplicate:
            self._metrics.cases_filed.labels(channel).inc()
        return result


class TimedProposals:
    """The NLP step, timed."""

    def __init__(self, inner: ProposalSource, metrics: PlaintMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def propose(self, text: str, lang: str | None) -> tuple[Proposal, ...]:
        with self._metrics.nlp_duration.time():
            return await self._inner.propose(text, lang)

    def catalog_choices(self, lang: str | None) -> tuple[Proposal, ...]:
        return self._inner.catalog_choices(lang)

    async def extract(self, text: str, lang: str | None, now: datetime) -> tuple[ExtractedValue, ...]:
        return await self._inner.extract(text, lang, now)

    def value_label(self, field: str, value: str, lang: str | None) -> str:
        return self._inner.value_label(field, value, lang)


class PlatformHealth:
    """The last outcome of a call to each platform, as seen by the outbox (for /readyz)."""

    def __init__(self) -> None:
        self._last: dict[str, str | None] = {}

    def record(self, target: str, problem: str | None) -> None:
        self._last[target] = problem

    def problem(self, target: str) -> str | None:
        return self._last.get(target)


_MAX_ATTEMPTS = RetryPolicy().max_attempts


class MeteredHandler:
    """An outbox handler, timed and counted; errors pass through untouched to the worker."""

    def __init__(self, kind: str, inner: OutboxHandler, metrics: PlaintMetrics, health: PlatformHealth) -> None:
        self._kind = kind
        self._inner = inner
        self._metrics = metrics
        self._health = health

    def hold_seconds(self, entry: OutboxEntry) -> float:
        return hold_seconds_of(self._inner, entry)

    async def handle(self, entry: OutboxEntry) -> None:
        target = entry.channel
        started = time.perf_counter()
        result = "sent"
        try:
            await self._inner.handle(entry)
        except RetryLater as error:
            # The worker buries an item that used its attempts (the default retry policy's count).
            exhausted = entry.attempts + 1 >= _MAX_ATTEMPTS
            result = "dead" if exhausted else "retry"
            self._health.record(target, str(error))
            raise
        except RecipientUnreachable:
            result = "dead"  # the platform answered: it is healthy, the customer is gone
            self._health.record(target, None)
            raise
        except PermanentDeliveryError:
            result = "dead"
            raise
        except Exception as error:
            result = "retry"
            self._health.record(target, f"{type(error).__name__}: {error}")
            raise
        else:
            self._health.record(target, None)
        finally:
            self._metrics.outbox_delivery_duration.labels(self._kind, target).observe(time.perf_counter() - started)
            self._metrics.outbox_deliveries.labels(self._kind, target, result).inc()
            if result == "retry":
                self._metrics.outbox_retries.labels(self._kind, target).inc()
            elif result == "dead":
                self._metrics.outbox_dead_letters.labels(self._kind, target).inc()
