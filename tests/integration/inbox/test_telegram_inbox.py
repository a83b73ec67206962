"""Telegram webhooks answered on receipt, the turns taken from the inbox: a retried update is one turn, and with
two inbox workers competing for the same rows every chat's messages are still taken in the order sent."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.app import APPLICATION_KEY
from bot.inbox import InboxWorker
from storage.database import supports_row_locks
from storage.inbox import TortoiseInbox
from storage.models import ChannelIdentity, InboundReceipt, InboxItem, TranscriptMessage
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.integration.telegram.test_telegram_webhook import TelegramServer, telegram  # noqa: F401 (fixture)


@pytest_asyncio.fixture
async def second_worker(telegram: TelegramServer, database_url: str) -> AsyncIterator[InboxWorker]:  # noqa: F811
    """Another worker on the same database (as another `plaint serve` would run), handing updates to the same
    Telegram channel; it only polls, the server's own worker is also woken by each insert."""
    application = telegram.client.app[APPLICATION_KEY]
    worker = InboxWorker(
        TortoiseInbox(skip_locked=supports_row_locks(database_url)), application.inbox_worker.processors, 0.01
    )
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_retried_update_is_stored_once_and_is_one_turn(telegram: TelegramServer) -> None:  # noqa: F811
    customer = TelegramCustomer(4_100_001, "Ann", "en")
    update = customer.text("/start")
    # Telegram retries when an answer is late: the same update, several times, even at once.
    responses = await asyncio.gather(*(telegram.post(update) for _ in range(4)))
    assert [response.status for response in responses] == [200] * 4
    await telegram.outbox_drained()
    first = list(telegram.fake.sent_messages)
    assert len(first) >= 1
    assert (await telegram.post(update)).status == 200
    await telegram.outbox_drained()
    assert telegram.fake.sent_messages == first
    assert await InboxItem.filter(channel="telegram").count() == 1
    assert await InboundReceipt.filter(channel="telegram", message_id=str(update["update_id"])).count() == 1
    assert await TranscriptMessage.filter(direction="in").count() == 1


async def test_two_workers_keep_each_chats_order(
    telegram: TelegramServer, second_worker: InboxWorker  # noqa: F811
) -> None:
    # One bot's update ids are unique across its chats.
    update_ids = itertools.count(600_000_001)
    customers = [TelegramCustomer(4_200_000 + number, f"C{number}", "en") for number in range(12)]
    for customer in customers:
        customer._update_ids = update_ids
    sent: dict[str, list[str]] = {str(customer.user_id): [] for customer in customers}

    async def talk(customer: TelegramCustomer) -> None:
        # Each chat's updates one after the other, as Telegram sends them; the chats at once.
        for number in range(6):
            text = "/start" if number == 0 else f"{customer.first_name} message {number}"
            sent[str(customer.user_id)].append(text)
            response = await telegram.post(customer.text(text))
            assert response.status == 200, await response.text()

    await asyncio.gather(*(talk(customer) for customer in customers))
    await telegram.outbox_drained()

    taken: dict[str, list[str]] = {}
    for message in await TranscriptMessage.filter(direction="in").order_by("id"):
        identity = await ChannelIdentity.get(id=message.identity_id)
        taken.setdefault(identity.sender_id, []).append(message.text)
    assert taken == sent
    # Every update was one turn: one receipt each, every inbox row settled.
    assert await InboundReceipt.filter(channel="telegram").count() == 12 * 6
    assert set(await InboxItem.all().values_list("status", flat=True)) == {"done"}
