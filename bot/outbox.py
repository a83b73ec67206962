"""The outbox worker: delivers what the intake service and the desk queued, paced, retried, never lost.

One pass claims the due heads of many ordering keys (storage/outbox.py) and delivers them concurrently:
each waits for its platform's rate limits (taken before sending, shared by every worker through the
database), records the attempt, sends, and stores the outcome. Failures are retried with jittered
exponential back-off (a platform's Retry-After wins) a bounded number of times, then dead-lettered with a
reason. A heartbeat renews the claims while sends are in flight, so a worker that dies mid-send loses its
rows within seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from bot.channels.base import Channel, PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.delivery import hold_seconds_of
from bot.leases import renewing_leases
from bot.messages import Outbound, OutboundFile, outbound_from_payload
from storage.delivery_pace import PaceDecision, TortoiseDeliveryPace
from storage.outbox import DEFAULT_LEASE, DeadReason, OutboxEntry, TortoiseOutbox

log = logging.getLogger(__name__)

# How often a worker drops pace rows of recipients idle for an hour.
FORGET_IDLE_PACE_EVERY = 600.0


class OutboxHandler(Protocol):
    async def handle(self, entry: OutboxEntry) -> None:
        """Deliver one entry; raise a DeliveryError subclass when the platform refuses."""


@runtime_checkable
class DeliveryReconciler(Protocol):
    """A channel whose platform can say whether a message already arrived (looked up by the outbox id it
    carries). Asked only when the previous attempt was interrupted by a crash."""

    async def already_delivered(self, message: Outbound) -> bool: ...


@runtime_checkable
class DeliveryHold(Protocol):
    """A channel that sometimes needs a recipient's messages held back for a moment (WeChat, while a passive
    answer to that customer is being prepared): asked before anything else, so the row goes straight back."""

    def hold_seconds(self, recipient_id: str) -> float: ...


class DeliveryPace(Protocol):
    async def reserve(self, key: str, *, interval: float, burst: int, max_wait: float) -> PaceDecision: ...

    async def forget_idle(self, idle_seconds: float = 3600.0) -> int: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Every failure kind is retried at most `max_attempts` times in all, then dead-lettered."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    # A platform's Retry-After is honoured, plus up to this fraction more so that waiting rows do not all
    # come back in the same instant.
    retry_after_jitter: float = 0.1

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Exponential back-off with "equal jitter": between half and all of the capped exponential."""
        ceiling = min(self.base_seconds * 2.0 ** max(attempts - 1, 0), self.cap_seconds)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return retry_after * (1 + rng.uniform(0, self.retry_after_jitter))
        return self.backoff(attempts, rng)


@dataclass(frozen=True)
class RateLimit:
    """At most one message per `interval` seconds, bursts of `burst`, per recipient or per platform."""

    scope: Literal["recipient", "platform"]
    interval: float
    burst: int


# Published limits, kept before sending so that 429s are the exception. (kind, channel) -> limits.
DEFAULT_RATE_LIMITS: Mapping[tuple[str, str], tuple[RateLimit, ...]] = {
    # Telegram: about one message a second in a chat (short bursts tolerated), 30 a second per bot.
    ("message", "telegram"): (RateLimit("recipient", 1.0, 4), RateLimit("platform", 1 / 30, 30)),
    # Slack chat.postMessage: about one a second per channel (a Slack customer is a DM or a shared channel).
    ("message", "slack"): (RateLimit("recipient", 1.0, 4),),
    # The desk posts and updates (chat.update is Tier 3, ~50 a minute) in the team channels.
    ("desk", "slack"): (RateLimit("platform", 1.2, 10),),
    # WeChat publishes daily quotas, not rates: a conservative pace per customer and per account.
    ("message", "wechat"): (RateLimit("recipient", 1.0, 3), RateLimit("platform", 1 / 20, 20)),
}


def pace_key(entry: OutboxEntry, limit: RateLimit) -> str:
    if limit.scope == "platform":
        return f"{entry.kind}:{entry.channel}"
    return f"{entry.kind}:{entry.channel}:{entry.payload.get('recipient_id', entry.ordering_key)}"


class OutboundFileSource(Protocol):
    async def resolve(self, item: OutboundFile) -> OutboundFile:
        """The file with its bytes (`open_stream`) and its signed link (`url`), for the channel to send."""
        ...


class ChannelDelivery:
    """Outbox kind "message": an Outbound for the customer, through the channel it came from."""

    def __init__(self, channels: Mapping[str, Channel], files: OutboundFileSource | None = None) -> None:
        self._channels = channels
        self._files = files

    def hold_seconds(self, entry: OutboxEntry) -> float:
        channel = self._channels.get(entry.channel)
        if isinstance(channel, DeliveryHold):
            return channel.hold_seconds(str(entry.payload.get("recipient_id", "")))
        return 0.0

    async def handle(self, entry: OutboxEntry) -> None:
        channel = self._channels.get(entry.channel)
        if channel is None:
            raise RetryLater(f"channel {entry.channel} is not configured on this worker", retry_after=30)
        message = outbound_from_payload(entry.channel, entry.payload, entry.id)
        if message.files and self._files is not None:
            files = self._files
            message = dataclasses.replace(message, files=tuple([await files.resolve(item) for item in message.files]))
        reconciler = channel if isinstance(channel, DeliveryReconciler) else None
        if entry.interrupted and reconciler is not None and await reconciler.already_delivered(message):
            log.info("outbox item %s had reached the platform before the crash: not sent again", entry.id)
            return
        await channel.deliver(message)


class OutboxWorker:
    def __init__(
        self,
        outbox: TortoiseOutbox,
        handlers: Mapping[str, OutboxHandler],
        poll_interval: float = 0.5,
        *,
        pace: DeliveryPace | None = None,
        rate_limits: Mapping[tuple[str, str], tuple[RateLimit, ...]] = DEFAULT_RATE_LIMITS,
        retry: RetryPolicy = RetryPolicy(),
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 32,
        # A slot further away than this is not waited for in the pass: the row goes back with that due time.
        max_pace_wait: float = 1.5,
        rng: random.Random | None = None,
    ) -> None:
        self._outbox = outbox
        self._handlers = handlers
        self._poll_interval = poll_interval
        self._pace = pace or TortoiseDeliveryPace()
        self._rate_limits = rate_limits
        self._retry = retry
        self._lease = lease
        self._batch = batch
        self._max_pace_wait = max_pace_wait
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()

    def wake(self) -> None:
        """Called after a commit that queued something, so replies leave at once instead of at the next poll."""
        self._wake.set()

    async def deliver_due(self) -> int:
        """One pass, waited for to the end; returns how many rows were delivered (tests, the CLI)."""
        entries = await self._outbox.claim_due(self._batch, self._lease)
        if not entries:
            return 0
        async with self._heartbeat():
            outcomes = await asyncio.gather(*(self._deliver(entry) for entry in entries))
        return sum(outcomes)

    def _heartbeat(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Renews the claims of every row this worker holds, a few times per lease."""
        return renewing_leases(self._outbox.renew_leases, self._in_flight, self._lease, "outbox")

    async def _take_pace(self, entry: OutboxEntry) -> bool:
        """Wait for a slot under every limit of this entry's platform; False when the row was handed back."""
        # A retry takes only a slot that is free now: slots ahead are left to first attempts, so a backlog of
        # refused messages cannot book the platform's pace ahead of a healthy customer's reply.
        max_wait = self._max_pace_wait if entry.attempts == 0 else 0.0
        for limit in self._rate_limits.get((entry.kind, entry.channel), ()):
            decision = await self._pace.reserve(
                pace_key(entry, limit), interval=limit.interval, burst=limit.burst, max_wait=max_wait
            )
            if not decision.granted:
                # Retries that found no free slot come back spread out, not all in the next instant.
                wait = decision.wait if entry.attempts == 0 else max(decision.wait, 0.5) * self._rng.uniform(1, 2)
                await self._outbox.release(entry.id, datetime.now(UTC) + timedelta(seconds=wait))
                return False
            if decision.wait > 0:
                await asyncio.sleep(decision.wait)
        return True

    async def _deliver(self, entry: OutboxEntry) -> bool:
        self._in_flight.add(entry.id)
        try:
            return await self._attempt(entry)
        except Exception:
            # The database failed while settling: the lease runs out and the row is tried again.
            log.exception("outbox item %s could not be settled", entry.id)
            return False
        finally:
            self._in_flight.discard(entry.id)

    async def _attempt(self, entry: OutboxEntry) -> bool:
        handler = self._handlers.get(entry.kind)
        hold = hold_seconds_of(handler, entry)
        if hold > 0:
            # Straight back, untried: the passive answer may take it meanwhile.
            await self._outbox.release(entry.id, datetime.now(UTC) + timedelta(seconds=hold + 0.05))
            return False
        if handler is not None and not await self._take_pace(entry):
            return False
        if not await self._outbox.begin_attempt(entry.id, self._lease):
            return False  # the claim was lost (this worker stalled past its lease): the new holder sends
        attempts = entry.attempts + 1
        if handler is None:
            # Perhaps only this worker lacks it (configured differently): others may take it until the bound.
            if attempts >= self._retry.max_attempts:
                log.error("outbox item %s dead: no handler for kind %s", entry.id, entry.kind)
                await self._outbox.mark_dead(entry.id, DeadReason.NO_HANDLER, f"no handler for {entry.kind}")
            else:
                await self._outbox.reschedule(
                    entry.id, self._retry.delay(attempts, None, self._rng), f"no handler for {entry.kind}"
                )
            return False
        try:
            await handler.handle(entry)
        except RetryLater as error:
            await self._retry_or_bury(entry, attempts, error.retry_after, str(error))
            return False
        except RecipientUnreachable as error:
            log.warning("outbox item %s: %s recipient unreachable: %s", entry.id, entry.channel, error)
            await self._outbox.mark_recipient_unreachable(entry.channel, str(entry.payload.get("recipient_id", "")))
            await self._outbox.mark_dead(entry.id, DeadReason.UNREACHABLE, f"unreachable: {error}")
            return False
        except PermanentDeliveryError as error:
            log.error("outbox item %s refused for good: %s", entry.id, error)
            await self._outbox.mark_dead(entry.id, DeadReason.REFUSED, str(error))
            return False
        except Exception as error:
            log.exception("outbox item %s failed", entry.id)
            await self._retry_or_bury(entry, attempts, None, repr(error))
            return False
        await self._outbox.mark_sent(entry.id)
        return True

    async def _retry_or_bury(self, entry: OutboxEntry, attempts: int, retry_after: float | None, error: str) -> None:
        if attempts >= self._retry.max_attempts:
            reason = DeadReason.RATE_LIMITED if retry_after is not None else DeadReason.RETRIES_EXHAUSTED
            log.error("outbox item %s dead after %s attempts (%s): %s", entry.id, attempts, reason, error)
            await self._outbox.mark_dead(entry.id, reason, error)
            return
        await self._outbox.reschedule(entry.id, self._retry.delay(attempts, retry_after, self._rng), error)

    async def run(self) -> None:
        """Keeps up to `batch` deliveries in flight: a slow send holds its own row, never the next claim."""
        running: set[asyncio.Task[bool]] = set()
        look = woken = True
        forget_at = time.monotonic() + FORGET_IDLE_PACE_EVERY
        async with self._heartbeat():
            try:
                while True:
                    room = self._batch - len(running)
                    if woken:
                        # Something was just committed (a fresh reply, claimed before retries): it gets a
                        # little room even when retries fill the worker.
                        room = max(room, self._batch // 4)
                        woken = False
                    if look and room > 0:
                        # Cleared before claiming: a wake during the claim is still seen by the wait below.
                        self._wake.clear()
                        claimed: list[OutboxEntry] = []
                        try:
                            claimed = await self._outbox.claim_due(room, self._lease)
                        except Exception:
                            log.exception("outbox claim failed")
                        for entry in claimed:
                            running.add(asyncio.create_task(self._deliver(entry), name=f"outbox-{entry.id}"))
                        if claimed and len(claimed) == room:
                            continue  # there may be more due right now
                    if time.monotonic() >= forget_at:
                        forget_at = time.monotonic() + FORGET_IDLE_PACE_EVERY
                        with contextlib.suppress(Exception):
                            await self._pace.forget_idle()
                    waker = asyncio.create_task(self._wake.wait())
                    done, _ = await asyncio.wait(
                        {waker, *running}, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    waker.cancel()
                    running -= done
                    # Claim again when asked to, at every poll, or once half the room is free: not after every
                    # single delivery (a claim costs more than a send).
                    woken = waker in done
                    look = woken or not done or len(running) <= self._batch // 2
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
