"""Satisfaction surveys: asked once per case, answered once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import connections

from storage.customer_messages import CustomerCase
from storage.errors import CaseNotFound
from storage.models import Case, CsatSurvey
from storage.native_sql import quoted, select_rows

# On every first message of a customer without a conversation (is it a survey answer?): plain SQL, because
# the ORM builds this join for several milliseconds each time. By dialect ("case" is a keyword: quoted).
_LATEST_SURVEY = {
    dialect: "SELECT s.case_id, c.number AS case_number, s.channel, s.sender_id, s.lang, s.status, s.score, "
    f"s.comment, s.reason, s.asked_at, s.answered_at FROM csat_survey s JOIN {quoted(dialect, 'case')} c "
    "ON c.id = s.case_id WHERE s.channel = ? AND s.sender_id = ? AND s.asked_at >= ? "
    "ORDER BY s.asked_at DESC, s.id DESC LIMIT 1"
    for dialect in ("postgres", "sqlite", "mysql")
}
_ASKED_AT = CsatSurvey._meta.fields_map["asked_at"]


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
        connection = connections.get("default")
        rows = await select_rows(
            CsatSurvey, _LATEST_SURVEY[connection.capabilities.dialect],
            [channel, sender_id, _ASKED_AT.to_db_value(asked_since, CsatSurvey)], connection=connection,
        )
        return SurveyRecord(**rows[0]) if rows else None

    async def create(
        self, case: CustomerCase, status: str, at: datetime | None, reason: str | None = None
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
