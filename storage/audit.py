"""The audit log: append-only rows of who changed what, when, from where, with the before/after."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import AuditEntry as AuditRow


@dataclass(frozen=True)
class AuditRecord:
    id: int
    actor: str
    via: str
    source_ip: str | None
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    changes: list[str]
    created_at: datetime


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditRecord, ...]
    next_cursor: str | None


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(
        row.id, row.actor, row.via, row.source_ip, row.action, row.object_type, row.object_id,
        row.before, row.after, list(row.changes or []), row.created_at,
    )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The id to continue below, or None for a cursor that is not one of ours."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    before = document.get("before") if isinstance(document, dict) else None
    return before if isinstance(before, int) and before > 0 else None


class TortoiseAuditLog:
    async def append(
        self,
        *,
        actor: str,
        via: str,
        source_ip: str | None,
        action: str,
        object_type: str,
        object_id: str,
        before: Any,
        after: Any,
        changes: list[str],
    ) -> AuditRecord:
        row = await AuditRow.create(
            actor=actor, via=via, source_ip=source_ip, action=action, object_type=object_type,
            object_id=object_id, before=before, after=after, changes=changes,
        )
        return _record(row)

    async def page(self, where: AuditFilter, limit: int, before_id: int | None = None) -> AuditPage:
        query = AuditRow.all().order_by("-id")
        if where.actor:
            query = query.filter(actor=where.actor)
        if where.object_type:
            query = query.filter(object_type=where.object_type)
        if where.object_id:
            query = query.filter(object_id=where.object_id)
        if where.since:
            query = query.filter(created_at__gte=where.since)
        if where.until:
            query = query.filter(created_at__lt=where.until)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        rows = await query.limit(limit + 1)
        entries = tuple(_record(row) for row in rows[:limit])
        more = len(rows) > limit
        return AuditPage(entries, encode_cursor(entries[-1].id) if more and entries else None)

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: the only deletion the log allows."""
        return await AuditRow.filter(created_at__lt=cutoff).delete()
