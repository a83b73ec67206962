"""What the SLA clocks read and write: the policy a case started with, its clocks, its clock timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.errors import CaseNotFound
from storage.models import Case, CaseEvent, CasePriority, CaseSla, SlaClock, SlaEvent
from storage.timers import JsonValue


@dataclass(frozen=True)
class SlaCaseRef:
    """The few case fields the SLA looks at."""

    id: int
    number: str
    status: str
    team: str | None
    category: str | None
    assignee: str | None
    slack_channel: str | None
    slack_ts: str | None
    channel: str
    lang: str
    priority: str | None = None


@dataclass(frozen=True)
class SlaRecord:
    case_id: int
    policy_name: str
    policy: Mapping[str, JsonValue]
    priority: str | None
    state: str  # active | hit | missed
    breached_metric: str | None
    started_at: datetime


@dataclass(frozen=True)
class ClockRecord:
    metric: str
    status: str  # running | paused | met | breached | stopped
    target_seconds: int
    consumed_seconds: int = 0
    running_since: datetime | None = None
    due_at: datetime | None = None
    generation: int = 0
    breached: bool = False


@dataclass(frozen=True)
class SlaEventItem:
    metric: str
    kind: str
    at: datetime
    data: Mapping[str, JsonValue]


async def _ref(case: Case) -> SlaCaseRef:
    priority = await CasePriority.filter(case_id=case.id).values_list("priority", flat=True)
    return SlaCaseRef(
        case.id, case.number, case.status, case.team, case.category, case.assignee, case.slack_channel,
        case.slack_ts, case.channel, case.lang, str(priority[0]) if priority else None,
    )


def _clock(row: SlaClock) -> ClockRecord:
    return ClockRecord(
        row.metric, row.status, row.target_seconds, row.consumed_seconds, row.running_since, row.due_at,
        row.generation, row.breached,
    )


class TortoiseSlaStore:
    def __init__(self, *, lock_rows: bool) -> None:
        self._lock_rows = lock_rows

    async def case(self, number: str, *, lock: bool = False) -> SlaCaseRef:
        """The case; with `lock`, its row stays locked (PostgreSQL) until the transaction ends, so the desk
        and the timer workers change one case's clocks in turn."""
        query = Case.filter(number=number)
        if lock and self._lock_rows:
            query = query.select_for_update()
        case = await query.first()
        if case is None:
            raise CaseNotFound(number)
        return await _ref(case)

    async def case_by_id(self, case_id: int, *, lock: bool = False) -> SlaCaseRef:
        query = Case.filter(id=case_id)
        if lock and self._lock_rows:
            query = query.select_for_update()
        case = await query.first()
        if case is None:
            raise CaseNotFound(str(case_id))
        return await _ref(case)

    async def sla(self, case_id: int) -> SlaRecord | None:
        row = await CaseSla.get_or_none(case_id=case_id)
        if row is None:
            return None
        return SlaRecord(
            row.case_id, row.policy_name, dict(row.policy), row.priority, row.state, row.breached_metric,
            row.started_at,
        )

    async def start_sla(
        self, case_id: int, policy_name: str, policy: Mapping[str, JsonValue], priority: str | None, at: datetime
    ) -> None:
        await CaseSla.create(
            case_id=case_id, policy_name=policy_name, policy=dict(policy), priority=priority, state="active",
            started_at=at,
        )

    async def set_state(self, case_id: int, state: str, breached_metric: str | None = None) -> None:
        changes: dict[str, str] = {"state": state}
        if breached_metric is not None:
            changes["breached_metric"] = breached_metric
        await CaseSla.filter(case_id=case_id).update(**changes)

    async def clocks(self, case_id: int) -> dict[str, ClockRecord]:
        return {row.metric: _clock(row) for row in await SlaClock.filter(case_id=case_id)}

    async def save_clock(self, case_id: int, clock: ClockRecord) -> None:
        values: dict[str, Any] = {
            "status": clock.status,
            "target_seconds": clock.target_seconds,
            "consumed_seconds": clock.consumed_seconds,
            "running_since": clock.running_since,
            "due_at": clock.due_at,
            "generation": clock.generation,
            "breached": clock.breached,
        }
        updated = await SlaClock.filter(case_id=case_id, metric=clock.metric).update(**values)
        if not updated:
            await SlaClock.create(case_id=case_id, metric=clock.metric, **values)

    async def add_event(
        self, case_id: int, metric: str, kind: str, at: datetime, data: Mapping[str, JsonValue] | None = None
    ) -> None:
        await SlaEvent.create(case_id=case_id, metric=metric, kind=kind, at=at, data=dict(data or {}))

    async def add_case_event(self, case_id: int, kind: str, actor: str, data: Mapping[str, JsonValue]) -> None:
        """An escalation step in the case's own history, beside the agents' actions."""
        await CaseEvent.create(case_id=case_id, kind=kind, actor=actor, data=dict(data))

    async def timeline(self, number: str) -> list[SlaEventItem]:
        rows = await SlaEvent.filter(case__number=number).order_by("at", "id")
        return [SlaEventItem(row.metric, row.kind, row.at, dict(row.data)) for row in rows]

    async def set_assignee(self, case_id: int, assignee: str) -> None:
        await Case.filter(id=case_id).update(assignee=assignee)
