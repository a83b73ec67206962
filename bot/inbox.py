"""The inbox worker: takes the turns of platform updates that webhooks stored on receipt (storage/inbox.py).

Every `plaint serve` runs one. A pass claims the heads of many conversations (so one conversation's updates
go in order, one at a time, on whichever worker holds its head) and hands each to its channel's
`process_received`, concurrently up to `batch`. The webhook rings `wake` right after its insert, so a turn
starts at once; a web process that leaves its turns to `plaint worker` processes announces the insert instead
(PostgreSQL NOTIFY, storage/wakeups.py); polling every `poll_interval` picks up what other processes stored
without an announcement and retries that came due.
A heartbeat renews the claims while turns run: a worker that dies loses its rows within seconds. The row is
marked done after the turn; dying in between is harmless because the intake de-duplicates by platform message
id. An erasure of the sender deletes the row: a turn in progress then stores nothing (storage/inbox.py). A
turn that fails is retried with back-off, then given up (logged) so the conversation's later updates go ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from bot.channels.base import ReceivedUpdates
from bot.leases import renewing_leases
from bot.messages import ChannelName
from bot.outbox import RetryPolicy
from storage.inbox import DEFAULT_INBOX_LEASE, InboxEntry, TortoiseInbox, TurnWithdrawn, current_inbox_item

log = logging.getLogger(__name__)

# Settled rows keep their unique key this long, so a platform's late retry still stores nothing.
KEEP_SETTLED = timedelta(days=1)
FORGET_SETTLED_EVERY = 600.0


class WakingInbox:
    """The inbox as webhooks see it (bot.channels.base.Inbox): one insert, then this process's worker is woken, and
    with `announce` the workers of other processes too (after the commit, never waited for)."""

    def __init__(
        self, store: TortoiseInbox, worker: InboxWorker, announce: Callable[[], None] | None = None
    ) -> None:
        self._store = store
        self._worker = worker
        self._announce = announce

    async def receive(
        self, *, channel: ChannelName, platform_id: str, ordering_key: str, payload: Mapping[str, Any]
    ) -> bool:
        stored = await self._store.receive(
            channel=channel, platform_id=platform_id, ordering_key=ordering_key, payload=payload
        )
        if stored:
            self._worker.wake()
            if self._announce is not None:
                self._announce()
        return stored


class InboxWorker:
    def __init__(
        self,
        store: TortoiseInbox,
        processors: Mapping[str, ReceivedUpdates],
        poll_interval: float,
        *,
        batch: int = 8,
        lease: timedelta = DEFAULT_INBOX_LEASE,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._processors = processors
        self._poll_interval = poll_interval
        self._batch = batch
        self._lease = lease
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()

    def wake(self) -> None:
        self._wake.set()

    @property
    def processors(self) -> Mapping[str, ReceivedUpdates]:
        """The channels this worker hands stored updates to (a second worker in the same process: tests)."""
        return self._processors

    async def pending_count(self) -> int:
        return await self._store.pending_count()

    def _heartbeat(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Renews the claims of every row this worker holds, a few times per lease."""
        return renewing_leases(self._store.renew_leases, self._in_flight, self._lease, "inbox")

    async def _process(self, entry: InboxEntry) -> None:
        self._in_flight.add(entry.id)
        try:
            await self._attempt(entry)
        except Exception:
            # The database failed while settling: the lease runs out and the row is taken again.
            log.exception("inbox item %s could not be settled", entry.id)
        finally:
            self._in_flight.discard(entry.id)
            # The conversation's next update (if any) is a head now.
            self._wake.set()

    async def _attempt(self, entry: InboxEntry) -> None:
        attempts = entry.attempts + 1
        # The turn's transactions check (and lock) this row: an erasure of its sender withdraws it.
        token = current_inbox_item.set(entry.id)
        try:
            await self._processors[entry.channel].process_received(entry.payload)
        except TurnWithdrawn:
            log.info("inbox item %s (%s) dropped: its sender's data was erased during the turn", entry.id,
                     entry.channel)
            return
        except Exception as error:
            # Never the payload in the log: it is what the customer wrote.
            if attempts >= self._retry.max_attempts:
                log.error("inbox item %s (%s) given up after %s attempts: %r", entry.id, entry.channel,
                          attempts, error)
                await self._store.mark_dead(entry.id, repr(error))
            else:
                log.warning("inbox item %s (%s) failed, retried later: %r", entry.id, entry.channel, error)
                await self._store.reschedule(entry.id, self._retry.backoff(attempts, self._rng), repr(error))
            return
        finally:
            current_inbox_item.reset(token)
        await self._store.mark_done(entry.id)

    async def process_due(self) -> int:
        """One pass, waited for to the end; returns how many updates were claimed (tests, benches)."""
        entries = await self._store.claim_due(self._batch, self._lease, self._processors.keys())
        if entries:
            async with self._heartbeat():
                await asyncio.gather(*(self._process(entry) for entry in entries))
        return len(entries)

    async def run(self) -> None:
        """Keeps up to `batch` turns running: a slow turn holds its own conversation, never the next claim.
        A worker with no channel to hand updates to (none answers on receipt here) claims nothing, ever."""
        if not self._processors:
            return
        running: set[asyncio.Task[None]] = set()
        forget_at = time.monotonic()
        async with self._heartbeat():
            try:
                while True:
                    room = self._batch - len(running)
                    if room > 0:
                        # Cleared before claiming: a wake during the claim is still seen by the wait below.
                        self._wake.clear()
                        claimed: list[InboxEntry] = []
                        try:
                            claimed = await self._store.claim_due(room, self._lease, self._processors.keys())
                        except Exception:
                            log.exception("inbox claim failed")
                        for entry in claimed:
                            running.add(asyncio.create_task(self._process(entry), name=f"inbox-{entry.id}"))
                        if claimed and len(claimed) == room:
                            continue
                    if time.monotonic() >= forget_at:
                        forget_at = time.monotonic() + FORGET_SETTLED_EVERY
                        try:
                            await self._store.forget_settled(KEEP_SETTLED)
                        except Exception:
                            log.exception("inbox: forgetting settled rows failed")
                    waker = asyncio.create_task(self._wake.wait())
                    done, _ = await asyncio.wait(
                        {waker, *running}, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    waker.cancel()
                    running -= done
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
