"""Case events as the outside world sees them. The intake (a case filed) and the desk (a transition) each
queue one "case_event" outbox item from one place; the fan-out turns it into webhook deliveries and
connector syncs, so every one of them is retried by the outbox and stays in order per case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypedDict

from bot.ordering import case_event_key

CASE_EVENT_KIND = "case_event"
FILE_ACTION = "file"


class WebhookEvent(StrEnum):
    CASE_FILED = "case.filed"
    CASE_UPDATED = "case.updated"
    CASE_STATUS_CHANGED = "case.status_changed"
    CASE_RESOLVED = "case.resolved"
    CASE_REOPENED = "case.reopened"
    # Defined and documented now; emitted by their owners (lifecycle, insight) through `case_event_item`.
    CSAT_RECEIVED = "csat.received"
    SLA_BREACHED = "sla.breached"
    SPIKE_DETECTED = "spike.detected"


class CaseEventFields(TypedDict):
    """The keyword arguments of the intake's `tx.enqueue` and the fields of the desk's OutboxRow."""

    kind: str
    channel: str
    ordering_key: str
    payload: dict[str, str | None]


@dataclass(frozen=True)
class CaseChange:
    """What happened to a case: an action and the status before and after it."""

    case_number: str
    action: str
    source: str | None
    target: str
    actor: str
    occurred_at: str

    @classmethod
    def from_payload(cls, payload: object) -> CaseChange:
        if not isinstance(payload, dict):
            raise ValueError("case event payload is not an object")
        return cls(
            case_number=str(payload["case_number"]),
            action=str(payload["action"]),
            source=None if payload.get("from") is None else str(payload["from"]),
            target=str(payload["to"]),
            actor=str(payload.get("actor") or "system"),
            occurred_at=str(payload["occurred_at"]),
        )


def case_event_item(
    case_number: str, action: str, source: str | None, target: str, actor: str, event: WebhookEvent | None = None
) -> CaseEventFields:
    """The outbox item announcing a change; call it inside the transaction that made the change. `event`
    names an event explicitly (csat.received, sla.breached); without it the event follows from the change."""
    payload: dict[str, str | None] = {
        "case_number": case_number,
        "action": action,
        "from": source,
        "to": target,
        "actor": actor,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    if event is not None:
        payload["event"] = event.value
    # One key per case: the fan-out of a case's events happens in the order they were made.
    return {"kind": CASE_EVENT_KIND, "channel": "operations", "ordering_key": case_event_key(case_number),
            "payload": payload}


def events_for(change: CaseChange, explicit: str | None = None) -> tuple[WebhookEvent, ...]:
    if explicit is not None:
        return (WebhookEvent(explicit),)
    if change.action == FILE_ACTION:
        return (WebhookEvent.CASE_FILED,)
    if change.source == change.target:
        return (WebhookEvent.CASE_UPDATED,)
    events = [WebhookEvent.CASE_STATUS_CHANGED]
    if change.target == "resolved":
        events.append(WebhookEvent.CASE_RESOLVED)
    if change.action == "reopen":
        events.append(WebhookEvent.CASE_REOPENED)
    return tuple(events)
