"""Duplicate complaints: a new case that likely repeats an open or recent case of the same customer is not
worked twice. When the desk routes a case, the same customer's earlier cases (the same customer row, or the
same phone or email on another channel) filed within the window are compared: a shared order number, or the
same product (or category, when no product is known) in similar words. A different product is never a repeat.

For the best match the customer is asked on their own channel "Is this about case PL-...?" (Yes/No buttons;
numbered options on WeChat) and the team sees "possible duplicate of" with Link / Not a duplicate buttons in
the thread. Whoever decides first decides (one conditional update): linked, the new case's words go onto the
earlier case's transcript and thread (files as signed links), both cases record the link and show each other,
and the new case is resolved as a duplicate without a satisfaction survey. Dismissed, it stays a case of its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.customer_script import status_update
from bot.desk.blocks import escape_mrkdwn
from bot.lifecycle.case_thread import CaseThreadNotifier, ThreadAction
from bot.lifecycle.clock import Clock
from bot.lifecycle.csat import within_platform_window
from bot.lifecycle.csat_texts import language
from bot.lifecycle.duplicate_texts import (
    ACTOR_CUSTOMER,
    BUTTON_LABELS,
    NO_WORDS,
    YES_WORDS,
    duplicate_text,
    reasons_text,
)
from bot.lifecycle.sla_policy import DuplicateSettings
from bot.lifecycle.survey_port import SurveyReply
from bot.messages import Button, outbound_to_payload
from storage.case_links import ComplaintFacts, LinkRecord, TortoiseCaseLinks
from storage.customer_messages import TortoiseCustomerMessages
from storage.errors import CaseNotFound
from storage.sla import TortoiseSlaStore

CHOICE_PREFIX = "dup:"
LINK_ACTION = "duplicate_link"
NOT_DUPLICATE_ACTION = "duplicate_not"
RESOLUTION_CODE = "duplicate"

# An order, invoice or tracking number: digits (six or more), perhaps behind a short letter prefix.
_ORDER_NUMBER = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,4}-?)?\d{6,20}(?![0-9])")
_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_STOP_WORDS = frozenset((
    "the", "and", "for", "with", "from", "that", "this", "was", "were", "has", "have", "had", "not", "but", "are",
    "you", "your", "our", "its", "they", "them", "again", "still", "also", "just", "very", "when", "what", "which",
    "there", "their", "then", "than", "into", "onto", "about", "after", "before",
))


# A Slack user id (the buttons in the thread); anyone else (a console user) is named, not mentioned.
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")


def _mention(actor: str) -> str:
    return f"<@{actor}>" if _SLACK_USER.fullmatch(actor) else escape_mrkdwn(actor)


def order_numbers(text: str) -> frozenset[str]:
    normalized = unicodedata.normalize("NFKC", text)
    return frozenset(match.replace("-", "").upper() for match in _ORDER_NUMBER.findall(normalized))


def _terms(text: str) -> frozenset[str]:
    """Words of three letters or more (English) and character pairs (Chinese has no spaces); numbers are left
    to the order-number comparison."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    words = {
        word for word in _WORD.findall(lowered) if len(word) >= 3 and word not in _STOP_WORDS and not word.isdigit()
    }
    pairs = {run[i:i + 2] for run in _CJK.findall(lowered) for i in range(max(len(run) - 1, 1))}
    return frozenset(words | pairs)


def similarity(first: str, second: str) -> float:
    """Shared terms over the shorter description's terms: a short "it happened again" still counts."""
    a, b = _terms(first), _terms(second)
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _same(first: str | None, second: str | None) -> bool | None:
    """None when either side is unknown."""
    if not first or not second:
        return None
    return first.casefold() == second.casefold()


def duplicate_reasons(new: ComplaintFacts, earlier: ComplaintFacts, settings: DuplicateSettings) -> tuple[str, ...]:
    """Why `new` is likely the same complaint as `earlier`; empty when it is not."""
    same_product = _same(new.product, earlier.product)
    if same_product is False:
        return ()
    same_order = bool(order_numbers(new.description) & order_numbers(earlier.description))
    same_category = _same(new.category, earlier.category)
    similar = similarity(new.description, earlier.description) >= settings.min_similarity
    reasons = [
        *(["same_order"] if same_order else []),
        *(["same_product"] if same_product else ["same_category"] if same_category else []),
        *(["similar_text"] if similar else []),
    ]
    if same_order:
        return tuple(reasons)
    if similar and (same_product or (same_product is None and same_category)):
        return tuple(reasons)
    return ()


def best_match(
    new: ComplaintFacts, earlier: list[ComplaintFacts], settings: DuplicateSettings
) -> tuple[ComplaintFacts, tuple[str, ...]] | None:
    """The earlier case most likely repeated: a shared order number first, then the most reasons, the newest."""
    scored = [(case, duplicate_reasons(new, case, settings)) for case in earlier]
    found = [(case, reasons) for case, reasons in scored if reasons]
    if not found:
        return None
    return max(found, key=lambda item: ("same_order" in item[1], len(item[1]), item[0].id))


def answer_choice(number: str, linked: bool) -> str:
    return f"{CHOICE_PREFIX}{number}:{'yes' if linked else 'no'}"


def parse_answer_choice(choice: str | None) -> tuple[str, bool] | None:
    """("PL-XXXX", True) from a pressed Yes button; None for anything else (including forged values)."""
    if not choice or not choice.startswith(CHOICE_PREFIX):
        return None
    number, _, answer = choice[len(CHOICE_PREFIX):].rpartition(":")
    if not number or len(number) > 32 or answer not in {"yes", "no"}:
        return None
    return number, answer == "yes"


def parse_typed_answer(text: str | None) -> bool | None:
    """Yes/no typed (or WeChat's numbered options, 1 and 2, in the order the buttons were offered)."""
    if not text:
        return None
    word = unicodedata.normalize("NFKC", text).strip().lower().rstrip(".!。！")
    if word in YES_WORDS or word == "1":
        return True
    if word in NO_WORDS or word == "2":
        return False
    return None


class CaseResolver(Protocol):
    """The desk's resolve (a linked repeat is resolved as a duplicate, through the desk like any resolution)."""

    async def resolve(self, number: str, summary: str, code: str, actor: str, dedupe_key: str) -> object: ...


@dataclass(frozen=True)
class AgentDecision:
    applied: bool
    message: str


class DuplicateService:
    def __init__(
        self,
        *,
        store: TortoiseCaseLinks,
        messages: TortoiseCustomerMessages,
        sla_store: TortoiseSlaStore,
        settings: Callable[[], DuplicateSettings],
        clock: Clock,
        notifier: CaseThreadNotifier | None = None,
        resolver: CaseResolver | None = None,
    ) -> None:
        self._store = store
        self._messages = messages
        self._sla_store = sla_store
        self._settings = settings
        self._clock = clock
        self._notifier = notifier
        self._resolver = resolver

    def use_resolver(self, resolver: CaseResolver) -> None:
        """The desk observes this room, so it is built after it: the root hands it over here."""
        self._resolver = resolver

    # --- noticing (the desk routed a new case) -------------------------------------------------------

    async def case_routed(self, number: str) -> None:
        """Compare a routed case with the customer's earlier ones (inside the routing transaction)."""
        settings = self._settings()
        if not settings.enabled:
            return
        case = await self._store.facts(number)
        if await self._store.link_of(case.id) is not None:
            return
        now = self._clock.now()
        earlier_cases = await self._store.earlier_cases(case, now - timedelta(days=settings.window_days))
        match = best_match(case, earlier_cases, settings)
        if match is None:
            return
        earlier, reasons = match
        if not await self._store.suggest(case.id, earlier.id, reasons):
            return
        await self._sla_store.add_case_event(
            case.id, "possible_duplicate", "plaint", {"of": earlier.number, "reasons": list(reasons)}
        )
        await self._sla_store.add_case_event(earlier.id, "possibly_repeated", "plaint", {"by": case.number})
        await self._ask_customer(case, earlier, now)
        if self._notifier is not None:
            await self._notifier.post_in_thread(
                case.number,
                duplicate_text("team_possible", case.lang, earlier=earlier.number,
                               reasons=reasons_text(reasons, case.lang)),
                actions=(
                    ThreadAction(LINK_ACTION, f"Link to {earlier.number}", case.number),
                    ThreadAction(NOT_DUPLICATE_ACTION, "Not a duplicate", case.number),
                ),
            )

    async def _ask_customer(self, case: ComplaintFacts, earlier: ComplaintFacts, now: datetime) -> None:
        customer = await self._messages.case(case.id)
        if customer.unreachable or not within_platform_window(customer, now):
            return
        what = earlier.product or earlier.category or earlier.description[:40]
        text = duplicate_text(
            "question", case.lang, earlier=earlier.number, what=what, date=earlier.created_at.date().isoformat()
        )
        yes, no = BUTTON_LABELS[language(case.lang)]
        message = status_update(
            customer, text,
            (Button(answer_choice(case.number, True), yes), Button(answer_choice(case.number, False), no)),
        )
        await self._messages.send(customer, message.text, outbound_to_payload(message))

    # --- the customer's answer (the intake hook) ------------------------------------------------------

    async def answer(
        self, channel: str, sender_id: str, text: str | None, choice: str | None, *, in_conversation: bool
    ) -> SurveyReply | None:
        """The duplicate question this customer message answers, and what to say back; None: not an answer."""
        pressed = parse_answer_choice(choice)
        if pressed is not None:
            try:
                case = await self._store.facts(pressed[0])
            except CaseNotFound:
                return None
            # A button value is customer input like any other: it only counts for the customer it was sent to.
            link = await self._store.link_of(case.id)
            if link is None or (case.channel, case.sender_id) != (channel, sender_id):
                return None
            linked = pressed[1]
        else:
            typed = parse_typed_answer(text if choice is None else choice)
            if in_conversation or typed is None:
                return None
            since = self._clock.now() - timedelta(hours=self._settings().answer_within_hours)
            link = await self._store.suggested_for(channel, sender_id, since)
            if link is None:
                return None
            linked = typed
        texts = await self._decide(link, linked, "customer")
        return SurveyReply(link.case_id, texts)

    # --- an agent's decision (the Slack buttons, the console) ----------------------------------------

    async def agent_decides(self, number: str, linked: bool, actor: str) -> AgentDecision:
        """Link or dismiss from the desk; the customer is told when their case was linked."""
        async with self._store.transaction():
            try:
                case = await self._store.facts(number.strip().upper())
            except CaseNotFound:
                return AgentDecision(False, f"no case {number}")
            link = await self._store.link_of(case.id)
            if link is None:
                return AgentDecision(False, f"{case.number} has no possible duplicate")
            if link.status != "suggested":
                return AgentDecision(False, self._decided_text(link, "en"))
            texts = await self._decide(link, linked, actor)
            customer = await self._messages.case(case.id)
            if linked and not customer.unreachable:
                for text in texts:
                    message = status_update(customer, text)
                    await self._messages.send(customer, message.text, outbound_to_payload(message))
            return AgentDecision(True, texts[0])

    async def possible_duplicate_of(self, number: str) -> str | None:
        """The earlier case this one possibly repeats, while nobody has decided yet (the console's buttons)."""
        try:
            case = await self._store.facts(number.strip().upper())
        except CaseNotFound:
            return None
        link = await self._store.link_of(case.id)
        return link.earlier_number if link is not None and link.status == "suggested" else None

    async def is_linked_repeat(self, number: str) -> bool:
        """A case resolved because it repeats another (no satisfaction survey for it)."""
        try:
            case = await self._store.facts(number)
        except CaseNotFound:
            return False
        link = await self._store.link_of(case.id)
        return link is not None and link.status == "linked"

    # --- deciding -------------------------------------------------------------------------------------

    def _decided_text(self, link: LinkRecord, lang: str) -> str:
        decision = duplicate_text(
            "decision_linked" if link.status == "linked" else "decision_apart", lang, earlier=link.earlier_number
        )
        return duplicate_text("already_decided", lang, number=link.case_number, decision=decision)

    async def _decide(self, link: LinkRecord, linked: bool, actor: str) -> tuple[str, ...]:
        new = await self._store.facts(link.case_number)
        earlier = await self._store.facts(link.earlier_number)
        now = self._clock.now()
        status = "linked" if linked else "not_duplicate"
        if not await self._store.decide(link.case_id, link.earlier_case_id, status, actor, now):
            current = await self._store.link_of(link.case_id) or link
            return (self._decided_text(current, new.lang),)
        who = ACTOR_CUSTOMER[language(new.lang)] if actor == "customer" else _mention(actor)
        if not linked:
            await self._sla_store.add_case_event(new.id, "not_duplicate", actor, {"of": earlier.number})
            if self._notifier is not None:
                await self._notifier.post_in_thread(
                    new.number, duplicate_text("team_not_duplicate", new.lang, earlier=earlier.number, actor=who)
                )
            return (duplicate_text("kept_apart", new.lang, number=new.number),)
        await self._store.add_to_transcript(new, earlier.id, new.description)
        await self._sla_store.add_case_event(new.id, "duplicate_linked", actor, {"of": earlier.number})
        await self._sla_store.add_case_event(earlier.id, "duplicate_linked", actor, {"repeated_by": new.number})
        if self._notifier is not None:
            await self._notifier.post_in_thread(
                earlier.number,
                duplicate_text("team_linked_here", earlier.lang, number=new.number, channel=new.channel, actor=who,
                               description=escape_mrkdwn(new.description)),
                evidence_ids=tuple(await self._store.evidence_ids(new.id)),
            )
            await self._notifier.post_in_thread(
                new.number, duplicate_text("team_linked_there", new.lang, earlier=earlier.number, actor=who)
            )
            # The earlier case's message shows its linked cases from now on.
            await self._notifier.case_changed(earlier.number)
        if self._resolver is not None:
            await self._resolver.resolve(
                new.number, duplicate_text("resolution", new.lang, earlier=earlier.number), RESOLUTION_CODE,
                actor, f"duplicate:{new.number}",
            )
        return (duplicate_text("linked", new.lang, earlier=earlier.number),)
