"""PostgreSQL: the inbox insert announces a stored update at commit (and nothing for a platform's retry), and a
worker's dedicated listening connection wakes it, reconnecting when the connection is cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tortoise import connections

from storage.crypto import Keyring, install_keyring, new_data_key
from storage.database import open_database
from storage.inbox import INBOX_NOTIFY_CHANNEL, TortoiseInbox
from storage.models import InboxItem
from storage.wakeups import PostgresWakeups

pytestmark = pytest.mark.one_database("postgres")


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), 30)
        self.event.clear()


@pytest_asyncio.fixture
async def postgres(database_url: str) -> AsyncIterator[str]:
    if not database_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (set PLAINT_TEST_POSTGRES_URL)")
    async with open_database(database_url):
        yield database_url


async def listening(wakes: Wakes) -> tuple[PostgresWakeups, asyncio.Task[None]]:
    wakeups = PostgresWakeups({INBOX_NOTIFY_CHANNEL: wakes})
    task = asyncio.create_task(wakeups.run())
    await asyncio.wait_for(wakeups.listening.wait(), 30)
    # Connecting wakes once (for what was stored while nobody listened).
    await wakes.next()
    return wakeups, task


async def test_a_stored_update_wakes_the_listener_and_a_retry_does_not(postgres: str) -> None:
    install_keyring(Keyring([new_data_key("k1")]))
    inbox = TortoiseInbox(skip_locked=True, notify=True)
    wakes = Wakes()
    _, task = await listening(wakes)
    try:
        assert await inbox.receive(channel="telegram", platform_id="1", ordering_key="telegram:1",
                                   payload={"text": "我的水壶漏水"})
        await wakes.next()
        assert not await inbox.receive(channel="telegram", platform_id="1", ordering_key="telegram:1",
                                       payload={"text": "again"})
        # A later update's wake-up is the next one seen: the retry announced nothing in between.
        assert await inbox.receive(channel="telegram", platform_id="2", ordering_key="telegram:1", payload={})
        await wakes.next()
        assert wakes.count == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # The notifying insert writes what the ORM's would: the payload encrypted, read back as it was sent.
    [entry] = await inbox.claim_due(5)
    assert entry.payload == {"text": "我的水壶漏水"} and entry.platform_id == "1" and entry.attempts == 0
    raw = await connections.get("default").execute_query_dict(
        "SELECT payload FROM inbox_item WHERE platform_id = '1'"
    )
    assert "水壶" not in str(raw[0]["payload"])
    assert await InboxItem.all().count() == 2


async def test_the_listener_reconnects_after_its_connection_is_cut(postgres: str) -> None:
    inbox = TortoiseInbox(skip_locked=True, notify=True)
    wakes = Wakes()
    wakeups, task = await listening(wakes)
    try:
        await connections.get("default").execute_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = current_database() AND query = 'LISTEN \"{INBOX_NOTIFY_CHANNEL}\"'"
        )
        # Back (after its first back-off), and the reconnection itself wakes the workers.
        await wakes.next()
        assert wakeups.listening.is_set()
        assert await inbox.receive(channel="telegram", platform_id="3", ordering_key="telegram:3", payload={})
        await wakes.next()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
