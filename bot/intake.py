"""The intake service: the only orchestrator. One inbound message becomes one transaction.

de-duplicate by platform message id -> per-conversation serialisation -> files and NLP prepared outside
the transaction -> flows.advance -> state, transcript, evidence, case and outbox written together."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from bot.case_events import FILE_ACTION, case_event_item
from bot.customer_script import in_customer_script
from bot.desk.events import (
    DESK_OUTBOX_CHANNEL,
    DESK_OUTBOX_KIND,
    CaseFiled,
    CustomerMessage,
    DeskEvent,
    desk_event_key,
    desk_event_to_payload,
)
from bot.desk.lifecycle import CaseAction, transition
from bot.desk.service import CaseObserver
from bot.errors import PlaintError
from bot.flow_registry import FlowRegistry
from bot.insight.dropoff import turn_step_events
from bot.lifecycle.follow_ups import added_to_case, refused_file_notes, relayed_text
from bot.lifecycle.survey_port import SurveyAnswers, SurveyReply
from bot.messages import (
    ERROR_TONE,
    TONE,
    Attachment,
    Button,
    Inbound,
    IntakeResult,
    Outbound,
    outbound_from_payload,
    outbound_to_payload,
)
from bot.ordering import customer_key
from bot.texts import say, status_label
from flows import (
    ConversationState,
    ExtractedValue,
    FileCase,
    FileInfo,
    FileLimits,
    FilesStep,
    Flow,
    Location,
    Outcome,
    Proposal,
    RejectedFile,
    Reply,
    ShowStatus,
    Turn,
    advance,
    detect_language,
    early_file_limits,
    file_limits,
    format_when,
    language_from_locale,
    media_kind,
    pending_analysis,
    start,
)
from flows.commands import NEW_COMPLAINT, command_of
from flows.engine import DATA_ERASURE_CATEGORY
from flows.language import writes_traditional
from storage.cases import CaseDetails, CaseStatus
from storage.dropoff import step_event_rows
from storage.errors import EvidenceTooLarge
from storage.evidence import LocalEvidenceStore, StoredBlob
from storage.intake import (
    ConversationRecord,
    DuplicateMessage,
    IntakeTransaction,
    TortoiseIntakeStore,
)

log = logging.getLogger(__name__)


class ProposalSource(Protocol):
    """The NLP port: proposals for the product and category, and the values a message carries."""

    async def propose(self, text: str, lang: str | None) -> tuple[Proposal, ...]: ...

    async def extract(self, text: str, lang: str | None, now: datetime) -> tuple[ExtractedValue, ...]:
        """Names, phones, emails, dates, order numbers, amounts and products found in `text` (slot filling)."""
        ...

    def value_label(self, field: str, value: str, lang: str | None) -> str:
        """A stored product or category id in the customer's language (the status answer shows it)."""
        ...

    def catalog_choices(self, lang: str | None) -> tuple[Proposal, ...]:
        """The catalog's top products as role "catalog" proposals: the buttons of the open product question."""
        ...


__all__ = ["ConversationKeptMoving", "IntakeResult", "IntakeService", "ProposalSource"]


class ConversationKeptMoving(PlaintError):
    """Other workers kept advancing this conversation while we prepared the turn; the platform retries."""


def _nothing_to_wake() -> None:
    return None


def _count_nothing(channel: str, replies: int) -> None:
    return None


@dataclass(frozen=True)
class _PreparedFile:
    file_name: str
    blob: StoredBlob


@dataclass(frozen=True)
class _PreparedTurn:
    turn: Turn
    files: tuple[_PreparedFile, ...]
    # What files were held to (the evidence step's limits; after filing, the follow-up limits).
    limits: FileLimits | None = None


class _StateMoved(PlaintError):
    """Another worker advanced this conversation while we prepared: prepare again against the new state."""


# Case statuses that need nothing more from anyone: listed after the open ones in a status answer.
_FINISHED = frozenset({"resolved", "closed"})


class IntakeService:
    def __init__(
        self,
        *,
        flows: FlowRegistry,
        store: TortoiseIntakeStore,
        evidence: LocalEvidenceStore,
        analyzer: ProposalSource,
        desk_enabled: bool = False,
        timezone: tzinfo = UTC,
        wake_outbox: Callable[[], None] = _nothing_to_wake,
        surveys: SurveyAnswers | None = None,
        case_observer: CaseObserver | None = None,
        delivered_on_store: frozenset[str] = frozenset(),
        count_delivered: Callable[[str, int], None] = _count_nothing,
    ) -> None:
        self._timezone = timezone
        # Channels whose customers read the transcript (web chat, console): a reply there is delivered by the
        # turn's commit, so its outbox row is stored as sent and no worker pass claims it. `count_delivered`
        # counts those deliveries where the worker would have (metrics).
        self._delivered_on_store = delivered_on_store
        self._count_delivered = count_delivered
        # Called after every commit that queued something, whatever the channel: replies leave at once
        # instead of at the outbox worker's next poll.
        self._wake_outbox = wake_outbox
        # CSAT: a survey answer (after resolution) is the lifecycle room's, not the flow's.
        self._surveys = surveys
        # Told of the case transition a customer's answer makes, in the same transaction (SLA clocks resume).
        self._case_observer = case_observer
        self._flows = flows
        self._store = store
        self._evidence = evidence
        self._analyzer = analyzer
        self._desk_enabled = desk_enabled
        # In-process serialisation per conversation avoids preparing the same turn twice; the row lock in
        # the transaction is what makes it correct across workers.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def analyzer(self) -> ProposalSource:
        """The NLP port, for the admin preview (which shows proposals without storing anything)."""
        return self._analyzer

    async def handle(self, inbound: Inbound) -> IntakeResult:
        key = (inbound.channel, inbound.sender_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            for _ in range(5):
                # One statement: whether this message was handled already (a retry, perhaps one that waited on
                # the lock for its first delivery) and the conversation the turn prepares against.
                seen = await self._store.look_up(inbound.channel, inbound.sender_id, inbound.message_id)
                if seen.duplicate:
                    return await self._duplicate_result(inbound)
                try:
                    result, wakes_worker = await self._handle_once(inbound, seen.conversation, seen.identity_exists)
                except _StateMoved:
                    continue
                except DuplicateMessage:
                    return await self._duplicate_result(inbound)
                if wakes_worker:
                    self._wake_outbox()
                if inbound.channel in self._delivered_on_store and result.replies:
                    self._count_delivered(inbound.channel, len(result.replies))
                return result
            raise ConversationKeptMoving(f"conversation {key} kept moving; giving up on {inbound.message_id}")

    async def _duplicate_result(self, inbound: Inbound) -> IntakeResult:
        queued = await self._store.replies_for(inbound.channel, inbound.message_id)
        replies = tuple(outbound_from_payload(item.channel, item.payload, item.outbox_id) for item in queued)
        return IntakeResult(duplicate=True, replies=replies)

    async def _handle_once(
        self, inbound: Inbound, seen: ConversationRecord | None, identity_exists: bool
    ) -> tuple[IntakeResult, bool]:
        """The turn's result, and whether it queued anything the outbox worker must deliver. `identity_exists`:
        whether the read before the turn found the address's identity."""
        seen_state = seen.state if seen is not None else None
        flow = await self._flows.resolve(seen_state)
        prepared = await self._prepare(inbound, flow, seen_state)
        # The engine is pure: run ahead of the transaction (on SQLite it holds the one writer every turn waits
        # for), against the state read before it; the transaction checks that state is still the current one.
        # With files the turn needs the evidence ids the transaction assigns, so it runs inside.
        ahead = advance(flow, seen.state, prepared.turn) if seen is not None and not prepared.files else None
        stored = self._store.encode_state(ahead.state) if ahead is not None else None
        async with self._store.transaction(
            inbound.channel, inbound.sender_id, inbound.message_id, inbound.locale, identity_exists=identity_exists
        ) as tx:
            if tx.moved_since(seen):
                raise _StateMoved()
            current = seen
            await tx.touch_identity(inbound.locale, inbound.display_name, inbound.received_at)
            if self._surveys is not None:
                survey = await self._surveys.answer(
                    inbound.channel, inbound.sender_id, inbound.text, inbound.choice,
                    in_conversation=current is not None,
                )
                if survey is not None:
                    return await self._survey_answered(tx, inbound, survey), tx.wakes_worker
            conversation_id = current.id if current else None
            evidence_ids = [
                await tx.add_evidence(item.blob, item.file_name, conversation_id) for item in prepared.files
            ]
            turn = _with_evidence_ids(prepared, evidence_ids)
            if current is None:
                turn = await _numbered_new_complaint(tx, turn)
                follow_up = await self._follow_up(tx, inbound, flow, replace(prepared, turn=turn), evidence_ids)
                if follow_up is not None:
                    return follow_up, tx.wakes_worker
                outcome = start(flow, turn)
            else:
                outcome = ahead if ahead is not None else advance(flow, current.state, turn)
            conversation_id = await tx.save_conversation(
                conversation_id, outcome.state, stored if outcome is ahead else None
            )
            # The drop-off funnel (insight) counts exactly the turns this transaction commits.
            tx.add_step_events(step_event_rows(
                conversation_id=conversation_id, flow_id=outcome.state.flow_id,
                flow_version=outcome.state.flow_version, channel=inbound.channel, at=turn.now.astimezone(UTC),
                events=turn_step_events(current.state if current else None, outcome.state),
            ))
            await tx.link_evidence(evidence_ids, conversation_id)
            if not _opens_only(inbound):
                await tx.add_transcript(
                    direction="in",
                    author="customer",
                    text=inbound.text or inbound.choice or "",
                    payload=_inbound_payload(inbound, prepared),
                    conversation_id=conversation_id,
                )
            result = await self._carry_out(tx, inbound, outcome, conversation_id)
            return result, tx.wakes_worker

    async def _carry_out(
        self, tx: IntakeTransaction, inbound: Inbound, outcome: Outcome, conversation_id: int
    ) -> IntakeResult:
        lang = outcome.state.lang
        case: CaseDetails | None = None
        extra_replies: list[Reply] = []
        for effect in outcome.effects:
            if isinstance(effect, FileCase):
                case = await tx.file_case(effect.draft, conversation_id, lang)
                # The one place a filed case is announced (webhooks, connectors).
                await tx.enqueue(**case_event_item(case.number, FILE_ACTION, None, case.status, "customer"))
                await self._tell_desk(tx, CaseFiled(case.number))
            elif isinstance(effect, ShowStatus):
                status = self._status_text(await tx.recent_cases(), lang, effect.case_number)
                # In the customer's script, like the conversation's own replies.
                extra_replies.append(Reply(outcome.state.in_script(status)))
        replies = [
            replace(reply, text=reply.text.replace("{case_number}", case.number if case else ""))
            for reply in outcome.replies
        ]
        # Status first: it answers what was asked; the re-asked question follows.
        outbound = await self._queue_replies(
            tx, inbound, [*extra_replies, *replies], conversation_id, case.id if case else None
        )
        return IntakeResult(False, outbound, case.number if case else None)

    async def _queue_replies(
        self, tx: IntakeTransaction, inbound: Inbound, replies: list[Reply], conversation_id: int | None,
        case_id: int | None = None, *, traditional: bool = False,
    ) -> tuple[Outbound, ...]:
        """Queue and transcribe the replies; ``traditional`` converts texts of ours that are not the flow's (the
        engine converts its own)."""
        queued: list[Outbound] = []
        for reply in replies:
            message = in_customer_script(Outbound(
                channel=inbound.channel,
                recipient_id=inbound.sender_id,
                text=reply.text,
                buttons=tuple(Button(choice.value, choice.label, choice.role) for choice in reply.choices),
                # A re-ask after a refused answer: a channel that can style it shows it as an error.
                metadata=((TONE, ERROR_TONE),) if reply.error else (),
            ), traditional)
            payload = outbound_to_payload(message)
            outbox_id = await tx.enqueue(
                kind="message",
                channel=inbound.channel,
                ordering_key=customer_key(inbound.channel, inbound.sender_id),
                payload=payload,
                delivered=inbound.channel in self._delivered_on_store,
            )
            await tx.add_transcript(
                direction="out", author="bot", text=message.text, payload=payload,
                conversation_id=conversation_id, case_id=case_id,
            )
            queued.append(replace(message, outbox_id=outbox_id))
        return tuple(queued)

    async def _survey_answered(self, tx: IntakeTransaction, inbound: Inbound, survey: SurveyReply) -> IntakeResult:
        """A satisfaction survey answer (lifecycle room): kept on the case's transcript, answered by the survey."""
        await tx.add_transcript(
            direction="in", author="customer", text=inbound.text or inbound.choice or "",
            payload={"message_id": inbound.message_id}, case_id=survey.case_id,
        )
        replies = [Reply(text) for text in survey.texts]
        queued = await self._queue_replies(tx, inbound, replies, None, survey.case_id, traditional=survey.traditional)
        return IntakeResult(False, queued, None)

    async def _follow_up(
        self, tx: IntakeTransaction, inbound: Inbound, flow: Flow, prepared: _PreparedTurn, evidence_ids: list[int]
    ) -> IntakeResult | None:
        """After filing and while the case is open, what the customer writes on that conversation follows it up:
        kept on the case's transcript, relayed to its thread, counted as the customer's reply (SLA), answered
        with one acknowledgement. A case waiting for the customer's answer takes it from any of their channels;
        files follow the customer's latest open case. Commands ("status", "new complaint") and button taps
        still reach the flow; so does everything once no case is open."""
        turn = prepared.turn
        if turn.choice is not None or command_of(turn, ended=True) is not None:
            return None
        text = (inbound.text or "").strip()
        if not text and not inbound.attachments:
            return None
        # A data request is the privacy team's, not a complaint: what the customer writes next is a new complaint.
        open_cases = [case for case in await tx.open_cases() if case.category != DATA_ERASURE_CATEGORY]
        waiting = [case for case in open_cases if case.status is CaseStatus.WAITING_FOR_CUSTOMER]
        here = [case for case in open_cases if (case.channel, case.sender_id) == (inbound.channel, inbound.sender_id)]
        followed = waiting or here or (open_cases if inbound.attachments else [])
        if not followed:
            return None
        case = followed[0]
        payload: dict[str, Any] = {"message_id": inbound.message_id, "evidence_ids": evidence_ids}
        if turn.rejected_files:
            payload["rejected_files"] = [item.file_name for item in turn.rejected_files]
        await tx.add_transcript(direction="in", author="customer", text=text, payload=payload, case_id=case.id)
        # A refused file is said so, never dropped in silence.
        replies = refused_file_notes(flow, turn.rejected_files, case.lang, prepared.limits)
        if text or evidence_ids:
            await tx.attach_evidence(evidence_ids, case.id)
            # The ball is back in the agent's court, in the same transaction as the message that put it there.
            step = transition(case.status, CaseAction.CUSTOMER_REPLY)
            await tx.record_customer_reply(case, step.target)
            if self._case_observer is not None:
                await self._case_observer.transitioned(
                    case.number, "customer_reply", step.source.value, step.target.value
                )
            await tx.enqueue(**case_event_item(
                case.number, CaseAction.CUSTOMER_REPLY.value, step.source.value, step.target.value, "customer"
            ))
            await self._tell_desk(tx, CustomerMessage(case.number, relayed_text(text), tuple(evidence_ids)))
            replies.append(added_to_case(flow, say("follow_up_added", case.lang, number=case.number), case.lang))
        # Said in the characters the customer wrote this message in (an open case's conversation has ended).
        traditional = case.lang == "zh" and writes_traditional(text) is True
        outbound = await self._queue_replies(tx, inbound, replies, None, case.id, traditional=traditional)
        return IntakeResult(False, outbound, None)

    async def _tell_desk(self, tx: IntakeTransaction, event: DeskEvent) -> None:
        # Queued only when a desk notifier will deliver them (the Slack desk is on).
        if self._desk_enabled:
            await tx.enqueue(
                kind=DESK_OUTBOX_KIND,
                channel=DESK_OUTBOX_CHANNEL,
                ordering_key=desk_event_key(event),
                payload=desk_event_to_payload(event),
            )

    def _status_text(self, cases: list[CaseDetails], lang: str, number: str | None = None) -> str:
        """The customer's recent cases (or the one they named): when filed, what about, where it stands,
        which team has it and what happens next. Only their own cases: a number of someone else's is unknown."""
        if number is not None:
            named = [case for case in cases if case.number.upper() == number.upper()]
            if not named:
                return say("status_unknown_number", lang, number=number)
            cases = named
        if not cases:
            return say("status_none", lang)
        if number is not None:
            return "\n\n".join(self._status_block(case, lang) for case in cases)
        # Open cases first; resolved and closed ones are still listed (recent first), under their own header.
        ongoing = [case for case in cases if case.status.value not in _FINISHED]
        finished = [case for case in cases if case.status.value in _FINISHED]
        parts = [say("status_header", lang), *(self._status_block(case, lang) for case in ongoing)] if ongoing else []
        if finished:
            parts.append(say("status_finished_header" if ongoing else "status_only_finished", lang))
            parts.extend(self._status_block(case, lang) for case in finished)
        return "\n\n".join(parts)

    def _status_block(self, case: CaseDetails, lang: str) -> str:
        filed = case.created_at if case.created_at.tzinfo else case.created_at.replace(tzinfo=UTC)
        lines = [say("status_case", lang, number=case.number, status=status_label(case.status, lang),
                     filed=format_when(filed.astimezone(self._timezone).isoformat(timespec="minutes"),
                                       "zh" if lang == "zh" else "en"))]
        about = [self._analyzer.value_label(field, value, lang)
                 for field, value in (("product", case.product), ("category", case.category)) if value]
        if about:
            lines.append(say("status_about", lang, about=say("status_separator", lang).join(about)))
        if case.team:
            lines.append(say("status_team", lang, team=case.team))
        lines.append(say("status_next", lang, next=say(f"next_{case.status.value}", lang)))
        return "\n".join(lines)

    async def _prepare(self, inbound: Inbound, flow: Flow, state: ConversationState | None) -> _PreparedTurn:
        received = inbound.received_at if inbound.received_at.tzinfo else inbound.received_at.replace(tzinfo=UTC)
        now = received.astimezone(self._timezone)
        location = (
            Location(inbound.location.latitude, inbound.location.longitude, inbound.location.label)
            if inbound.location
            else None
        )
        turn = Turn(
            now=now,
            text=inbound.text,
            choice=inbound.choice,
            location=location,
            locale=inbound.locale,
            edit=inbound.edits_message_id is not None,
        )
        # At the evidence question, or before it (files sent early are kept for it); after filing, follow-ups.
        limits = (
            (file_limits(flow, state) or early_file_limits(flow, state)) if state is not None
            else await self._follow_up_limits(inbound, flow)
        )
        files, rejected = await self._store_files(inbound.attachments, limits)
        if state is None and limits is not None:
            # A follow-up has no files question to refuse a kind it does not take: refused here, and said so.
            refused = tuple(RejectedFile(item.file_name, "type") for item in files
                            if media_kind(item.blob.media_type) not in limits.allowed_kinds)
            files = tuple(item for item in files if media_kind(item.blob.media_type) in limits.allowed_kinds)
            rejected = (*rejected, *refused)
        turn = replace(turn, rejected_files=rejected)
        lang = _likely_language(flow, state, inbound)
        if inbound.text and inbound.choice is None and len(inbound.text) <= flow.max_message_length:
            # Every message, the first included: what it already tells is not asked again.
            turn = replace(turn, extracted=await self._analyzer.extract(inbound.text, lang, now))
        text = pending_analysis(flow, state, turn)
        if text:
            proposals = await self._analyzer.propose(text, lang)
            # Handed over every time: the engine offers them only when nothing was proposed.
            turn = replace(turn, proposals=proposals + self._analyzer.catalog_choices(lang))
        return _PreparedTurn(turn, files, limits)

    async def _follow_up_limits(self, inbound: Inbound, flow: Flow) -> FileLimits | None:
        """Files sent outside a conversation follow up the customer's open case, under the flow's evidence
        limits; with no open case they are not expected."""
        if not inbound.attachments or not await self._store.has_open_case(inbound.channel, inbound.sender_id):
            return None
        step = next((step for step in flow.steps if isinstance(step, FilesStep)), None)
        if step is None:
            return None
        return FileLimits(max_bytes=step.max_bytes, allowed_kinds=frozenset(step.allowed_kinds),
                          max_files=step.max_files)

    async def _store_files(
        self, attachments: tuple[Attachment, ...], limits: FileLimits | None
    ) -> tuple[tuple[_PreparedFile, ...], tuple[RejectedFile, ...]]:
        if not attachments:
            return (), ()
        stored: list[_PreparedFile] = []
        rejected: list[RejectedFile] = []
        for index, attachment in enumerate(attachments, start=1):
            name = attachment.file_name or f"{attachment.kind}-{index}"
            if limits is None:
                rejected.append(RejectedFile(name, "not_expected"))
                continue
            if len(stored) >= limits.max_files:
                rejected.append(RejectedFile(name, "too_many"))
                continue
            if attachment.declared_size is not None and attachment.declared_size > limits.max_bytes:
                rejected.append(RejectedFile(name, "too_large", limits.max_bytes))
                continue
            try:
                blob = await self._evidence.put(
                    _stream(attachment),
                    max_bytes=limits.max_bytes,
                    declared_media_type=attachment.declared_media_type,
                )
            except EvidenceTooLarge as error:
                rejected.append(RejectedFile(name, "too_large", error.limit_bytes))
                continue
            except Exception as error:
                # The platform's file server failed (or the id was never a file: pushes are hostile input): tell
                # the customer to resend rather than lose the message. Expected, so no traceback.
                log.warning("could not fetch %s from %s: %s: %s", name, attachment.platform_file_id,
                            type(error).__name__, error)
                rejected.append(RejectedFile(name, "unavailable"))
                continue
            stored.append(_PreparedFile(name, blob))
        return tuple(stored), tuple(rejected)


async def _numbered_new_complaint(tx: IntakeTransaction, turn: Turn) -> Turn:
    """After "Added to your case ..." WeChat shows "1. New complaint": typing its number presses it."""
    typed = (turn.text or "").strip()
    if turn.choice is not None or not typed.isdigit() or len(typed) > 2:
        return turn
    values = await tx.last_button_values()
    index = int(typed) - 1
    if 0 <= index < len(values) and values[index] == NEW_COMPLAINT:
        return replace(turn, text=None, choice=NEW_COMPLAINT)
    return turn


def _opens_only(inbound: Inbound) -> bool:
    """A message with nothing in it: a page or console opening the chat so the bot greets first. The
    customer said nothing, so the transcript shows nothing from them."""
    return not (inbound.text or inbound.choice or inbound.attachments or inbound.location)


def _likely_language(flow: Flow, state: ConversationState | None, inbound: Inbound) -> str:
    """The language the engine will answer in, as far as it can be told before it runs."""
    if state is not None and state.status == "active" and state.flow_id == flow.id:
        # Chinese text switches an English conversation (flows' language rule), not the other way round.
        return "zh" if inbound.text and detect_language(inbound.text) == "zh" else state.lang
    return (
        language_from_locale(inbound.locale)
        or (detect_language(inbound.text) if inbound.text else None)
        or (state.lang if state is not None else flow.default_lang)
    )


async def _stream(attachment: Attachment) -> AsyncIterator[bytes]:
    async for chunk in attachment.open_stream():
        yield chunk


def _with_evidence_ids(prepared: _PreparedTurn, evidence_ids: list[int]) -> Turn:
    files = tuple(
        FileInfo(str(evidence_id), item.file_name, item.blob.media_type, item.blob.size)
        for evidence_id, item in zip(evidence_ids, prepared.files, strict=True)
    )
    return replace(prepared.turn, files=files)


def _inbound_payload(inbound: Inbound, prepared: _PreparedTurn) -> dict[str, Any]:
    payload: dict[str, Any] = {"message_id": inbound.message_id}
    if inbound.choice:
        payload["choice"] = inbound.choice
    if prepared.files:
        payload["files"] = [
            {"name": item.file_name, "sha256": item.blob.sha256, "size": item.blob.size} for item in prepared.files
        ]
    if prepared.turn.rejected_files:
        payload["rejected_files"] = [item.file_name for item in prepared.turn.rejected_files]
    if inbound.location:
        payload["location"] = [inbound.location.latitude, inbound.location.longitude]
    if inbound.edits_message_id:
        payload["edits"] = inbound.edits_message_id
    return payload
