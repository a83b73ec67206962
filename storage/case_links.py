"""Possible duplicates: the facts a complaint is compared on, the earlier cases of the same customer, and the
links between a case and the earlier one it may repeat (suggested, then linked or dismissed)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage.errors import CaseNotFound
from storage.models import Case, CaseLink, ChannelIdentity, Evidence, TranscriptMessage


@dataclass(frozen=True)
class ComplaintFacts:
    """What two complaints are compared on (the description decrypted)."""

    id: int
    number: str
    status: str
    customer_id: int
    phone_hash: str | None
    email_hash: str | None
    channel: str
    sender_id: str
    lang: str
    product: str | None
    category: str | None
    description: str
    created_at: datetime


@dataclass(frozen=True)
class LinkRecord:
    case_id: int
    case_number: str
    earlier_case_id: int
    earlier_number: str
    status: str  # suggested | linked | not_duplicate
    reasons: tuple[str, ...]
    created_at: datetime


def _facts(case: Case) -> ComplaintFacts:
    return ComplaintFacts(
        case.id, case.number, case.status, case.customer_id, case.phone_hash, case.email_hash, case.channel,
        case.sender_id, case.lang, case.product, case.category, case.description or "", case.created_at,
    )


async def _record(row: CaseLink) -> LinkRecord:
    numbers = dict(
        await Case.filter(id__in=(row.case_id, row.earlier_case_id)).values_list("id", "number")
    )
    return LinkRecord(
        row.case_id, str(numbers[row.case_id]), row.earlier_case_id, str(numbers[row.earlier_case_id]), row.status,
        tuple(str(reason) for reason in row.reasons), row.created_at,
    )


class TortoiseCaseLinks:
    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """One transaction for a decision taken outside any other (an agent's button)."""
        return in_transaction()

    async def facts(self, number: str) -> ComplaintFacts:
        case = await Case.get_or_none(number=number)
        if case is None:
            raise CaseNotFound(number)
        return _facts(case)

    async def earlier_cases(self, case: ComplaintFacts, since: datetime, limit: int = 20) -> list[ComplaintFacts]:
        """The same customer's cases filed since `since` before this one, newest first: the same customer row,
        or the same phone or email on another channel. A case already linked as a repeat of another is left
        out (the link goes to the original)."""
        same_customer = Q(customer_id=case.customer_id)
        if case.phone_hash:
            same_customer |= Q(phone_hash=case.phone_hash)
        if case.email_hash:
            same_customer |= Q(email_hash=case.email_hash)
        repeats = CaseLink.filter(status="linked").values_list("case_id", flat=True)
        rows = (
            await Case.filter(same_customer, id__lt=case.id, created_at__gte=since)
            .exclude(id__in=list(await repeats))
            .order_by("-id")
            .limit(limit)
        )
        return [_facts(row) for row in rows]

    async def link_of(self, case_id: int) -> LinkRecord | None:
        row = await CaseLink.filter(case_id=case_id).order_by("-id").first()
        return None if row is None else await _record(row)

    async def suggested_for(self, channel: str, sender_id: str, since: datetime) -> LinkRecord | None:
        """The customer's newest still-open question "is this about that case?", asked since `since`."""
        row = (
            await CaseLink.filter(
                status="suggested", case__channel=channel, case__sender_id=sender_id, created_at__gte=since
            )
            .order_by("-id")
            .first()
        )
        return None if row is None else await _record(row)

    async def suggest(self, case_id: int, earlier_case_id: int, reasons: tuple[str, ...]) -> bool:
        """False when this pair was suggested before (each pair is asked about once)."""
        if await CaseLink.exists(case_id=case_id, earlier_case_id=earlier_case_id):
            return False
        await CaseLink.create(
            case_id=case_id, earlier_case_id=earlier_case_id, status="suggested", reasons=list(reasons)
        )
        return True

    async def decide(self, case_id: int, earlier_case_id: int, status: str, actor: str, at: datetime) -> bool:
        """Link or dismiss; False when someone decided first (the conditional update makes it one decision)."""
        updated = await CaseLink.filter(
            case_id=case_id, earlier_case_id=earlier_case_id, status="suggested"
        ).update(status=status, decided_by=actor, decided_at=at)
        return bool(updated)

    async def linked_numbers(self, number: str) -> list[str]:
        """The cases linked to this one, either way round (for the console and the CLI)."""
        case = await Case.get_or_none(number=number)
        if case is None:
            raise CaseNotFound(number)
        rows = await CaseLink.filter(Q(case_id=case.id) | Q(earlier_case_id=case.id), status="linked")
        others = [row.earlier_case_id if row.case_id == case.id else row.case_id for row in rows]
        return [str(n) for n in await Case.filter(id__in=others).order_by("id").values_list("number", flat=True)]

    async def evidence_ids(self, case_id: int) -> list[int]:
        rows = await Evidence.filter(case_id=case_id).order_by("id").only("id")
        return [row.id for row in rows]

    async def add_to_transcript(self, case: ComplaintFacts, onto_case_id: int, text: str) -> None:
        """The repeat's words kept on the earlier case's transcript, as the customer's."""
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        if identity is not None:
            await TranscriptMessage.create(
                case_id=onto_case_id, identity=identity, direction="in", author="customer", text=text,
                payload={"linked_from": case.number},
            )
