"""What the agent desk is told about a case, as typed events carried by outbox rows of kind "desk".
The intake and the desk service queue them; a desk notifier (Slack today) turns them into messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.errors import PlaintError
from bot.ordering import desk_case_key
from storage.desk import JsonValue

# Outbox kind and channel of desk events.
DESK_OUTBOX_KIND = "desk"
DESK_OUTBOX_CHANNEL = "slack"


class UnknownDeskEvent(PlaintError):
    """An outbox row whose payload is no desk event this version knows."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        super().__init__(f"unknown desk event {payload.get('event')!r}")
        self.payload = dict(payload)


@dataclass(frozen=True)
class CaseFiled:
    name: ClassVar[str] = "case_filed"
    case_number: str


@dataclass(frozen=True)
class CaseChanged:
    """The case message is re-rendered; when an agent (or the round-robin) acted, `action` names what happened
    and the notifier adds one line to the case thread (who, and for a takeover the previous assignee)."""

    name: ClassVar[str] = "case_changed"
    case_number: str
    action: str = ""
    actor: str = ""
    details: tuple[tuple[str, str], ...] = ()

    def detail(self, key: str) -> str:
        return next((value for name, value in self.details if name == key), "")


@dataclass(frozen=True)
class CustomerMessage:
    """A customer's follow-up to a case; the notifier posts it in the case thread (files as signed links)."""

    name: ClassVar[str] = "customer_message"
    case_number: str
    text: str
    evidence_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class DeliveryFailed:
    """A message an agent sent (a reply, a resolution) will never reach the customer: the agent is told in the
    case thread. `reason` is "unreachable" (blocked, left) or "refused" (the platform rejected it)."""

    name: ClassVar[str] = "delivery_failed"
    case_number: str
    reason: str
    actor: str = ""


@dataclass(frozen=True)
class CaseMoved:
    """An agent moved the case to another team: a line goes to the old thread (`old_channel`, `old_ts`), naming the
    new team and the previous assignee; the case message is then posted afresh in the new team's channel."""

    name: ClassVar[str] = "case_moved"
    case_number: str
    from_team: str
    to_team: str
    old_channel: str
    old_ts: str
    actor: str
    previous_assignee: str = ""


DeskEvent = CaseFiled | CaseChanged | CustomerMessage | DeliveryFailed | CaseMoved


def desk_event_to_payload(event: DeskEvent) -> dict[str, JsonValue]:
    payload: dict[str, JsonValue] = {"event": event.name, "case_number": event.case_number}
    if isinstance(event, CustomerMessage):
        payload["text"] = event.text
        if event.evidence_ids:
            payload["evidence_ids"] = ",".join(str(item) for item in event.evidence_ids)
    if isinstance(event, CaseChanged) and event.action:
        payload["action"] = event.action
        payload["actor"] = event.actor
        pairs: list[JsonValue] = [[key, value] for key, value in event.details]
        payload["details"] = pairs
    if isinstance(event, DeliveryFailed):
        payload["reason"] = event.reason
        payload["actor"] = event.actor
    if isinstance(event, CaseMoved):
        payload.update(from_team=event.from_team, to_team=event.to_team, old_channel=event.old_channel,
                       old_ts=event.old_ts, actor=event.actor, previous_assignee=event.previous_assignee)
    return payload


def desk_event_from_payload(payload: Mapping[str, Any]) -> DeskEvent:
    name = payload.get("event")
    number = str(payload.get("case_number", ""))
    if not number:
        raise UnknownDeskEvent(payload)
    if name == CaseFiled.name:
        return CaseFiled(number)
    if name == CaseChanged.name:
        details = payload.get("details") or []
        return CaseChanged(
            number,
            str(payload.get("action", "")),
            str(payload.get("actor", "")),
            tuple(
                (str(pair[0]), str(pair[1])) for pair in details if isinstance(pair, list | tuple) and len(pair) == 2
            ),
        )
    if name == CaseMoved.name:
        return CaseMoved(number, *(str(payload.get(key) or "") for key in (
            "from_team", "to_team", "old_channel", "old_ts", "actor", "previous_assignee")))
    if name == DeliveryFailed.name:
        return DeliveryFailed(number, str(payload.get("reason", "")), str(payload.get("actor", "")))
    if name == CustomerMessage.name:
        files = str(payload.get("evidence_ids", ""))
        return CustomerMessage(
            number, str(payload.get("text", "")), tuple(int(item) for item in files.split(",") if item.isdigit())
        )
    raise UnknownDeskEvent(payload)


def desk_event_key(event: DeskEvent) -> str:
    return desk_case_key(event.case_number)
