"""/readyz (may this worker take traffic?) apart from /healthz (is the process alive?), the worker
heartbeat, and graceful shutdown: on SIGTERM new requests get 503, turns in flight finish, the outbox
worker finishes what it holds and gives back what it claimed but did not start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.operations.metrics import PlatformHealth
from storage.operations import beat, forget_worker, heartbeats, last_beat, pending_migrations, ping_database
from storage.outbox import DEFAULT_LEASE, DeadReason, OutboxEntry, TortoiseOutbox

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = timedelta(seconds=5)
HEARTBEAT_MAX_AGE = timedelta(seconds=30)
# How long the worker may take, after SIGTERM, to finish deliveries it already started.
DRAIN_TIMEOUT_SECONDS = 20.0
# Paths that keep answering while draining: the orchestrator must see the worker leave.
_ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    ok: bool
    detail: str


class DrainableOutbox(TortoiseOutbox):
    """The outbox as the worker sees it: it knows what this process claimed, so that shutting down can stop
    claiming, wait for started deliveries, and hand the rest back at once rather than after the lease."""

    def __init__(self, *, skip_locked: bool) -> None:
        super().__init__(skip_locked=skip_locked)
        self._claimed_here: set[int] = set()
        self._draining = False
        self._claiming = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def claim_due(self, limit: int = 20, lease: timedelta = DEFAULT_LEASE) -> list[OutboxEntry]:
        if self._draining:
            return []
        # Busy while claiming too: a query cancelled half-way can leave Tortoise's SQLite lock taken.
        self._claiming = True
        self._idle.clear()
        try:
            claimed = await super().claim_due(limit, lease)
        finally:
            self._claiming = False
        self._claimed_here.update(entry.id for entry in claimed)
        self._settle()
        return claimed

    def _settle(self) -> None:
        if not self._claimed_here and not self._claiming:
            self._idle.set()

    def _done(self, item_id: int) -> None:
        self._claimed_here.discard(item_id)
        self._settle()

    async def mark_sent(self, item_id: int) -> None:
        await super().mark_sent(item_id)
        self._done(item_id)

    async def reschedule(self, item_id: int, delay_seconds: float, error: str) -> None:
        await super().reschedule(item_id, delay_seconds, error)
        self._done(item_id)

    async def release(self, item_id: int, available_at: datetime) -> None:
        await super().release(item_id, available_at)
        self._done(item_id)

    async def mark_dead(self, item_id: int, reason: DeadReason, error: str) -> None:
        await super().mark_dead(item_id, reason, error)
        self._done(item_id)

    async def drain(self, worker: asyncio.Task[None], grace_seconds: float = DRAIN_TIMEOUT_SECONDS) -> int:
        """Stop claiming, let the worker finish the batch it holds, stop it; returns how many were released."""
        self._draining = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        # Python 3.11's wait_for can swallow a cancellation (the worker's poll uses it): cancel until it stops.
        while not worker.done():
            worker.cancel()
            await asyncio.wait({worker}, timeout=1)
        held = sorted(self._claimed_here)
        now = datetime.now(UTC)
        # Bounded: a database that does not answer must not hold the shutdown (the leases expire anyway).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                for item_id in held:
                    await self.release(item_id, now)
        if held:
            log.warning("released %d outbox items claimed but not delivered", len(held))
        return len(held)


class Readiness:
    def __init__(self, platforms: Sequence[str], health: PlatformHealth, worker: str | None = None) -> None:
        self._platforms = tuple(platforms)
        self._health = health
        self.worker = worker or worker_name()
        self.draining = False
        # PLAINT_SERVE_WORKERS=false: no worker here; `plaint worker` processes beat instead.
        self._workers_elsewhere = False
        self._conditions: list[tuple[str, Callable[[], bool], str, str]] = []

    def leave_work_to_other_processes(self) -> None:
        """This process answers HTTP only. It stays ready without a worker: a webhook's update is stored and
        waits in the inbox until a `plaint worker` takes it; the check tells how many of those beat."""
        self._workers_elsewhere = True

    async def _worker_check(self) -> ReadinessCheck:
        now = datetime.now(UTC)
        if self._workers_elsewhere:
            beating = sum(1 for beat_at in (await heartbeats()).values() if now - beat_at <= HEARTBEAT_MAX_AGE)
            return ReadinessCheck(
                "worker", True, f"left to `plaint worker` processes: {beating} with a fresh heartbeat"
            )
        beat_at = await last_beat(self.worker)
        fresh = beat_at is not None and now - beat_at <= HEARTBEAT_MAX_AGE
        return ReadinessCheck("worker", fresh, "heartbeat fresh" if fresh else f"last heartbeat {beat_at or 'never'}")

    def require(self, name: str, condition: Callable[[], bool], met: str, unmet: str) -> None:
        """One more check, answered in process (no I/O): e.g. the NLP models loaded in the background."""
        self._conditions.append((name, condition, met, unmet))

    async def checks(self) -> list[ReadinessCheck]:
        results: list[ReadinessCheck] = []
        try:
            await ping_database()
        except Exception as error:
            return [ReadinessCheck("database", False, f"unreachable: {type(error).__name__}")]
        results.append(ReadinessCheck("database", True, "reachable"))
        pending = await pending_migrations()
        detail = "current" if not pending else "not applied: " + ", ".join(pending)
        results.append(ReadinessCheck("migrations", not pending, detail))
        results.append(await self._worker_check())
        for name, condition, met, unmet in self._conditions:
            ok = condition()
            results.append(ReadinessCheck(name, ok, met if ok else unmet))
        for platform in self._platforms:
            problem = self._health.problem(platform)
            results.append(ReadinessCheck(f"platform:{platform}", problem is None, problem or "last call healthy"))
        return results

    async def readyz(self, request: web.Request) -> web.Response:
        if self.draining:
            return web.json_response({"status": "shutting down", "checks": {}}, status=503)
        checks = await self.checks()
        ready = all(check.ok for check in checks)
        document = {
            "status": "ready" if ready else "not ready",
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
        }
        return web.json_response(document, status=200 if ready else 503)

    @web.middleware
    async def refuse_while_draining(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Platforms retry a 503, so a webhook refused here is handled by another worker or after the restart.
        if self.draining and request.path not in _ALWAYS_ANSWERED:
            return web.json_response({"status": "shutting down"}, status=503, headers={"Retry-After": "5"})
        return await handler(request)

    async def start_draining(self, app: web.Application) -> None:
        log.info("shutting down: new requests get 503, requests in flight finish")
        self.draining = True

    async def heartbeat(self, worker: asyncio.Task[None], stop: asyncio.Event) -> None:
        """Beat while the outbox worker runs; a dead worker stops the beat and /readyz says so. Stopped by the
        event, never cancelled: a query cancelled half-way can leave Tortoise's connection lock taken."""
        while not worker.done() and not stop.is_set():
            try:
                await beat(self.worker)
            except Exception as error:
                log.warning("heartbeat not written: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEARTBEAT_INTERVAL.total_seconds())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(forget_worker(self.worker), 10)
