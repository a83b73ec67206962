"""`plaint serve` killed (SIGKILL) while the platform holds a reply's request: after a restart the reply is
sent again once the short lease has run out, and reaches the customer once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.database import open_database
from storage.models import OutboxItem
from storage.outbox import DEFAULT_LEASE, OutboxStatus
from tests.e2e.test_processes import plaint_env
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.serve_process import free_port, start_serve

TOKEN = "424242:crash-test-token"
SECRET = "crash-test-secret"


@dataclass
class HoldingBotApi(FakeTelegramBotApi):
    """Holds the first sendMessage without answering (as a stalled network would); it never counts as
    delivered. Every later sendMessage is answered and recorded in `sent_messages`."""

    holding: bool = True
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def _answer_sendmessage(self, params: Mapping[str, str]) -> object:
        if self.holding:
            self.holding = False
            self.held.set()
            await self.release.wait()
            return web.json_response({"ok": False, "error_code": 500, "description": "gone"}, status=500)
        return await super()._answer_sendmessage(params)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[HoldingBotApi, str]]:
    api = HoldingBotApi(TOKEN)
    server = TestServer(api.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield api, str(server.make_url("")).rstrip("/")
    finally:
        api.release.set()
        await server.close()


async def start_server(settings: Settings, port: int, api_url: str) -> asyncio.subprocess.Process:
    # The data key this process reads the stored rows with is the one the servers encrypt them with.
    install_data_keyring(settings)
    env = {
        **plaint_env(settings),
        "PLAINT_TELEGRAM_TOKEN": TOKEN,
        "PLAINT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PLAINT_TELEGRAM_API_URL": api_url,
    }
    return await start_serve(port, env)


async def test_a_reply_interrupted_by_a_crash_is_sent_after_restart_once(
    settings: Settings, fake: tuple[HoldingBotApi, str]
) -> None:
    api, api_url = fake
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
