"""Cases for supervisors: reading them (contact details masked unless the role may see them) and acting on
them through the same desk service Slack uses, so Slack's case message updates in place."""

from __future__ import annotations

import re
from typing import Protocol

from bot.admin.audit import Actor, AuditTrail
from bot.admin.errors import AdminError, CaseActionRefused
from bot.admin.masking import mask_in, mask_text
from bot.admin.models import (
    CaseActionRequest,
    CaseActionResult,
    CaseListItem,
    CaseOut,
    EventOut,
    EvidenceOut,
    TranscriptOut,
)
from bot.desk.service import DeskOutcome, DeskOutcomeKind, DeskService
from bot.evidence_links import EvidenceLinks
from storage.case_search import TortoiseCaseSearch
from storage.cases import CaseDetails, TortoiseCaseRepository


class CaseReaders(Protocol):
    """What reading a case needs (the console's dependencies object has it all)."""

    @property
    def desk(self) -> DeskService: ...
    @property
    def cases(self) -> TortoiseCaseRepository: ...
    @property
    def case_search(self) -> TortoiseCaseSearch: ...
    @property
    def evidence_links(self) -> EvidenceLinks: ...

# What each action needs in the request besides its name.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "assign": ("assignee",),
    "reply": ("text",),
    "note": ("text",),
    "resolve": ("summary", "code"),
}


class CaseNotFoundError(AdminError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no case {number}")
        self.number = number


_CASE_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")


def case_number(value: str) -> str:
    """A case number as typed or linked; anything that cannot be one is simply not found."""
    value = value.strip().upper()
    if not _CASE_NUMBER.fullmatch(value):
        raise CaseNotFoundError(value[:40])
    return value


def list_item(case: CaseDetails, masked: bool) -> CaseListItem:
    return CaseListItem(
        number=case.number, status=case.status, channel=case.channel, lang=case.lang,
        name=mask_text(case.name) if masked else case.name, product=case.product, category=case.category,
        team=case.team, assignee=case.assignee, created_at=case.created_at,
    )


async def case_out(deps: CaseReaders, number: str, masked: bool) -> CaseOut:
    summary = await deps.desk.get_case(case_number(number))
    if summary is None:
        raise CaseNotFoundError(number.strip().upper())
    case = await deps.cases.get(summary.number)
    origin = await deps.case_search.flow_origin(case.id)
    secrets = [case.name, case.phone, case.email, case.sender_id]

    def shown(value: str | None) -> str | None:
        return mask_text(value) if masked else value

    def text(value: str) -> str:
        return mask_in(value, secrets) if masked else value

    return CaseOut(
        number=case.number, status=case.status, channel=case.channel, sender_id=shown(case.sender_id) or "",
        lang=case.lang, name=shown(case.name), phone=shown(case.phone), email=shown(case.email),
        description=case.description, occurred_at=case.occurred_at, occurred_where=case.occurred_where,
        product=case.product, product_confidence=case.product_confidence, category=case.category,
        category_confidence=case.category_confidence, expected_resolution=case.expected_resolution,
        extra=case.extra, team=case.team, assignee=case.assignee, resolution_summary=case.resolution_summary,
        resolution_code=case.resolution_code, flow_id=origin.flow_id if origin else None,
        flow_version=origin.flow_version if origin else None, contacts_masked=masked,
        created_at=case.created_at, updated_at=case.updated_at,
        priority=case.priority, linked_cases=list(case.linked_cases),
        evidence=[
            EvidenceOut(id=item.id, file_name=item.file_name, media_type=item.media_type, size=item.size,
                        sha256=item.sha256, url=deps.evidence_links.url(item.id))
            for item in case.evidence
        ],
        transcript=[
            TranscriptOut(direction=entry.direction, author=entry.author, text=text(entry.text),
                          created_at=entry.created_at)
            for entry in case.transcript
        ],
        events=[
            EventOut(kind=event.kind, actor=event.actor,
                     data={key: text(value) if isinstance(value, str) else value for key, value in event.data.items()},
                     created_at=event.created_at)
            for event in case.events
        ],
    )


class DuplicateDecider(Protocol):
    """The lifecycle room's duplicate service, as the console uses it (the same calls as the Slack buttons)."""

    async def possible_duplicate_of(self, number: str) -> str | None: ...

    async def agent_decides(self, number: str, linked: bool, actor: str) -> DuplicateDecision: ...


class DuplicateDecision(Protocol):
    @property
    def applied(self) -> bool: ...
    @property
    def message(self) -> str: ...


class CaseDuplicates:
    """Link / Not a duplicate from the console: whoever decides first decides (Slack, the customer or here);
    a decision taken here is audited."""

    def __init__(self, duplicates: DuplicateDecider, audit: AuditTrail) -> None:
        self._duplicates = duplicates
        self._audit = audit

    async def possible_duplicate_of(self, number: str) -> str | None:
        return await self._duplicates.possible_duplicate_of(case_number(number))

    async def decide(self, number: str, linked: bool, actor: Actor) -> str | None:
        """None when applied; otherwise why not (already decided, no possible duplicate, no such case)."""
        number = case_number(number)
        earlier = await self._duplicates.possible_duplicate_of(number)
        decision = await self._duplicates.agent_decides(number, linked, actor.name)
        if not decision.applied:
            return decision.message
        await self._audit.record(
            actor, "case.duplicate_link" if linked else "case.not_duplicate", "case", number,
            {"possible_duplicate_of": earlier}, {"linked_to" if linked else "not_duplicate_of": earlier},
        )
        return None


class CaseActions:
    def __init__(self, desk: DeskService, audit: AuditTrail) -> None:
        self._desk = desk
        self._audit = audit

    async def apply(self, number: str, request: CaseActionRequest, actor: Actor, key: str) -> CaseActionResult:
        missing = [name for name in REQUIRED_FIELDS.get(request.action, ()) if getattr(request, name) is None]
        if missing:
            raise CaseActionRefused(number, 422, f"{request.action} needs {' and '.join(missing)}")
        case = await self._desk.get_case(case_number(number))
        if case is None:
            raise CaseNotFoundError(number.strip().upper())
        dedupe = f"admin:{actor.name}:{key}"
        outcome = await self._run(case, request, actor.name, dedupe)
        if outcome.kind is DeskOutcomeKind.NOT_FOUND:
            raise CaseNotFoundError(case.number)
        if outcome.kind is DeskOutcomeKind.REFUSED:
            raise CaseActionRefused(case.number, 409, outcome.message or f"{request.action} is not possible now")
        if outcome.kind is DeskOutcomeKind.INVALID:  # a product or category the catalog/taxonomy does not hold
            raise CaseActionRefused(case.number, 422, outcome.message)
        after = await self._desk.get_case(case.number)
        status = after.status if after else case.status
        if outcome.kind is DeskOutcomeKind.APPLIED:
            await self._audit.record(
                actor, f"case.{request.action}", "case", case.number,
                {"status": case.status, "assignee": case.assignee, "product": case.product, "category": case.category},
                {"status": status, "assignee": after.assignee if after else None,
                 "product": after.product if after else None, "category": after.category if after else None,
                 **request.model_dump(exclude_none=True, exclude={"action"})},
            )
        return CaseActionResult(
            outcome="applied" if outcome.kind is DeskOutcomeKind.APPLIED else "duplicate",
            case_number=case.number, status=status,
        )

    async def _run(self, case: CaseDetails, request: CaseActionRequest, actor: str, key: str) -> DeskOutcome:
        number = case.number
        match request.action:
            case "acknowledge":
                return await self._desk.acknowledge(number, actor, key)
            case "assign":
                return await self._desk.assign_to(number, request.assignee or "", actor, key)
            case "reclassify":
                if not (request.product or request.category):
                    raise CaseActionRefused(number, 422, "reclassify needs product or category")
                return await self._desk.reclassify(number, request.product, request.category, actor, key)
            case "resolve":
                return await self._desk.resolve(number, request.summary or "", request.code or "", actor, key)
            case "close":
                return await self._desk.close(number, actor, key)
            case "reopen":
                return await self._desk.reopen(number, actor, key)
            case "reply" | "note":
                # The desk relays replies through the case's Slack thread (and keeps "note:" internal there).
                if case.slack_channel is None or case.slack_ts is None:
                    raise CaseActionRefused(number, 409, "this case has no desk thread yet: replies and notes "
                                            "need the agent desk (Slack) to have posted the case")
                text = request.text or ""
                if request.action == "note":
                    text = f"note: {text}"
                elif text.strip().lower().startswith("note:"):
                    raise CaseActionRefused(number, 422, 'a reply cannot start with "note:" (use the note action)')
                return await self._desk.thread_reply(case.slack_channel, case.slack_ts, text, actor, key)
        raise CaseActionRefused(number, 422, f"unknown action {request.action}")
