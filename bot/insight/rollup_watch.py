"""The daily rollup kept current on the worker's timer: every `every` (default a minute) one worker recomputes the
days of the cases changed since the last refresh (storage/insight_rollup.py says why a timer and not the intake's
transactions). One timer row carries it from run to run, like the spike watch, so two workers never refresh at once.

A missing rollup (or one built for another time zone) is built here only while the database is small; past
`build_limit` cases the backfill is the operator's (`plaint insight rollup --rebuild`), because a long build
must not hold a timer's lease, and until it is done the dashboard reads the cases directly (slower, still right)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from storage.insight_alerts import TortoiseSpikeAlerts
from storage.insight_rollup import TortoiseInsightRollup
from storage.models import Case
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore

TIMER_KIND = "insight_rollup"
TIMER_KEY = "insight:rollup"
log = logging.getLogger(__name__)


class RollupWatch:
    def __init__(self, rollup: TortoiseInsightRollup, timers: TortoiseTimerStore, *,
                 every: timedelta = timedelta(minutes=1), build_limit: int = 50_000) -> None:
        self._rollup = rollup
        self._timers = timers
        self._every = every
        self._build_limit = build_limit

    async def ensure_scheduled(self, now: datetime) -> None:
        """At start-up: the next refresh is pending (a restart never adds a second one)."""
        if not await TortoiseSpikeAlerts().watch_pending(TIMER_KIND, TIMER_KEY):
            await self._timers.schedule(NewTimer(kind=TIMER_KIND, key=TIMER_KEY, due_at=now, payload={}))

    async def run_once(self, now: datetime) -> None:
        if await self._rollup.current() or await Case.all().count() <= self._build_limit:
            await self._rollup.refresh(now)
        else:
            log.warning("the insight rollup is not built for this time zone and there are more than %d cases: "
                        "run `plaint insight rollup --rebuild` (until then the dashboard reads the cases)",
                        self._build_limit)

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        await self.run_once(now)
        await self._timers.schedule(
            NewTimer(kind=TIMER_KIND, key=TIMER_KEY, due_at=max(now, timer.due_at) + self._every, payload={})
        )


def build_rollup_watch(settings: Settings, timers: TortoiseTimerStore) -> RollupWatch:
    return RollupWatch(TortoiseInsightRollup(ZoneInfo(settings.timezone)), timers,
                       every=timedelta(minutes=settings.insight_rollup_minutes))
