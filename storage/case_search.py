"""Finding cases for the admin console: filters, free-text search and cursor pagination (newest first;
the cursor is the last id seen, so pages stay stable while new cases arrive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from storage.cases import CaseDetails, case_details
from storage.crypto import lookup_hashes
from storage.models import Case, CaseEvent, Conversation


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    team: str | None = None
    category: str | None = None
    product: str | None = None
    channel: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


@dataclass(frozen=True)
class CasePage:
    cases: tuple[CaseDetails, ...]
    last_id: int | None  # continue below this id; None when this was the last page


@dataclass(frozen=True)
class FlowOrigin:
    flow_id: str
    flow_version: int


class TortoiseCaseSearch:
    async def page(self, where: CaseFilter, limit: int, before_id: int | None = None) -> CasePage:
        query = Case.all().order_by("-id")
        for name, value in (
            ("status", where.status), ("team", where.team), ("category", where.category),
            ("product", where.product), ("channel", where.channel), ("lang", where.language),
        ):
            if value:
                query = query.filter(**{name: value})
        if where.since:
            query = query.filter(created_at__gte=where.since)
        if where.until:
            query = query.filter(created_at__lt=where.until)
        if where.text:
            text = where.text.strip()
            # Personal fields are encrypted at rest: a phone number or an email is found by its keyed hash
            # (exact match); names and descriptions cannot be searched in SQL.
            found = Q(number__iexact=text) | Q(product__icontains=text) | Q(category__icontains=text)
            if "@" in text:
                found |= Q(email_hash__in=lookup_hashes("email", text))
            elif sum(character.isdigit() for character in text) >= 6:
                found |= Q(phone_hash__in=lookup_hashes("phone", text))
            query = query.filter(found)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        rows = await query.limit(limit + 1)
        cases = tuple(case_details(row) for row in rows[:limit])
        return CasePage(cases, cases[-1].id if len(rows) > limit and cases else None)

    async def flow_origin(self, case_id: int) -> FlowOrigin | None:
        """The flow version that collected the case: recorded on its "filed" event, else its conversation."""
        event = await CaseEvent.filter(case_id=case_id, kind="filed").first()
        if event is not None and isinstance(event.data, dict) and event.data.get("flow_version"):
            return FlowOrigin(str(event.data["flow_id"]), int(event.data["flow_version"]))
        case = await Case.get_or_none(id=case_id)
        if case is None or case.conversation_id is None:
            return None
        conversation = await Conversation.get_or_none(id=case.conversation_id)
        return FlowOrigin(conversation.flow_id, conversation.flow_version) if conversation else None
