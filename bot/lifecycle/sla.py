"""The SLA service: clocks that follow the case, and the escalation ladder their timers climb.

The desk tells it what happened to a case (`transitioned`, inside the desk's transaction); it moves the
case's clocks (sla_clock), records each move on the case's clock timeline, and keeps one pending timer per
upcoming step (warning, breach). Timers fire through `fire` (the TimerWorker's handler, inside the timer's
firing transaction); a timer whose clock moved since it was scheduled (generation changed) does nothing.

Alerts respect the policy's calendar: a step that comes due while the team is closed waits for the next
opening (24/7 policies alert at any hour). Everything said in Slack goes through the CaseThreadNotifier,
which queues it in the outbox of the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.lifecycle.alert_texts import alert_text, format_target, slack_time
from bot.lifecycle.business_hours import BusinessCalendar, add_business_time, is_open, next_opening
from bot.lifecycle.case_thread import CaseThreadNotifier
from bot.lifecycle.clock import Clock
from bot.lifecycle.sla_clock import (
    BREACHED,
    LIVE,
    RUNNING,
    breach_clock,
    meet_clock,
    pause_clock,
    reopen_clock,
    resume_clock,
    start_clock,
    stop_clock,
    warning_due,
)
from bot.lifecycle.sla_policy import AppliedPolicy, Metric, SlaPolicies, applied_policy
from storage.sla import ClockRecord, SlaCaseRef, SlaRecord, TortoiseSlaStore
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore

log = logging.getLogger(__name__)

TIMER_KIND = "sla"
SLA_ACTOR = "plaint-sla"
WAITING = "waiting_for_customer"
CLOSED_STATUSES = frozenset({"resolved", "closed"})

Step = Literal["warn", "breach", "breach_alert", "escalate"]


class SlaTimerPayload(BaseModel):
    """What an SLA timer carries; the generation ties it to the clock state it was scheduled for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    step: Step
    generation: int


def _timer_key(metric: str, step: str | None = None) -> str:
    return f"sla:{metric}:" + (step or "")


class SlaService:
    def __init__(
        self,
        *,
        store: TortoiseSlaStore,
        timers: TortoiseTimerStore,
        policies: Callable[[], SlaPolicies],
        clock: Clock,
        notifier: CaseThreadNotifier,
    ) -> None:
        self._store = store
        self._timers = timers
        self._policies = policies
        self._clock = clock
        self._notifier = notifier

    # --- what the desk tells us ---------------------------------------------------------------------

    async def transitioned(self, number: str, action: str, source: str, target: str) -> None:
        """A case changed (call inside the transaction that changed it). `action` is the desk's action
        ("routed", "agent_reply", "customer_reply", "resolve", "reopen", ...), `source`/`target` its status."""
        now = self._clock.now()
        case = await self._store.case(number, lock=True)
        if action == "routed":
            await self._start(case, now)
            return
        sla = await self._store.sla(case.id)
        if sla is None:
            return
        policy = AppliedPolicy.model_validate(sla.policy)
        calendar = policy.business_calendar()
        clocks = await self._store.clocks(case.id)
        if action == "agent_reply":
            for metric in ("first_response", "next_response"):
                await self._meet(case, calendar, clocks.get(metric), now)
        if action == "customer_reply" and "next_response" in policy.targets:
            first = clocks.get("first_response")
            # The first response target already covers the customer's words until an agent has answered.
            if first is None or first.status not in LIVE:
                current = clocks.get("next_response")
                if current is None or current.status not in LIVE:
                    await self._start_clock(case, policy, calendar, "next_response", now, current)
        resolution = clocks.get("resolution")
        if action == "resolve":
            await self._meet(case, calendar, resolution, now)
            for metric in ("first_response", "next_response"):
                await self._stop(case, clocks.get(metric), now)
            await self._finish(case, sla)
            return
        if action == "reopen" and sla.state == "hit":
            await self._store.set_state(case.id, "active")
        if resolution is None:
            return
        if action == "reopen":
            resolution = reopen_clock(resolution)
        if target == WAITING and source != WAITING:
            await self._save(case, pause_clock(resolution, calendar, now), now, "paused")
        elif (source == WAITING and target != WAITING) or action == "reopen":
            resumed = resume_clock(resolution, calendar, now)
            await self._save(case, resumed, now, "resumed")
            await self._schedule(case, policy, calendar, resumed)

    async def _start(self, case: SlaCaseRef, now: datetime) -> None:
        if await self._store.sla(case.id) is not None:
            return  # routed again (a retry): the case keeps the policy it started with
        # Priority rules run before this (when the case is routed), so the policy can depend on it.
        priority = case.priority
        policy = applied_policy(self._policies(), case.team, case.category, priority)
        if policy is None:
            return
        await self._store.start_sla(case.id, policy.name, policy.model_dump(mode="json"), priority, now)
        calendar = policy.business_calendar()
        for metric in ("first_response", "resolution"):
            if metric in policy.targets:
                await self._start_clock(case, policy, calendar, metric, now, None)

    async def _start_clock(
        self,
        case: SlaCaseRef,
        policy: AppliedPolicy,
        calendar: BusinessCalendar,
        metric: Metric,
        now: datetime,
        previous: ClockRecord | None,
    ) -> None:
        target = policy.target(metric)
        if target is None:
            return
        clock = start_clock(metric, target, calendar, now, previous)
        await self._save(case, clock, now, "started", {"due_at": clock.due_at.isoformat() if clock.due_at else None})
        await self._schedule(case, policy, calendar, clock)

    async def _meet(
        self, case: SlaCaseRef, calendar: BusinessCalendar, clock: ClockRecord | None, now: datetime
    ) -> None:
        if clock is None or clock.status not in LIVE:
            return
        await self._save(case, meet_clock(clock, calendar, now), now, "met", {"late": clock.breached})

    async def _stop(self, case: SlaCaseRef, clock: ClockRecord | None, now: datetime) -> None:
        if clock is None or clock.status not in LIVE:
            return
        await self._save(case, stop_clock(clock), now, "stopped")

    async def _finish(self, case: SlaCaseRef, sla: SlaRecord) -> None:
        if sla.state == "active":
            await self._store.set_state(case.id, "hit")

    async def _save(
        self,
        case: SlaCaseRef,
        clock: ClockRecord,
        now: datetime,
        event: str | None,
        data: dict[str, str | bool | None] | None = None,
    ) -> None:
        await self._store.save_clock(case.id, clock)
        # Whatever was scheduled for this clock belongs to its old generation.
        await self._timers.cancel(case.id, _timer_key(clock.metric))
        if event is not None:
            await self._store.add_event(case.id, clock.metric, event, now, data)

    async def _schedule(
        self, case: SlaCaseRef, policy: AppliedPolicy, calendar: BusinessCalendar, clock: ClockRecord
    ) -> None:
        if clock.status != RUNNING or clock.due_at is None:
            return
        share = policy.escalation.warn_at
        warn_at = warning_due(clock, calendar, share) if share is not None else None
        if warn_at is not None:
            await self._schedule_step(case, clock, "warn", warn_at)
        await self._schedule_step(case, clock, "breach", clock.due_at)

    async def _schedule_step(self, case: SlaCaseRef, clock: ClockRecord, step: Step, due_at: datetime) -> None:
        payload = SlaTimerPayload(metric=clock.metric, step=step, generation=clock.generation)
        await self._timers.schedule(
            NewTimer(
                kind=TIMER_KIND,
                key=_timer_key(clock.metric, step),
                due_at=due_at,
                payload=payload.model_dump(mode="json"),
                case_number=case.number,
            )
        )

    # --- what the timers make happen ----------------------------------------------------------------

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        try:
            payload = SlaTimerPayload.model_validate(timer.payload)
        except ValidationError:
            log.error("SLA timer %s has an unreadable payload; dropped", timer.id)
            return
        if timer.case_id is None:
            return
        case = await self._store.case_by_id(timer.case_id, lock=True)
        sla = await self._store.sla(case.id)
        clock = (await self._store.clocks(case.id)).get(payload.metric)
        if sla is None or clock is None:
            return
        policy = AppliedPolicy.model_validate(sla.policy)
        calendar = policy.business_calendar()
        if payload.step == "breach":
            if clock.generation == payload.generation and clock.status == RUNNING:
                await self._breach(case, sla, policy, calendar, clock, timer.due_at, now)
            return
        if payload.step == "warn":
            if clock.generation != payload.generation or clock.status != RUNNING:
                return
            if not await self._alert_allowed(case, calendar, clock, payload, now):
                return
            target = format_target(clock.target_seconds, case.lang)
            due = slack_time(clock.due_at or now)
            await self._notifier.post_in_thread(
                case.number,
                alert_text("warning", case.lang, metric=clock.metric, number=case.number, target=target, due=due),
            )
            await self._store.add_event(case.id, clock.metric, "warned", now)
            await self._store.add_case_event(case.id, "sla_warned", SLA_ACTOR, {"metric": clock.metric})
            return
        # The ladder after a breach only climbs while the breach stands (nobody answered yet).
        if clock.status != BREACHED or case.status in CLOSED_STATUSES:
            return
        if not await self._alert_allowed(case, calendar, clock, payload, now):
            return
        if payload.step == "breach_alert":
            await self._announce_breach(case, policy, clock)
        else:
            await self._escalate(case, policy, clock)

    async def _alert_allowed(
        self, case: SlaCaseRef, calendar: BusinessCalendar, clock: ClockRecord, payload: SlaTimerPayload,
        now: datetime,
    ) -> bool:
        """True when people may be pinged now; otherwise the step is put off to the next opening."""
        if is_open(calendar, now):
            return True
        await self._timers.schedule(
            NewTimer(
                kind=TIMER_KIND,
                key=_timer_key(clock.metric, payload.step),
                due_at=next_opening(calendar, now),
                payload=payload.model_dump(mode="json"),
                case_number=case.number,
            )
        )
        return False

    async def _breach(
        self,
        case: SlaCaseRef,
        sla: SlaRecord,
        policy: AppliedPolicy,
        calendar: BusinessCalendar,
        clock: ClockRecord,
        due_at: datetime,
        now: datetime,
    ) -> None:
        breached = breach_clock(clock)
        await self._save(case, breached, due_at, "breached")
        if sla.state != "missed":
            await self._store.set_state(case.id, "missed", clock.metric)
            # The case message shows the SLA state: redrawn with the breach.
            await self._notifier.case_changed(case.number)
        await self._store.add_case_event(
            case.id, "sla_breached", SLA_ACTOR, {"metric": clock.metric, "due_at": due_at.isoformat()}
        )
        follow_up = SlaTimerPayload(metric=clock.metric, step="breach_alert", generation=breached.generation)
        if is_open(calendar, now):
            await self._announce_breach(case, policy, breached)
        else:
            await self._alert_allowed(case, calendar, breached, follow_up, now)
        if policy.escalation.then != "nothing":
            await self._timers.schedule(
                NewTimer(
                    kind=TIMER_KIND,
                    key=_timer_key(clock.metric, "escalate"),
                    due_at=add_business_time(calendar, now, timedelta(seconds=policy.escalation.after)),
                    payload=SlaTimerPayload(
                        metric=clock.metric, step="escalate", generation=breached.generation
                    ).model_dump(mode="json"),
                    case_number=case.number,
                )
            )

    async def _announce_breach(self, case: SlaCaseRef, policy: AppliedPolicy, clock: ClockRecord) -> None:
        mention = f"<@{policy.lead}> " if policy.escalation.mention_lead and policy.lead else ""
        text = alert_text(
            "breach", case.lang, metric=clock.metric, number=case.number, mention=mention,
            target=format_target(clock.target_seconds, case.lang),
        )
        await self._notifier.post_in_thread(case.number, text)
        await self._store.add_case_event(
            case.id, "sla_breach_announced", SLA_ACTOR, {"metric": clock.metric, "lead": policy.lead}
        )

    async def _escalate(self, case: SlaCaseRef, policy: AppliedPolicy, clock: ClockRecord) -> None:
        escalation = policy.escalation
        target = format_target(clock.target_seconds, case.lang)
        if escalation.then == "reassign" and escalation.reassign_to is not None:
            agent = escalation.reassign_to
            if case.assignee != agent:
                await self._store.set_assignee(case.id, agent)
                await self._notifier.case_changed(case.number)
            await self._notifier.post_in_thread(
                case.number, alert_text("reassigned", case.lang, metric=clock.metric, number=case.number, agent=agent)
            )
            await self._store.add_case_event(
                case.id, "sla_escalated", SLA_ACTOR,
                {"metric": clock.metric, "reassigned_to": agent, "from": case.assignee},
            )
        elif escalation.then == "channel" and escalation.channel is not None:
            text = alert_text(
                "escalated", case.lang, metric=clock.metric, number=case.number, team=case.team or "-", target=target
            )
            await self._notifier.post_in_channel(case.number, escalation.channel, text)
            await self._store.add_case_event(
                case.id, "sla_escalated", SLA_ACTOR, {"metric": clock.metric, "channel": escalation.channel}
            )
