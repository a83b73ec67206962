"""The inbox on every database: one row per platform update, heads claimed once, order per conversation,
leases, retries and the worker that takes the turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio

from bot.inbox import InboxWorker, WakingInbox
from bot.messages import ChannelName
from bot.outbox import RetryPolicy
from storage.database import is_mysql, open_database, supports_row_locks
from storage.inbox import InboxStatus, TortoiseInbox
from storage.models import InboxItem


@pytest_asyncio.fixture
async def inbox(database_url: str) -> AsyncIterator[TortoiseInbox]:
    async with open_database(database_url):
        yield TortoiseInbox(skip_locked=supports_row_locks(database_url))


async def receive(inbox: TortoiseInbox, key: str, platform_id: str, text: str = "") -> bool:
    return await inbox.receive(
        channel="telegram", platform_id=platform_id, ordering_key=key, payload={"text": text or platform_id}
    )


class Recorder:
    """A channel as the inbox worker sees it: records each payload's text; fails the first `failures` times."""

    name: ChannelName = "telegram"

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.seen: list[str] = []

    async def process_received(self, payload: Mapping[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("platform unreachable")
        self.seen.append(str(payload["text"]))


async def test_a_retried_update_inserts_nothing(inbox: TortoiseInbox) -> None:
    assert await receive(inbox, "telegram:1", "900")
    assert not await receive(inbox, "telegram:1", "900", "the same update, delivered again")
    assert not await receive(inbox, "telegram:2", "900")
    assert await InboxItem.all().count() == 1
    # Another channel's id space is its own.
    assert await inbox.receive(channel="wechat", platform_id="900", ordering_key="wechat:x", payload={})
    # Still refused once processed: the key outlives the turn.
    [entry] = [entry for entry in await inbox.claim_due(10) if entry.channel == "telegram"]
    await inbox.mark_done(entry.id)
    assert not await receive(inbox, "telegram:1", "900")


async def test_a_burst_of_receipts_stores_each_update_once(inbox: TortoiseInbox, database_url: str) -> None:
    """Webhooks arriving together share inserts (one row each on MariaDB); each answer still says whether its
    update was stored, a retry inside the same burst included, and batched rows keep their arrival order."""
    await receive(inbox, "telegram:0", "already-stored")
    arrivals = [("telegram:0", "already-stored")] + [(f"telegram:{number % 7}", str(number)) for number in range(60)]
    arrivals.insert(30, ("telegram:3", "10"))  # the platform's retry of update 10, during the burst
    answers = await asyncio.gather(*(receive(inbox, key, platform_id) for key, platform_id in arrivals))
    assert answers.count(True) == 60
    assert answers[0] is False
    if is_mysql(database_url):
        # One insert each, at the same time: which of update 10's two deliveries (11th and 31st) lands first is
        # the database's call; exactly one of them is stored.
        assert [answers[11], answers[30]].count(True) == 1
    else:
        assert answers[11] is True and answers[30] is False
    rows = await InboxItem.all().order_by("id")
    stored = [row.platform_id for row in rows]
    expected = ["already-stored", *(str(number) for number in range(60))]
    assert stored == expected if not is_mysql(database_url) else sorted(stored) == sorted(expected)
    [row] = [row for row in rows if row.platform_id == "10"]
    assert row.payload == {"text": "10"} and row.status == InboxStatus.PENDING and row.ordering_key == "telegram:3"
    assert row.attempts == 0 and row.created_at is not None and row.available_at <= datetime.now(UTC)
    heads = await inbox.claim_due(100)
    assert sorted(entry.platform_id for entry in heads) == sorted(["already-stored", "1", "2", "3", "4", "5", "6"])


async def test_only_heads_are_claimed_and_the_next_waits_for_the_head(inbox: TortoiseInbox) -> None:
    for platform_id in ("1", "2", "3"):
        await receive(inbox, "telegram:a", platform_id)
    await receive(inbox, "telegram:b", "4")
    first = await inbox.claim_due(10)
    assert sorted(entry.platform_id for entry in first) == ["1", "4"]
    assert await inbox.claim_due(10) == []
    a1 = next(entry for entry in first if entry.platform_id == "1")
    await inbox.mark_done(a1.id)
    assert [entry.platform_id for entry in await inbox.claim_due(10)] == ["2"]
    row = await InboxItem.get(id=a1.id)
    assert row.status == InboxStatus.DONE and row.payload == {}


async def test_two_workers_racing_claim_each_row_once(inbox: TortoiseInbox, database_url: str) -> None:
    other = TortoiseInbox(skip_locked=supports_row_locks(database_url))
    for number in range(40):
        await receive(inbox, f"telegram:{number}", str(number))
    claimed: list[str] = []
    # Racing claims may lose rows to each other (and take fewer than asked): rounds until none is left.
    for _ in range(40):
        batches = await asyncio.gather(inbox.claim_due(7), other.claim_due(7), inbox.claim_due(7), other.claim_due(7))
        claimed += [entry.platform_id for batch in batches for entry in batch]
        if not any(batches):
            break
    assert len(claimed) == len(set(claimed)) == 40


async def test_a_lapsed_lease_is_taken_again_and_the_late_holder_cannot_settle(
    inbox: TortoiseInbox, database_url: str
) -> None:
    other = TortoiseInbox(skip_locked=supports_row_locks(database_url))
    await receive(inbox, "telegram:a", "1")
    [held] = await inbox.claim_due(5, lease=timedelta(0))
    await asyncio.sleep(0.01)
    [taken] = await other.claim_due(5)
    assert taken.id == held.id and taken.attempts == 1
    # The first worker comes back from a stall: its reschedule changes nothing, the row is the other's.
    await inbox.reschedule(held.id, 0, "late")
    row = await InboxItem.get(id=held.id)
    assert row.status == InboxStatus.PROCESSING and row.claimed_by == other.worker_id


async def test_the_worker_takes_turns_in_order_and_retries_a_failure(inbox: TortoiseInbox) -> None:
    recorder = Recorder(failures=1)
    worker = InboxWorker(inbox, {"telegram": recorder}, 0.05, retry=RetryPolicy(base_seconds=0.01))
    for platform_id, text in (("1", "a1"), ("2", "a2"), ("3", "a3")):
        await receive(inbox, "telegram:a", platform_id, text)
    await receive(inbox, "telegram:b", "4", "b1")
    for _ in range(200):
        await worker.process_due()
        if await inbox.pending_count() == 0:
            break
        await asyncio.sleep(0.02)
    assert await inbox.pending_count() == 0
    a_turns = [text for text in recorder.seen if text.startswith("a")]
    assert a_turns == ["a1", "a2", "a3"]
    assert sorted(recorder.seen) == ["a1", "a2", "a3", "b1"]
    assert set(await InboxItem.all().values_list("status", flat=True)) == {InboxStatus.DONE}


async def test_an_update_that_keeps_failing_is_given_up_and_the_conversation_goes_on(inbox: TortoiseInbox) -> None:
    recorder = Recorder(failures=2)
    worker = InboxWorker(inbox, {"telegram": recorder}, 0.05, retry=RetryPolicy(max_attempts=2, base_seconds=0.01))
    await receive(inbox, "telegram:a", "1", "broken")
    await receive(inbox, "telegram:a", "2", "next")
    for _ in range(200):
        await worker.process_due()
        if await inbox.pending_count() == 0:
            break
        await asyncio.sleep(0.02)
    assert recorder.seen == ["next"]
    dead = await InboxItem.get(platform_id="1")
    assert dead.status == InboxStatus.DEAD and dead.attempts == 2 and dead.payload == {}
    assert "platform unreachable" in (dead.last_error or "")


async def test_settled_rows_are_forgotten_after_a_while(inbox: TortoiseInbox) -> None:
    await receive(inbox, "telegram:a", "1")
    await receive(inbox, "telegram:a", "2")
    [entry] = await inbox.claim_due(5)
    await inbox.mark_done(entry.id)
    assert await inbox.forget_settled(timedelta(hours=1)) == 0
    await asyncio.sleep(0.01)
    assert await inbox.forget_settled(timedelta(0)) == 1
    assert await InboxItem.all().values_list("platform_id", flat=True) == ["2"]


async def test_a_worker_claims_only_the_channels_it_can_process(inbox: TortoiseInbox) -> None:
    await inbox.receive(channel="wechat", platform_id="1", ordering_key="wechat:a", payload={"text": "w"})
    await receive(inbox, "telegram:a", "1", "t")
    worker = InboxWorker(inbox, {"telegram": Recorder()}, 0.05)
    assert await worker.process_due() == 1
    assert await worker.process_due() == 0
    # The other channel's row waits, untouched, for a worker that has that channel.
    row = await InboxItem.get(channel="wechat")
    assert row.status == InboxStatus.PENDING and row.attempts == 0


async def test_a_stored_update_is_announced_to_other_processes_and_a_retry_is_not(inbox: TortoiseInbox) -> None:
    announced: list[int] = []
    waking = WakingInbox(inbox, InboxWorker(inbox, {}, 1.0), lambda: announced.append(1))
    assert await waking.receive(channel="telegram", platform_id="77", ordering_key="telegram:7", payload={})
    assert not await waking.receive(channel="telegram", platform_id="77", ordering_key="telegram:7", payload={})
    assert await waking.receive(channel="telegram", platform_id="78", ordering_key="telegram:7", payload={})
    assert announced == [1, 1]
