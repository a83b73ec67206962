"""Platform rate limits shared by every worker through the database (one row per limited thing).

Each limit is a generic cell rate algorithm: the row keeps the theoretical arrival time of the next message;
a message may go when that time is at most `(burst - 1) * interval` ahead of now, and moves it forward by
`interval`. The move is a conditional update on the value read (compare and set), so two workers can never
take the same slot, on SQLite, PostgreSQL and MariaDB alike, without locks.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from storage.models import DeliveryPace

# Compare-and-set retries before a worker assumes heavy contention and waits one interval instead.
_CAS_TRIES = 8
_LOCK_STRIPES = 64


@dataclass(frozen=True)
class PaceDecision:
    granted: bool
    # Seconds until the slot (granted: sleep this long, then send; refused: try again after this long).
    wait: float


class TortoiseDeliveryPace:
    def __init__(self) -> None:
        # Tasks of one process take turns per key (striped locks, bounded memory), so the compare-and-set
        # races only other processes.
        self._turns = tuple(asyncio.Lock() for _ in range(_LOCK_STRIPES))

    async def reserve(
        self, key: str, *, interval: float, burst: int, max_wait: float, now: float | None = None
    ) -> PaceDecision:
        """Take the next slot of `key` if it comes within `max_wait` seconds; otherwise take nothing."""
        async with self._turns[hash(key) % _LOCK_STRIPES]:
            return await self._reserve(key, interval=interval, burst=burst, max_wait=max_wait, now=now)

    async def _reserve(
        self, key: str, *, interval: float, burst: int, max_wait: float, now: float | None = None
    ) -> PaceDecision:
        tolerance = interval * max(burst - 1, 0)
        for _ in range(_CAS_TRIES):
            moment = time.time() if now is None else now
            row = await DeliveryPace.get_or_none(key=key)
            if row is None:
                try:
                    await DeliveryPace.create(key=key, next_at=moment + interval)
                except IntegrityError:
                    continue  # another worker created it first: read theirs
                return PaceDecision(True, 0.0)
            arrival = max(row.next_at, moment)
            wait = max(arrival - tolerance - moment, 0.0)
            if wait > max_wait:
                return PaceDecision(False, wait)
            won = await DeliveryPace.filter(id=row.id, next_at=row.next_at).update(next_at=arrival + interval)
            if won:
                return PaceDecision(True, wait)
        return PaceDecision(False, interval)

    async def forget_idle(self, idle_seconds: float = 3600.0) -> int:
        """Rows of recipients nobody wrote to for a while carry no information any more."""
        return await DeliveryPace.filter(next_at__lt=time.time() - idle_seconds).delete()
