"""A real Plaint server with the admin console, users and tokens for every role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings
from tests.integration.admin.harness import AdminHarness, provision


@pytest_asyncio.fixture
async def admin(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[AdminHarness]:
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1"))
    await client.start_server()
    harness = AdminHarness(client)
    await provision(harness)
    try:
        yield harness
    finally:
        await client.close()
