"""Posting into a case's Slack thread (and an escalation channel) from the lifecycle room.

The port `CaseThreadNotifier` is what the SLA service calls, inside its transaction; `OutboxCaseThreadNotifier`
writes an outbox row (the outbox's one way in) keyed like the desk's own items for the case, so a warning never
overtakes the case message it answers. `bot.lifecycle.slack_delivery` posts it to Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.ordering import desk_case_key
from storage.outbox import add_outbox_item
from storage.timers import JsonValue

OUTBOX_KIND = "case_thread"


@dataclass(frozen=True)
class ThreadAction:
    """A button under a thread message (Slack's action id, the label, the value it sends back)."""

    action_id: str
    label: str
    value: str


class CaseThreadNotifier(Protocol):
    async def post_in_thread(
        self, case_number: str, text: str, *, actions: Sequence[ThreadAction] = (), evidence_ids: Sequence[int] = ()
    ) -> None:
        """Say `text` in the case's thread (queued in the caller's transaction), with buttons and the case
        files as signed links when given."""

    async def post_in_channel(self, case_number: str, slack_channel: str, text: str) -> None:
        """Say `text` in another channel (an escalation channel), about the case."""

    async def case_changed(self, case_number: str) -> None:
        """Ask the desk to re-render the case message (after a reassignment)."""

    async def post_to_channel(self, ordering_key: str, slack_channel: str, text: str) -> None:
        """Say `text` in a channel, not about one case (the daily digest)."""


class OutboxCaseThreadNotifier:
    async def post_in_thread(
        self, case_number: str, text: str, *, actions: Sequence[ThreadAction] = (), evidence_ids: Sequence[int] = ()
    ) -> None:
        payload: dict[str, JsonValue] = {"case_number": case_number, "text": text}
        if actions:
            payload["actions"] = [
                {"action_id": action.action_id, "label": action.label, "value": action.value} for action in actions
            ]
        if evidence_ids:
            # Ids, not links: the link is signed when it is posted (links expire; the outbox may wait).
            payload["evidence_ids"] = list(evidence_ids)
        await add_outbox_item(
            kind=OUTBOX_KIND, channel="slack", ordering_key=desk_case_key(case_number), payload=payload
        )

    async def post_in_channel(self, case_number: str, slack_channel: str, text: str) -> None:
        await add_outbox_item(
            kind=OUTBOX_KIND,
            channel="slack",
            ordering_key=desk_case_key(case_number),
            payload={"case_number": case_number, "text": text, "slack_channel": slack_channel},
        )

    async def post_to_channel(self, ordering_key: str, slack_channel: str, text: str) -> None:
        await add_outbox_item(
            kind=OUTBOX_KIND,
            channel="slack",
            ordering_key=ordering_key,
            payload={"case_number": "", "text": text, "slack_channel": slack_channel},
        )

    async def case_changed(self, case_number: str) -> None:
        await add_outbox_item(
            kind="desk",
            channel="slack",
            ordering_key=desk_case_key(case_number),
            payload={"event": "case_changed", "case_number": case_number},
        )
