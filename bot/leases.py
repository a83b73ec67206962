"""The heartbeat of a worker that claims rows for a while (the outbox's sends, the inbox's turns): while it works,
its claims are renewed a few times per lease, so a crash shows as a lapsed lease within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import timedelta

log = logging.getLogger(__name__)

Renew = Callable[[tuple[int, ...], timedelta], Awaitable[int]]


@contextlib.asynccontextmanager
async def renewing_leases(renew: Renew, in_flight: Collection[int], lease: timedelta, what: str) -> AsyncIterator[None]:
    """Renews the claims of the rows in `in_flight` (read at each beat) every third of `lease` until the block ends."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                await renew(tuple(in_flight), lease)
            except Exception:  # a database hiccup: the next beat tries again, well within the lease
                log.exception("%s heartbeat failed", what)

    task = asyncio.create_task(beat(), name=f"{what}-heartbeat")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
