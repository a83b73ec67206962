"""Case priorities: what the rules look at, and the priority stored with each case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.errors import CaseNotFound
from storage.models import Case, CasePriority

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class PriorityInput:
    case_id: int
    number: str
    category: str | None
    product: str | None
    text: str
    earlier_cases_days_ago: tuple[float, ...]


@dataclass(frozen=True)
class PriorityRecord:
    priority: str
    source: str
    reasons: tuple[str, ...]
    set_by: str


class TortoisePriorityStore:
    async def input_for(self, number: str, lookback_days: int) -> PriorityInput:
        case = await Case.get_or_none(number=number)
        if case is None:
            raise CaseNotFound(number)
        earlier = await Case.filter(customer_id=case.customer_id, id__lt=case.id).only("created_at")
        ages = [max((case.created_at - row.created_at).total_seconds(), 0.0) for row in earlier]
        days = tuple(sorted(age / SECONDS_PER_DAY for age in ages if age <= lookback_days * SECONDS_PER_DAY))
        text = " ".join(part for part in (case.description, case.expected_resolution, case.product) if part)
        return PriorityInput(case.id, case.number, case.category, case.product, text, days)

    async def get(self, number: str) -> PriorityRecord | None:
        row = await CasePriority.get_or_none(case__number=number)
        if row is None:
            return None
        return PriorityRecord(row.priority, row.source, tuple(str(reason) for reason in row.reasons), row.set_by)

    async def set(self, case_id: int, priority: str, source: str, reasons: Sequence[str], set_by: str) -> None:
        updated = await CasePriority.filter(case_id=case_id).update(
            priority=priority, source=source, reasons=list(reasons), set_by=set_by
        )
        if not updated:
            await CasePriority.create(
                case_id=case_id, priority=priority, source=source, reasons=list(reasons), set_by=set_by
            )
