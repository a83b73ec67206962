"""One SLA clock's moves, pure: start, pause, resume, meet, breach. Business time used before a pause is kept
(`consumed_seconds`), so a resumed clock is due when the rest of its target has passed in business hours.
Every move bumps the generation: timers scheduled for an older generation find it changed and do nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.lifecycle.business_hours import BusinessCalendar, add_business_time, business_time_between
from storage.sla import ClockRecord

RUNNING, PAUSED, MET, BREACHED, STOPPED = "running", "paused", "met", "breached", "stopped"
# Clocks still waiting for the thing they measure (an agent's reply, the resolution).
LIVE = frozenset({RUNNING, PAUSED, BREACHED})


def start_clock(
    metric: str, target: timedelta, calendar: BusinessCalendar, now: datetime, previous: ClockRecord | None = None
) -> ClockRecord:
    generation = previous.generation + 1 if previous is not None else 1
    return ClockRecord(
        metric=metric,
        status=RUNNING,
        target_seconds=int(target.total_seconds()),
        consumed_seconds=0,
        running_since=now,
        due_at=add_business_time(calendar, now, target),
        generation=generation,
        breached=False,
    )


def pause_clock(clock: ClockRecord, calendar: BusinessCalendar, now: datetime) -> ClockRecord:
    if clock.status != RUNNING or clock.running_since is None:
        return clock
    used = business_time_between(calendar, clock.running_since, now)
    return replace(
        clock,
        status=PAUSED,
        consumed_seconds=clock.consumed_seconds + int(used.total_seconds()),
        running_since=None,
        due_at=None,
        generation=clock.generation + 1,
    )


def resume_clock(clock: ClockRecord, calendar: BusinessCalendar, now: datetime) -> ClockRecord:
    if clock.status != PAUSED:
        return clock
    left = timedelta(seconds=max(clock.target_seconds - clock.consumed_seconds, 0))
    return replace(
        clock,
        status=RUNNING,
        running_since=now,
        due_at=add_business_time(calendar, now, left),
        generation=clock.generation + 1,
    )


def meet_clock(clock: ClockRecord, calendar: BusinessCalendar, now: datetime) -> ClockRecord:
    """The awaited thing happened; a clock met after its breach stays marked breached (met late). The
    business time used is kept, so a reopened case's resolution clock goes on from there."""
    if clock.status not in LIVE:
        return clock
    paused = pause_clock(clock, calendar, now)
    return replace(paused, status=MET, running_since=None, due_at=None, generation=clock.generation + 1)


def reopen_clock(clock: ClockRecord) -> ClockRecord:
    """A met clock counts again (a reopened case's resolution): paused, to be resumed with what is left."""
    if clock.status != MET:
        return clock
    return replace(clock, status=PAUSED, generation=clock.generation + 1)


def stop_clock(clock: ClockRecord) -> ClockRecord:
    """The case was resolved while a response was still awaited: that clock no longer measures anything."""
    if clock.status not in LIVE:
        return clock
    return replace(clock, status=STOPPED, running_since=None, due_at=None, generation=clock.generation + 1)


def breach_clock(clock: ClockRecord) -> ClockRecord:
    return replace(clock, status=BREACHED, breached=True, due_at=None, generation=clock.generation + 1)


def warning_due(clock: ClockRecord, calendar: BusinessCalendar, share: float) -> datetime | None:
    """When `share` of the target will have been used, if that is still ahead of a running clock."""
    if clock.status != RUNNING or clock.running_since is None:
        return None
    warn_after = int(clock.target_seconds * share) - clock.consumed_seconds
    if warn_after <= 0:
        return None
    return add_business_time(calendar, clock.running_since, timedelta(seconds=warn_after))
