"""Backups: one consistent snapshot of every table and the evidence files it refers to, as a tar stream with a
checksum for every entry and the schema version; restore into an empty database of any supported backend.

Layout: `database/<table>.jsonl` (one JSON row a line, in id order), `evidence/<storage key>` (the files as
stored), then `manifest.json` (format, schema version, row counts, sizes and SHA-256 of every entry). Personal
data stays ciphertext: restoring needs the same data key, and a stolen backup is as unreadable as the database.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from tortoise import Tortoise, connections
from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage.crypto import ciphertext_as_is
from storage.database import APP_LABEL
from storage.errors import StorageError
from storage.evidence import LocalEvidenceStore

FORMAT = "plaint-backup-1"
MANIFEST = "manifest.json"
_BATCH = 500
_COPY_BYTES = 256 * 1024

Progress = Callable[[int], object]


class BackupError(StorageError):
    """A backup that cannot be made, read or restored; the message says which entry and why."""


class CorruptBackup(BackupError):
    def __init__(self, problem: str) -> None:
        super().__init__(f"the backup is damaged: {problem}")
        self.problem = problem


class TargetNotEmpty(BackupError):
    def __init__(self, table: str) -> None:
        super().__init__(f"restore needs an empty database; table {table} has rows")
        self.table = table


class SchemaMismatch(BackupError):
    def __init__(self, backup: list[str], here: list[str]) -> None:
        super().__init__(
            f"the backup has schema {backup[-1:] or ['(none)']}, this Plaint has {here[-1:] or ['(none)']}: "
            "restore with the Plaint version that made it, then upgrade"
        )


@dataclass(frozen=True)
class EntryDigest:
    size: int
    sha256: str
    rows: int | None = None


@dataclass(frozen=True)
class BackupManifest:
    format: str
    created_at: str
    source_dialect: str
    schema: list[str]
    entries: dict[str, EntryDigest] = field(default_factory=dict)

    def to_json(self) -> bytes:
        document = {
            "format": self.format,
            "created_at": self.created_at,
            "source_dialect": self.source_dialect,
            "schema": self.schema,
            "entries": {name: vars(digest) for name, digest in self.entries.items()},
        }
        return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> BackupManifest:
        try:
            document = json.loads(data)
            return cls(
                format=str(document["format"]),
                created_at=str(document["created_at"]),
                source_dialect=str(document["source_dialect"]),
                schema=[str(name) for name in document["schema"]],
                entries={str(name): EntryDigest(**value) for name, value in document["entries"].items()},
            )
        except (ValueError, KeyError, TypeError) as error:
            raise CorruptBackup("unreadable manifest") from error

    @property
    def tables(self) -> dict[str, int]:
        return {
            name.removeprefix("database/").removesuffix(".jsonl"): digest.rows or 0
            for name, digest in self.entries.items()
            if name.startswith("database/")
        }


def _models_in_dependency_order() -> list[type[Model]]:
    """Parents before children, so a restore never inserts a row whose foreign key is not there yet."""
    models = sorted(Tortoise.apps[APP_LABEL].values(), key=lambda model: model._meta.db_table)
    ordered: list[type[Model]] = []

    def visit(model: type[Model], path: tuple[type[Model], ...]) -> None:
        if model in ordered or model in path:
            return
        for relation in model._meta.fields_map.values():
            if isinstance(relation, ForeignKeyFieldInstance):
                visit(relation.related_model, (*path, model))
        ordered.append(model)

    for model in models:
        visit(model, ())
    return ordered


def _columns(model: type[Model]) -> list[tuple[str, str]]:
    """(attribute, column) of every stored column, foreign keys by their id attribute."""
    return [(name, column) for name, column in model._meta.fields_db_projection.items()]


def _json_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def schema_version() -> list[str]:
    applied = await MigrationRecorder(connections.get("default")).applied_migrations()
    return sorted(f"{key.app_label}.{key.name}" for key in applied)


class _HashingWriter:
    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.sink.write(data)


class _HashingReader:
    """What tarfile needs of a file (read), hashing the bytes on their way into the archive."""

    def __init__(self, source: IO[bytes], progress: Progress) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.progress(len(data))
        return data


def _add(archive: tarfile.TarFile, name: str, source: IO[bytes] | _HashingReader, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, source)


async def create_backup(
    sink: IO[bytes], evidence: LocalEvidenceStore, progress: Progress = lambda n: None
) -> BackupManifest:
    """Write a backup of the database (one snapshot) and of the evidence files the snapshot refers to."""
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    entries: dict[str, EntryDigest] = {}
    storage_keys: set[str] = set()
    with tarfile.open(fileobj=sink, mode="w|") as archive, ciphertext_as_is():
        async with in_transaction() as transaction:
            # One snapshot for every table: rows added while the backup runs are all in it or all out of it.
            if dialect == "postgres":
                await transaction.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            elif dialect == "mysql":
                await transaction.execute_script("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = await schema_version()
            for model in _models_in_dependency_order():
                table = model._meta.db_table
                columns = _columns(model)
                with tempfile.TemporaryFile() as spool:
                    writer = _HashingWriter(spool)
                    rows = 0
                    last_id: Any = None
                    while True:
                        query = model.all().order_by("id").limit(_BATCH)
                        if last_id is not None:
                            query = query.filter(id__gt=last_id)
                        batch = await query
                        for row in batch:
                            record = {column: _json_value(getattr(row, name)) for name, column in columns}
                            writer.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
                            if table == "evidence":
                                storage_keys.add(str(record["storage_key"]))
                        rows += len(batch)
                        if len(batch) < _BATCH:
                            break
                        last_id = batch[-1].pk
                    name = f"database/{table}.jsonl"
                    entries[name] = EntryDigest(writer.size, writer.digest.hexdigest(), rows)
                    spool.seek(0)
                    _add(archive, name, spool, writer.size)
                    progress(writer.size)
        # Evidence files are immutable and named by content: each one the snapshot names is complete on disk.
        for key in sorted(storage_keys):
            path = evidence.path_of(key)
            with path.open("rb") as source:
                reader = _HashingReader(source, progress)
                size = path.stat().st_size
                _add(archive, f"evidence/{key}", reader, size)
            entries[f"evidence/{key}"] = EntryDigest(size, reader.digest.hexdigest())
        manifest = BackupManifest(FORMAT, datetime.now(UTC).isoformat(), dialect, version, entries)
        data = manifest.to_json()
        _add(archive, MANIFEST, io.BytesIO(data), len(data))
    return manifest


def _entries(source: IO[bytes]) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=source, mode="r|")
    except tarfile.TarError as error:
        raise CorruptBackup(f"not a Plaint backup ({error})") from error


def verify_backup(source: IO[bytes], progress: Progress = lambda n: None) -> BackupManifest:
    """Read the whole backup once: every entry must match the manifest's size and SHA-256, none missing."""
    seen: dict[str, EntryDigest] = {}
    manifest: BackupManifest | None = None
    try:
        with _entries(source) as archive:
            for member in archive:
                stream = archive.extractfile(member)
                if stream is None:
                    raise CorruptBackup(f"unexpected entry {member.name}")
                if member.name == MANIFEST:
                    manifest = BackupManifest.from_json(stream.read(16 * 1024 * 1024))
                    continue
                digest = hashlib.sha256()
                size = 0
                while chunk := stream.read(_COPY_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    progress(len(chunk))
                seen[member.name] = EntryDigest(size, digest.hexdigest())
    except (tarfile.TarError, OSError, EOFError) as error:
        raise CorruptBackup(f"unreadable archive ({error})") from error
    if manifest is None:
        raise CorruptBackup("no manifest (the file is truncated)")
    if manifest.format != FORMAT:
        raise CorruptBackup(f"unknown format {manifest.format!r}")
    for name, expected in manifest.entries.items():
        found = seen.get(name)
        if found is None:
            raise CorruptBackup(f"{name} is missing")
        if (found.size, found.sha256) != (expected.size, expected.sha256):
            raise CorruptBackup(f"{name} does not match its checksum")
    extra = set(seen) - set(manifest.entries)
    if extra:
        raise CorruptBackup(f"entries not in the manifest: {sorted(extra)[:3]}")
    return manifest


async def _ensure_empty() -> None:
    for model in _models_in_dependency_order():
        if await model.exists():
            raise TargetNotEmpty(model._meta.db_table)


async def _insert_rows(model: type[Model], lines: IO[bytes]) -> int:
    connection = connections.get("default")
    executor = connection.executor_class(model=model, db=connection)
    fields_map = model._meta.fields_map
    columns = _columns(model)
    query = str(
        connection.query_class.into(model._meta.basetable)
        .columns(*(column for _, column in columns))
        .insert(*(executor.parameter(index) for index in range(len(columns))))
    )
    rows = 0
    for line in lines:
        record = json.loads(line)
        values = []
        for name, column in columns:
            field_object = fields_map[name]
            value = record.get(column)
            if value is not None:
                # Through the field both ways: datetimes parse, JSON documents encode, ciphertext stays as is.
                value = field_object.to_db_value(field_object.to_python_value(value), model)
            values.append(value)
        await connection.execute_insert(query, values)
        rows += 1
    return rows


async def _reset_sequences(models: list[type[Model]]) -> None:
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        return  # SQLite and MariaDB continue after the highest id by themselves
    for model in models:
        table = model._meta.db_table
        await connection.execute_script(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 1), (SELECT COUNT(*) FROM \"{table}\") > 0)"
        )


async def restore_backup(
    path: Path, evidence: LocalEvidenceStore, progress: Progress = lambda n: None
) -> BackupManifest:
    """Verify the whole file first (a damaged backup changes nothing), then load it into this empty database
    and evidence directory in one transaction."""
    with path.open("rb") as source:
        manifest = verify_backup(source)
    here = await schema_version()
    if manifest.schema != here:
        raise SchemaMismatch(manifest.schema, here)
    await _ensure_empty()
    by_table = {model._meta.db_table: model for model in _models_in_dependency_order()}
    unknown = set(manifest.tables) - set(by_table)
    if unknown:
        raise CorruptBackup(f"tables this Plaint does not know: {sorted(unknown)}")
    written: list[Path] = []
    try:
        with path.open("rb") as source, _entries(source) as archive, ciphertext_as_is():
            async with in_transaction():
                # Entries come in the order they were written: tables parents first, then evidence.
                for member in archive:
                    stream = archive.extractfile(member)
                    if stream is None or member.name == MANIFEST:
                        continue
                    if member.name.startswith("database/"):
                        table = member.name.removeprefix("database/").removesuffix(".jsonl")
                        await _insert_rows(by_table[table], stream)
                        progress(member.size)
                    elif member.name.startswith("evidence/"):
                        written.append(_write_evidence(evidence, member.name.removeprefix("evidence/"), stream,
                                                       progress))
                await _reset_sequences(list(by_table.values()))
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        raise
    return manifest


def _write_evidence(evidence: LocalEvidenceStore, key: str, stream: IO[bytes], progress: Progress) -> Path:
    final = evidence.path_of(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f"{final.name}.{uuid.uuid4().hex}.part")
    with temporary.open("wb") as sink:
        while chunk := stream.read(_COPY_BYTES):
            sink.write(chunk)
            progress(len(chunk))
    os.replace(temporary, final)
    return final
