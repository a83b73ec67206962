"""Timers: due times kept in the database and claimed once, with the outbox's discipline.

A worker claims due timers with a conditional update (pending -> firing, with its name and a lease), under
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL and MariaDB/MySQL so racing workers pass over each other's
rows instead of waiting. The effect of a timer is written in the same transaction that marks it fired, and that
mark is conditional on still holding the claim: a worker that lost its lease (it stalled, another took the timer
over) rolls back instead of firing twice. A timer due while every worker was down is simply pending and due.

Every locking statement of a claim names its rows by primary key. InnoDB (MariaDB, MySQL) at its default
REPEATABLE READ locks the gaps of a range it scans through an index: two claims scanning `(status, due_at)` under
FOR UPDATE each held the gap the other's UPDATE had to insert its `firing` index entry into, and InnoDB killed
one of them (error 1213). So the due rows are found by a plain read, which locks nothing, and only then locked by
id; a deadlock InnoDB still finds (against some other statement) rolls the claim back whole and it is tried again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from storage.errors import StorageError
from storage.models import Case, Timer

# A claim that lost a deadlock is tried again this many times before the error reaches the worker's loop.
_CLAIM_TRIES = 5
# Due timers a claim looks at per timer it may take: room for that many workers claiming at once.
_CANDIDATE_BATCHES = 4
# What the drivers say when the database broke a deadlock by rolling this transaction back.
_MYSQL_DEADLOCK = 1213
_POSTGRES_DEADLOCK = "40P01"

# JSON as stored in the payload column.
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class TimerLeaseLost(StorageError):
    """The claim on a timer expired and another worker took it: this worker's firing must not count."""

    def __init__(self, timer_id: int, worker: str) -> None:
        super().__init__(f"timer {timer_id} is no longer claimed by {worker}")
        self.timer_id = timer_id
        self.worker = worker


@dataclass(frozen=True)
class NewTimer:
    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, JsonValue]
    case_number: str | None = None


@dataclass(frozen=True)
class DueTimer:
    id: int
    kind: str
    key: str
    case_id: int | None
    due_at: datetime
    payload: Mapping[str, JsonValue]
    attempts: int


def is_deadlock(error: BaseException) -> bool:
    """The database broke a deadlock by rolling this transaction back: the work may simply be tried again.
    The driver's error arrives as it is (asyncpg) or wrapped in Tortoise's OperationalError (asyncmy)."""
    for candidate in (error, error.args[0] if error.args else None, error.__cause__):
        if getattr(candidate, "sqlstate", None) == _POSTGRES_DEADLOCK:
            return True
        if isinstance(candidate, Exception) and candidate.args and candidate.args[0] == _MYSQL_DEADLOCK:
            return True
    return False


def _due(row: Timer) -> DueTimer:
    return DueTimer(row.id, row.kind, row.key, row.case_id, row.due_at, dict(row.payload), row.attempts)


class TortoiseTimerStore:
    def __init__(self, *, skip_locked: bool, lease: timedelta = timedelta(minutes=2)) -> None:
        self._skip_locked = skip_locked
        self._lease = lease

    async def schedule(self, timer: NewTimer) -> int:
        """Add a timer; call it inside the transaction of the change that makes it necessary."""
        case_id = None
        if timer.case_number is not None:
            case_id = (await Case.get(number=timer.case_number)).id
        row = await Timer.create(
            case_id=case_id,
            kind=timer.kind,
            key=timer.key,
            due_at=timer.due_at,
            payload=dict(timer.payload),
            status="pending",
        )
        return row.id

    async def cancel(self, case_id: int, key_prefix: str) -> int:
        """Cancel the pending timers of a case whose key starts with `key_prefix`."""
        return await Timer.filter(case_id=case_id, key__startswith=key_prefix, status="pending").update(
            status="cancelled"
        )

    async def claim_due(self, now: datetime, worker: str, limit: int = 50) -> list[DueTimer]:
        """Claim up to `limit` timers due at `now`, oldest due first; each is claimed by one worker only."""
        for attempt in range(1, _CLAIM_TRIES + 1):
            try:
                await self._release_expired(now)
                return await self._claim(now, worker, limit)
            except Exception as error:
                if attempt == _CLAIM_TRIES or not is_deadlock(error):
                    raise
        raise AssertionError("unreachable: the last try returns or raises")

    async def _release_expired(self, now: datetime) -> None:
        # A claim whose lease ran out belongs to a worker that died or stalled mid-firing: due again.
        expired = await Timer.filter(status="firing", lease_until__lt=now).values_list("id", flat=True)
        if expired:
            await Timer.filter(id__in=list(expired), status="firing", lease_until__lt=now).update(status="pending")

    async def _claim(self, now: datetime, worker: str, limit: int) -> list[DueTimer]:
        # The oldest due, a few batches' worth, so that workers claiming at the same moment can each lock a
        # different batch of them; within that window the claim goes by id.
        due = await (
            Timer.filter(status="pending", due_at__lte=now).order_by("due_at", "id")
            .limit(limit * _CANDIDATE_BATCHES).values_list("id", flat=True)
        )
        if not due:
            return []
        claimed: list[DueTimer] = []
        async with in_transaction():
            # By primary key only (an ORDER BY on due_at could lead InnoDB back onto an index range).
            query = Timer.filter(id__in=list(due)).order_by("id").limit(limit)
            if self._skip_locked:
                # Rows another worker is claiming right now are skipped, not waited for.
                query = query.select_for_update(skip_locked=True)
            for row in await query:
                # The conditional update is the claim: only one worker moves a timer out of "pending".
                won = await Timer.filter(id=row.id, status="pending").update(
                    status="firing", claimed_by=worker, lease_until=now + self._lease, attempts=F("attempts") + 1
                )
                if won:
                    row.attempts += 1
                    claimed.append(_due(row))
        return claimed

    @asynccontextmanager
    async def firing(self, timer: DueTimer, worker: str, now: datetime) -> AsyncIterator[None]:
        """A transaction for the timer's effect that ends by marking it fired, conditionally on the claim;
        raises TimerLeaseLost (and rolls the effect back) when the claim is gone."""
        async with in_transaction():
            yield
            marked = await Timer.filter(id=timer.id, status="firing", claimed_by=worker).update(
                status="fired", fired_at=now, lease_until=None, last_error=None
            )
            if not marked:
                raise TimerLeaseLost(timer.id, worker)

    async def retry(self, timer: DueTimer, worker: str, at: datetime, error: str) -> None:
        await Timer.filter(id=timer.id, status="firing", claimed_by=worker).update(
            status="pending", due_at=at, lease_until=None, last_error=error[:2000]
        )

    async def give_up(self, timer: DueTimer, worker: str, error: str) -> None:
        await Timer.filter(id=timer.id, status="firing", claimed_by=worker).update(
            status="dead", lease_until=None, last_error=error[:2000]
        )

    async def pending_count(self) -> int:
        return await Timer.filter(status__in=("pending", "firing")).count()

    async def next_due_at(self) -> datetime | None:
        return await TortoiseTimerBacklog().next_due_at()


class TortoiseTimerBacklog:
    """What /metrics asks of the timers (a read; no claims)."""

    async def next_due_at(self) -> datetime | None:
        """The due time of the oldest timer still waiting to fire."""
        row = await Timer.filter(status="pending").order_by("due_at").first()
        return None if row is None else row.due_at
