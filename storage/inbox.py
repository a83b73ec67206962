"""The inbox: platform updates written on receipt (one insert, idempotent on the platform's id), their turns
taken later by whichever worker claims them.

Claiming works like the outbox's (storage/outbox.py): each pass looks only at the head (lowest id still open)
of every ordering key, so one conversation's updates are processed in order and one at a time, while
different conversations go in parallel on any worker. A claim is a conditional update under `FOR UPDATE SKIP
LOCKED` where the database has it, with a short lease the holder renews: a worker that dies loses its rows
within seconds. The turn itself is idempotent on the platform's message id (the intake's receipt), so a row
taken again after a crash between the turn and `mark_done` has no second effect.

Across processes on PostgreSQL a web process announces stored updates on INBOX_NOTIFY_CHANNEL after the insert
has committed (storage/wakeups.py), and workers listening there claim at once; elsewhere they find the rows at
their next poll.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.functions import Min
from tortoise.transactions import in_transaction

from storage.errors import StorageError
from storage.models import InboxItem, InboxStatus
from storage.native_sql import insert_rows

__all__ = [
    "DEFAULT_INBOX_LEASE", "INBOX_NOTIFY_CHANNEL", "InboxEntry", "InboxStatus", "TortoiseInbox", "TurnWithdrawn",
    "check_turn_not_withdrawn",
    "current_inbox_item",
]

# How long a claim lasts without a heartbeat: a crashed worker's update is taken again after at most this.
DEFAULT_INBOX_LEASE = timedelta(seconds=6)
_OPEN = (InboxStatus.PENDING, InboxStatus.PROCESSING)
_ERROR_CHARS = 2000
# The PostgreSQL notification channel stored updates are announced on.
INBOX_NOTIFY_CHANNEL = "plaint_inbox"
# A batched receipt insert takes at most this many rows (far under PostgreSQL's and SQLite's parameter limits).
_RECEIPTS_PER_INSERT = 500


@dataclass(frozen=True)
class InboxEntry:
    id: int
    channel: str
    platform_id: str
    ordering_key: str
    payload: Mapping[str, Any]
    # Attempts made before this one.
    attempts: int


# The inbox row whose turn the current task takes (set by the inbox worker around the turn), so that the
# turn's transactions can tell whether an erasure removed it meanwhile.
current_inbox_item: ContextVar[int | None] = ContextVar("current_inbox_item", default=None)


class TurnWithdrawn(StorageError):
    """The update this turn is for was removed from the inbox (its sender's data was erased): the turn stores
    nothing and is dropped."""

    def __init__(self, item_id: int) -> None:
        super().__init__(f"inbox item {item_id} was withdrawn (its sender was erased)")
        self.item_id = item_id


async def check_turn_not_withdrawn(*, lock: bool) -> None:
    """Inside a turn's transaction, before it writes anything: raises TurnWithdrawn when the inbox row of the
    turn is gone. With `lock` (PostgreSQL, MariaDB) the row is locked until the transaction ends, so an erasure
    (which deletes the person's open rows first thing) waits for this turn to commit and then erases what it
    stored, or this turn waits for the erasure to commit and then finds its row gone. Outside an inbox turn
    (the web chat, a test), nothing is checked."""
    item_id = current_inbox_item.get()
    if item_id is None:
        return
    query = InboxItem.filter(id=item_id, status__in=_OPEN)
    if lock:
        query = query.select_for_update()
    if await query.first() is None:
        raise TurnWithdrawn(item_id)


def _claimable(now: datetime) -> Q:
    """Due and free, or held by a worker whose lease ran out."""
    return Q(status=InboxStatus.PENDING, available_at__lte=now) | Q(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True), status=InboxStatus.PROCESSING
    )


class TortoiseInbox:
    def __init__(self, *, skip_locked: bool, worker_id: str | None = None) -> None:
        self._skip_locked = skip_locked
        # Receipts waiting for the running batched insert to take them, with the webhooks' answers.
        self._receipts: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._inserting: asyncio.Task[None] | None = None
        # Names this process's claims, so only the holder renews or settles them.
        self.worker_id = worker_id or uuid.uuid4().hex[:16]

    async def receive(
        self, *, channel: str, platform_id: str, ordering_key: str, payload: Mapping[str, Any]
    ) -> bool:
        """One insert. False when the platform had already delivered this update (a retry): nothing is
        written. On PostgreSQL and SQLite the receipts that arrive while an insert is running go in the next
        one together: a burst of webhooks costs a few statements and commits, not one each, and each webhook
        still answers only once its row has committed."""
        connection = connections.get("default")
        now = datetime.now(UTC)
        if connection.capabilities.dialect == "mysql" or isinstance(connection, TransactionalDBClient):
            # MariaDB has no INSERT ... ON CONFLICT DO NOTHING RETURNING; inside a caller's transaction the row
            # belongs to that transaction.
            return await self._receive_one(channel, platform_id, ordering_key, payload, now)
        row = {"channel": channel, "platform_id": platform_id, "ordering_key": ordering_key, "payload": dict(payload),
               "status": InboxStatus.PENDING, "available_at": now}
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._receipts.append((row, answer))
        if self._inserting is None or self._inserting.done():
            self._inserting = asyncio.create_task(self._insert_receipts(connection))
        return await answer

    async def _receive_one(
        self, channel: str, platform_id: str, ordering_key: str, payload: Mapping[str, Any], now: datetime
    ) -> bool:
        try:
            await InboxItem.create(
                channel=channel,
                platform_id=platform_id,
                ordering_key=ordering_key,
                payload=dict(payload),
                status=InboxStatus.PENDING,
                available_at=now,
            )
        except IntegrityError:
            return False
        return True

    async def _insert_receipts(self, connection: BaseDBAsyncClient) -> None:
        """Inserts what is waiting, batch after batch, until nothing is; answers each receipt after its batch
        committed (its own statement outside any transaction). A platform id twice in one batch is stored once:
        the later one is a retry."""
        while self._receipts:
            batch = self._receipts[:_RECEIPTS_PER_INSERT]
            del self._receipts[:_RECEIPTS_PER_INSERT]
            first: dict[tuple[str, str], int] = {}
            for index, (row, _) in enumerate(batch):
                first.setdefault((row["channel"], row["platform_id"]), index)
            try:
                returned = await insert_rows(
                    InboxItem, [batch[index][0] for index in first.values()], connection=connection,
                    skip_conflicts_on=("channel", "platform_id"), returning=("channel", "platform_id"),
                )
            except Exception as error:
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(error)
                continue
            inserted = {(str(stored["channel"]), str(stored["platform_id"])) for stored in returned}
            for index, (row, answer) in enumerate(batch):
                if not answer.done():  # a webhook whose request went away meanwhile
                    key = (row["channel"], row["platform_id"])
                    answer.set_result(key in inserted and first[key] == index)

    async def claim_due(
        self, limit: int, lease: timedelta = DEFAULT_INBOX_LEASE, channels: Collection[str] | None = None
    ) -> list[InboxEntry]:
        """Claim up to `limit` due heads of distinct ordering keys, oldest first; rows behind a head wait. With
        `channels`, only those channels' rows (a worker takes only what it can process)."""
        now = datetime.now(UTC)
        open_rows = InboxItem.filter(status__in=_OPEN)
        if channels is not None:
            open_rows = open_rows.filter(channel__in=list(channels))
        heads = (
            open_rows
            .annotate(head=Min("id"))
            .group_by("ordering_key")
            .values("head")
        )
        candidates = (
            await InboxItem.filter(_claimable(now), id__in=Subquery(heads))
            .order_by("available_at", "id")
            .limit(limit)
            .values_list("id", flat=True)
        )
        if not candidates:
            return []
        claimed: list[InboxEntry] = []
        async with in_transaction():
            query = InboxItem.filter(id__in=candidates).order_by("available_at", "id")
            if self._skip_locked:
                query = query.select_for_update(skip_locked=True)
            for row in await query:
                # The conditional update is the claim: only one worker can move a row this way.
                won = await InboxItem.filter(_claimable(now), id=row.id).update(
                    status=InboxStatus.PROCESSING,
                    claimed_by=self.worker_id,
                    lease_until=now + lease,
                    attempts=row.attempts + 1,
                )
                if won:
                    claimed.append(
                        InboxEntry(row.id, row.channel, row.platform_id, row.ordering_key, row.payload, row.attempts)
                    )
        return claimed

    def _held(self, item_id: int) -> Any:
        return InboxItem.filter(id=item_id, status=InboxStatus.PROCESSING, claimed_by=self.worker_id)

    async def renew_leases(self, item_ids: Iterable[int], lease: timedelta = DEFAULT_INBOX_LEASE) -> int:
        """The heartbeat: updates still being processed by this worker keep their claim."""
        ids = list(item_ids)
        if not ids:
            return 0
        return await InboxItem.filter(
            id__in=ids, status=InboxStatus.PROCESSING, claimed_by=self.worker_id
        ).update(lease_until=datetime.now(UTC) + lease)

    async def mark_done(self, item_id: int) -> None:
        """The turn is stored; the customer's words are not kept here twice."""
        await InboxItem.filter(id=item_id, status__in=_OPEN).update(
            status=InboxStatus.DONE, payload={}, done_at=datetime.now(UTC), lease_until=None, last_error=None
        )

    async def reschedule(self, item_id: int, delay_seconds: float, error: str) -> None:
        await self._held(item_id).update(
            status=InboxStatus.PENDING,
            available_at=datetime.now(UTC) + timedelta(seconds=max(delay_seconds, 0.0)),
            last_error=error[:_ERROR_CHARS],
            lease_until=None,
            claimed_by=None,
        )

    async def mark_dead(self, item_id: int, error: str) -> None:
        """Given up: the conversation's later updates go ahead; the payload is emptied like a done row's."""
        await InboxItem.filter(id=item_id, status__in=_OPEN).update(
            status=InboxStatus.DEAD, payload={}, last_error=error[:_ERROR_CHARS], lease_until=None,
            done_at=datetime.now(UTC),
        )

    async def pending_count(self) -> int:
        return await InboxItem.filter(status__in=_OPEN).count()

    async def forget_settled(self, older_than: timedelta) -> int:
        """Settled rows are kept a while so a late platform retry still finds its key; then dropped."""
        return await InboxItem.filter(
            status__in=(InboxStatus.DONE, InboxStatus.DEAD), done_at__lt=datetime.now(UTC) - older_than
        ).delete()
