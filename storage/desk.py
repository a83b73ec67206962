"""What the agent desk reads and writes: cases as value objects, case events, NLP corrections, agent-event
receipts, assignment cursors and outbox rows, all changed together inside one unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from storage.cases import (
    CaseDetails,
    CaseEventItem,
    CaseStatus,
    EvidenceItem,
    case_details,
    evidence_item,
    lifecycle_marks,
)
from storage.customer_messages import reads_traditional
from storage.evidence import StoredBlob
from storage.models import (
    AssignmentCursor,
    Case,
    CaseEvent,
    ChannelIdentity,
    Evidence,
    InboundReceipt,
    NlpCorrection,
    SlaClock,
    TranscriptMessage,
    case_changes,
)
from storage.outbox import add_outbox_item

# A JSON document as stored in JSON columns.
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True)
class CaseUpdate:
    """Fields to change; None leaves a field as it is."""

    status: CaseStatus | None = None
    team: str | None = None
    assignee: str | None = None
    product: str | None = None
    product_confidence: float | None = None
    category: str | None = None
    category_confidence: float | None = None
    resolution_summary: str | None = None
    resolution_code: str | None = None


@dataclass(frozen=True)
class QueueFilter:
    """Which open cases a desk queue shows; None or False filters nothing."""

    assignee: str | None = None
    unassigned: bool = False
    teams: Collection[str] | None = None


@dataclass(frozen=True)
class OutboxRow:
    kind: str
    channel: str
    ordering_key: str
    payload: Mapping[str, JsonValue]


async def _record(case: Case, with_evidence: bool) -> CaseDetails:
    evidence: tuple[EvidenceItem, ...] = ()
    if with_evidence:
        evidence = tuple(evidence_item(row) for row in await Evidence.filter(case_id=case.id).order_by("id"))
    return case_details(case, evidence=evidence, **await lifecycle_marks(case.id))


class DeskUnitOfWork:
    """Operations inside one transaction; cases and cursors read here are locked on PostgreSQL so two
    workers applying agent actions or assigning in the same team take turns."""

    async def claim_receipt(self, source: str, message_id: str) -> bool:
        """False when this platform event was handled before (a retry): the caller must change nothing."""
        try:
            async with in_transaction():
                await InboundReceipt.create(channel=source, message_id=message_id)
        except IntegrityError:
            return False
        return True

    async def lock_case(self, number: str) -> CaseDetails | None:
        case = await Case.filter(number=number).select_for_update().first()
        return None if case is None else await _record(case, with_evidence=False)

    async def lock_case_by_thread(self, slack_channel: str, thread_ts: str) -> CaseDetails | None:
        case = await Case.filter(slack_channel=slack_channel, slack_ts=thread_ts).select_for_update().first()
        return None if case is None else await _record(case, with_evidence=False)

    async def update_case(self, number: str, update: CaseUpdate) -> None:
        changes = {name: value for name, value in vars(update).items() if value is not None}
        if changes:
            await Case.filter(number=number).update(**case_changes(**changes))

    async def move_case(self, number: str, team: str) -> None:
        """The case belongs to `team` now: unassigned, and without a Slack message until that team's is posted."""
        await Case.filter(number=number).update(
            **case_changes(team=team, assignee=None, slack_channel=None, slack_ts=None)
        )

    async def add_event(self, number: str, kind: str, actor: str, data: Mapping[str, JsonValue]) -> None:
        case = await Case.get(number=number)
        await CaseEvent.create(case=case, kind=kind, actor=actor, data=dict(data))

    async def add_correction(
        self, number: str, field: str, old_value: str | None, new_value: str, actor: str
    ) -> None:
        case = await Case.get(number=number)
        await NlpCorrection.create(
            case=case,
            field=field,
            text=case.description or "",
            lang=case.lang,
            old_value=old_value,
            new_value=new_value,
            actor=actor,
        )

    async def add_agent_message(self, number: str, text: str, payload: Mapping[str, JsonValue]) -> None:
        """The agent's words in the customer's transcript: the case history, and the web chat's mailbox."""
        case = await Case.get(number=number)
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        if identity is None:
            return
        await TranscriptMessage.create(
            conversation_id=case.conversation_id,
            case=case,
            identity=identity,
            direction="out",
            author="agent",
            text=text,
            payload=dict(payload),
        )

    async def customer_reads_traditional(self, number: str) -> bool:
        """Whether the case's customer writes traditional Chinese (our messages to them are converted)."""
        case = await Case.get(number=number)
        return await reads_traditional(case.conversation_id)

    async def add_case_file(self, number: str, blob: StoredBlob, file_name: str) -> int:
        """A file an agent sent the customer, kept with the case (its evidence id links and sends it)."""
        case = await Case.get(number=number)
        row = await Evidence.create(
            case_id=case.id, conversation_id=case.conversation_id, file_name=file_name[:255],
            media_type=blob.media_type, size=blob.size, sha256=blob.sha256, storage_key=blob.storage_key,
        )
        return int(row.id)

    async def enqueue(self, row: OutboxRow) -> None:
        await add_outbox_item(kind=row.kind, channel=row.channel, ordering_key=row.ordering_key, payload=row.payload)

    async def lock_assignment_cursor(self, team: str) -> str | None:
        """The team's round-robin position, locked until the transaction ends."""
        cursor = await AssignmentCursor.filter(team=team).select_for_update().first()
        if cursor is None:
            try:
                async with in_transaction():
                    await AssignmentCursor.create(team=team)
            except IntegrityError:
                pass  # another worker created it first; lock theirs
            cursor = await AssignmentCursor.filter(team=team).select_for_update().first()
        return None if cursor is None else cursor.last_agent

    async def set_assignment_cursor(self, team: str, last_agent: str) -> None:
        await AssignmentCursor.filter(team=team).update(last_agent=last_agent)

    async def open_case_counts(self, team: str, open_statuses: Collection[CaseStatus]) -> dict[str, int]:
        rows = (
            await Case.filter(team=team, status__in=list(open_statuses), assignee__isnull=False)
            .annotate(open_cases=Count("id"))
            .group_by("assignee")
            .values("assignee", "open_cases")
        )
        return {str(row["assignee"]): int(row["open_cases"]) for row in rows}

    async def unassigned_cases(self, team: str, open_statuses: Collection[CaseStatus]) -> list[str]:
        """Numbers of the team's open cases nobody has, oldest first."""
        rows = (
            await Case.filter(team=team, status__in=list(open_statuses), assignee__isnull=True)
            .order_by("id")
            .values_list("number", flat=True)
        )
        return [str(number) for number in rows]


class TortoiseDeskStore:
    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[DeskUnitOfWork]:
        async with in_transaction():
            yield DeskUnitOfWork()

    async def get_case(self, number: str) -> CaseDetails | None:
        case = await Case.filter(number=number).first()
        return None if case is None else await _record(case, with_evidence=True)

    async def list_cases(
        self, statuses: Collection[CaseStatus], assignee: str | None = None, limit: int = 20
    ) -> list[CaseDetails]:
        query = Case.filter(status__in=list(statuses))
        if assignee is not None:
            query = query.filter(assignee=assignee)
        cases = await query.order_by("-id").limit(limit)
        return [await _record(case, with_evidence=False) for case in cases]

    async def queue(self, statuses: Collection[CaseStatus], select: QueueFilter, limit: int = 20) -> list[CaseDetails]:
        """The cases of a queue, most at risk first: SLA breached (oldest first), then the nearest running due
        time, then age. Filters and order are in SQL (three short reads of at most `limit` rows each), so a
        large backlog is never read into memory."""
        filters: dict[str, object] = {"status__in": [str(status) for status in statuses]}
        if select.assignee is not None:
            filters["assignee"] = select.assignee
        if select.unassigned:
            filters["assignee__isnull"] = True
        if select.teams is not None:
            filters["team__in"] = list(select.teams)
        picked: list[int] = []
        # 1. Breached, oldest first.
        picked += cast(
            list[int],
            await Case.filter(**filters, sla__state="missed").order_by("id").limit(limit).values_list("id", flat=True),
        )
        # 2. Nearest running due time (a case has up to three clocks: read enough rows for `limit` cases).
        if len(picked) < limit:
            clock_filters = {f"case__{key}": value for key, value in filters.items()}
            due: list[int] = cast(list[int], await (
                SlaClock.filter(**clock_filters, status="running", due_at__isnull=False)
                .order_by("due_at")
                .limit(limit * 3)
                .values_list("case_id", flat=True)
            ))
            picked += [case_id for case_id in dict.fromkeys(due) if case_id not in picked]
        # 3. The rest by age.
        if len(picked) < limit:
            rest = cast(list[int], await Case.filter(**filters).exclude(id__in=picked or [0]).order_by("id")
                        .limit(limit).values_list("id", flat=True))
            picked += rest
        ids = [int(case_id) for case_id in picked[:limit]]
        rows = {case.id: case for case in await Case.filter(id__in=ids or [0])}
        return [await _record(rows[case_id], with_evidence=False) for case_id in ids if case_id in rows]

    async def events(self, number: str) -> list[CaseEventItem]:
        rows = await CaseEvent.filter(case__number=number).order_by("id")
        return [CaseEventItem(row.kind, row.actor, dict(row.data), row.created_at) for row in rows]

    async def set_slack_message(self, number: str, slack_channel: str, slack_ts: str) -> None:
        await Case.filter(number=number).update(**case_changes(slack_channel=slack_channel, slack_ts=slack_ts))

    async def set_team(self, number: str, team: str) -> None:
        await Case.filter(number=number).update(**case_changes(team=team))
