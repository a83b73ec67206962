"""Satisfaction (CSAT) inside the chat: after resolution the customer is asked on their own channel, with
buttons 1-5 labelled in their language (WeChat shows them as numbered options: the channel base does that);
an optional comment follows; one answer per case; a low score reopens or escalates the case and tells the
team in the thread. Nothing is a link: the answer is a customer message that only the customer can send.

Asking is a timer (a short delay after resolution, so the question follows the resolution message); at that
moment the platform window is checked: WeChat only lets us write within 48 hours of the customer's last
message, so outside it the survey is recorded as "not asked" instead of failing in the outbox.

Answering happens inside the intake service's transaction (`answer`, its hook): a pressed button
("csat:<case>:<score>") is recognised anywhere; a typed digit or a comment only when the customer is not in
the middle of another conversation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.customer_script import status_update
from bot.desk.blocks import escape_mrkdwn
from bot.lifecycle.case_thread import CaseThreadNotifier
from bot.lifecycle.clock import Clock
from bot.lifecycle.csat_texts import SCORE_LABELS, SKIP_WORDS, csat_text, language
from bot.lifecycle.sla_policy import AppliedPolicy, CsatSettings
from bot.lifecycle.survey_port import SurveyReply
from bot.messages import Button, outbound_to_payload
from bot.texts import NEW_COMPLAINT_WORDS
from storage.csat import SurveyRecord, TortoiseCsatStore
from storage.customer_messages import CustomerCase, TortoiseCustomerMessages
from storage.sla import TortoiseSlaStore
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore

TIMER_KIND = "csat"
CHOICE_PREFIX = "csat:"
WECHAT_WINDOW = timedelta(hours=48)
CLOSED_STATUSES = frozenset({"resolved", "closed"})
_TYPED_SCORE = re.compile(r"^([1-5])\s*(?:/\s*5|分|星|stars?|points?)?[.!。！]?$")


class CaseReopener(Protocol):
    """The desk's reopen (a low score puts the case back in the agents' hands)."""

    async def reopen(self, number: str, actor: str, dedupe_key: str) -> object: ...


def within_platform_window(case: CustomerCase, now: datetime) -> bool:
    """WeChat lets us write only within 48 hours of the customer's last message; others have no window."""
    return case.channel != "wechat" or (
        case.last_inbound_at is not None and now - case.last_inbound_at <= WECHAT_WINDOW
    )


def score_choice(number: str, score: int) -> str:
    return f"{CHOICE_PREFIX}{number}:{score}"


def parse_score_choice(choice: str | None) -> tuple[str, int] | None:
    """("PL-XXXX", 4) from a pressed survey button; None for anything else (including forged values)."""
    if not choice or not choice.startswith(CHOICE_PREFIX):
        return None
    number, _, score = choice[len(CHOICE_PREFIX):].rpartition(":")
    if not number or len(number) > 32 or score not in {"1", "2", "3", "4", "5"}:
        return None
    return number, int(score)


def parse_typed_score(text: str | None) -> int | None:
    if not text:
        return None
    match = _TYPED_SCORE.match(unicodedata.normalize("NFKC", text).strip().lower())
    return int(match.group(1)) if match else None


class CsatService:
    def __init__(
        self,
        *,
        store: TortoiseCsatStore,
        messages: TortoiseCustomerMessages,
        sla_store: TortoiseSlaStore,
        timers: TortoiseTimerStore,
        settings: Callable[[], CsatSettings],
        clock: Clock,
        notifier: CaseThreadNotifier | None = None,
        reopener: CaseReopener | None = None,
    ) -> None:
        self._store = store
        self._messages = messages
        self._sla_store = sla_store
        self._timers = timers
        self._settings = settings
        self._clock = clock
        self._notifier = notifier
        self._reopener = reopener

    def use_reopener(self, reopener: CaseReopener) -> None:
        """The desk observes this room, so it is built after it: the root hands it over here."""
        self._reopener = reopener

    # --- asking ----------------------------------------------------------------------------------------

    async def case_resolved(self, number: str) -> None:
        """Schedule the survey (call inside the resolving transaction); a case is surveyed once."""
        settings = self._settings()
        if not settings.enabled:
            return
        case_id = await self._store.case_id(number)
        if await self._store.survey(case_id) is not None:
            return
        await self._timers.cancel(case_id, "csat:")
        await self._timers.schedule(
            NewTimer(
                kind=TIMER_KIND,
                key="csat:ask",
                due_at=self._clock.now() + timedelta(seconds=settings.ask_after),
                payload={},
                case_number=number,
            )
        )

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        if timer.case_id is None:
            return
        case = await self._messages.case(timer.case_id)
        # Reopened before we asked: the next resolution schedules the survey again.
        if case.status not in CLOSED_STATUSES or await self._store.survey(case.id) is not None:
            return
        reason = self._not_askable(case, now)
        if reason is not None:
            await self._store.create(case, "not_asked", None, reason)
            await self._sla_store.add_case_event(case.id, "csat_not_asked", "plaint", {"reason": reason})
            return
        labels = SCORE_LABELS[language(case.lang)]
        message = status_update(
            case, csat_text("question", case.lang, number=case.number),
            tuple(Button(score_choice(case.number, score), labels[score - 1]) for score in range(1, 6)),
        )
        await self._store.create(case, "asked", now)
        await self._messages.send(case, message.text, outbound_to_payload(message))
        await self._sla_store.add_case_event(case.id, "csat_asked", "plaint", {"channel": case.channel})

    def _not_askable(self, case: CustomerCase, now: datetime) -> str | None:
        if case.unreachable:
            return "customer_unreachable"
        if not within_platform_window(case, now):
            return "wechat_48h_window"
        return None

    # --- answering (the intake hook) --------------------------------------------------------------------

    async def answer(
        self, channel: str, sender_id: str, text: str | None, choice: str | None, *, in_conversation: bool
    ) -> SurveyReply | None:
        """The survey this customer message answers, and what to say back; None: not a survey answer."""
        now = self._clock.now()
        settings = self._settings()
        pressed = parse_score_choice(choice)
        if pressed is not None:
            survey = await self._store.by_case_number(pressed[0])
            # A button value is customer input like any other: it only counts for the customer it was sent to.
            if survey is None or (survey.channel, survey.sender_id) != (channel, sender_id):
                return None
            return await self._score(survey, pressed[1], settings, now)
        if in_conversation:
            return None
        since = now - timedelta(hours=settings.answer_within_hours)
        survey = await self._store.latest_for(channel, sender_id, since)
        if survey is None or survey.status == "not_asked":
            return None
        typed = parse_typed_score(text if choice is None else choice)
        if typed is not None:
            # A number typed after the score (WeChat's numbered options, a second try) is a second answer.
            return await self._score(survey, typed, settings, now)
        if survey.status == "awaiting_comment":
            return await self._comment(survey, (text or "").strip())
        return None

    async def _score(self, survey: SurveyRecord, score: int, settings: CsatSettings, now: datetime) -> SurveyReply:
        next_status = "awaiting_comment" if settings.ask_comment else "answered"
        if survey.status != "asked" or not await self._store.record_score(survey.case_id, score, now, next_status):
            current = await self._store.survey(survey.case_id) or survey
            return SurveyReply(
                survey.case_id,
                (csat_text("already_answered", survey.lang, number=survey.case_number, score=current.score),),
            )
        number, lang = survey.case_number, survey.lang
        texts = [csat_text("thanks", lang, number=number, score=score)]
        await self._sla_store.add_case_event(survey.case_id, "csat_answered", "customer", {"score": score})
        low = score <= settings.low_score
        if low and settings.on_low == "reopen" and self._reopener is not None:
            await self._reopener.reopen(number, "customer", f"csat:{number}")
            texts.append(csat_text("low_score_reopened", lang, number=number))
        if self._notifier is not None:
            if low:
                key = "team_low_reopened" if settings.on_low == "reopen" else "team_low_escalated"
                mention = await self._lead_mention(survey.case_id)
                await self._notifier.post_in_thread(
                    number, csat_text(key, lang, number=number, score=score, mention=mention)
                )
            else:
                await self._notifier.post_in_thread(number, csat_text("team_score", lang, number=number, score=score))
        if settings.ask_comment:
            texts.append(csat_text("comment_prompt", lang))
        return SurveyReply(survey.case_id, tuple(texts))

    async def _comment(self, survey: SurveyRecord, text: str) -> SurveyReply | None:
        lowered = text.lower()
        if lowered in NEW_COMPLAINT_WORDS or text.startswith("/"):
            # The customer moved on to something else: no comment, and the message is theirs to use.
            await self._store.record_comment(survey.case_id, None)
            return None
        if not text or lowered in SKIP_WORDS:
            await self._store.record_comment(survey.case_id, None)
            return SurveyReply(survey.case_id, (csat_text("comment_skipped", survey.lang),))
        comment = text[:2000]
        if not await self._store.record_comment(survey.case_id, comment):
            return None
        if self._notifier is not None:
            await self._notifier.post_in_thread(
                survey.case_number, csat_text("team_comment", survey.lang, comment=escape_mrkdwn(comment))
            )
        return SurveyReply(survey.case_id, (csat_text("comment_thanks", survey.lang),))

    async def _lead_mention(self, case_id: int) -> str:
        sla = await self._sla_store.sla(case_id)
        if sla is None:
            return ""
        lead = AppliedPolicy.model_validate(sla.policy).lead
        return f"<@{lead}> " if lead else ""

