"""Fixtures shared by every test: a fresh, migrated database per test on SQLite, and on PostgreSQL too
when PLAINT_TEST_POSTGRES_URL is set, and on MariaDB/MySQL when PLAINT_TEST_MARIADB_URL is set (CI sets both;
there those cases must run, never skip)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import asyncpg
import pytest
import pytest_asyncio
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot.config import Settings
from storage.crypto import install_keyring, installed_keyring
from storage.database import migrate_database

if TYPE_CHECKING:
    from bot.analysis import ThreadedAnalyzer

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

POSTGRES_URL = os.environ.get("PLAINT_TEST_POSTGRES_URL", "").rstrip("/")
MARIADB_URL = os.environ.get("PLAINT_TEST_MARIADB_URL", "").rstrip("/")
DATABASE_KINDS = ["sqlite", *(["postgres"] if POSTGRES_URL else []), *(["mariadb"] if MARIADB_URL else [])]


# MariaDB runs the storage, privacy, intake and lifecycle suites (every repository, lock, timer claim, migration
# and encrypted column); the channel and room suites above them run on SQLite and PostgreSQL.
MARIADB_SUITES = (
    "tests/integration/storage/", "tests/integration/privacy/", "tests/integration/intake/",
    "tests/integration/admin/test_storage.py", "tests/integration/lifecycle/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.one_database("postgres")`: a test about pages or an HTTP contract, not about storage, runs on
    that one database (SQLite where the other is not configured) instead of on every one."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("one_database")
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("database_url") if callspec is not None else None
        if kind == "mariadb" and not item.nodeid.startswith(MARIADB_SUITES):
            dropped.append(item)
            continue
        if marker is not None and kind is not None:
            wanted = marker.args[0] if marker.args and marker.args[0] in DATABASE_KINDS else "sqlite"
            if kind != wanted:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _restore_data_keyring() -> Iterator[None]:
    """The data keyring is process-wide (a `plaint` process installs it once): a test that installs one must not
    leave it to the next test, which may be about unencrypted storage."""
    previous = installed_keyring()
    yield
    install_keyring(previous)


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
    if request.param == "mariadb":
        async with mariadb_database() as url:
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


@asynccontextmanager
async def mariadb_database() -> AsyncIterator[str]:
    """A fresh utf8mb4 database on the MariaDB server of PLAINT_TEST_MARIADB_URL, dropped afterwards."""
    import asyncmy

    server = urlsplit(MARIADB_URL)
    options = {
        "host": server.hostname or "127.0.0.1",
        "port": server.port or 3306,
        "user": unquote(server.username or "root"),
        "password": unquote(server.password or ""),
    }
    name = f"plaint_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncmy.connect(**options)
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        await admin.ensure_closed()
    try:
        yield f"{MARIADB_URL}/{name}"
    finally:
        admin = await asyncmy.connect(**options)
        try:
            async with admin.cursor() as cursor:
                # Like PostgreSQL's DROP ... WITH (FORCE): a pooled connection left open would block the DROP.
                await cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (name,))
                for (connection_id,) in await cursor.fetchall():
                    with contextlib.suppress(asyncmy.errors.OperationalError, asyncmy.errors.InternalError):
                        await cursor.execute(f"KILL {int(connection_id)}")
                await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            await admin.ensure_closed()


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
