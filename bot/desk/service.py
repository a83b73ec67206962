"""The desk service: applies what agents do (and what the desk learns about a case) in one transaction each:
the lifecycle decides, the case row changes, the transition is stored as a CaseEvent with actor and time,
and the outbox gets the desk event and anything the customer must hear. Slack-free: built by the
composition root whether or not Slack is on, so the CLI, an admin page or a timer can use it; the Slack
listeners convert payloads into these calls."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol, cast, get_args

from bot.case_events import case_event_item
from bot.customer_script import in_customer_script
from bot.desk.agent_files import AgentFile
from bot.desk.events import (
    DESK_OUTBOX_CHANNEL,
    DESK_OUTBOX_KIND,
    CaseChanged,
    CaseMoved,
    DeskEvent,
    desk_event_key,
    desk_event_to_payload,
)
from bot.desk.lifecycle import (
    OPEN_STATUSES,
    CaseAction,
    CaseStatus,
    LifecycleError,
    Transition,
    transition,
)
from bot.desk.routing import CaseFacts, RoutingConfig, next_agent, route
from bot.desk.vocabulary import DeskVocabulary, resolution_label
from bot.errors import PlaintError
from bot.messages import ChannelName, Outbound, OutboundFile, outbound_to_payload
from bot.ordering import customer_key
from bot.texts import say
from storage.audit import TortoiseAuditLog
from storage.cases import CaseDetails
from storage.desk import CaseUpdate, DeskUnitOfWork, JsonValue, OutboxRow, QueueFilter, TortoiseDeskStore

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "plaint"
# Agent events get their own receipt namespace so they never collide with customer message ids.
RECEIPT_SOURCE = "slack_desk"
NOTE_PREFIX = "note:"
_OPEN = sorted(OPEN_STATUSES)

# An extra step run inside an action's transaction, given the case as it was before the change.
_CaseStep = Callable[[DeskUnitOfWork, CaseDetails], Awaitable[None]]

class CaseObserver(Protocol):
    """Told about every change the desk makes to a case, inside the same transaction (SLA clocks)."""

    async def transitioned(self, number: str, action: str, source: str, target: str) -> None: ...


class DeskOutcomeKind(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # a retry of something already applied: nothing changed
    REFUSED = "refused"  # the lifecycle does not allow it in the case's status
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # a value the catalog or the taxonomy does not hold


@dataclass(frozen=True)
class DeskOutcome:
    """What became of an agent's action. A refusal says why in data (the case's status, the action refused,
    who put the case in that status and when), so the desk can tell the agent in their language."""

    kind: DeskOutcomeKind
    case_number: str | None = None
    message: str = ""
    action: str = ""
    status: str | None = None
    by: str | None = None
    at: datetime | None = None
    # The case's team, for the language of the answer.
    team: str | None = None


class RevealRefused(PlaintError):
    """`reason`: "not_found", or "not_team" (the agent is not a member of the case's team)."""

    def __init__(self, reason: str, team: str | None) -> None:
        super().__init__(f"contact reveal refused: {reason}")
        self.reason = reason
        self.team = team


@dataclass(frozen=True)
class RevealedContact:
    number: str
    name: str | None
    phone: str | None
    email: str | None


def _nothing_to_wake() -> None:
    return None


class DeskService:
    def __init__(
        self,
        store: TortoiseDeskStore,
        routing: RoutingConfig,
        wake_outbox: Callable[[], None] = _nothing_to_wake,
        *,
        observer: CaseObserver | None = None,
        vocabulary: DeskVocabulary | Callable[[], DeskVocabulary] | None = None,
        audit: TortoiseAuditLog | None = None,
    ) -> None:
        self._audit = audit
        self._store = store
        self._routing = routing
        # When given, reclassification accepts only the catalog's products and the taxonomy's categories. A
        # callable is asked on first use: the catalog comes with the NLP models, which load after start-up.
        self._vocabulary_source = vocabulary
        self._vocabulary: DeskVocabulary | None = None
        # Called after a commit that queued something: the outbox worker sends it now, not at its next poll.
        self._wake_outbox = wake_outbox
        self._observer = observer

    @property
    def routing(self) -> RoutingConfig:
        return self._routing

    def use_routing(self, routing: RoutingConfig) -> None:
        """Routing an admin edited (bot/admin/desk_settings.py): the next cases are routed by it."""
        self._routing = routing

    def forget_vocabulary(self) -> None:
        """The catalog or the taxonomy was edited (bot/admin/desk_settings.py): labels are built again on next use."""
        if not isinstance(self._vocabulary_source, DeskVocabulary):
            self._vocabulary = None

    @property
    def vocabulary(self) -> DeskVocabulary:
        return self._known_vocabulary() or DeskVocabulary()

    def _known_vocabulary(self) -> DeskVocabulary | None:
        if self._vocabulary is None and self._vocabulary_source is not None:
            source = self._vocabulary_source
            self._vocabulary = source if isinstance(source, DeskVocabulary) else source()
        return self._vocabulary

    def team_language(self, team_name: str | None) -> str:
        """The language of a team's Slack chrome (English for no team or one no longer configured)."""
        if team_name is None:
            return "en"
        try:
            return self._routing.team(team_name).language
        except KeyError:
            return "en"

    async def check(self, number: str, action: CaseAction) -> DeskOutcome:
        """Would `action` be allowed now? APPLIED means yes (nothing is changed): buttons ask before a modal
        opens, and a modal's submission asks again before it closes."""
        case = await self.get_case(number)
        if case is None:
            return DeskOutcome(DeskOutcomeKind.NOT_FOUND, number.strip().upper(), action=action.value)
        try:
            transition(case.status, action)
        except LifecycleError as error:
            return await self._refusal(case, action, str(error))
        return DeskOutcome(DeskOutcomeKind.APPLIED, case.number, action=action.value, status=case.status.value,
                           team=case.team)

    async def _refusal(self, case: CaseDetails, action: CaseAction, reason: str) -> DeskOutcome:
        """A refusal with who put the case in its present status, and when (the latest event that did)."""
        by: str | None = None
        at: datetime | None = None
        for event in reversed(await self._store.events(case.number)):
            if event.data.get("to") == case.status.value:
                by, at = event.actor, event.created_at
                break
        return DeskOutcome(
            DeskOutcomeKind.REFUSED, case.number, f"{case.number}: {reason}", action.value, case.status.value, by, at,
            case.team,
        )

    async def get_case(self, number: str) -> CaseDetails | None:
        return await self._store.get_case(number.strip().upper())

    async def case_by_thread(self, slack_channel: str, thread_ts: str) -> CaseDetails | None:
        async with self._store.unit_of_work() as uow:
            return await uow.lock_case_by_thread(slack_channel, thread_ts)

    async def open_cases(self, assignee: str | None = None, limit: int = 20) -> list[CaseDetails]:
        return await self._store.list_cases(_OPEN, assignee=assignee, limit=limit)

    async def queue(self, select: QueueFilter, limit: int = 20) -> list[CaseDetails]:
        """Open cases most at risk first (SLA breached, nearest due, then oldest), filtered in the database."""
        return await self._store.queue(_OPEN, select, limit)

    async def reveal_contact(self, number: str, agent: str) -> RevealedContact:
        """The unmasked contact of a case, for a member of its team only; every reveal is a case event and an
        audit-log row (who and which case; never the contact itself)."""
        number = number.strip().upper()
        async with self._store.unit_of_work() as uow:
            case = await uow.lock_case(number)
            if case is None:
                raise RevealRefused("not_found", None)
            members = self._team_members(case.team)
            if agent not in members:
                raise RevealRefused("not_team", case.team)
            await uow.add_event(number, "contact_revealed", agent, {"fields": "name, phone, email"})
            if self._audit is not None:
                await self._audit.append(
                    actor=f"slack:{agent}", via="slack", source_ip=None, action="case.contact_revealed",
                    object_type="case", object_id=number, before=None, after=None, changes=["name", "phone", "email"],
                )
        return RevealedContact(number, case.name, case.phone, case.email)

    def _team_members(self, team_name: str | None) -> tuple[str, ...]:
        if team_name is None:
            return ()
        try:
            return self._routing.team(team_name).members
        except KeyError:
            return ()

    async def tell_desk(self, event: DeskEvent) -> None:
        """Queue a desk event on its own (the delivery watch: a customer did not get an agent's message)."""
        async with self._store.unit_of_work() as uow:
            await _enqueue_desk_event(uow, event)
        self._wake_outbox()

    # --- routing and assignment ----------------------------------------------------------------------

    async def route_and_assign(self, number: str) -> CaseDetails | None:
        """Give a newly filed case its team and, capacity permitting, an agent; idempotent."""
        async with self._store.unit_of_work() as uow:
            case = await uow.lock_case(number)
            if case is None:
                return None
            if case.team is None:
                team = route(self._routing, CaseFacts(case.category, case.product, case.channel, case.lang))
                await uow.update_case(number, CaseUpdate(team=team.name))
                await uow.add_event(number, "routed", SYSTEM_ACTOR, {"team": team.name})
                if self._observer is not None:
                    await self._observer.transitioned(number, "routed", case.status, case.status)
                await self._assign_waiting(uow, team.name, being_notified=number)
        self._wake_outbox()
        return await self._store.get_case(number)

    async def _assign_waiting(self, uow: DeskUnitOfWork, team_name: str, being_notified: str | None = None) -> None:
        """Hand the team's unassigned open cases, oldest first, to whoever has room (round-robin).
        `being_notified` is the case whose Slack message is rendered right now: it needs no extra update."""
        team = next((team for team in self._routing.teams if team.name == team_name), None)
        if team is None:
            return  # an admin removed the team from the routing since: its cases wait to be reassigned
        waiting = await uow.unassigned_cases(team_name, _OPEN)
        if not waiting or not team.members:
            return
        last = await uow.lock_assignment_cursor(team_name)
        counts = await uow.open_case_counts(team_name, _OPEN)
        for number in waiting:
            agent = next_agent(team.members, last, counts, team.max_open_per_agent)
            if agent is None:
                break
            await uow.update_case(number, CaseUpdate(assignee=agent))
            await uow.add_event(number, "assigned", SYSTEM_ACTOR, {"assignee": agent, "by": "round_robin"})
            await uow.set_assignment_cursor(team_name, agent)
            if number != being_notified:
                await _enqueue_desk_event(uow, CaseChanged(number, "assigned", SYSTEM_ACTOR, (("assignee", agent),)))
            counts[agent] = counts.get(agent, 0) + 1
            last = agent

    # --- agent actions -------------------------------------------------------------------------------

    async def acknowledge(self, number: str, actor: str, dedupe_key: str) -> DeskOutcome:
        return await self._apply(number, CaseAction.ACKNOWLEDGE, actor, dedupe_key)

    async def assign_to(self, number: str, agent: str, actor: str, dedupe_key: str) -> DeskOutcome:
        # The previous assignee goes into the event: the thread line tells them their case was taken over.
        previous: dict[str, str | None] = {}

        async def remember_previous(uow: DeskUnitOfWork, case: CaseDetails) -> None:
            previous["previous"] = case.assignee

        return await self._apply(
            number, CaseAction.ASSIGN, actor, dedupe_key, CaseUpdate(assignee=agent), {"assignee": agent},
            before_update=remember_previous, details_from_case=previous,
        )

    async def move_to_team(self, number: str, team_name: str, actor: str, dedupe_key: str) -> DeskOutcome:
        """Assign the case to another team: it leaves its assignee (who is told, in the old thread), is posted
        afresh in the new team's channel and assigned there by the round-robin; a case event and an audit row
        record who moved it from where to where."""
        number = number.strip().upper()
        target = self._routing.team_for_name(team_name)
        async with self._store.unit_of_work() as uow:
            case = await uow.lock_case(number)
            if case is None:
                return DeskOutcome(DeskOutcomeKind.NOT_FOUND, number, f"no case {number}", CaseAction.ASSIGN.value)
            if target is None or target.name == case.team:
                return DeskOutcome(DeskOutcomeKind.INVALID, number, f"no other team {team_name!r}",
                                   CaseAction.ASSIGN.value, team=case.team)
            if not await uow.claim_receipt(RECEIPT_SOURCE, dedupe_key):
                return DeskOutcome(DeskOutcomeKind.DUPLICATE, number, action=CaseAction.ASSIGN.value, team=case.team)
            try:
                transition(case.status, CaseAction.ASSIGN)  # only a case still being worked moves
            except LifecycleError as error:
                return await self._refusal(case, CaseAction.ASSIGN, str(error))
            await uow.move_case(number, target.name)
            details: dict[str, JsonValue] = {"from": case.team, "to": target.name, "previous": case.assignee}
            await uow.add_event(number, "team_changed", actor, details)
            if self._audit is not None:
                await self._audit.append(
                    actor=f"slack:{actor}", via="slack", source_ip=None, action="case.team_changed",
                    object_type="case", object_id=number, before={"team": case.team, "assignee": case.assignee},
                    after={"team": target.name, "assignee": None}, changes=["team", "assignee"],
                )
            if case.slack_channel and case.slack_ts:
                await _enqueue_desk_event(uow, CaseMoved(
                    number, case.team or "", target.name, case.slack_channel, case.slack_ts, actor, case.assignee or ""
                ))
            else:
                await _enqueue_desk_event(uow, CaseChanged(number))
            await self._assign_waiting(uow, target.name, being_notified=number)
            if case.team is not None:
                await self._assign_waiting(uow, case.team)  # the old assignee has room for a waiting case
        self._wake_outbox()
        return DeskOutcome(DeskOutcomeKind.APPLIED, number, action=CaseAction.ASSIGN.value, status=case.status.value,
                           team=target.name)

    async def reclassify(
        self, number: str, product: str | None, category: str | None, actor: str, dedupe_key: str
    ) -> DeskOutcome:
        product = (product or "").strip() or None
        category = (category or "").strip() or None
        vocabulary = self._known_vocabulary()
        if vocabulary is not None:
            unknown = [
                value
                for value, known in ((product, vocabulary.products), (category, vocabulary.categories))
                if value is not None and known and value not in known
            ]
            if unknown:
                return DeskOutcome(DeskOutcomeKind.INVALID, number, f"not in the catalog or taxonomy: {unknown[0]}",
                                   CaseAction.RECLASSIFY.value)

        async def store_corrections(uow: DeskUnitOfWork, case: CaseDetails) -> None:
            # Each changed field is one labelled example for retraining the NLP.
            if product is not None and product != case.product:
                await uow.add_correction(case.number, "product", case.product, product, actor)
            if category is not None and category != case.category:
                await uow.add_correction(case.number, "category", case.category, category, actor)

        update = CaseUpdate(
            product=product,
            product_confidence=1.0 if product else None,
            category=category,
            category_confidence=1.0 if category else None,
        )
        return await self._apply(
            number,
            CaseAction.RECLASSIFY,
            actor,
            dedupe_key,
            update,
            {"product": product, "category": category},
            before_update=store_corrections,
        )

    async def resolve(self, number: str, summary: str, code: str, actor: str, dedupe_key: str) -> DeskOutcome:
        async def tell_customer(uow: DeskUnitOfWork, case: CaseDetails) -> None:
            # The customer reads the outcome's label in their own language, never the code.
            label = resolution_label(code, case.lang)
            text = say("case_resolved", case.lang, number=case.number, code=label, summary=summary)
            await self._message_customer(uow, case, text, "status_update", actor)

        async def free_capacity(uow: DeskUnitOfWork, case: CaseDetails) -> None:
            if case.team is not None:
                await self._assign_waiting(uow, case.team)

        return await self._apply(
            number,
            CaseAction.RESOLVE,
            actor,
            dedupe_key,
            CaseUpdate(resolution_summary=summary, resolution_code=code),
            {"summary": summary, "code": code},
            before_update=tell_customer,
            after_update=free_capacity,
        )

    async def close(self, number: str, actor: str, dedupe_key: str) -> DeskOutcome:
        return await self._apply(number, CaseAction.CLOSE, actor, dedupe_key)

    async def reopen(self, number: str, actor: str, dedupe_key: str) -> DeskOutcome:
        return await self._apply(number, CaseAction.REOPEN, actor, dedupe_key)

    async def thread_reply(
        self, slack_channel: str, thread_ts: str, text: str, actor: str, dedupe_key: str,
        files: Sequence[AgentFile] = (),
    ) -> DeskOutcome:
        """An agent wrote in a case thread: relayed to the customer (with the files they shared, stored with the
        case), or kept internal when it is a note."""
        outcome = await self._thread_reply(slack_channel, thread_ts, text, actor, dedupe_key, files)
        if outcome.kind is DeskOutcomeKind.APPLIED:
            self._wake_outbox()
        return outcome

    async def _thread_reply(
        self, slack_channel: str, thread_ts: str, text: str, actor: str, dedupe_key: str,
        files: Sequence[AgentFile] = (),
    ) -> DeskOutcome:
        async with self._store.unit_of_work() as uow:
            case = await uow.lock_case_by_thread(slack_channel, thread_ts)
            if case is None:
                return DeskOutcome(DeskOutcomeKind.NOT_FOUND)
            if not await uow.claim_receipt(RECEIPT_SOURCE, dedupe_key):
                return DeskOutcome(DeskOutcomeKind.DUPLICATE, case.number)
            if text.strip().lower().startswith(NOTE_PREFIX):
                note = text.strip()[len(NOTE_PREFIX) :].strip()
                await uow.add_event(case.number, "note", actor, {"text": note})
                return DeskOutcome(DeskOutcomeKind.APPLIED, case.number, "note kept internal", "note", team=case.team)
            if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and self._reopens_on_reply(case.team):
                # The team chose replies that reopen: the case is worked again, then the reply goes out.
                reopened = transition(case.status, CaseAction.REOPEN)
                await self._record(uow, case.number, reopened, actor, CaseUpdate(), {"by": "reply"})
                case = await uow.lock_case(case.number) or case
            try:
                step = transition(case.status, CaseAction.AGENT_REPLY)
            except LifecycleError as error:
                refusal = await self._refusal(case, CaseAction.AGENT_REPLY, str(error))
                return refusal
            outbound_files = [
                OutboundFile(item.name, item.blob.media_type, item.blob.size,
                             await uow.add_case_file(case.number, item.blob, item.name))
                for item in files
            ]
            shown = text or "\n".join(f"📎 {item.name}" for item in outbound_files)
            relayed = say("agent_reply", case.lang, number=case.number, text=shown)
            await self._message_customer(uow, case, relayed, "agent_reply", actor, tuple(outbound_files))
            await self._record(uow, case.number, step, actor, CaseUpdate(), {"text": text}, announce=False)
            return DeskOutcome(DeskOutcomeKind.APPLIED, case.number, action=step.action.value, team=case.team)

    def _reopens_on_reply(self, team_name: str | None) -> bool:
        if team_name is None:
            return False
        try:
            return self._routing.team(team_name).reopen_on_reply
        except KeyError:
            return False

    # --- the one way an agent action is applied ------------------------------------------------------

    async def _apply(
        self,
        number: str,
        action: CaseAction,
        actor: str,
        dedupe_key: str,
        update: CaseUpdate | None = None,
        details: dict[str, str | None] | None = None,
        before_update: _CaseStep | None = None,
        after_update: _CaseStep | None = None,
        details_from_case: dict[str, str | None] | None = None,
    ) -> DeskOutcome:
        number = number.strip().upper()
        async with self._store.unit_of_work() as uow:
            case = await uow.lock_case(number)
            if case is None:
                return DeskOutcome(DeskOutcomeKind.NOT_FOUND, number, f"no case {number}", action.value)
            if not await uow.claim_receipt(RECEIPT_SOURCE, dedupe_key):
                return DeskOutcome(DeskOutcomeKind.DUPLICATE, number, action=action.value, team=case.team)
            try:
                step = transition(case.status, action)
            except LifecycleError as error:
                return await self._refusal(case, action, str(error))
            if before_update is not None:
                await before_update(uow, case)
            all_details = {**(details or {}), **(details_from_case or {})}
            await self._record(uow, number, step, actor, update or CaseUpdate(), all_details)
            if after_update is not None:
                await after_update(uow, case)
        self._wake_outbox()
        return DeskOutcome(DeskOutcomeKind.APPLIED, number, action=action.value, status=step.target.value,
                           team=case.team)

    async def _record(
        self,
        uow: DeskUnitOfWork,
        number: str,
        step: Transition,
        actor: str,
        update: CaseUpdate,
        details: dict[str, str | None],
        *,
        announce: bool = True,
    ) -> None:
        await uow.update_case(number, CaseUpdate(**{**vars(update), "status": step.target}))
        data: dict[str, str | None] = {"from": step.source.value, "to": step.target.value, **details}
        await uow.add_event(number, step.action.value, actor, dict(data))
        if self._observer is not None:
            await self._observer.transitioned(number, step.action.value, step.source.value, step.target.value)
        # `announce`: one thread line for the event; a relayed reply is already in the thread (it gets a reaction).
        line = tuple((key, value) for key, value in details.items() if value is not None and key != "text")
        await _enqueue_desk_event(
            uow, CaseChanged(number, step.action.value, actor, line) if announce else CaseChanged(number)
        )
        # The one place a desk transition is announced (webhooks, connectors).
        await uow.enqueue(OutboxRow(**case_event_item(number, step.action.value, step.source.value,
                                                      step.target.value, actor)))

    async def _message_customer(
        self,
        uow: DeskUnitOfWork,
        case: CaseDetails,
        text: str,
        kind: Literal["agent_reply", "status_update"],
        actor: str = "",
        files: tuple[OutboundFile, ...] = (),
    ) -> None:
        channel: ChannelName = _channel_name(case.channel)
        message = in_customer_script(Outbound(
            channel=channel,
            recipient_id=case.sender_id,
            # The agent's words too: the customer reads them in the characters they write.
            text=text,
            kind=kind,
            # The case and the agent travel with the message: a delivery that fails for good is told to them.
            metadata=(("case_number", case.number), ("agent", actor)) if actor else (("case_number", case.number),),
            files=files,
        ), await uow.customer_reads_traditional(case.number))
        payload = outbound_to_payload(message)
        await uow.enqueue(
            OutboxRow(
                kind="message",
                channel=case.channel,
                # The intake's key for this customer: agent words queue behind the bot's own replies.
                ordering_key=customer_key(case.channel, case.sender_id),
                payload=payload,
            )
        )
        await uow.add_agent_message(case.number, message.text, payload)


def _channel_name(value: str) -> ChannelName:
    if value in get_args(ChannelName):
        return cast(ChannelName, value)
    raise ValueError(f"case channel {value!r} is not a known channel")


async def _enqueue_desk_event(uow: DeskUnitOfWork, event: DeskEvent) -> None:
    await uow.enqueue(
        OutboxRow(
            kind=DESK_OUTBOX_KIND,
            channel=DESK_OUTBOX_CHANNEL,
            ordering_key=desk_event_key(event),
            payload=desk_event_to_payload(event),
        )
    )
