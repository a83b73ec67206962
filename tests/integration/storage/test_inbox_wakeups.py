"""PostgreSQL: a web process announces stored updates (NOTIFY after the commit, rings coalesced) and a worker's
dedicated listening connection wakes it; both sides reconnect when their connection is cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tortoise import connections

from storage.database import open_database
from storage.inbox import INBOX_NOTIFY_CHANNEL
from storage.wakeups import PostgresAnnouncer, PostgresWakeups
from tests.waiting import eventually

pytestmark = pytest.mark.one_database("postgres")


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    async def next(self, seconds: float = 30) -> None:
        await asyncio.wait_for(self.event.wait(), seconds)
        self.event.clear()


@pytest_asyncio.fixture
async def postgres(database_url: str) -> AsyncIterator[str]:
    if not database_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (set PLAINT_TEST_POSTGRES_URL)")
    async with open_database(database_url):
        yield database_url


@pytest_asyncio.fixture
async def sides() -> AsyncIterator[tuple[PostgresWakeups, PostgresAnnouncer, Wakes]]:
    wakes = Wakes()
    wakeups = PostgresWakeups({INBOX_NOTIFY_CHANNEL: wakes})
    announcer = PostgresAnnouncer(INBOX_NOTIFY_CHANNEL)
    tasks = [asyncio.create_task(wakeups.run()), asyncio.create_task(announcer.run())]
    try:
        await asyncio.wait_for(wakeups.listening.wait(), 30)
        # Connecting wakes once (for what was stored while nobody listened).
        await wakes.next()
        yield wakeups, announcer, wakes
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def terminate(query: str) -> int:
    count, _ = await connections.get("default").execute_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = $1",
        [query],
    )
    return int(count)


async def test_an_announcement_wakes_the_listener_and_a_burst_of_rings_is_one_notify(
    postgres: str, sides: tuple[PostgresWakeups, PostgresAnnouncer, Wakes]
) -> None:
    _, announcer, wakes = sides
    announcer.ring()
    await wakes.next()
    # The listener may hear the NOTIFY before the announcer's own call returns and counts it.
    await eventually(lambda: announcer.sent, "the first announcement counted", accept=lambda sent: sent == 1)
    # Fifty webhooks stored in one moment: one announcement wakes the workers, who claim everything due.
    for _ in range(50):
        announcer.ring()
    await wakes.next()
    await eventually(lambda: announcer.sent, "the burst's announcement counted", accept=lambda sent: sent >= 2)
    assert announcer.sent == 2 and wakes.count == 3


async def test_both_sides_reconnect_after_their_connections_are_cut(
    postgres: str, sides: tuple[PostgresWakeups, PostgresAnnouncer, Wakes]
) -> None:
    wakeups, announcer, wakes = sides
    announcer.ring()
    await wakes.next()
    assert await terminate(f'LISTEN "{INBOX_NOTIFY_CHANNEL}"') == 1
    assert await terminate("SELECT pg_notify($1, '')") == 1
    # The listener is back (after its first back-off), and its reconnection itself wakes the workers.
    await wakes.next()
    assert wakeups.listening.is_set()
    # The announcer finds its connection gone at its next NOTIFY (that announcement is lost: the poll covers
    # it) and reconnects; announcements arrive again.
    for _ in range(60):
        announcer.ring()
        try:
            await wakes.next(seconds=1)
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("announcements never arrived again")
