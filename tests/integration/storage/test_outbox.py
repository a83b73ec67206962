"""The outbox on a real database: claims, order per key, retries, dead letters, passive claims."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio

from bot.channels.base import PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.outbox import OutboxWorker, RateLimit, RetryPolicy
from storage.database import open_database, supports_row_locks
from storage.delivery_pace import PaceDecision, TortoiseDeliveryPace
from storage.models import ChannelIdentity, Customer, DeliveryPace, InboundReceipt, OutboxItem
from storage.outbox import DeadReason, OutboxEntry, OutboxStatus, TortoiseOutbox


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
    worker = OutboxWorker(outbox, {"message": handler}, rate_limits={})
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
    worker = OutboxWorker(outbox, {"message": handler}, rate_limits={})
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
    worker = OutboxWorker(outbox, {"message": handler}, rate_limits={})
    [item_id] = await enqueue(outbox, "k", "later")
    assert await worker.deliver_due() == 0
    assert await worker.deliver_due() == 0
    row = await OutboxItem.get(id=item_id)
    assert row.status == OutboxStatus.PENDING and row.last_error == "rate limited"
    assert handler.delivered == []


async def test_unreachable_recipient_is_marked_and_the_item_is_dead(outbox: TortoiseOutbox) -> None:
    customer = await Customer.create()
    await ChannelIdentity.create(customer=customer, channel="web", sender_id="r")
    handler = ScriptedHandler([RecipientUnreachable("blocked"), PermanentDeliveryError("bad request")])
    worker = OutboxWorker(outbox, {"message": handler}, rate_limits={})
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
    claimed = (await outbox.claim_passive("wechat", "m1")).entries
    assert [entry.payload["text"] for entry in claimed] == ["hello", "question"]
    handler = ScriptedHandler()
    assert await OutboxWorker(outbox, {"message": handler}).deliver_due() == 0
    assert handler.delivered == []
    assert (await outbox.claim_passive("wechat", "m1")).entries == []


async def test_a_passive_claim_takes_only_the_head_of_the_customers_queue(outbox: TortoiseOutbox) -> None:
    async def reply(receipt: InboundReceipt, text: str, key: str = "wechat:u") -> int:
        row = await OutboxItem.create(kind="message", channel="wechat", ordering_key=key, status="pending",
                                      payload={"recipient_id": "u", "text": text}, available_at=receipt.created_at,
                                      receipt=receipt)
        return row.id

    first, second = [await InboundReceipt.create(channel="wechat", message_id=name) for name in ("p1", "p2")]
    await reply(first, "greeting")
    await reply(second, "what is your name?")
    await reply(second, "other customer", key="wechat:v")
    # A worker is sending the earlier reply through the API: the passive answer must not overtake it.
    [sending] = await outbox.claim_due(limit=1)
    assert sending.payload["text"] == "greeting"
    claim = await outbox.claim_passive("wechat", "p2")
    assert (claim.entries, claim.wait) == ([], True)
    await outbox.mark_sent(sending.id)
    claim = await outbox.claim_passive("wechat", "p2")
    assert [entry.payload["text"] for entry in claim.entries] == ["what is your name?"] and not claim.wait
    # An earlier reply still pending (held back for the window) leaves first, in the same answer; what does not
    # fit in one answer stays for the worker, and nothing behind it is taken.
    third, fourth = [await InboundReceipt.create(channel="wechat", message_id=name) for name in ("p3", "p4")]
    await reply(third, "held back")
    await reply(fourth, "too long " * 10)
    await reply(fourth, "short")
    claim = await outbox.claim_passive("wechat", "p4", lambda rows: sum(len(r.payload["text"]) for r in rows) < 50)
    assert [entry.payload["text"] for entry in claim.entries] == ["held back"] and not claim.wait
    assert await OutboxItem.filter(status="pending", ordering_key="wechat:u").count() == 2


# -- fair claiming, leases, pace, bounded retries ---------------------------------------------------------


async def test_a_stuck_head_blocks_only_its_own_key(outbox: TortoiseOutbox) -> None:
    # Far more failing keys than one claim takes: the healthy key behind them is still reached at once.
    for number in range(30):
        await enqueue(outbox, f"stuck{number}", "s1", "s2")
    [healthy] = await enqueue(outbox, "healthy", "h1")
    first = await outbox.claim_due(limit=100)
    claimed_ids = {entry.id for entry in first}
    assert healthy in claimed_ids
    # Only heads: never the second row of a key while its first is open.
    assert len(first) == 31 and len({entry.ordering_key for entry in first}) == 31
    for entry in first:
        if entry.id != healthy:
            await outbox.begin_attempt(entry.id)
            await outbox.reschedule(entry.id, 3600, "429")
    # Refused heads wait for their due time and hold back their keys; the rest stays claimable.
    await outbox.mark_sent(healthy)
    assert await outbox.claim_due(limit=100) == []


async def test_first_attempts_are_claimed_before_retries(outbox: TortoiseOutbox) -> None:
    retried = await enqueue(outbox, "r", "retry me")
    [entry] = await outbox.claim_due()
    await outbox.begin_attempt(entry.id)
    await outbox.reschedule(entry.id, 0, "429")
    [fresh] = await enqueue(outbox, "f", "fresh")
    claimed = await outbox.claim_due(limit=1)
    assert [item.id for item in claimed] == [fresh] and retried[0] != fresh


async def test_two_workers_never_claim_the_same_row(database_url: str) -> None:
    async with open_database(database_url):
        skip_locked = database_url.startswith("postgres")
        first, second = TortoiseOutbox(skip_locked=skip_locked), TortoiseOutbox(skip_locked=skip_locked)
        for number in range(40):
            await enqueue(first, f"k{number}", "x")
        ids: list[int] = []
        for _ in range(10):  # rounds of concurrent claims until everything is taken
            claims = await asyncio.gather(*(worker.claim_due(limit=15) for worker in (first, second, first)))
            ids += [entry.id for claim in claims for entry in claim]
        assert len(ids) == len(set(ids)) == 40
        rows = await OutboxItem.filter(status=OutboxStatus.SENDING)
        assert {row.claimed_by for row in rows} <= {first.worker_id, second.worker_id}


async def test_a_dead_workers_claim_expires_and_the_next_claim_knows_it_was_interrupted(
    database_url: str,
) -> None:
    async with open_database(database_url):
        crashed, survivor = TortoiseOutbox(skip_locked=False), TortoiseOutbox(skip_locked=False)
        [item_id] = await enqueue(crashed, "k", "hello")
        [entry] = await crashed.claim_due(lease=timedelta(milliseconds=200))
        assert await crashed.begin_attempt(entry.id, lease=timedelta(milliseconds=200))
        # ...and the process dies before it can store the outcome.
        assert await survivor.claim_due() == []
        await asyncio.sleep(0.3)
        [again] = await survivor.claim_due()
        assert again.id == item_id and again.interrupted and again.attempts == 1
        # The dead worker's late answers cannot touch the row any more.
        assert not await crashed.begin_attempt(item_id)
        await crashed.reschedule(item_id, 60, "late")
        row = await OutboxItem.get(id=item_id)
        assert row.status == OutboxStatus.SENDING and row.claimed_by == survivor.worker_id


class SlowHandler:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.delivered: list[int] = []

    async def handle(self, entry: OutboxEntry) -> None:
        await asyncio.sleep(self.seconds)
        self.delivered.append(entry.id)


async def test_the_heartbeat_keeps_a_slow_send_its_own(database_url: str) -> None:
    async with open_database(database_url):
        lease = timedelta(milliseconds=300)
        slow = SlowHandler(1.0)
        owner = OutboxWorker(TortoiseOutbox(skip_locked=False), {"message": slow}, lease=lease, rate_limits={})
        other_outbox = TortoiseOutbox(skip_locked=False)
        [item_id] = await enqueue(other_outbox, "k", "slow")
        sending = asyncio.create_task(owner.deliver_due())
        stolen = []
        for _ in range(8):  # well past three leases
            await asyncio.sleep(0.15)
            stolen += await other_outbox.claim_due(lease=lease)
        assert await sending == 1
        assert stolen == [] and slow.delivered == [item_id]
        assert (await OutboxItem.get(id=item_id)).status == OutboxStatus.SENT


async def test_every_failure_kind_ends_in_a_dead_letter_with_a_reason(outbox: TortoiseOutbox) -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=0, cap_seconds=0)
    rate_limited = ScriptedHandler([RetryLater("429", retry_after=0)] * 5)
    crashing = ScriptedHandler([RuntimeError("boom")] * 5)
    worker = OutboxWorker(outbox, {"message": rate_limited, "desk": crashing}, retry=policy, rate_limits={})
    [limited] = await enqueue(outbox, "a", "limited")
    broken = await outbox.enqueue(kind="desk", channel="slack", ordering_key="b", payload={"text": "x"})
    orphan = await outbox.enqueue(kind="unknown", channel="web", ordering_key="c", payload={"text": "y"})
    for _ in range(5):
        await worker.deliver_due()
    letters = {letter.entry.id: letter for letter in await outbox.dead_letters()}
    assert letters[limited].reason == DeadReason.RATE_LIMITED and letters[limited].error == "429"
    assert letters[broken].reason == DeadReason.RETRIES_EXHAUSTED and "boom" in letters[broken].error
    assert letters[orphan].reason == DeadReason.NO_HANDLER
    assert (await OutboxItem.get(id=limited)).attempts == 3
    assert await outbox.pending_count() == 0


def test_backoff_is_bounded_and_jittered() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=300)
    rng = random.Random(7)
    for attempts in range(1, 20):
        ceiling = min(2 * 2 ** (attempts - 1), 300)
        delays = {policy.delay(attempts, None, rng) for _ in range(20)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays) and len(delays) > 1
    assert all(30 <= policy.delay(1, 30, rng) <= 33 for _ in range(20))


async def test_the_platform_pace_is_kept_before_sending_and_shared(outbox: TortoiseOutbox) -> None:
    limits = {("message", "web"): (RateLimit("platform", 60.0, 2),)}
    handler = ScriptedHandler()
    first = OutboxWorker(outbox, {"message": handler}, rate_limits=limits, max_pace_wait=0)
    second = OutboxWorker(TortoiseOutbox(skip_locked=False), {"message": handler}, rate_limits=limits,
                          max_pace_wait=0)
    ids = [item for key in ("a", "b", "c", "d") for item in await enqueue(outbox, key, key)]
    await first.deliver_due()
    await second.deliver_due()
    # A burst of two for the whole platform, whichever worker sends; the others wait for their slot,
    # untried (no attempt counted) and due about a minute later.
    assert len(handler.delivered) == 2
    waiting = await OutboxItem.filter(id__in=ids, status=OutboxStatus.PENDING)
    assert len(waiting) == 2 and {row.attempts for row in waiting} == {0}
    assert all(row.available_at > datetime.now(UTC) + timedelta(seconds=30) for row in waiting)


async def test_concurrent_first_takers_refused_wait_for_the_next_slot(outbox: TortoiseOutbox) -> None:
    # Four workers take from a fresh pace row at once, again and again: exactly the burst goes, and every refusal
    # is about the slot after it (about an interval away). A taker that measured against a moment older than the
    # row's creator once saw the free second slot as a few microseconds ahead and handed its row back due at once.
    # (The race needs the interleaving to happen: this catches it in some runs, not in every one.)
    for round_number in range(40):
        paces = [TortoiseDeliveryPace() for _ in range(4)]
        decisions = await asyncio.gather(*(
            pace.reserve(f"burst-{round_number}", interval=60.0, burst=2, max_wait=0) for pace in paces
        ))
        assert sum(decision.granted for decision in decisions) == 2
        assert all(decision.wait > 30 for decision in decisions if not decision.granted)


async def test_pace_slots_are_never_given_twice(outbox: TortoiseOutbox) -> None:
    # Separate instances stand for separate worker processes: only the database keeps them apart.
    paces = [TortoiseDeliveryPace() for _ in range(6)]
    decisions = await asyncio.gather(
        *(pace.reserve("k", interval=10.0, burst=1, max_wait=15, now=1000.0) for pace in paces)
    )
    # Slots at 1000 and 1010 are within 15 s; whoever asked, exactly two were given, and the third is refused.
    assert sum(decision.granted for decision in decisions) == 2
    assert (await DeliveryPace.get(key="k")).next_at == 1020.0
    assert all(decision.wait >= 5 for decision in decisions if not decision.granted)
    later = await paces[0].reserve("k", interval=10.0, burst=1, max_wait=15, now=1012.0)
    assert later == PaceDecision(True, 8.0)
