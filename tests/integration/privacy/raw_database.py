"""The database exactly as an attacker with a copy of it sees it: every row of every table, no ORM decoding."""

from __future__ import annotations

from pypika_tortoise.queries import Table
from tortoise import Tortoise, connections

from storage.database import APP_LABEL

# Flow definitions are the business's text, not a customer's: their prompts show example phone numbers
# (the same ones the test customers use), so they are not scanned.
NOT_PERSONAL = frozenset({"flow_version", "flow_draft"})


async def raw_dump() -> list[str]:
    """Every stored value of every table that may hold a customer's data, as text (SELECT * through the
    connection, no field conversion)."""
    values: list[str] = []
    for model in Tortoise.apps[APP_LABEL].values():
        if model._meta.db_table not in NOT_PERSONAL:
            values += await raw_table(model._meta.db_table)
    return values


async def raw_table(table: str) -> list[str]:
    """Every stored value of one table, as text (bytes decoded as UTF-8, NULLs left out)."""
    connection = connections.get("default")
    query = connection.query_class.from_(Table(table)).select("*")
    values: list[str] = []
    for row in await connection.execute_query_dict(query.get_sql()):
        for value in row.values():
            if isinstance(value, bytes | bytearray):
                values.append(bytes(value).decode("utf-8", "replace"))
            elif value is not None:
                values.append(str(value))
    return values
