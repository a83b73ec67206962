"""What the daily digest reads: a team's open cases with their age and SLA situation."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from storage.models import Case, CaseSla, SlaClock, Timer


@dataclass(frozen=True)
class DigestCase:
    number: str
    created_at: datetime
    sla_state: str | None
    # The nearest deadline of a running clock, if any.
    next_due_at: datetime | None


class TortoiseDigestStore:
    async def open_cases(self, team: str, statuses: Collection[str]) -> list[DigestCase]:
        cases = await Case.filter(team=team, status__in=list(statuses)).order_by("id")
        ids = [case.id for case in cases]
        states = dict(await CaseSla.filter(case_id__in=ids).values_list("case_id", "state"))
        nearest: dict[int, datetime] = {}
        for clock in await SlaClock.filter(case_id__in=ids, status="running", due_at__isnull=False):
            if clock.due_at is not None and (clock.case_id not in nearest or clock.due_at < nearest[clock.case_id]):
                nearest[clock.case_id] = clock.due_at
        return [
            DigestCase(case.number, case.created_at, states.get(case.id), nearest.get(case.id)) for case in cases
        ]

    async def digest_pending(self, key: str, other_than: int | None = None) -> bool:
        query = Timer.filter(kind="digest", key=key, status__in=("pending", "firing"))
        if other_than is not None:
            query = query.exclude(id=other_than)
        return await query.exists()
