"""The daily digest: every morning, at the team's first opening hour, its channel gets the open cases by age
and SLA risk. One timer per team carries it from day to day (scheduled at start-up if missing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Literal

from bot.lifecycle.business_hours import BusinessCalendar, add_business_time, open_periods
from bot.lifecycle.case_thread import CaseThreadNotifier
from bot.lifecycle.clock import Clock
from bot.lifecycle.sla_policy import SlaPolicies
from storage.digest import DigestCase, TortoiseDigestStore
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore

TIMER_KIND = "digest"
OPEN_STATUSES = ("new", "acknowledged", "in_progress", "waiting_for_customer")
# Always-open calendars have no "first opening": their digest goes out at this local hour.
DEFAULT_HOUR = 9
SHOWN_OLDEST = 5

Lang = Literal["en", "zh"]
_TEXTS: dict[str, dict[Lang, str]] = {
    "header": {"en": ":bar_chart: *{team}*: {total} open cases", "zh": ":bar_chart: *{team}*：{total} 个未结投诉"},
    "ages": {
        "en": "• by age: under 1 day {young} · 1-3 days {middle} · over 3 days {old}",
        "zh": "• 按时长：不到1天 {young} · 1-3天 {middle} · 超过3天 {old}",
    },
    "risk": {
        "en": "• SLA: missed {missed} · due within {window} {at_risk}",
        "zh": "• 时限：已超时 {missed} · {window}内到期 {at_risk}",
    },
    "oldest": {"en": "• oldest: {cases}", "zh": "• 最久：{cases}"},
    "oldest_item": {"en": "{number} ({days} d)", "zh": "{number}（{days}天）"},
    "none": {"en": ":sparkles: *{team}*: no open cases.", "zh": ":sparkles: *{team}*：没有未结投诉。"},
}


def next_morning(calendar: BusinessCalendar, after: datetime) -> datetime:
    """The first opening of a day that starts after `after` (tomorrow's, if today's has begun)."""
    local_day = after.astimezone(calendar.timezone).date()
    for offset in range(0, 370):
        day = local_day + timedelta(days=offset)
        if calendar.always_open:
            moment = datetime(day.year, day.month, day.day, DEFAULT_HOUR, tzinfo=calendar.timezone)
            if moment > after:
                return moment
            continue
        periods = open_periods(calendar, day)
        if periods and periods[0][0] > after:
            return periods[0][0]
    raise ValueError("no opening within a year")


def digest_text(
    team: str, lang: Lang, cases: list[DigestCase], now: datetime, calendar: BusinessCalendar, window: timedelta
) -> str:
    say = {key: texts[lang] for key, texts in _TEXTS.items()}
    if not cases:
        return say["none"].format(team=team)
    ages = [max(now - case.created_at, timedelta(0)) for case in cases]
    horizon = add_business_time(calendar, now, window)
    missed = sum(1 for case in cases if case.sla_state == "missed")
    at_risk = sum(
        1 for case in cases if case.sla_state != "missed" and case.next_due_at is not None
        and case.next_due_at <= horizon
    )
    hours = int(window.total_seconds() // 3600)
    oldest = sorted(zip(ages, cases, strict=True), key=lambda pair: pair[0], reverse=True)[:SHOWN_OLDEST]
    lines = [
        say["header"].format(team=team, total=len(cases)),
        say["ages"].format(
            young=sum(1 for age in ages if age < timedelta(days=1)),
            middle=sum(1 for age in ages if timedelta(days=1) <= age <= timedelta(days=3)),
            old=sum(1 for age in ages if age > timedelta(days=3)),
        ),
        say["risk"].format(missed=missed, at_risk=at_risk, window=f"{hours}h" if lang == "en" else f"{hours}小时"),
        say["oldest"].format(
            cases=", ".join(say["oldest_item"].format(number=case.number, days=age.days) for age, case in oldest)
        ),
    ]
    return "\n".join(lines)


class DigestService:
    def __init__(
        self,
        *,
        store: TortoiseDigestStore,
        timers: TortoiseTimerStore,
        policies: Callable[[], SlaPolicies],
        team_channels: Mapping[str, str],
        clock: Clock,
        notifier: CaseThreadNotifier,
    ) -> None:
        self._store = store
        self._timers = timers
        self._policies = policies
        self._team_channels = team_channels
        self._clock = clock
        self._notifier = notifier

    async def ensure_scheduled(self) -> None:
        """At start-up: every team has its next digest pending (a restart never adds a second one)."""
        if not self._policies().digest.enabled:
            return
        for team in self._team_channels:
            if not await self._store.digest_pending(f"digest:{team}"):
                await self._schedule(team, self._clock.now())

    async def use_teams(self, team_channels: Mapping[str, str]) -> None:
        """Routing an admin edited: a new team gets its digest from its next morning on, without a restart; a
        team removed gets none (its pending timer finds no channel and ends the chain); a moved channel is used."""
        self._team_channels = dict(team_channels)
        await self.ensure_scheduled()

    async def _schedule(self, team: str, after: datetime) -> None:
        _, spec = self._policies().team_calendar(team)
        await self._timers.schedule(
            NewTimer(
                kind=TIMER_KIND, key=f"digest:{team}", due_at=next_morning(spec.to_calendar(), after),
                payload={"team": team},
            )
        )

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        team = str(timer.payload.get("team", ""))
        channel = self._team_channels.get(team)
        policies = self._policies()
        if channel is None or not policies.digest.enabled:
            return  # the team is gone or digests were turned off: the chain ends here
        _, spec = policies.team_calendar(team)
        lang = policies.teams[team].lang if team in policies.teams else "en"
        cases = await self._store.open_cases(team, OPEN_STATUSES)
        text = digest_text(
            team, lang, cases, now, spec.to_calendar(), timedelta(seconds=policies.digest.at_risk_within)
        )
        await self._notifier.post_to_channel(f"digest:{team}", channel, text)
        if not await self._store.digest_pending(f"digest:{team}", other_than=timer.id):
            await self._schedule(team, max(now, timer.due_at))
