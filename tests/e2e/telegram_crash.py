"""The pieces of the crash tests: a fake Telegram Bot API on 127.0.0.1 (it can hold a call, see
FakeTelegramBotApi.hold) and `plaint serve` subprocesses talking to it, which the tests kill."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from tests.e2e.test_processes import plaint_env
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.serve_process import start_serve
from tests.serving import serving

TOKEN = "424242:crash-test-token"
SECRET = "crash-test-secret"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegramBotApi, str]]:
    """The fake Bot API and its base URL; a held call is let go when the test ends."""
    api = FakeTelegramBotApi(TOKEN)
    async with serving(api.make_app()) as base_url:
        try:
            yield api, base_url
        finally:
            api.release.set()


async def start_server(settings: Settings, port: int, api_url: str) -> asyncio.subprocess.Process:
    """`plaint serve` on `port` with the fake Bot API as Telegram."""
    # The data key this process reads the stored rows with is the one the servers encrypt them with.
    install_data_keyring(settings)
    env = {
        **plaint_env(settings),
        "PLAINT_TELEGRAM_TOKEN": TOKEN,
        "PLAINT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PLAINT_TELEGRAM_API_URL": api_url,
    }
    return await start_serve(port, env)
