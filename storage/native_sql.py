"""Plain SQL on the hot paths, written once with `?` placeholders and sent in the connection's own style."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

_translated: dict[tuple[str, str], str] = {}


def native_sql(connection: BaseDBAsyncClient, sql: str) -> str:
    """`sql` with its `?` placeholders in the connection's style ($1 on PostgreSQL, %s on MySQL)."""
    dialect = connection.capabilities.dialect
    found = _translated.get((dialect, sql))
    if found is None:
        if dialect == "postgres":
            first, *rest = sql.split("?")
            found = first + "".join(f"${number}{part}" for number, part in enumerate(rest, start=1))
        else:
            found = sql.replace("?", "%s") if dialect == "mysql" else sql
        _translated[(dialect, sql)] = found
    return found
