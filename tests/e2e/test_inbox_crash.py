"""`plaint serve` killed (SIGKILL) after it answered a Telegram webhook but before the turn was taken: the update
was stored on receipt, so after a restart the turn happens, once."""

from __future__ import annotations

import asyncio
import signal

import aiohttp

from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.config import Settings
from storage.database import open_database
from storage.inbox import InboxStatus
from storage.models import InboundReceipt, InboxItem, TranscriptMessage
from tests.e2e.telegram_crash import SECRET, fake, start_server  # noqa: F401  (a fixture)
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.serve_process import free_port


def bot_question(chat_id: int) -> dict[str, object]:
    return {
        "message_id": 77,
        "from": {"id": 1, "is_bot": True, "first_name": "Plaint"},
        "chat": {"id": chat_id, "type": "private"},
        "date": 1_700_000_000,
        "text": "How should we reach you?",
        "reply_markup": {"inline_keyboard": [[{"text": "Phone", "callback_data": "phone"}]]},
    }


async def test_an_update_answered_before_a_crash_is_one_turn_after_restart(
    settings: Settings, fake: tuple[FakeTelegramBotApi, str]  # noqa: F811
) -> None:
    api, api_url = fake
    api.hold("answerCallbackQuery")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    customer = TelegramCustomer(3113, "Lin", "en")
    update = customer.press(bot_question(customer.user_id), "phone")
    server = await start_server(settings, port, api_url)
    try:
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 200
        # The turn has started (the press is being answered) and not gone further: now the process dies.
        await asyncio.wait_for(api.held.wait(), 60)
    finally:
        server.send_signal(signal.SIGKILL)
        await server.wait()

    update_id = str(update["update_id"])
    async with open_database(settings.effective_database_url):
        [row] = await InboxItem.filter(channel="telegram", platform_id=update_id)
        assert row.status == InboxStatus.PROCESSING
        assert await InboundReceipt.filter(channel="telegram", message_id=update_id).count() == 0

        server = await start_server(settings, port, api_url)
        try:
            # The dead worker's lease (seconds) runs out, then the new server takes the turn.
            for _ in range(60 * 20):
                row = await InboxItem.get(id=row.id)
                if row.status == InboxStatus.DONE and api.sent_messages:
                    break
                await asyncio.sleep(0.05)
            # The platform retries the update too (it never learnt the turn's outcome): still nothing new.
            async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: SECRET}
            ) as response:
                assert response.status == 200
        finally:
            server.send_signal(signal.SIGTERM)
            await server.wait()
        row = await InboxItem.get(id=row.id)
        receipts = await InboundReceipt.filter(channel="telegram", message_id=update_id).count()
        turns = await TranscriptMessage.filter(direction="in").count()
        rows = await InboxItem.all().count()

    assert row.status == InboxStatus.DONE and row.attempts == 2
    assert receipts == 1 and turns == 1 and rows == 1
    assert api.sent_messages, "the turn's reply never reached the customer"
