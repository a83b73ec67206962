"""The outbox on a real database: claims, order per key, retries, dead letters, passive claims."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.channels.base import PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.outbox import OutboxWorker
from storage.database import open_database, supports_row_locks
from storage.models import ChannelIdentity, Customer, InboundReceipt, OutboxItem
from storage.outbox import OutboxEntry, TortoiseOutbox


@pytest_asyncio.fixture
async def outbox(database_url: str) -> AsyncIterator[TortoiseOutbox]:
    async with open_database(database_url):
        yield TortoiseOutbox(skip_locked=supports_row_locks(database_url))


class ScriptedHandler:
    """Fails the way it is told to, in order, then succeeds; records what it delivered."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.delivered: list[str] = []

    async def handle(self, entry: OutboxEntry) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(str(entry.payload["text"]))


async def enqueue(outbox: TortoiseOutbox, key: str, *texts: str) -> list[int]:
    return [
        await outbox.enqueue(kind="message", channel="web", ordering_key=key,
                             payload={"recipient_id": "r", "text": text})
        for text in texts
    ]


async def test_items_leave_in_order_and_once(outbox: TortoiseOutbox) -> None:
    handler = ScriptedHandler()
    worker = OutboxWorker(outbox, {"message": handler})
    await enqueue(outbox, "a", "a1", "a2", "a3")
    await enqueue(outbox, "b", "b1")
    while await worker.deliver_due():
        pass
    assert handler.delivered in (["a1", "b1", "a2", "a3"], ["b1", "a1", "a2", "a3"])
    assert await outbox.pending_count() == 0
    assert await worker.deliver_due() == 0
    assert handler.delivered.count("a1") == 1


async def test_a_failing_item_holds_back_its_key_but_not_others(outbox: TortoiseOutbox) -> None:
    handler = ScriptedHandler([RetryLater("429", retry_after=0)])
    worker = OutboxWorker(outbox, {"message": handler})
    await enqueue(outbox, "slack", "first", "second")
    await enqueue(outbox, "other", "independent")
    await worker.deliver_due()
    # "first" was refused: "second" must not overtake it.
    assert "second" not in handler.delivered
    while await worker.deliver_due():
        pass
    assert handler.delivered.index("first") < handler.delivered.index("second")
    rows = await OutboxItem.filter(ordering_key="slack").order_by("id")
    assert [row.status for row in rows] == ["sent", "sent"]
    assert rows[0].attempts == 2


async def test_retry_after_is_honoured(outbox: TortoiseOutbox) -> None:
    handler = ScriptedHandler([RetryLater("rate limited", retry_after=3600)])
    worker = OutboxWorker(outbox, {"message": handler})
    [item_id] = await enqueue(outbox, "k", "later")
    assert await worker.deliver_due() == 0
    assert await worker.deliver_due() == 0
    row = await OutboxItem.get(id=item_id)
    assert row.status == "pending" and row.last_error == "rate limited"
    assert handler.delivered == []


async def test_unreachable_recipient_is_marked_and_the_item_is_dead(outbox: TortoiseOutbox) -> None:
    customer = await Customer.create()
    await ChannelIdentity.create(customer=customer, channel="web", sender_id="r")
    handler = ScriptedHandler([RecipientUnreachable("blocked"), PermanentDeliveryError("bad request")])
    worker = OutboxWorker(outbox, {"message": handler})
    first, second = await enqueue(outbox, "k1", "one") + await enqueue(outbox, "k2", "two")
    await worker.deliver_due()
    assert (await Customer.get(id=customer.id)).unreachable
    assert {(await OutboxItem.get(id=first)).status, (await OutboxItem.get(id=second)).status} == {"dead"}


async def test_passive_claim_and_worker_never_both_send(outbox: TortoiseOutbox) -> None:
    receipt = await InboundReceipt.create(channel="wechat", message_id="m1")
    for text in ("hello", "question"):
        await OutboxItem.create(kind="message", channel="wechat", ordering_key="wechat:u", status="pending",
                                payload={"recipient_id": "u", "text": text}, available_at=receipt.created_at,
                                receipt=receipt)
    claimed = await outbox.claim_passive("wechat", "m1")
    assert [entry.payload["text"] for entry in claimed] == ["hello", "question"]
    handler = ScriptedHandler()
    assert await OutboxWorker(outbox, {"message": handler}).deliver_due() == 0
    assert handler.delivered == []
    assert await outbox.claim_passive("wechat", "m1") == []
