"""Retention in the database: what each data class holds past its period, and removing it a batch at a time.

The data classes and what "past its period" means for each (a row younger than its cut-off, or belonging to a
case that is not closed, is never touched):
- evidence: files of cases closed (and unchanged) since before the cut-off, and files of unfinished
  conversations (no case) untouched since the cut-off;
- transcripts: messages of such closed cases or of no case, and unfinished conversations (no case, with the
  answers they collected) untouched since the cut-off;
- closed_cases: cases closed (status `closed`) and unchanged since the cut-off, anonymised like an erasure
  (the row and its statistics stay) or deleted;
- audit_log: audit entries older than the cut-off;
- settled_outbox: outbox rows settled (sent, sent passively, dead) and created before the cut-off, which keep
  the recipient's address (`telegram:<chat id>`) and the message text: deleted (nothing reads settled rows after
  a platform's retry window; the delivery metrics are counters of the process, not rows).
Each batch is one transaction; evidence files are deleted once nothing refers to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from storage.evidence import LocalEvidenceStore
from storage.insight_rollup import delete_cases
from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    ChannelIdentity,
    Conversation,
    Customer,
    Evidence,
    NlpCorrection,
    OutboxItem,
    OutboxStatus,
    RetentionPolicyText,
    Timer,
    TranscriptMessage,
    WebhookDelivery,
)
from storage.privacy import ERASED, anonymise_cases, delete_unreferenced_files, erased_webhook_body

CLOSED = "closed"
DataClass = Literal["evidence", "transcripts", "closed_cases", "audit_log", "settled_outbox"]
DATA_CLASSES: tuple[DataClass, ...] = ("evidence", "transcripts", "closed_cases", "audit_log")
CaseAction = Literal["anonymise", "delete"]
EXAMPLES = 5


@dataclass(frozen=True)
class RetentionCutoffs:
    """Rows older than these go; None: the class is kept for ever (not in the policy)."""

    evidence: datetime | None = None
    transcripts: datetime | None = None
    closed_cases: datetime | None = None
    closed_cases_action: CaseAction = "anonymise"
    audit_log: datetime | None = None
    settled_outbox: datetime | None = None


@dataclass(frozen=True)
class ClassOutcome:
    data_class: DataClass
    action: str
    cutoff: datetime
    rows: int
    files: int
    # Case numbers concerned (never a personal value): what an admin checks before applying.
    examples: tuple[str, ...]


@dataclass(frozen=True)
class RetentionOutcome:
    classes: tuple[ClassOutcome, ...]
    # False when the run stopped at its batch limit with more still due (the next run continues).
    complete: bool = True

    @property
    def rows(self) -> int:
        return sum(item.rows for item in self.classes)


def _evidence_due(cutoff: datetime) -> QuerySet[Evidence]:
    return Evidence.filter(created_at__lt=cutoff).filter(
        Q(case__status=CLOSED, case__updated_at__lt=cutoff)
        | Q(case_id__isnull=True, conversation_id__isnull=True)
        | Q(case_id__isnull=True, conversation__updated_at__lt=cutoff)
    )


def _messages_due(cutoff: datetime) -> QuerySet[TranscriptMessage]:
    return TranscriptMessage.filter(created_at__lt=cutoff).filter(
        Q(case_id__isnull=True) | Q(case__status=CLOSED, case__updated_at__lt=cutoff)
    )


async def _unfinished_conversations_due(cutoff: datetime, limit: int | None = None) -> list[int]:
    """Conversations untouched since the cut-off that never became a case (a case keeps its conversation:
    the flow it came through is part of the statistics)."""
    found: list[int] = []
    after = 0
    while limit is None or len(found) < limit:
        ids = [int(row) for row in await Conversation.filter(  # type: ignore[call-overload]
            updated_at__lt=cutoff, id__gt=after).order_by("id").limit(500).values_list("id", flat=True)]
        if not ids:
            break
        with_case = {int(row) for row in await Case.filter(  # type: ignore[call-overload]
            conversation_id__in=ids).values_list("conversation_id", flat=True)}
        found += [conversation for conversation in ids if conversation not in with_case]
        after = ids[-1]
    return found if limit is None else found[:limit]


def _closed_cases_due(cutoff: datetime, action: CaseAction) -> QuerySet[Case]:
    query = Case.filter(status=CLOSED, updated_at__lt=cutoff)
    # Anonymised cases (by retention or an erasure) are already as anonymous as they get.
    return query.exclude(sender_id__startswith=f"{ERASED}-") if action == "anonymise" else query


_SETTLED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.SENT_PASSIVELY, OutboxStatus.DEAD)


def _settled_outbox_due(cutoff: datetime) -> QuerySet[OutboxItem]:
    return OutboxItem.filter(status__in=_SETTLED_OUTBOX, created_at__lt=cutoff)


async def _case_numbers(case_ids: list[int]) -> tuple[str, ...]:
    rows = await Case.filter(id__in=case_ids[:EXAMPLES]).order_by("id").values_list("number", flat=True)
    return tuple(str(row) for row in rows)


async def _first_case_ids(query: QuerySet[Evidence] | QuerySet[TranscriptMessage]) -> list[int]:
    rows = await query.filter(case_id__isnull=False).order_by("case_id").distinct().limit(EXAMPLES).values_list(
        "case_id", flat=True
    )
    return [int(row) for row in rows]  # type: ignore[call-overload]


async def retention_preview(cutoffs: RetentionCutoffs) -> RetentionOutcome:
    """The dry run: what each class would lose now, counted, with example case numbers; changes nothing."""
    classes: list[ClassOutcome] = []
    if cutoffs.evidence is not None:
        query = _evidence_due(cutoffs.evidence)
        classes.append(ClassOutcome(
            "evidence", "delete", cutoffs.evidence, await query.count(),
            len(set(await query.values_list("storage_key", flat=True))),
            await _case_numbers(await _first_case_ids(query)),
        ))
    if cutoffs.transcripts is not None:
        query_messages = _messages_due(cutoffs.transcripts)
        conversations = await _unfinished_conversations_due(cutoffs.transcripts)
        classes.append(ClassOutcome(
            "transcripts", "delete", cutoffs.transcripts, await query_messages.count() + len(conversations), 0,
            await _case_numbers(await _first_case_ids(query_messages)),
        ))
    if cutoffs.closed_cases is not None:
        query_cases = _closed_cases_due(cutoffs.closed_cases, cutoffs.closed_cases_action)
        numbers = await query_cases.order_by("id").limit(EXAMPLES).values_list("number", flat=True)
        classes.append(ClassOutcome(
            "closed_cases", cutoffs.closed_cases_action, cutoffs.closed_cases, await query_cases.count(), 0,
            tuple(str(number) for number in numbers),
        ))
    if cutoffs.audit_log is not None:
        classes.append(ClassOutcome(
            "audit_log", "delete", cutoffs.audit_log,
            await AuditEntry.filter(created_at__lt=cutoffs.audit_log).count(), 0, (),
        ))
    if cutoffs.settled_outbox is not None:
        classes.append(ClassOutcome(
            "settled_outbox", "delete", cutoffs.settled_outbox,
            await _settled_outbox_due(cutoffs.settled_outbox).count(), 0, (),
        ))
    return RetentionOutcome(tuple(classes))


# One batch: (rows removed, storage keys of the evidence rows removed, case numbers concerned).
Batch = tuple[int, set[str], list[str]]


async def _evidence_batch(cutoff: datetime, size: int) -> Batch:
    rows = await _evidence_due(cutoff).order_by("id").limit(size)
    await Evidence.filter(id__in=[row.id for row in rows]).delete()
    return len(rows), {row.storage_key for row in rows}, [str(row.case_id) for row in rows if row.case_id]


async def _transcripts_batch(cutoff: datetime, size: int) -> Batch:
    ids = [int(row) for row in await _messages_due(cutoff).order_by("id").limit(size).values_list(  # type: ignore[call-overload]
        "id", flat=True)]
    removed = await TranscriptMessage.filter(id__in=ids).delete() if ids else 0
    keys: set[str] = set()
    if removed < size:
        conversations = await _unfinished_conversations_due(cutoff, size - removed)
        # Their messages and files belong to nobody's case: they go with the conversation.
        files = await Evidence.filter(conversation_id__in=conversations, case_id__isnull=True)
        keys = {row.storage_key for row in files}
        await Evidence.filter(id__in=[row.id for row in files]).delete()
        await TranscriptMessage.filter(conversation_id__in=conversations, case_id__isnull=True).delete()
        removed += await Conversation.filter(id__in=conversations).delete()
    return removed, keys, []


async def _forget_idle_customers(customer_ids: set[int], cutoff: datetime) -> None:
    """A customer whose every case is now anonymised (or gone) and who has not written since the cut-off: their
    channel addresses and name go too. One who came back lately keeps their address (a conversation uses it)."""
    ids = list(customer_ids)
    active = {int(row) for row in await Case.filter(customer_id__in=ids).exclude(  # type: ignore[call-overload]
        sender_id__startswith=f"{ERASED}-").values_list("customer_id", flat=True)}
    identities = {int(identity): int(customer) for identity, customer in await ChannelIdentity.filter(
        customer_id__in=[customer for customer in ids if customer not in active]).values_list("id", "customer_id")}
    recent = {identities[int(row)] for row in await Conversation.filter(  # type: ignore[call-overload]
        identity_id__in=list(identities), updated_at__gte=cutoff).values_list("identity_id", flat=True)}
    idle = [customer for customer in ids if customer not in active and customer not in recent]
    for identity_id, customer_id in identities.items():
        if customer_id in idle:
            # Addresses are unique per channel: each gets its own placeholder.
            await ChannelIdentity.filter(id=identity_id).update(
                sender_id=f"{ERASED}-{identity_id}", locale=None, last_inbound_at=None
            )
    await Customer.filter(id__in=idle).update(display_name=None)


async def _closed_cases_batch(cutoff: datetime, action: CaseAction, size: int) -> Batch:
    cases = await _closed_cases_due(cutoff, action).order_by("id").limit(size)
    ids = [case.id for case in cases]
    customers = {case.customer_id for case in cases}
    if action == "anonymise":
        keys = await anonymise_cases(ids)
        await CaseEvent.bulk_create(
            [CaseEvent(case_id=case_id, kind="retention_anonymised", actor="retention", data={}) for case_id in ids]
        )
        await _forget_idle_customers(customers, cutoff)
        return len(ids), keys, [case.number for case in cases]
    files = await Evidence.filter(case_id__in=ids)
    await Evidence.filter(id__in=[row.id for row in files]).delete()
    await TranscriptMessage.filter(case_id__in=ids).delete()
    await NlpCorrection.filter(case_id__in=ids).delete()
    for delivery in await WebhookDelivery.filter(case_number__in=[case.number for case in cases]):
        await WebhookDelivery.filter(id=delivery.id).update(body=erased_webhook_body(delivery.body))
    # Events, SLA clocks, timers, surveys and tickets of the case go with it (ON DELETE CASCADE).
    await delete_cases(ids)
    await _forget_idle_customers(customers, cutoff)
    return len(ids), {row.storage_key for row in files}, [case.number for case in cases]


async def _audit_batch(cutoff: datetime, size: int) -> Batch:
    ids = list(await AuditEntry.filter(created_at__lt=cutoff).order_by("id").limit(size).values_list(
        "id", flat=True))
    return (await AuditEntry.filter(id__in=ids).delete() if ids else 0), set(), []


async def _settled_outbox_batch(cutoff: datetime, size: int) -> Batch:
    ids = list(await _settled_outbox_due(cutoff).order_by("id").limit(size).values_list("id", flat=True))
    return (await OutboxItem.filter(id__in=ids).delete() if ids else 0), set(), []


async def apply_retention(
    cutoffs: RetentionCutoffs,
    evidence: LocalEvidenceStore,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    defer_files: Callable[[set[str]], Awaitable[None]] | None = None,
) -> RetentionOutcome:
    """Remove what is past its period, class by class, `batch_size` rows per transaction; with `max_batches`
    per class, stops there (`complete` False) so a timer's run stays short.

    A file is deleted only once the removal of its rows has committed: after each batch's transaction, or,
    when this runs inside a transaction of the caller's (the timer's), never here: `defer_files` is handed
    each batch's storage keys to record (in that transaction) for deletion after the commit."""
    plans: list[tuple[DataClass, str, datetime, Callable[[], Awaitable[Batch]]]] = []
    if cutoffs.evidence is not None:
        at = cutoffs.evidence
        plans.append(("evidence", "delete", at, lambda: _evidence_batch(at, batch_size)))
    if cutoffs.transcripts is not None:
        at_t = cutoffs.transcripts
        plans.append(("transcripts", "delete", at_t, lambda: _transcripts_batch(at_t, batch_size)))
    if cutoffs.closed_cases is not None:
        at_c, case_action = cutoffs.closed_cases, cutoffs.closed_cases_action
        plans.append(("closed_cases", case_action, at_c, lambda: _closed_cases_batch(at_c, case_action, batch_size)))
    if cutoffs.audit_log is not None:
        at_a = cutoffs.audit_log
        plans.append(("audit_log", "delete", at_a, lambda: _audit_batch(at_a, batch_size)))
    if cutoffs.settled_outbox is not None:
        at_o = cutoffs.settled_outbox
        plans.append(("settled_outbox", "delete", at_o, lambda: _settled_outbox_batch(at_o, batch_size)))
    outcomes: list[ClassOutcome] = []
    complete = True
    for data_class, action, cutoff, run_batch in plans:
        rows = files = batches = 0
        examples: list[str] = []
        while True:
            async with in_transaction():
                removed, keys, concerned = await run_batch()
                if defer_files is not None and keys:
                    await defer_files(keys)
            if defer_files is None:
                files += await delete_unreferenced_files(evidence, keys)
            else:
                files += len(keys)
            rows += removed
            examples += [item for item in concerned if item not in examples][: EXAMPLES - len(examples)]
            batches += 1
            if removed < batch_size:
                break
            if max_batches is not None and batches >= max_batches:
                complete = False
                break
        if data_class == "evidence":
            examples = list(await _case_numbers([int(item) for item in examples]))
        outcomes.append(ClassOutcome(data_class, action, cutoff, rows, files, tuple(examples)))
    return RetentionOutcome(tuple(outcomes), complete)


async def retention_pending(other_than: int | None = None) -> bool:
    """Whether a retention run is already scheduled (or running); its file deletions (key "retention-files")
    are not runs."""
    query = Timer.filter(kind="retention", key="retention", status__in=("pending", "firing"))
    if other_than is not None:
        query = query.exclude(id=other_than)
    return await query.exists()


async def bring_retention_run_forward(due_at: datetime) -> int:
    """A pending retention run due after `due_at` is moved to it (a policy just saved applies soon, not at the
    next daily sweep)."""
    return await Timer.filter(kind="retention", key="retention", status="pending", due_at__gt=due_at).update(
        due_at=due_at)


async def last_run() -> tuple[datetime, str, dict[str, object]] | None:
    """The last retention run that removed something: when, by whom, its report."""
    entry = await AuditEntry.filter(action="retention.applied").order_by("-id").first()
    return None if entry is None else (entry.created_at, entry.actor, dict(entry.after or {}))


async def stored_policy_text() -> str | None:
    """The policy as last saved in the console, if ever."""
    row = await RetentionPolicyText.all().order_by("-id").first()
    return None if row is None else row.text


async def store_policy_text(text: str, updated_by: str) -> None:
    async with in_transaction():
        row = await RetentionPolicyText.all().order_by("-id").first()
        if row is None:
            await RetentionPolicyText.create(text=text, updated_by=updated_by[:300])
        else:
            await RetentionPolicyText.filter(id=row.id).update(text=text, updated_by=updated_by[:300])
