"""Fixtures shared by the lifecycle room's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from storage.crypto import Keyring, install_keyring, new_data_key
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
def data_key() -> Iterator[None]:
    """A data key installed: phone numbers are found across channels by their keyed hash, and conversation states
    are read back decrypted, as in production. Modules that need it: `pytestmark = usefixtures("data_key")`."""
    install_keyring(Keyring([new_data_key("k1")]))
    yield


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    """A fake Slack Web API on 127.0.0.1 that records every call (the desk's case messages and threads)."""
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()
