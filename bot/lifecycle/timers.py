"""The timer worker: fires due timers from the database, each exactly once across all workers.

Claiming is the store's job (a conditional update under SKIP LOCKED, with a lease). The worker runs each
claimed timer's handler inside the store's firing transaction, which marks the timer fired only while this
worker still holds the claim: the handler's writes (case events, outbox rows, new timers) and the "fired"
mark commit together or not at all. Handlers therefore only write to the database; anything that leaves the
process goes through the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from bot.lifecycle.clock import Clock
from storage.timers import DueTimer, TimerLeaseLost, TortoiseTimerStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


class TimerHandler(Protocol):
    async def fire(self, timer: DueTimer, now: datetime) -> None:
        """Apply the timer's effect; runs inside the transaction that marks the timer fired."""


def worker_name() -> str:
    """Unique per process and start: a restarted worker must not inherit a dead one's claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0) * 5, 900))


class TimerWorker:
    def __init__(
        self,
        store: TortoiseTimerStore,
        handlers: Mapping[str, TimerHandler],
        clock: Clock,
        *,
        name: str | None = None,
        poll_interval: float = 1.0,
        batch: int = 50,
        on_fired: Callable[[str, float], None] | None = None,
    ) -> None:
        self._store = store
        self._handlers = handlers
        self._clock = clock
        self.name = name or worker_name()
        self._poll_interval = poll_interval
        self._batch = batch
        self._wake = asyncio.Event()
        # Told (kind, seconds late) of every firing: the timer lag in /metrics.
        self._on_fired = on_fired

    def wake(self) -> None:
        self._wake.set()

    async def fire_due(self) -> int:
        """Claim what is due now and fire it; returns how many timers fired."""
        fired = 0
        for timer in await self._store.claim_due(self._clock.now(), self.name, self._batch):
            if await self._fire(timer):
                fired += 1
        return fired

    async def _fire(self, timer: DueTimer) -> bool:
        handler = self._handlers.get(timer.kind)
        if handler is None:
            await self._store.retry(timer, self.name, self._clock.now() + timedelta(minutes=1),
                                    f"no handler for {timer.kind} on this worker")
            return False
        now = self._clock.now()
        try:
            async with self._store.firing(timer, self.name, now):
                await handler.fire(timer, now)
        except TimerLeaseLost:
            log.warning("timer %s was taken over by another worker; this firing was rolled back", timer.id)
            return False
        except Exception as error:
            log.exception("timer %s (%s) failed", timer.id, timer.kind)
            if timer.attempts >= MAX_ATTEMPTS:
                await self._store.give_up(timer, self.name, repr(error))
            else:
                await self._store.retry(timer, self.name, now + retry_delay(timer.attempts), repr(error))
            return False
        if self._on_fired is not None:
            self._on_fired(timer.kind, (now - timer.due_at).total_seconds())
        return True

    async def run(self) -> None:
        while True:
            try:
                busy = await self.fire_due()
            except Exception:
                log.exception("timer pass failed")
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()
