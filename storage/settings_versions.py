"""Desk settings documents in the database (catalog, taxonomy, routing, SLA policies): immutable numbered
versions per kind, the newest in force on every worker. Validating a document is the caller's job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from storage.errors import StorageError
from storage.models import SavedCaseView, SettingsVersion


class SettingsConflict(StorageError):
    """Another worker kept saving the same kind at the same moment."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"could not number a new version of the {kind} settings")
        self.kind = kind


@dataclass(frozen=True)
class StoredSettings:
    kind: str
    version: int
    document: dict[str, Any]
    saved_by: str
    created_at: datetime


def _stored(row: SettingsVersion) -> StoredSettings:
    return StoredSettings(row.kind, row.version, row.document, row.saved_by, row.created_at)


class TortoiseSettingsVersions:
    async def latest_versions(self) -> dict[str, int]:
        """kind -> newest version number: the cheap check every worker makes."""
        rows = await SettingsVersion.all().group_by("kind").annotate(latest=Max("version")).values(
            "kind", "latest"
        )
        return {str(row["kind"]): int(row["latest"]) for row in rows}

    async def latest(self, kind: str) -> StoredSettings | None:
        row = await SettingsVersion.filter(kind=kind).order_by("-version").first()
        return _stored(row) if row is not None else None

    async def save(self, kind: str, document: dict[str, Any], actor: str) -> int:
        """Store a new version numbered after the newest; the unique key settles two savers racing."""
        for _ in range(5):
            latest = await self.latest(kind)
            number = (latest.version if latest else 0) + 1
            try:
                await SettingsVersion.create(kind=kind, version=number, document=document, saved_by=actor)
            except IntegrityError:
                continue
            return number
        raise SettingsConflict(kind)


@dataclass(frozen=True)
class StoredCaseView:
    id: int
    name: str
    query: dict[str, str]
    created_by: str
    created_at: datetime


class CaseViewNameTaken(StorageError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a saved view is already called {name!r}")
        self.name = name


class TortoiseCaseViews:
    async def all(self) -> list[StoredCaseView]:
        return [StoredCaseView(row.id, row.name, dict(row.query), row.created_by, row.created_at)
                for row in await SavedCaseView.all().order_by("name")]

    async def create(self, name: str, query: dict[str, str], actor: str) -> StoredCaseView:
        try:
            row = await SavedCaseView.create(name=name, query=query, created_by=actor)
        except IntegrityError:
            raise CaseViewNameTaken(name) from None
        return StoredCaseView(row.id, row.name, dict(row.query), row.created_by, row.created_at)

    async def delete(self, view_id: int) -> StoredCaseView | None:
        row = await SavedCaseView.get_or_none(id=view_id)
        if row is None:
            return None
        await row.delete()
        return StoredCaseView(row.id, row.name, dict(row.query), row.created_by, row.created_at)
