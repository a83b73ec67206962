"""The outbox worker: delivers what the intake service and the desk queued, retried and never lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Protocol

from bot.channels.base import Channel, PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.messages import outbound_from_payload
from storage.outbox import OutboxEntry, TortoiseOutbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12


class OutboxHandler(Protocol):
    async def handle(self, entry: OutboxEntry) -> None:
        """Deliver one entry; raise a DeliveryError subclass when the platform refuses."""


def backoff_seconds(attempts: int) -> float:
    return float(min(2 ** max(attempts - 1, 0), 300))


class ChannelDelivery:
    """Outbox kind "message": an Outbound for the customer, through the channel it came from."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self._channels = channels

    async def handle(self, entry: OutboxEntry) -> None:
        channel = self._channels.get(entry.channel)
        if channel is None:
            raise RetryLater(f"channel {entry.channel} is not configured on this worker", retry_after=30)
        await channel.deliver(outbound_from_payload(entry.channel, entry.payload, entry.id))


class OutboxWorker:
    def __init__(
        self, outbox: TortoiseOutbox, handlers: Mapping[str, OutboxHandler], poll_interval: float = 0.5
    ) -> None:
        self._outbox = outbox
        self._handlers = handlers
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a commit that queued something, so replies leave at once instead of at the next poll."""
        self._wake.set()

    async def deliver_due(self) -> int:
        delivered = 0
        for entry in await self._outbox.claim_due():
            if await self._deliver(entry):
                delivered += 1
        return delivered

    async def _deliver(self, entry: OutboxEntry) -> bool:
        handler = self._handlers.get(entry.kind)
        if handler is None:
            await self._outbox.reschedule(entry.id, 60, f"no handler for {entry.kind}")
            return False
        try:
            await handler.handle(entry)
        except RetryLater as error:
            delay = error.retry_after if error.retry_after is not None else backoff_seconds(entry.attempts)
            if entry.attempts >= MAX_ATTEMPTS and error.retry_after is None:
                log.error("outbox item %s gave up after %s attempts: %s", entry.id, entry.attempts, error)
                await self._outbox.mark_dead(entry.id, str(error))
            else:
                await self._outbox.reschedule(entry.id, delay, str(error))
            return False
        except RecipientUnreachable as error:
            recipient = str(entry.payload.get("recipient_id", ""))
            log.warning("%s recipient %s unreachable: %s", entry.channel, recipient, error)
            await self._outbox.mark_recipient_unreachable(entry.channel, recipient)
            await self._outbox.mark_dead(entry.id, f"unreachable: {error}")
            return False
        except PermanentDeliveryError as error:
            log.error("outbox item %s refused for good: %s", entry.id, error)
            await self._outbox.mark_dead(entry.id, str(error))
            return False
        except Exception as error:
            log.exception("outbox item %s failed", entry.id)
            await self._outbox.reschedule(entry.id, backoff_seconds(entry.attempts), repr(error))
            return False
        await self._outbox.mark_sent(entry.id)
        return True

    async def run(self) -> None:
        while True:
            try:
                busy = await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed")
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()
