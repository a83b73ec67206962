"""The outbox: rows written with the change that caused them, claimed by workers, delivered in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from storage.models import ChannelIdentity, Customer, InboundReceipt, OutboxItem

# A claim older than this belongs to a worker that died mid-delivery: the item is taken again.
CLAIM_LEASE = timedelta(minutes=2)
# last_error of a reply that left in a passive HTTP answer (WeChat) rather than through a platform API.
ANSWERED_PASSIVELY = "answered passively"


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    kind: str
    channel: str
    ordering_key: str
    payload: Mapping[str, Any]
    attempts: int


def _entry(row: OutboxItem) -> OutboxEntry:
    return OutboxEntry(row.id, row.kind, row.channel, row.ordering_key, row.payload, row.attempts)


async def add_outbox_item(
    *, kind: str, channel: str, ordering_key: str, payload: Mapping[str, Any], receipt_id: int | None = None
) -> int:
    """The one way rows enter the outbox; call it inside the transaction of the change that caused it."""
    row = await OutboxItem.create(
        kind=kind,
        channel=channel,
        ordering_key=ordering_key,
        payload=dict(payload),
        status="pending",
        available_at=datetime.now(UTC),
        receipt_id=receipt_id,
    )
    return row.id


class TortoiseOutbox:
    def __init__(self, *, skip_locked: bool) -> None:
        self._skip_locked = skip_locked

    async def enqueue(
        self, *, kind: str, channel: str, ordering_key: str, payload: Mapping[str, Any]
    ) -> int:
        return await add_outbox_item(kind=kind, channel=channel, ordering_key=ordering_key, payload=payload)

    async def claim_due(self, limit: int = 20) -> list[OutboxEntry]:
        """Claim the first due item of each ordering key; later items of a key wait for the earlier ones."""
        now = datetime.now(UTC)
        await OutboxItem.filter(status="sending", claimed_at__lt=now - CLAIM_LEASE).update(status="pending")
        async with in_transaction():
            query = OutboxItem.filter(status__in=("pending", "sending")).order_by("id").limit(limit * 5)
            if self._skip_locked:
                query = query.select_for_update(skip_locked=True)
            candidates = await query
            heads: dict[str, OutboxItem] = {}
            for row in candidates:
                heads.setdefault(row.ordering_key, row)
            claimed: list[OutboxEntry] = []
            for row in heads.values():
                if row.status != "pending" or row.available_at > now:
                    continue
                # The conditional update is the claim: only one worker can move it out of "pending".
                won = await OutboxItem.filter(id=row.id, status="pending").update(
                    status="sending", claimed_at=now, attempts=F("attempts") + 1
                )
                if won:
                    row.attempts += 1
                    claimed.append(_entry(row))
                if len(claimed) >= limit:
                    break
            return claimed

    async def mark_sent(self, item_id: int) -> None:
        await OutboxItem.filter(id=item_id).update(status="sent", sent_at=datetime.now(UTC), last_error=None)

    async def reschedule(self, item_id: int, delay_seconds: float, error: str) -> None:
        await OutboxItem.filter(id=item_id).update(
            status="pending",
            available_at=datetime.now(UTC) + timedelta(seconds=delay_seconds),
            last_error=error[:2000],
        )

    async def mark_dead(self, item_id: int, error: str) -> None:
        await OutboxItem.filter(id=item_id).update(status="dead", last_error=error[:2000])

    async def mark_recipient_unreachable(self, channel: str, sender_id: str) -> None:
        identity = await ChannelIdentity.get_or_none(channel=channel, sender_id=sender_id)
        if identity is not None:
            await Customer.filter(id=identity.customer_id).update(unreachable=True)

    async def claim_passive(self, channel: str, message_id: str) -> list[OutboxEntry]:
        """Take the still-pending replies of one inbound message for a passive HTTP answer (WeChat):
        whatever this claims, the worker will never send, and the other way round."""
        receipt = await InboundReceipt.get_or_none(channel=channel, message_id=message_id)
        if receipt is None:
            return []
        rows = await OutboxItem.filter(receipt_id=receipt.id, kind="message", status="pending").order_by("id")
        claimed = []
        for row in rows:
            won = await OutboxItem.filter(id=row.id, status="pending").update(
                status="sent", sent_at=datetime.now(UTC), last_error=ANSWERED_PASSIVELY
            )
            if won:
                claimed.append(_entry(row))
        return claimed

    async def answered_passively(self, channel: str, message_id: str) -> list[OutboxEntry]:
        """The replies of one inbound message that already left in a passive answer. A platform retry of
        that message means the answer never arrived, so the retry must carry them again."""
        rows = await OutboxItem.filter(
            receipt__channel=channel,
            receipt__message_id=message_id,
            kind="message",
            status="sent",
            last_error=ANSWERED_PASSIVELY,
        ).order_by("id")
        return [_entry(row) for row in rows]

    async def pending_count(self) -> int:
        return await OutboxItem.filter(status__in=("pending", "sending")).count()
