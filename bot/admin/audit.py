"""Who changed what: every change made through the console, the API or the CLI goes through AuditTrail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from aiohttp import web

from bot.admin.flow_diff import describe_changes
from bot.admin.settings_diff import SETTINGS_KINDS, describe_settings_changes
from storage.audit import AuditRecord, TortoiseAuditLog

Via = Literal["console", "api", "cli"]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a console user (email), an API token ("token:NAME") or the CLI ("cli:USER")."""

    name: str
    role: str
    via: Via
    source_ip: str | None = None


def _plain(value: Any) -> Any:
    """What the log stores: enums (a case status) as their values, containers converted throughout."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _changes(object_type: str, before: Any, after: Any) -> list[str]:
    if object_type == "flow" and isinstance(before, Mapping) and isinstance(after, Mapping):
        return describe_changes(before, after)
    if object_type in SETTINGS_KINDS and isinstance(before, Mapping) and isinstance(after, Mapping):
        return describe_settings_changes(object_type, before, after)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = sorted(set(before) | set(after))
        return [
            f"{key}: {before.get(key)!r} -> {after.get(key)!r}" for key in keys if before.get(key) != after.get(key)
        ]
    if before is None and after is not None:
        return ["created"]
    if after is None and before is not None:
        return ["removed"]
    return []


class AuditTrail:
    def __init__(self, log: TortoiseAuditLog) -> None:
        self._log = log

    async def record(
        self, actor: Actor, action: str, object_type: str, object_id: str, before: Any = None, after: Any = None
    ) -> AuditRecord:
        before, after = _plain(before), _plain(after)
        return await self._log.append(
            actor=actor.name,
            via=actor.via,
            source_ip=actor.source_ip,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
            changes=_changes(object_type, before, after),
        )


# An optional header saying why personal data is read unmasked (a ticket reference, "subject request 12", ...).
REASON_HEADER = "X-Plaint-Reason"
_REASON_CHARS = 200


def read_reason(request: web.Request) -> str | None:
    """The caller's stated reason, printable characters only and at most 200 of them; None when not given."""
    raw = request.headers.get(REASON_HEADER, "")
    reason = "".join(character for character in raw if character.isprintable())[:_REASON_CHARS].strip()
    return reason or None


def endpoint_of(request: web.Request) -> str:
    """The method and the route's template (`GET /api/v1/cases/{number}`): what was called, never its values."""
    route = request.match_info.route
    template = route.resource.canonical if route.resource is not None else "?"
    return f"{request.method} {template}"


async def audit_unmasked(
    audit: AuditTrail, actor: Actor, request: web.Request, object_type: str, object_id: str,
    details: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Every read of unmasked personal data is an audit entry `contacts.unmasked`: who (the actor), which case
    (or which list of cases), and why (the endpoint, and the reason header when the caller gave one)."""
    return await audit.record(actor, "contacts.unmasked", object_type, object_id, None, {
        "endpoint": endpoint_of(request), "reason": read_reason(request), **(details or {}),
    })
