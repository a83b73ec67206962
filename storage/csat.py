"""Satisfaction surveys: asked once per case, answered once, with the question in the case transcript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from storage.errors import CaseNotFound
from storage.models import Case, ChannelIdentity, CsatSurvey, Customer, TranscriptMessage
from storage.outbox import add_outbox_item
from storage.timers import JsonValue


@dataclass(frozen=True)
class SurveyCase:
    id: int
    number: str
    status: str
    channel: str
    sender_id: str
    lang: str
    # When the customer last wrote to us on this channel (WeChat allows pushes within 48 hours of it).
    last_inbound_at: datetime | None
    unreachable: bool


@dataclass(frozen=True)
class SurveyRecord:
    case_id: int
    case_number: str
    channel: str
    sender_id: str
    lang: str
    status: str
    score: int | None
    comment: str | None
    reason: str | None
    asked_at: datetime | None
    answered_at: datetime | None


def _record(row: CsatSurvey, number: str) -> SurveyRecord:
    return SurveyRecord(
        row.case_id, number, row.channel, row.sender_id, row.lang, row.status, row.score, row.comment, row.reason,
        row.asked_at, row.answered_at,
    )


class TortoiseCsatStore:
    async def case(self, case_id: int) -> SurveyCase:
        case = await Case.get_or_none(id=case_id)
        if case is None:
            raise CaseNotFound(str(case_id))
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        customer = await Customer.get(id=case.customer_id)
        return SurveyCase(
            case.id, case.number, case.status, case.channel, case.sender_id, case.lang,
            identity.last_inbound_at if identity else None, customer.unreachable,
        )

    async def case_id(self, number: str) -> int:
        case = await Case.get_or_none(number=number)
        if case is None:
            raise CaseNotFound(number)
        return case.id

    async def survey(self, case_id: int) -> SurveyRecord | None:
        row = await CsatSurvey.get_or_none(case_id=case_id).select_related("case")
        return None if row is None else _record(row, row.case.number)

    async def by_case_number(self, number: str) -> SurveyRecord | None:
        row = await CsatSurvey.get_or_none(case__number=number).select_related("case")
        return None if row is None else _record(row, row.case.number)

    async def latest_for(self, channel: str, sender_id: str, asked_since: datetime) -> SurveyRecord | None:
        """The customer's most recent survey asked since `asked_since` (older ones no longer take answers)."""
        row = (
            await CsatSurvey.filter(channel=channel, sender_id=sender_id, asked_at__gte=asked_since)
            .select_related("case")
            .order_by("-asked_at", "-id")
            .first()
        )
        return None if row is None else _record(row, row.case.number)

    async def create(
        self, case: SurveyCase, status: str, at: datetime | None, reason: str | None = None
    ) -> None:
        await CsatSurvey.create(
            case_id=case.id, channel=case.channel, sender_id=case.sender_id, lang=case.lang, status=status,
            asked_at=at, reason=reason,
        )

    async def record_score(self, case_id: int, score: int, at: datetime, next_status: str) -> bool:
        """False when the survey was already answered: the conditional update is what makes it one answer."""
        updated = await CsatSurvey.filter(case_id=case_id, status="asked").update(
            status=next_status, score=score, answered_at=at
        )
        return bool(updated)

    async def record_comment(self, case_id: int, comment: str | None) -> bool:
        updated = await CsatSurvey.filter(case_id=case_id, status="awaiting_comment").update(
            status="answered", comment=comment
        )
        return bool(updated)

    async def send_to_customer(self, case: SurveyCase, text: str, payload: Mapping[str, JsonValue]) -> None:
        """The question into the outbox (in the customer's message order) and the case transcript."""
        await add_outbox_item(
            kind="message", channel=case.channel, ordering_key=f"{case.channel}:{case.sender_id}", payload=payload
        )
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        if identity is not None:
            await TranscriptMessage.create(
                case_id=case.id, identity=identity, direction="out", author="bot", text=text, payload=dict(payload)
            )
