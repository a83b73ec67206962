"""Plain SQL on the hot paths, written once with `?` placeholders and sent in the connection's own style."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise import Model, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import Field

_translated: dict[tuple[str, str], str] = {}
_TRANSLATED_KEPT = 4096


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
        if len(_translated) < _TRANSLATED_KEPT:  # multi-row INSERTs vary with their row counts: keep a bounded set
            _translated[(dialect, sql)] = found
    return found


def quoted(dialect: str, name: str) -> str:
    """A table or column name quoted in the dialect's style (MySQL's backticks; double quotes elsewhere)."""
    quote = "`" if dialect == "mysql" else '"'
    return f"{quote}{name}{quote}"


_MISSING = object()
_NOW = object()  # fill marker: the time of the statement (auto_now / auto_now_add)


@dataclass(frozen=True)
class _InsertColumn:
    """One stored column of a model and what an INSERT puts there when a row leaves it out."""

    name: str
    field: Field[Any]
    fill: Any  # _NOW, _MISSING (no default: an error), a callable default, or the value itself


@cache
def _insert_columns(model: type[Model]) -> tuple[_InsertColumn, ...]:
    """The model's stored columns by field name (foreign keys as their `_id` fields), the generated key left out;
    worked out once per model: a turn inserts a handful of rows into the same few tables."""
    meta = model._meta
    columns = []
    for name in meta.fields_db_projection:
        if name in meta.generated_db_fields:
            continue
        field = meta.fields_map[name]
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            fill = _NOW
        elif field.default is not None:
            fill = field.default
        else:
            fill = None if field.null else _MISSING
        columns.append(_InsertColumn(name, field, fill))
    return tuple(columns)


_insert_sql: dict[tuple[type[Model], str, int, tuple[str, ...], tuple[str, ...]], str] = {}


def _insert_text(
    model: type[Model], n_rows: int, dialect: str, skip_conflicts_on: tuple[str, ...], returning: tuple[str, ...]
) -> str:
    key = (model, dialect, n_rows, skip_conflicts_on, returning)
    found = _insert_sql.get(key)
    if found is not None:
        return found
    meta = model._meta

    def names(fields: Sequence[str]) -> str:
        return ", ".join(quoted(dialect, meta.fields_db_projection[name]) for name in fields)

    columns = [column.name for column in _insert_columns(model)]
    placeholders = "(" + ", ".join("?" * len(columns)) + ")"
    found = (f"INSERT INTO {quoted(dialect, meta.db_table)} ({names(columns)}) "
             f"VALUES {', '.join([placeholders] * n_rows)}")
    if skip_conflicts_on:
        found += f" ON CONFLICT ({names(skip_conflicts_on)}) DO NOTHING"
    if returning:
        found += f" RETURNING {names(returning)}"
    if len(_insert_sql) < _TRANSLATED_KEPT:  # row counts vary: keep a bounded set
        _insert_sql[key] = found
    return found


def _insert_statement(
    model: type[Model], rows: Sequence[Mapping[str, Any]], dialect: str, skip_conflicts_on: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> tuple[str, list[Any]]:
    """The `?`-placeholder INSERT of `rows` and its values (see insert_rows)."""
    now = datetime.now(UTC)
    values: list[Any] = []
    for row in rows:
        for column in _insert_columns(model):
            value = row.get(column.name, _MISSING)
            if value is _MISSING:
                fill = column.fill
                if fill is _NOW:
                    value = now
                elif fill is _MISSING:
                    raise ValueError(f"{model._meta.db_table}.{column.name} has no value and no default")
                else:
                    value = fill() if callable(fill) else fill
            values.append(column.field.to_db_value(value, model))
    return _insert_text(model, len(rows), dialect, tuple(skip_conflicts_on), tuple(returning)), values


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
    connection = connection or connections.get(model._meta.default_connection or "default")
    sql, values = _insert_statement(model, rows, connection.capabilities.dialect, skip_conflicts_on, returning)
    if returning:
        # execute_query would drop the rows: on asyncpg it runs an INSERT without fetching.
        return await connection.execute_query_dict(native_sql(connection, sql), values)
    await connection.execute_query(native_sql(connection, sql), values)
    return []


async def write_together(
    batches: Sequence[tuple[type[Model], Sequence[Mapping[str, Any]]]],
    updates: Sequence[tuple[str, Sequence[Any]]] = (),
) -> None:
    """`updates` (plain statements with `?` placeholders and their values, in order), then insert_rows for several
    tables, on the current context's connection: on PostgreSQL one statement (all but the last as data-modifying
    CTEs: one round trip; they must not touch the same row twice, PostgreSQL leaves the order of those open),
    elsewhere one statement each, in that order. Nothing is read back (no row counts)."""
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    statements = [(sql, list(values)) for sql, values in updates] + [
        _insert_statement(model, rows, dialect) for model, rows in batches if rows
    ]
    if not statements:
        return
    if dialect != "postgres" or len(statements) == 1:
        for sql, values in statements:
            await connection.execute_query(native_sql(connection, sql), values)
        return
    *first, (last_sql, last_values) = statements
    sql = "WITH " + ", ".join(f"w{i} AS ({part})" for i, (part, _) in enumerate(first)) + " " + last_sql
    values = [value for _, part_values in first for value in part_values] + last_values
    await connection.execute_query(native_sql(connection, sql), values)


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

