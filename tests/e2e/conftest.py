"""A real Plaint server on 127.0.0.1 (the application `plaint serve` runs), driven over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings


@pytest_asyncio.fixture
async def web_client(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[TestClient[object, object]]:
    server = TestServer(build_app(settings, analyzer), host="127.0.0.1")
    # No shared cookie jar: each WebCustomer carries its own session cookie, as each browser does.
    async with TestClient(server, cookie_jar=DummyCookieJar()) as client:
        yield client
