"""Reading cases for the CLI, the admin and the agent desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q

from storage.errors import CaseNotFound, EvidenceNotFound
from storage.models import Case, CaseEvent, CaseLink, CasePriority, CaseSla, Evidence, SlaClock, TranscriptMessage
from storage.transcript import TranscriptEntry, transcript_entry


class CaseStatus(StrEnum):
    """The one vocabulary of case statuses: stored as these values, used by the desk's lifecycle."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Open cases count against an agent's capacity and answer a customer's "status".
OPEN_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.NEW, CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_FOR_CUSTOMER}
)


def case_status(value: str) -> CaseStatus:
    """A stored status as the vocabulary; raises ValueError for a value no version ever wrote."""
    return CaseStatus(value)


@dataclass(frozen=True)
class EvidenceItem:
    id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    storage_key: str


def evidence_item(row: Evidence) -> EvidenceItem:
    return EvidenceItem(row.id, row.file_name, row.media_type, row.size, row.sha256, row.storage_key)


@dataclass(frozen=True)
class CaseEventItem:
    kind: str
    actor: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class CaseDetails:
    id: int
    number: str
    status: CaseStatus
    channel: str
    sender_id: str
    lang: str
    name: str | None
    phone: str | None
    email: str | None
    description: str | None
    occurred_at: str | None
    occurred_where: str | None
    product: str | None
    product_confidence: float | None
    category: str | None
    category_confidence: float | None
    expected_resolution: str | None
    extra: dict[str, Any]
    team: str | None
    assignee: str | None
    slack_channel: str | None
    slack_ts: str | None
    resolution_summary: str | None
    resolution_code: str | None
    created_at: datetime
    updated_at: datetime
    evidence: tuple[EvidenceItem, ...] = ()
    transcript: tuple[TranscriptEntry, ...] = ()
    events: tuple[CaseEventItem, ...] = ()
    # The lifecycle room's: the case's priority (rules or an agent) and the cases linked to it as the same
    # complaint (filled where a case is shown: the desk's case message, the console).
    priority: str | None = None
    linked_cases: tuple[str, ...] = ()
    # The lifecycle room's SLA as stored: state (active | hit | missed), the metric that was breached, and the
    # nearest due time of a running clock.
    sla_state: str | None = None
    sla_breached_metric: str | None = None
    sla_due_at: datetime | None = None


_SCALAR_FIELDS = (
    "id", "number", "status", "channel", "sender_id", "lang", "name", "phone", "email", "description", "occurred_at",
    "occurred_where", "product", "product_confidence", "category", "category_confidence",
    "expected_resolution", "extra", "team", "assignee", "slack_channel", "slack_ts", "resolution_summary",
    "resolution_code",
    "created_at", "updated_at",
)


async def lifecycle_marks(case_id: int) -> dict[str, Any]:
    """The case's priority and the numbers of the cases linked to it as the same complaint."""
    priority = await CasePriority.filter(case_id=case_id).values_list("priority", flat=True)
    links = await CaseLink.filter(Q(case_id=case_id) | Q(earlier_case_id=case_id), status="linked")
    others = [link.earlier_case_id if link.case_id == case_id else link.case_id for link in links]
    numbers = await Case.filter(id__in=others).order_by("id").values_list("number", flat=True) if others else []
    sla = await CaseSla.get_or_none(case_id=case_id)
    due = (
        await SlaClock.filter(case_id=case_id, status="running", due_at__isnull=False)
        .order_by("due_at")
        .first()
        .values_list("due_at", flat=True)
    )
    return {
        "priority": str(priority[0]) if priority else None,
        "linked_cases": tuple(str(number) for number in numbers),
        "sla_state": sla.state if sla else None,
        "sla_breached_metric": sla.breached_metric if sla else None,
        "sla_due_at": due if isinstance(due, datetime) else None,
    }


def case_details(case: Case, **related: Any) -> CaseDetails:
    fields = {name: getattr(case, name) for name in _SCALAR_FIELDS}
    fields["status"] = case_status(case.status)
    return CaseDetails(**fields, **related)


class TortoiseCaseRepository:
    async def list(self, status: CaseStatus | str | None = None, limit: int = 100) -> list[CaseDetails]:
        query = Case.all().order_by("-id").limit(limit)
        if status:
            query = query.filter(status=status)
        return [case_details(case) for case in await query]

    async def get(self, number: str) -> CaseDetails:
        case = await Case.get_or_none(number=number.strip().upper())
        if case is None:
            raise CaseNotFound(number)
        evidence = await Evidence.filter(case_id=case.id).order_by("id")
        messages = await TranscriptMessage.filter(case_id=case.id).order_by("id")
        events = await CaseEvent.filter(case_id=case.id).order_by("id")
        return case_details(
            case,
            evidence=tuple(evidence_item(row) for row in evidence),
            transcript=tuple(transcript_entry(row) for row in messages),
            events=tuple(CaseEventItem(row.kind, row.actor, row.data, row.created_at) for row in events),
            **await lifecycle_marks(case.id),
        )

    async def evidence(self, evidence_id: int) -> EvidenceItem:
        row = await Evidence.get_or_none(id=evidence_id)
        if row is None:
            raise EvidenceNotFound(evidence_id)
        return evidence_item(row)
