"""Nothing left to rot: a customer who has not answered an agent's question is reminded, then the case is
closed with a message; a resolved case nobody reopened is closed after a while. Each step is a database timer
scheduled on the desk's transitions; any later transition of the case cancels what was pending, so a step
only fires when the case is still where it was left."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.customer_script import status_update
from bot.lifecycle.clock import Clock
from bot.lifecycle.csat import within_platform_window
from bot.lifecycle.sla_policy import HousekeepingSettings
from bot.messages import outbound_to_payload
from storage.customer_messages import TortoiseCustomerMessages
from storage.sla import TortoiseSlaStore
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore

TIMER_KIND = "housekeeping"
ACTOR = "plaint"
WAITING, RESOLVED = "waiting_for_customer", "resolved"

_TEXTS = {
    "reminder": {
        "en": "A reminder about case {number}: our team is waiting for your answer. Just reply here.",
        "zh": "提醒：关于投诉 {number}，客服正在等待你的回复，请直接在这里回复。",
    },
    "closed_unanswered": {
        "en": "We closed case {number} because we did not hear back. Write to us any time to open a new one.",
        "zh": "由于未收到你的回复，投诉 {number} 已关闭。如有需要，随时可以再联系我们。",
    },
}


class CaseCloser(Protocol):
    """The desk's own actions, so closing goes through the lifecycle like an agent's would."""

    async def resolve(self, number: str, summary: str, code: str, actor: str, dedupe_key: str) -> object: ...

    async def close(self, number: str, actor: str, dedupe_key: str) -> object: ...


class HousekeepingPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step: Literal["remind", "close_unanswered", "close_resolved"]


def _say(key: str, lang: str, **values: object) -> str:
    return _TEXTS[key]["zh" if lang.startswith("zh") else "en"].format(**values)


class HousekeepingService:
    def __init__(
        self,
        *,
        messages: TortoiseCustomerMessages,
        sla_store: TortoiseSlaStore,
        timers: TortoiseTimerStore,
        settings: Callable[[], HousekeepingSettings],
        clock: Clock,
    ) -> None:
        self._messages = messages
        self._sla_store = sla_store
        self._timers = timers
        self._settings = settings
        self._clock = clock
        self._closer: CaseCloser | None = None

    def use_closer(self, closer: CaseCloser) -> None:
        """The desk observes this room, so it is built after it: the root hands it over here."""
        self._closer = closer

    async def transitioned(self, number: str, action: str, source: str, target: str) -> None:
        if action == "routed" or (source == target and action not in ("agent_reply",)):
            return
        case = await self._sla_store.case(number)
        await self._timers.cancel(case.id, "housekeeping:")
        settings = self._settings()
        now = self._clock.now()
        if target == WAITING and settings.remind_after is not None:
            await self._schedule(number, "remind", now + timedelta(seconds=settings.remind_after))
        elif target == RESOLVED and settings.close_resolved_after is not None:
            await self._schedule(number, "close_resolved", now + timedelta(seconds=settings.close_resolved_after))

    async def _schedule(self, number: str, step: str, due_at: datetime) -> None:
        await self._timers.schedule(
            NewTimer(
                kind=TIMER_KIND,
                key=f"housekeeping:{step}",
                due_at=due_at,
                payload={"step": step},
                case_number=number,
            )
        )

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        try:
            step = HousekeepingPayload.model_validate(timer.payload).step
        except ValidationError:
            return
        if timer.case_id is None:
            return
        case = await self._messages.case(timer.case_id)
        settings = self._settings()
        if step == "remind" and case.status == WAITING:
            if within_platform_window(case, now) and not case.unreachable:
                message = status_update(case, _say("reminder", case.lang, number=case.number))
                await self._messages.send(case, message.text, outbound_to_payload(message))
                await self._sla_store.add_case_event(case.id, "customer_reminded", ACTOR, {})
            else:
                await self._sla_store.add_case_event(case.id, "customer_not_reminded", ACTOR,
                                                     {"reason": "platform_window_or_unreachable"})
            if settings.close_unanswered_after is not None:
                await self._schedule(
                    case.number, "close_unanswered", now + timedelta(seconds=settings.close_unanswered_after)
                )
        elif step == "close_unanswered" and case.status == WAITING and self._closer is not None:
            summary = _say("closed_unanswered", case.lang, number=case.number)
            await self._closer.resolve(case.number, summary, "no_reply", ACTOR, f"timer:{timer.id}")
        elif step == "close_resolved" and case.status == RESOLVED and self._closer is not None:
            await self._closer.close(case.number, ACTOR, f"timer:{timer.id}")

