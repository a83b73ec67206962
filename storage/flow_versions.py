"""Flow versions in the database: immutable published versions plus one draft per flow, shared by every
worker. Definitions are stored as JSON documents; validating them is the caller's job (flows/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from storage.errors import StorageError
from storage.models import FlowDraft, FlowVersion


class FlowVersionNotFound(StorageError):
    def __init__(self, flow_id: str, version: int | None) -> None:
        super().__init__(f"flow {flow_id!r} has no version {version}" if version else f"no flow {flow_id!r}")
        self.flow_id = flow_id
        self.version = version


class PublishConflict(StorageError):
    """Another worker kept publishing the same flow at the same moment."""

    def __init__(self, flow_id: str) -> None:
        super().__init__(f"could not number a new version of {flow_id!r}")
        self.flow_id = flow_id


@dataclass(frozen=True)
class StoredFlowVersion:
    flow_id: str
    version: int
    definition: dict[str, Any]
    published_by: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class StoredFlowDraft:
    flow_id: str
    definition: dict[str, Any]
    updated_by: str
    updated_at: datetime


def _version(row: FlowVersion) -> StoredFlowVersion:
    return StoredFlowVersion(row.flow_id, row.version, row.definition, row.published_by, row.note, row.created_at)


class TortoiseFlowVersions:
    async def latest_versions(self) -> dict[str, int]:
        """flow id -> newest published version number: the cheap check every worker makes."""
        rows = await FlowVersion.all().group_by("flow_id").annotate(latest=Max("version")).values(
            "flow_id", "latest"
        )
        return {str(row["flow_id"]): int(row["latest"]) for row in rows}

    async def get(self, flow_id: str, version: int) -> StoredFlowVersion:
        row = await FlowVersion.get_or_none(flow_id=flow_id, version=version)
        if row is None:
            raise FlowVersionNotFound(flow_id, version)
        return _version(row)

    async def latest(self, flow_id: str) -> StoredFlowVersion | None:
        row = await FlowVersion.filter(flow_id=flow_id).order_by("-version").first()
        return _version(row) if row is not None else None

    async def versions(self, flow_id: str) -> list[StoredFlowVersion]:
        return [_version(row) for row in await FlowVersion.filter(flow_id=flow_id).order_by("version")]

    async def all_versions(self) -> list[StoredFlowVersion]:
        return [_version(row) for row in await FlowVersion.all().order_by("flow_id", "version")]

    async def seed(self, flow_id: str, version: int, definition: dict[str, Any], source: str) -> bool:
        """Store a shipped flow once, when the database has no version of it; True when stored."""
        if await FlowVersion.exists(flow_id=flow_id):
            return False
        try:
            await FlowVersion.create(
                flow_id=flow_id, version=version, definition=definition, published_by=source, note="seeded"
            )
        except IntegrityError:
            return False  # another worker seeded it first
        return True

    async def publish(self, flow_id: str, definition: dict[str, Any], actor: str, note: str = "") -> int:
        """Store a new version numbered after the newest; the unique key settles two publishers racing."""
        for _ in range(5):
            latest = await self.latest(flow_id)
            number = (latest.version if latest else 0) + 1
            try:
                await FlowVersion.create(
                    flow_id=flow_id,
                    version=number,
                    definition={**definition, "version": number},
                    published_by=actor,
                    note=note,
                )
            except IntegrityError:
                continue
            return number
        raise PublishConflict(flow_id)

    # --- drafts -------------------------------------------------------------------------------------------

    async def draft(self, flow_id: str) -> StoredFlowDraft | None:
        row = await FlowDraft.get_or_none(flow_id=flow_id)
        return StoredFlowDraft(row.flow_id, row.definition, row.updated_by, row.updated_at) if row else None

    async def save_draft(self, flow_id: str, definition: dict[str, Any], actor: str) -> StoredFlowDraft:
        updated = await FlowDraft.filter(flow_id=flow_id).update(definition=definition, updated_by=actor)
        if not updated:
            try:
                await FlowDraft.create(flow_id=flow_id, definition=definition, updated_by=actor)
            except IntegrityError:
                await FlowDraft.filter(flow_id=flow_id).update(definition=definition, updated_by=actor)
        stored = await self.draft(flow_id)
        assert stored is not None
        return stored

    async def delete_draft(self, flow_id: str) -> None:
        await FlowDraft.filter(flow_id=flow_id).delete()

    async def definition(self, flow_id: str, version: int) -> dict[str, Any] | None:
        row = await FlowVersion.get_or_none(flow_id=flow_id, version=version)
        return dict(row.definition) if row is not None else None
