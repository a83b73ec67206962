"""Fixtures shared by the lifecycle room's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.slack_api import FakeSlackApi


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    """A fake Slack Web API on 127.0.0.1 that records every call (the desk's case messages and threads)."""
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()
