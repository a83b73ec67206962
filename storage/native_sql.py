"""Plain SQL on the hot paths, written once with `?` placeholders and sent in the connection's own style."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise import Model, connections
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


_MISSING = object()


def _insert_columns(model: type[Model]) -> list[str]:
    """The model's stored columns by field name (foreign keys as their `_id` fields), the generated key left out."""
    meta = model._meta
    return [name for name in meta.fields_db_projection if name not in meta.generated_db_fields]


async def insert_rows(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, connection: BaseDBAsyncClient | None = None,
    skip_conflicts_on: Sequence[str] = (), returning: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """What `bulk_create` stores, in one INSERT on the connection of the current context (the caller's
    transaction), without building a model instance per row: on a turn's path those cost more Python than the
    statement. Each value goes through its field's `to_db_value` (encryption included); a field a row leaves
    out takes its default, `auto_now_add`/`auto_now` the time now, or NULL. `connection`: another than the
    current context's. `skip_conflicts_on` (PostgreSQL, SQLite): a row that would break that unique key is not
    stored; `returning`: those columns of the rows stored."""
    if not rows:
        return []
    meta = model._meta
    columns = _insert_columns(model)
    now = datetime.now(UTC)
    values: list[Any] = []
    for row in rows:
        for name in columns:
            field = meta.fields_map[name]
            value = row.get(name, _MISSING)
            if value is _MISSING:
                if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                    value = now
                elif field.default is not None:
                    value = field.default() if callable(field.default) else field.default
                elif field.null:
                    value = None
                else:
                    raise ValueError(f"{meta.db_table}.{name} has no value and no default")
            values.append(field.to_db_value(value, model))
    connection = connection or connections.get(meta.default_connection or "default")
    quote = "`" if connection.capabilities.dialect == "mysql" else '"'

    def names(fields: Sequence[str]) -> str:
        return ", ".join(f"{quote}{meta.fields_db_projection[name]}{quote}" for name in fields)

    placeholders = "(" + ", ".join("?" * len(columns)) + ")"
    sql = f"INSERT INTO {quote}{meta.db_table}{quote} ({names(columns)}) VALUES {', '.join([placeholders] * len(rows))}"
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({names(skip_conflicts_on)}) DO NOTHING"
    if returning:
        # execute_query would drop the rows: on asyncpg it runs an INSERT without fetching.
        return await connection.execute_query_dict(native_sql(connection, sql + f" RETURNING {names(returning)}"),
                                                   values)
    await connection.execute_query(native_sql(connection, sql), values)
    return []


async def select_rows(
    model: type[Model], sql: str, values: Sequence[Any], *, connection: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    """The rows of a plain SELECT (`?` placeholders; a parameter compared with a field should have gone through
    that field's `to_db_value`), each column named like a field of `model` turned into that field's Python value
    (decrypted, parsed, in UTC) as the ORM would; other columns as the driver returns them."""
    connection = connection or connections.get(model._meta.default_connection or "default")
    rows = await connection.execute_query_dict(native_sql(connection, sql), list(values))
    fields = model._meta.fields_map
    return [
        {name: (fields[name].to_python_value(value) if name in fields else value) for name, value in row.items()}
        for row in rows
    ]

