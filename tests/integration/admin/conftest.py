"""A real Plaint server with the admin console, users and tokens for every role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.config import Settings
from tests.integration.admin.harness import AdminHarness, running_console


@pytest_asyncio.fixture
async def admin(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[AdminHarness]:
    async with running_console(settings, analyzer) as harness:
        yield harness
