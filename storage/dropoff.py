"""Flow step events: written with each turn, read back page by page for the drop-off funnel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.models import Conversation, FlowStepEvent

StepOutcome = Literal["asked", "answered", "reasked"]


@dataclass(frozen=True)
class StepEvent:
    conversation_id: int
    step_id: str
    outcome: StepOutcome
    at: datetime


def step_event_rows(
    *, conversation_id: int, flow_id: str, flow_version: int, channel: str, at: datetime,
    events: Sequence[tuple[str, StepOutcome]],
) -> list[dict[str, Any]]:
    """A turn's step events as rows for the turn's transaction to write (IntakeTransaction.add_step_events), so
    the funnel counts exactly the turns that were committed."""
    return [
        {"conversation_id": conversation_id, "flow_id": flow_id, "flow_version": flow_version,
         "channel": channel, "step_id": step_id, "outcome": outcome, "created_at": at}
        for step_id, outcome in events
    ]


async def flow_versions() -> list[tuple[str, int]]:
    rows = await FlowStepEvent.all().distinct().order_by("flow_id", "flow_version").values_list(
        "flow_id", "flow_version"
    )
    return [(flow_id, version) for flow_id, version in rows]


async def step_events(
    flow_id: str, flow_version: int, channel: str | None = None, since: datetime | None = None, page: int = 5000
) -> AsyncIterator[StepEvent]:
    """Every event of one flow version, grouped by conversation and in order within it."""
    after_id = 0
    query = FlowStepEvent.filter(flow_id=flow_id, flow_version=flow_version, conversation_id__not_isnull=True)
    if channel is not None:
        query = query.filter(channel=channel)
    if since is not None:
        query = query.filter(created_at__gte=since)
    # Keyset over (id) keeps pages cheap; the caller groups by conversation, so order by it within the page
    # would not be enough across pages: events are read in id order and grouped in memory per conversation id.
    while rows := await query.filter(id__gt=after_id).order_by("id").limit(page).values_list(
        "id", "conversation_id", "step_id", "outcome", "created_at"
    ):
        for _, conversation_id, step_id, outcome, created_at in rows:
            yield StepEvent(conversation_id, step_id, outcome, created_at)
        after_id = rows[-1][0]


async def finished_conversations(flow_id: str, flow_version: int) -> set[int]:
    """Conversations of one flow version that ended (filed or cancelled): never counted as abandoned."""
    rows = await Conversation.filter(
        flow_id=flow_id, flow_version=flow_version, status__not="active"
    ).values_list("id", flat=True)
    return {int(str(row)) for row in rows}
