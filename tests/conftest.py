"""Fixtures shared by every test: a fresh, migrated database per test on SQLite, and on PostgreSQL too
when PLAINT_TEST_POSTGRES_URL is set (CI sets it; there the PostgreSQL cases must run, never skip)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
import pytest_asyncio
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot.config import Settings
from storage.database import migrate_database

if TYPE_CHECKING:
    from bot.analysis import ThreadedAnalyzer

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

POSTGRES_URL = os.environ.get("PLAINT_TEST_POSTGRES_URL", "").rstrip("/")
DATABASE_KINDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest_asyncio.fixture(params=DATABASE_KINDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new database with every migration applied (the schema production gets, not generate_schemas)."""
    # Tortoise caches compiled INSERTs per connection name, not per dialect: a process that only ever talks
    # to one database never notices, a test run that alternates SQLite and PostgreSQL must start clean.
    EXECUTOR_CACHE.clear()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'plaint.sqlite3'}"
        await migrate_database(url)
        yield url
        return
    name = f"plaint_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{POSTGRES_URL}/{name}"
    await migrate_database(url)
    yield url
    admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", outbox_poll_interval=0.05)


@pytest.fixture(scope="session")
def analyzer() -> ThreadedAnalyzer:
    """The shipped models, loaded once per test session (they are read-only and thread-safe)."""
    from bot.analysis import ThreadedAnalyzer

    return ThreadedAnalyzer.load_default()


# A real browser (Playwright + Debian's chromium) for any test that asks for `browser`.
from tests.browser import browser  # noqa: E402, F401
