"""Platform rate limits shared by every worker through the database (one row per limited thing).

Each limit is a generic cell rate algorithm: the row keeps the theoretical arrival time of the next message;
a message may go when that time is at most `(burst - 1) * interval` ahead of now, and moves it forward by
`interval`. Taking a slot is ONE conditional update (`SET next_at = max(next_at, now) + interval WHERE
next_at <= now + tolerance + max_wait`), atomic on SQLite, PostgreSQL and MariaDB alike: two workers can never
take the same slot, and no lock is held across round trips.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Case, F, Value, When

from storage.models import DeliveryPace

_CREATE_TRIES = 3


@dataclass(frozen=True)
class PaceDecision:
    granted: bool
    # Seconds until the slot (granted: sleep this long, then send; refused: try again after this long).
    wait: float


class TortoiseDeliveryPace:
    async def reserve(
        self, key: str, *, interval: float, burst: int, max_wait: float, now: float | None = None
    ) -> PaceDecision:
        """Take the next slot of `key` if it comes within `max_wait` seconds; otherwise take nothing."""
        tolerance = interval * max(burst - 1, 0)
        for _ in range(_CREATE_TRIES):
            moment = time.time() if now is None else now
            taken = await DeliveryPace.filter(key=key, next_at__lte=moment + tolerance + max_wait).update(
                # Tortoise's stubs omit Value from Case's default; it renders as a bound parameter.
                next_at=Case(
                    When(next_at__gt=moment, then=F("next_at") + interval),
                    default=Value(moment + interval),  # type: ignore[arg-type]
                )
            )
            row = await DeliveryPace.get_or_none(key=key)
            if row is None:
                try:
                    await DeliveryPace.create(key=key, next_at=moment + interval)
                except IntegrityError:
                    continue  # another worker created it first: take a slot from theirs
                return PaceDecision(True, 0.0)
            if taken:
                # Our slot began one interval before the value read (later if another worker took the next
                # one in between: then this wait is longer than needed, never shorter).
                return PaceDecision(True, max(row.next_at - interval - tolerance - moment, 0.0))
            if now is None:
                # Measured from after the read, not from `moment` (taken before the update): a concurrent taker
                # whose moment came later may have created or moved the row in between, and against the older
                # moment its free slot looked a little ahead, so the row went back due almost at once and not
                # one interval later (test_the_platform_pace_is_kept_before_sending_and_shared, under load).
                moment = time.time()
            wait = row.next_at - tolerance - moment
            if wait <= max_wait:
                # Read before a concurrent taker's update committed (the update above found no free slot):
                # look again rather than hand back a row as due now.
                continue
            return PaceDecision(False, wait)
        return PaceDecision(False, interval)

    async def forget_idle(self, idle_seconds: float = 3600.0) -> int:
        """Rows of recipients nobody wrote to for a while carry no information any more."""
        return await DeliveryPace.filter(next_at__lt=time.time() - idle_seconds).delete()
