"""The outbox: rows written with the change that caused them, claimed by workers, delivered in order.

Claiming is fair across recipients: each pass looks only at the head (lowest id still open) of every ordering
key and takes the due ones, so a key whose head keeps failing holds back its own rows and nobody else's.
A claim is a conditional update (only one worker can move a row out of `pending`), under `FOR UPDATE SKIP
LOCKED` where the database has it, and carries a short lease that the claiming worker renews while it sends:
a worker that dies loses its rows within seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from storage.models import ChannelIdentity, Customer, DeadReason, InboundReceipt, OutboxItem, OutboxStatus
from storage.native_sql import select_rows

__all__ = ["DEFAULT_LEASE", "DeadLetter", "DeadReason", "OutboxEntry", "OutboxStatus", "PassiveClaim", "TortoiseOutbox",
           "add_outbox_item"]

# How long a claim lasts without a heartbeat: a crashed worker's row is taken again after at most this.
DEFAULT_LEASE = timedelta(seconds=6)
_OPEN = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# The heads (lowest id) of the open ordering keys that are claimable (_claimable), first attempts first: plain SQL
# because the outbox worker asks after every turn that queued something, and the ORM built it for ~1 ms each time.
_DUE_HEADS = (
    "SELECT id FROM outbox_item WHERE id IN "
    "(SELECT MIN(id) FROM outbox_item WHERE status IN (?, ?) GROUP BY ordering_key) "
    "AND ((status = ? AND available_at <= ?) OR (status = ? AND (lease_until < ? OR lease_until IS NULL))) "
    "ORDER BY attempts, available_at, id LIMIT ?"
)
_AVAILABLE_AT = OutboxItem._meta.fields_map["available_at"]
_ERROR_CHARS = 2000


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    kind: str
    channel: str
    ordering_key: str
    payload: Mapping[str, Any]
    # Attempts made before this one.
    attempts: int
    # The previous attempt started and its outcome was never stored (the worker died mid-send): the
    # platform may already have the message.
    interrupted: bool = False


@dataclass(frozen=True)
class DeadLetter:
    entry: OutboxEntry
    reason: DeadReason
    error: str


@dataclass(frozen=True)
class PassiveClaim:
    """What one passive claim took, in queue order, and whether looking again shortly could take more (a row
    ahead was being sent by a worker)."""

    entries: list[OutboxEntry]
    wait: bool


def _entry(row: OutboxItem, *, interrupted: bool = False) -> OutboxEntry:
    return OutboxEntry(row.id, row.kind, row.channel, row.ordering_key, row.payload, row.attempts, interrupted)


async def add_outbox_item(
    *, kind: str, channel: str, ordering_key: str, payload: Mapping[str, Any], receipt_id: int | None = None,
    delivered: bool = False,
) -> int:
    """The one way rows enter the outbox; call it inside the transaction of the change that caused it."""
    row = OutboxItem(**outbox_values(
        kind=kind, channel=channel, ordering_key=ordering_key, payload=payload, receipt_id=receipt_id,
        delivered=delivered,
    ))
    await row.save()
    return row.id


def outbox_values(
    *, kind: str, channel: str, ordering_key: str, payload: Mapping[str, Any], receipt_id: int | None = None,
    delivered: bool = False,
) -> dict[str, Any]:
    """An outbox row's values (a turn writes its rows together with storage.native_sql.insert_rows).
    `delivered`: the commit itself delivers it (a channel whose customers read the transcript), so the row is
    born sent and no worker pass claims it; it stays for the record and for answering a retried message."""
    now = datetime.now(UTC)
    return {
        "kind": kind,
        "channel": channel,
        "ordering_key": ordering_key,
        "payload": dict(payload),
        "status": OutboxStatus.SENT if delivered else OutboxStatus.PENDING,
        "available_at": now,
        "sent_at": now if delivered else None,
        "receipt_id": receipt_id,
    }


def _claimable(now: datetime) -> Q:
    """Due and free, or held by a worker whose lease ran out."""
    return Q(status=OutboxStatus.PENDING, available_at__lte=now) | Q(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True), status=OutboxStatus.SENDING
    )


class TortoiseOutbox:
    def __init__(self, *, skip_locked: bool, worker_id: str | None = None) -> None:
        self._skip_locked = skip_locked
        # Names this process's claims, so only the holder renews or settles them.
        self.worker_id = worker_id or uuid.uuid4().hex[:16]

    async def enqueue(
        self, *, kind: str, channel: str, ordering_key: str, payload: Mapping[str, Any]
    ) -> int:
        return await add_outbox_item(kind=kind, channel=channel, ordering_key=ordering_key, payload=payload)

    async def claim_due(self, limit: int = 20, lease: timedelta = DEFAULT_LEASE) -> list[OutboxEntry]:
        """Claim up to `limit` due heads of distinct ordering keys; first attempts before retries, then the
        longest waiting. Rows behind a head wait for it (order per key)."""
        now = datetime.now(UTC)
        at = _AVAILABLE_AT.to_db_value(now, OutboxItem)
        pending, sending = OutboxStatus.PENDING.value, OutboxStatus.SENDING.value
        rows = await select_rows(OutboxItem, _DUE_HEADS, [pending, sending, pending, at, sending, at, limit])
        candidates = [int(row["id"]) for row in rows]
        if not candidates:
            return []
        claimed: list[OutboxEntry] = []
        async with in_transaction():
            query = OutboxItem.filter(id__in=candidates).order_by("attempts", "available_at", "id")
            if self._skip_locked:
                # Rows another worker is claiming right now are skipped, not waited for.
                query = query.select_for_update(skip_locked=True)
            for row in await query:
                interrupted = row.status == OutboxStatus.SENDING and row.attempt_started_at is not None
                # The conditional update is the claim: only one worker can move a row this way.
                won = await OutboxItem.filter(_claimable(now), id=row.id).update(
                    status=OutboxStatus.SENDING,
                    claimed_at=now,
                    claimed_by=self.worker_id,
                    lease_until=now + lease,
                    attempt_started_at=None,
                )
                if won:
                    claimed.append(_entry(row, interrupted=interrupted))
        return claimed

    def _held(self, item_id: int) -> Any:
        return OutboxItem.filter(id=item_id, status=OutboxStatus.SENDING, claimed_by=self.worker_id)

    async def begin_attempt(self, item_id: int, lease: timedelta = DEFAULT_LEASE) -> bool:
        """Record the attempt before the platform is called; False when the claim was lost meanwhile."""
        now = datetime.now(UTC)
        won = await self._held(item_id).update(
            attempts=F("attempts") + 1, attempt_started_at=now, lease_until=now + lease
        )
        return bool(won)

    async def renew_leases(self, item_ids: Iterable[int], lease: timedelta = DEFAULT_LEASE) -> int:
        """The heartbeat: rows still being sent by this worker keep their claim."""
        ids = list(item_ids)
        if not ids:
            return 0
        return await OutboxItem.filter(
            id__in=ids, status=OutboxStatus.SENDING, claimed_by=self.worker_id
        ).update(lease_until=datetime.now(UTC) + lease)

    async def release(self, item_id: int, available_at: datetime) -> None:
        """Hand a claimed row back untried (a rate limit said not yet): no attempt is counted."""
        await self._held(item_id).update(
            status=OutboxStatus.PENDING, available_at=available_at, lease_until=None, claimed_by=None
        )

    async def mark_sent(self, item_id: int) -> None:
        # Not conditional on the claim: whoever holds the row now, the platform has the message.
        await OutboxItem.filter(id=item_id, status__in=_OPEN).update(
            status=OutboxStatus.SENT, sent_at=datetime.now(UTC), last_error=None, attempt_started_at=None,
            lease_until=None,
        )

    async def reschedule(self, item_id: int, delay_seconds: float, error: str) -> None:
        await self._held(item_id).update(
            status=OutboxStatus.PENDING,
            available_at=datetime.now(UTC) + timedelta(seconds=max(delay_seconds, 0.0)),
            last_error=error[:_ERROR_CHARS],
            attempt_started_at=None,
            lease_until=None,
            claimed_by=None,
        )

    async def mark_dead(self, item_id: int, reason: DeadReason, error: str) -> None:
        await OutboxItem.filter(id=item_id, status__in=_OPEN).update(
            status=OutboxStatus.DEAD, dead_reason=reason, last_error=error[:_ERROR_CHARS],
            attempt_started_at=None, lease_until=None,
        )

    async def mark_recipient_unreachable(self, channel: str, sender_id: str) -> None:
        identity = await ChannelIdentity.get_or_none(channel=channel, sender_id=sender_id)
        if identity is not None:
            await Customer.filter(id=identity.customer_id).update(unreachable=True)

    async def claim_passive(
        self, channel: str, message_id: str, fits: Callable[[list[OutboxEntry]], bool] | None = None
    ) -> PassiveClaim:
        """Take the still-pending replies of one inbound message for a passive HTTP answer (WeChat): whatever
        this claims, the worker will never send, and the other way round.

        A customer's messages must arrive in the order they were queued, whichever path each takes, so the claim
        only ever takes the head of the customer's queue: the earlier rows still pending (a reply the worker held
        back, an agent's answer) come first in the answer, and a row another worker is sending right now stops
        the claim there (`wait` tells the caller that looking again shortly may take the rest). `fits` says
        whether a list of rows still fits in one passive answer; the claim stops before the first that does not."""
        receipt = await InboundReceipt.get_or_none(channel=channel, message_id=message_id)
        if receipt is None:
            return PassiveClaim([], wait=False)
        own = await OutboxItem.filter(receipt_id=receipt.id, kind="message", status__in=_OPEN).order_by("id")
        if not own:
            return PassiveClaim([], wait=False)
        # Every reply to one inbound message goes to its sender: one ordering key.
        queue = await OutboxItem.filter(
            ordering_key=own[0].ordering_key, status__in=_OPEN, id__lte=own[-1].id
        ).order_by("id")
        claimed: list[OutboxEntry] = []
        for row in queue:
            if row.status != OutboxStatus.PENDING or row.kind != "message" or row.channel != channel:
                return PassiveClaim(claimed, wait=True)  # another worker holds it: never overtake it
            if fits is not None and not fits([*claimed, _entry(row)]):
                return PassiveClaim(claimed, wait=False)
            won = await OutboxItem.filter(id=row.id, status=OutboxStatus.PENDING).update(
                status=OutboxStatus.SENT_PASSIVELY, sent_at=datetime.now(UTC)
            )
            if not won:
                return PassiveClaim(claimed, wait=True)  # a worker took it this instant
            claimed.append(_entry(row))
        return PassiveClaim(claimed, wait=False)

    async def answered_passively(self, channel: str, message_id: str) -> list[OutboxEntry]:
        """The replies of one inbound message that already left in a passive answer. A platform retry of
        that message means the answer never arrived, so the retry must carry them again."""
        rows = await OutboxItem.filter(
            receipt__channel=channel,
            receipt__message_id=message_id,
            kind="message",
            status=OutboxStatus.SENT_PASSIVELY,
        ).order_by("id")
        return [_entry(row) for row in rows]

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest rows given up, with why."""
        rows = await OutboxItem.filter(status=OutboxStatus.DEAD).order_by("-id").limit(limit)
        return [
            DeadLetter(_entry(row), row.dead_reason or DeadReason.REFUSED, row.last_error or "") for row in rows
        ]

    async def pending_count(self) -> int:
        return await OutboxItem.filter(status__in=_OPEN).count()
