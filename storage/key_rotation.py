"""Re-encrypting stored personal data under the current data key, in batches, resumable after a crash."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from pypika_tortoise.queries import Table
from tortoise import Tortoise, connections
from tortoise.fields import Field
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage.crypto import (
    EncryptedJSONField,
    EncryptedTextField,
    KeyringMissing,
    installed_keyring,
    key_id_of,
    lookup_hash,
)
from storage.database import APP_LABEL
from storage.evidence import LocalEvidenceStore
from storage.models import Case, KeyRotation

PLAINTEXT = "(plaintext)"
EVIDENCE_TABLE = "evidence files"


@dataclass(frozen=True)
class EncryptedTable:
    model: type[Model]
    table: str
    fields: tuple[str, ...]  # model field names (= column names for these plain fields)


def encrypted_tables() -> list[EncryptedTable]:
    """Every table with encrypted columns, found from the models (a new encrypted field is rotated too)."""
    found = []
    for model in Tortoise.apps[APP_LABEL].values():
        names = tuple(
            name for name, field in model._meta.fields_map.items() if _is_encrypted(field)
        )
        if names:
            found.append(EncryptedTable(model, model._meta.db_table, names))
    return sorted(found, key=lambda item: item.table)


def _is_encrypted(field: Field[object]) -> bool:
    return isinstance(field, EncryptedTextField | EncryptedJSONField)


async def raw_rows(table: str, columns: tuple[str, ...], batch_size: int = 500) -> AsyncIterator[dict[str, object]]:
    """Rows exactly as the database holds them (ciphertext), in id order, a batch at a time."""
    connection = connections.get("default")
    source = Table(table)
    last_id = 0
    while True:
        query = (
            connection.query_class.from_(source)
            .select(source.id, *(source[column] for column in columns))
            .where(source.id > last_id)
            .orderby(source.id)
            .limit(batch_size)
        )
        rows = await connection.execute_query_dict(query.get_sql())
        if not rows:
            return
        for row in rows:
            yield row
        last_id = int(rows[-1]["id"])


async def key_usage(evidence: LocalEvidenceStore | None = None) -> dict[str, Counter[str]]:
    """For each table (and the evidence files): how many stored values each key id encrypted."""
    usage: dict[str, Counter[str]] = {}
    for table in encrypted_tables():
        counts: Counter[str] = Counter()
        async for row in raw_rows(table.table, table.fields):
            for column in table.fields:
                value = row[column]
                if value is not None:
                    counts[key_id_of(value) or PLAINTEXT] += 1
        usage[table.table] = counts
    if evidence is not None:
        usage[EVIDENCE_TABLE] = Counter(evidence.key_id_of(key) or PLAINTEXT for key in evidence.storage_keys())
    return usage


async def rows_to_rotate(key_id: str) -> int:
    """Rows the rotation to `key_id` has not passed yet (for a progress bar)."""
    tables = encrypted_tables()
    passes = {progress.table: progress for progress in await KeyRotation.filter(key_id=key_id)}
    if len(passes) == len(tables) and all(progress.done for progress in passes.values()):
        passes = {}  # a finished pass: the next run starts over
    total = 0
    for table in tables:
        progress = passes.get(table.table)
        if progress is not None and progress.done:
            continue
        total += await table.model.filter(id__gt=progress.last_id if progress else 0).count()
    return total


async def rotate_keys(
    *,
    evidence: LocalEvidenceStore | None,
    batch_size: int = 200,
    on_batch: Callable[[str, int], object] = lambda table, rows: None,
) -> str:
    """Rewrite every encrypted value (and evidence file) under the current key; returns its id.

    Each batch and its progress row are one transaction, so a killed run resumes after the last batch it
    committed; rows are locked while rewritten (PostgreSQL/MariaDB), so a conversation writing at the same time
    is never overwritten with an older value."""
    keyring = installed_keyring()
    if keyring is None:
        raise KeyringMissing()
    target = keyring.current.key_id
    tables = encrypted_tables()
    passes = await KeyRotation.filter(key_id=target)
    if len(passes) == len(tables) and all(progress.done for progress in passes):
        await KeyRotation.filter(key_id=target).delete()  # the last pass finished: this run is a new pass
    for table in tables:
        progress, _ = await KeyRotation.get_or_create(key_id=target, table=table.table)
        while not progress.done:
            async with in_transaction():
                rows = (
                    await table.model.filter(id__gt=progress.last_id)
                    .order_by("id")
                    .limit(batch_size)
                    .select_for_update()
                )
                for row in rows:
                    values = {name: getattr(row, name) for name in table.fields}
                    if table.model is Case:
                        values["phone_hash"] = lookup_hash("phone", values["phone"])
                        values["email_hash"] = lookup_hash("email", values["email"])
                    await table.model.filter(id=row.pk).update(**values)
                if rows:
                    progress.last_id = int(rows[-1].pk)
                else:
                    progress.done = True
                await progress.save(update_fields=["last_id", "done", "updated_at"])
            if rows:
                on_batch(table.table, len(rows))
    if evidence is not None:
        for key in evidence.storage_keys():
            evidence.reencrypt(key)  # atomic per file: a killed run leaves the old file, rewritten next time
            on_batch(EVIDENCE_TABLE, 1)
    return target
