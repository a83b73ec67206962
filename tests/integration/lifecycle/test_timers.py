"""Timers on a real database: claimed once, fired once, surviving dead workers and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from bot.lifecycle.timers import TimerWorker
from bot.operations.metrics import PlaintMetrics
from storage.database import open_database, supports_row_locks
from storage.models import OutboxItem, Timer
from storage.operations import TortoiseOutboxDepth
from storage.outbox import add_outbox_item
from storage.timers import DueTimer, NewTimer, TortoiseTimerBacklog, TortoiseTimerStore, is_deadlock
from tests.fakes.clock import ManualClock

START = datetime(2026, 11, 30, 9, tzinfo=UTC)


class RecordingHandler:
    """Fires by writing an outbox row (a database effect that must commit with the firing, or not at all)."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.calls: list[int] = []

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        self.calls.append(timer.id)
        if self.delay:
            await asyncio.sleep(self.delay)
        await add_outbox_item(kind="message", channel="web", ordering_key=f"timer:{timer.id}",
                              payload={"recipient_id": "r", "text": str(timer.payload["n"])})
        if self.failures:
            self.failures -= 1
            raise RuntimeError("handler failed")


@pytest_asyncio.fixture
async def store(database_url: str) -> AsyncIterator[TortoiseTimerStore]:
    async with open_database(database_url):
        yield TortoiseTimerStore(skip_locked=supports_row_locks(database_url), lease=timedelta(minutes=2))


async def schedule(store: TortoiseTimerStore, due_at: datetime, count: int = 1) -> list[int]:
    return [
        await store.schedule(NewTimer(kind="test", key=f"t{n}", due_at=due_at, payload={"n": n}))
        for n in range(count)
    ]


async def fired_texts() -> list[str]:
    rows = await OutboxItem.all().order_by("id")
    return [str(row.payload["text"]) for row in rows]


async def test_a_timer_fires_when_due_and_only_then(store: TortoiseTimerStore) -> None:
    clock = ManualClock(START)
    handler = RecordingHandler()
    worker = TimerWorker(store, {"test": handler}, clock, name="w1")
    [timer_id] = await schedule(store, START + timedelta(hours=1))
    assert await worker.fire_due() == 0
    clock.advance(minutes=59)
    assert await worker.fire_due() == 0
    clock.advance(minutes=1)
    assert await worker.fire_due() == 1
    assert await worker.fire_due() == 0
    clock.advance(days=3)
    assert await worker.fire_due() == 0
    row = await Timer.get(id=timer_id)
    assert row.status == "fired" and row.fired_at == START + timedelta(hours=1) and row.attempts == 1
    assert await fired_texts() == ["0"]


async def test_a_timer_due_while_every_worker_was_down_fires_once_on_restart(store: TortoiseTimerStore) -> None:
    clock = ManualClock(START)
    await schedule(store, START + timedelta(minutes=5), count=3)
    # Nobody runs for a day; then a fresh worker process starts.
    clock.advance(days=1)
    handler = RecordingHandler()
    restarted = TimerWorker(store, {"test": handler}, clock)
    assert await restarted.fire_due() == 3
    assert await restarted.fire_due() == 0
    another = TimerWorker(store, {"test": handler}, clock)
    assert await another.fire_due() == 0
    assert sorted(await fired_texts()) == ["0", "1", "2"]


async def test_a_worker_killed_mid_firing_loses_its_claim_and_the_timer_fires_once(
    store: TortoiseTimerStore,
) -> None:
    clock = ManualClock(START)
    [timer_id] = await schedule(store, START)
    # Worker A claims the timer and is killed before firing it.
    [claimed] = await store.claim_due(clock.now(), "worker-a")
    handler = RecordingHandler()
    survivor = TimerWorker(store, {"test": handler}, clock, name="worker-b")
    # While A's lease runs, nobody else takes the timer.
    clock.advance(minutes=1)
    assert await survivor.fire_due() == 0
    # A's lease runs out: the survivor fires it, once.
    clock.advance(minutes=2)
    assert await survivor.fire_due() == 1
    assert await survivor.fire_due() == 0
    # A comes back from the dead and tries to finish: its firing is refused and rolled back.
    ghost = TimerWorker(store, {"test": handler}, clock, name="worker-a")
    assert await ghost._fire(claimed) is False
    row = await Timer.get(id=timer_id)
    assert row.status == "fired" and row.claimed_by == "worker-b" and row.attempts == 2
    assert await fired_texts() == ["0"]


async def test_a_failing_handler_is_retried_later_and_its_writes_roll_back(store: TortoiseTimerStore) -> None:
    clock = ManualClock(START)
    [timer_id] = await schedule(store, START)
    worker = TimerWorker(store, {"test": RecordingHandler(failures=1)}, clock, name="w")
    assert await worker.fire_due() == 0
    row = await Timer.get(id=timer_id)
    assert row.status == "pending" and row.due_at > START and "handler failed" in (row.last_error or "")
    assert await fired_texts() == []
    clock.set(row.due_at)
    assert await worker.fire_due() == 1
    assert await fired_texts() == ["0"]


async def test_a_timer_of_an_unknown_kind_waits_for_a_worker_that_knows_it(store: TortoiseTimerStore) -> None:
    clock = ManualClock(START)
    [timer_id] = await schedule(store, START)
    assert await TimerWorker(store, {}, clock, name="old").fire_due() == 0
    row = await Timer.get(id=timer_id)
    assert row.status == "pending" and "no handler" in (row.last_error or "")
    clock.advance(minutes=1)
    assert await TimerWorker(store, {"test": RecordingHandler()}, clock, name="new").fire_due() == 1


async def test_cancelled_timers_never_fire(store: TortoiseTimerStore) -> None:
    clock = ManualClock(START)
    [timer_id] = await schedule(store, START)
    await Timer.filter(id=timer_id).update(status="cancelled")
    assert await TimerWorker(store, {"test": RecordingHandler()}, clock).fire_due() == 0


async def test_racing_workers_fire_each_timer_once(store: TortoiseTimerStore, database_url: str) -> None:
    clock = ManualClock(START)
    await schedule(store, START, count=120)
    handler = RecordingHandler(delay=0.001)
    workers = [TimerWorker(store, {"test": handler}, clock, name=f"w{n}", batch=10) for n in range(4)]

    async def drain(worker: TimerWorker) -> int:
        total = 0
        while fired := await worker.fire_due():
            total += fired
        return total

    totals = await asyncio.gather(*(drain(worker) for worker in workers))
    assert sum(totals) == 120
    assert sorted(handler.calls) == sorted(set(handler.calls))
    assert sorted(int(text) for text in await fired_texts()) == list(range(120))
    if supports_row_locks(database_url):
        # SKIP LOCKED lets the workers share the work instead of queueing behind one another.
        assert sum(1 for total in totals if total) >= 2


@pytest.mark.parametrize("attempt", range(5))
async def test_two_workers_racing_for_one_due_timer_fire_it_once(store: TortoiseTimerStore, attempt: int) -> None:
    clock = ManualClock(START)
    await schedule(store, START)
    handler = RecordingHandler(delay=0.01)
    first = TimerWorker(store, {"test": handler}, clock, name="first")
    second = TimerWorker(store, {"test": handler}, clock, name="second")
    results = await asyncio.gather(first.fire_due(), second.fire_due())
    assert sorted(results) == [0, 1]
    assert len(handler.calls) == 1
    assert await fired_texts() == ["0"]


def lag_samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
    }


async def test_timer_lag_reaches_the_metrics(store: TortoiseTimerStore) -> None:
    metrics = PlaintMetrics()
    clock = ManualClock(datetime.now(UTC))
    start = clock.now()
    worker = TimerWorker(store, {"test": RecordingHandler()}, clock, name="w", on_fired=metrics.timer_fired)
    await schedule(store, start + timedelta(seconds=10), count=2)
    # The worker was away: it fires both 90 s after they came due.
    clock.advance(seconds=100)
    assert await worker.fire_due() == 2
    # One more is overdue right now (nobody has fired it): the gauge shows how long it has waited.
    await store.schedule(NewTimer(kind="test", key="late", due_at=datetime.now(UTC) - timedelta(minutes=5),
                                  payload={"n": 9}))
    found = lag_samples(await metrics.exposition(TortoiseOutboxDepth(), TortoiseTimerBacklog()))
    kind = (("kind", "test"),)
    assert found[("plaint_timer_lag_seconds_count", kind)] == 2
    assert found[("plaint_timer_lag_seconds_sum", kind)] == 180
    assert found[("plaint_timer_lag_seconds_bucket", (*kind, ("le", "60.0")))] == 0
    assert found[("plaint_timer_lag_seconds_bucket", (*kind, ("le", "300.0")))] == 2
    assert 300 <= found[("plaint_timer_overdue_seconds", ())] < 360
    # Once it fired, nothing is overdue.
    clock.set(datetime.now(UTC))
    assert await worker.fire_due() == 1
    found = lag_samples(await metrics.exposition(TortoiseOutboxDepth(), TortoiseTimerBacklog()))
    assert found[("plaint_timer_overdue_seconds", ())] == 0
    assert found[("plaint_timer_lag_seconds_count", kind)] == 3


async def test_a_deadlock_the_database_broke_is_recognised_so_the_claim_is_tried_again(
    store: TortoiseTimerStore, database_url: str
) -> None:
    if not supports_row_locks(database_url):
        pytest.skip("SQLite has one writer: nothing to deadlock")
    first_id, second_id = await schedule(store, START, count=2)
    both_hold_one = asyncio.Barrier(2)

    async def lock_in_order(ids: tuple[int, int]) -> None:
        async with in_transaction():
            await Timer.filter(id=ids[0]).select_for_update().first()
            await both_hold_one.wait()
            await Timer.filter(id=ids[1]).select_for_update().first()

    outcomes = await asyncio.gather(
        lock_in_order((first_id, second_id)), lock_in_order((second_id, first_id)), return_exceptions=True
    )
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(errors) == 1 and is_deadlock(errors[0])
    assert not is_deadlock(OperationalError(RuntimeError("connection refused")))
