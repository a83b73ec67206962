"""Fixtures shared by every test: a fresh, migrated database per test on SQLite, and on PostgreSQL too
when PLAINT_TEST_POSTGRES_URL is set, and on MariaDB/MySQL when PLAINT_TEST_MARIADB_URL is set (CI sets both;
there those cases must run, never skip)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
    """A new database with every migration applied (the schema production gets, not generate_schemas).

    Running the migrations costs seconds of CPU (Tortoise re-renders its model state per operation), so each
    test process migrates one template per database kind and every test gets a fresh copy of it."""
    # Tortoise caches compiled INSERTs per connection name, not per dialect: a process that only ever talks
    # to one database never notices, a test run that alternates SQLite and PostgreSQL must start clean.
    EXECUTOR_CACHE.clear()
    if request.param == "sqlite":
        template = await _migrated_template("sqlite")
        shutil.copyfile(template, tmp_path / "plaint.sqlite3")
        yield f"sqlite:///{tmp_path / 'plaint.sqlite3'}"
        return
    if request.param == "mariadb":
        template = await _migrated_template("mariadb")
        async with mariadb_database(copy_of=template) as url:
            yield url
        return
    template = await _migrated_template("postgres")
    name = _new_database_name()
    await _postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield f"{POSTGRES_URL}/{name}"
    await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_templates: dict[str, str] = {}


async def _migrated_template(kind: str) -> str:
    """This process's migrated template of `kind`: a file path for SQLite, a database name on the servers."""
    if kind in _templates:
        return _templates[kind]
    name = _new_database_name()
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="plaint-template-")) / "plaint.sqlite3"
        atexit.register(shutil.rmtree, path.parent, True)
        await migrate_database(f"sqlite:///{path}")
        _templates[kind] = str(path)
    elif kind == "mariadb":
        await _mariadb_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        atexit.register(lambda: asyncio.run(_mariadb_admin(f"DROP DATABASE IF EXISTS `{name}`")))
        await migrate_database(f"{MARIADB_URL}/{name}")
        _templates[kind] = name
    else:
        await _postgres_admin(f'CREATE DATABASE "{name}"')
        atexit.register(lambda: asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
        await migrate_database(f"{POSTGRES_URL}/{name}")
        _templates[kind] = name
    return _templates[kind]


def _new_database_name() -> str:
    return f"plaint_test_{uuid.uuid4().hex[:12]}"


async def _postgres_admin(statement: str) -> None:
    admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _mariadb_options() -> dict[str, Any]:
    server = urlsplit(MARIADB_URL)
    return {
        "host": server.hostname or "127.0.0.1",
        "port": server.port or 3306,
        "user": unquote(server.username or "root"),
        "password": unquote(server.password or ""),
    }


async def _mariadb_admin(statement: str) -> None:
    import asyncmy

    admin = await asyncmy.connect(**_mariadb_options())
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(statement)
    finally:
        await admin.ensure_closed()


@asynccontextmanager
async def mariadb_database(copy_of: str | None = None) -> AsyncIterator[str]:
    """A fresh utf8mb4 database on the MariaDB server of PLAINT_TEST_MARIADB_URL (a copy of the tables, keys
    and rows of database `copy_of` when given), dropped afterwards."""
    import asyncmy

    name = _new_database_name()
    admin = await asyncmy.connect(**_mariadb_options())
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            if copy_of is not None:
                await _copy_mariadb_tables(cursor, copy_of, name)
    finally:
        await admin.ensure_closed()
    try:
        yield f"{MARIADB_URL}/{name}"
    finally:
        admin = await asyncmy.connect(**_mariadb_options())
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


async def _copy_mariadb_tables(cursor: Any, source: str, target: str) -> None:
    """MariaDB has no database templates; SHOW CREATE TABLE (unlike CREATE TABLE ... LIKE) keeps the foreign
    keys, which name their tables without the database and so point inside the copy."""
    await cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
        (source,),
    )
    tables = [row[0] for row in await cursor.fetchall()]
    await cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
    await cursor.execute(f"USE `{target}`")
    for table in tables:
        await cursor.execute(f"SHOW CREATE TABLE `{source}`.`{table}`")
        (_, create_statement) = await cursor.fetchone()
        await cursor.execute(create_statement)
        await cursor.execute(f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{source}`.`{table}`")
    await cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", outbox_poll_interval=0.05)


@pytest.fixture(scope="session")
def analyzer() -> ThreadedAnalyzer:
    """The shipped models, loaded once per test session (they are read-only and thread-safe)."""
    from bot.analysis import ThreadedAnalyzer

    return ThreadedAnalyzer.load_default()


# A real browser (Playwright + Debian's chromium) for any test that asks for `browser`.
from tests.browser import artefacts, browser  # noqa: E402, F401
