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
    connection = connections.get("default")
    values: list[str] = []
    for model in Tortoise.apps[APP_LABEL].values():
        if model._meta.db_table in NOT_PERSONAL:
            continue
        source = Table(model._meta.db_table)
        query = connection.query_class.from_(source).select("*")
        for row in await connection.execute_query_dict(query.get_sql()):
            for value in row.values():
                if isinstance(value, bytes | bytearray):
                    values.append(bytes(value).decode("utf-8", "replace"))
                elif value is not None:
                    values.append(str(value))
    return values
