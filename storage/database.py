"""Connecting Tortoise and running its built-in migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

APP_LABEL = "plaint"


async def _keep_session(connection: object) -> None:
    """asyncpg's pool reset on release, without its default query (advisory unlock, CLOSE ALL, UNLISTEN, RESET
    ALL): a round trip on every statement outside a transaction. Plaint sets no session state, holds no advisory
    lock, cursor or listener across a release; asyncpg still rolls back a transaction left open before this."""


def tortoise_config(database_url: str) -> dict[str, Any]:
    connection: str | dict[str, Any] = database_url
    if is_postgres(database_url):
        connection = expand_db_url(database_url)
        connection["credentials"].setdefault("reset", _keep_session)
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["storage.models"],
                "migrations": "storage.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }

def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))

def is_mysql(database_url: str) -> bool:
    """MySQL or MariaDB (Tortoise's mysql:// backend, asyncmy driver; it speaks utf8mb4 and creates tables
    with CHARACTER SET utf8mb4 by default, so Chinese and emoji survive)."""
    return database_url.startswith("mysql://")

def supports_row_locks(database_url: str) -> bool:
    """SELECT ... FOR UPDATE [SKIP LOCKED] works (PostgreSQL; MariaDB 10.6+ / MySQL 8); SQLite has one writer
    and ignores it."""
    return is_postgres(database_url) or is_mysql(database_url)

async def migrate_database(database_url: str) -> None:
    """Bring the schema to the latest migration (never generate_schemas: that cannot evolve data)."""
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()

@asynccontextmanager
async def open_database(database_url: str) -> AsyncIterator[None]:
    """The ORM for the life of the application; start task-spawning libraries only inside it."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        if is_mysql(database_url):
            _terminate_mysql_pools()
        await Tortoise.close_connections()


def _terminate_mysql_pools() -> None:
    """asyncmy's pool close waits for every borrowed connection to come back; one borrowed by a task cancelled
    at shutdown (a worker mid-query) never does, and the process hangs. At shutdown, close them outright."""
    for client in connections.all():
        pool = getattr(client, "_pool", None)
        if pool is not None:
            pool.terminate()

# For Tortoise's own CLI when the schema changes:
#   .venv/bin/tortoise -c storage.database.TORTOISE_ORM makemigrations --name what_changed
TORTOISE_ORM = tortoise_config("sqlite://var/plaint.sqlite3")
