"""`plaint serve` killed (SIGKILL) while the platform holds a reply's request: after a restart the reply is
sent again once the short lease has run out, and reaches the customer once."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp

from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.config import Settings
from storage.database import open_database
from storage.models import OutboxItem
from storage.outbox import DEFAULT_LEASE, OutboxStatus
from tests.e2e.telegram_crash import SECRET, fake, start_server  # noqa: F401  (a fixture)
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.serve_process import free_port


async def test_a_reply_interrupted_by_a_crash_is_sent_after_restart_once(
    settings: Settings, fake: tuple[FakeTelegramBotApi, str]  # noqa: F811
) -> None:
    api, api_url = fake
    api.hold("sendMessage")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    customer = TelegramCustomer(3003, "Kai", "en-GB")
    server = await start_server(settings, port, api_url)
    try:
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=customer.text("/start"), headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 200
        await asyncio.wait_for(api.held.wait(), 60)
    finally:
        server.send_signal(signal.SIGKILL)
        await server.wait()
        killed = time.monotonic()

    async with open_database(settings.effective_database_url):
        rows = await OutboxItem.filter(channel="telegram").order_by("id")
        # The attempt was on record before the platform was called.
        assert rows[0].status == OutboxStatus.SENDING and rows[0].attempt_started_at is not None
        assert api.sent_messages == []

        server = await start_server(settings, port, api_url)
        ready = time.monotonic()
        try:
            # The lease (seconds) may still be running when the new server is up; then a poll or two.
            for _ in range(int((DEFAULT_LEASE.total_seconds() + 30) / 0.05)):
                if len(api.sent_messages) >= len(rows):
                    break
                await asyncio.sleep(0.05)
            delivered_after = time.monotonic() - ready
        finally:
            server.send_signal(signal.SIGTERM)
            await server.wait()
        rows = await OutboxItem.filter(channel="telegram").order_by("id")

    texts = [str(message["text"]) for message in api.sent_messages]
    # Every reply arrived once, in order, the interrupted one included.
    assert texts == [str(row.payload["text"]) for row in rows], texts
    assert {row.status for row in rows} == {OutboxStatus.SENT}
    assert rows[0].attempts == 2
    print(
        f"interrupted reply delivered {delivered_after:.1f} s after the new server was up, "
        f"{ready + delivered_after - killed:.1f} s after the kill (lease {DEFAULT_LEASE.total_seconds():.0f} s)"
    )
