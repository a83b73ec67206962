"""The daily rollup kept current on the worker's timer: every `every` (default a minute) one worker recomputes the
days of the cases changed since the last refresh (storage/insight_rollup.py says why a timer and not the intake's
transactions). One timer row carries it from run to run, like the spike watch, so two workers never refresh at once.

A missing rollup (or one built for another time zone) is built here only while the database is small; past
`build_limit` cases the backfill is the operator's (`plaint insight rollup --rebuild`), because a long build
must not hold a timer's lease, and until it is done the dashboard reads the cases directly (slower, still right).
For the same reason a refresh recomputes at most `chunk_days` filing days per firing (after a long pause, or a
write that touched cases of many days): while days remain, the next firing is due at once and goes on from the
stored pass, each firing its own transaction."""

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
                 every: timedelta = timedelta(minutes=1), build_limit: int = 50_000, chunk_days: int = 31) -> None:
        self._rollup = rollup
        self._timers = timers
        self._every = every
        self._build_limit = build_limit
        self._chunk_days = chunk_days

    async def ensure_scheduled(self, now: datetime) -> None:
        """At start-up: the next refresh is pending (a restart never adds a second one)."""
        if not await TortoiseSpikeAlerts().watch_pending(TIMER_KIND, TIMER_KEY):
            await self._timers.schedule(NewTimer(kind=TIMER_KIND, key=TIMER_KEY, due_at=now, payload={}))

    async def run_once(self, now: datetime) -> bool:
        """One firing's refresh; returns whether a refresh pass has days left (the next firing is due at once)."""
        if await self._rollup.current() or await Case.all().count() <= self._build_limit:
            await self._rollup.refresh(now, max_days=self._chunk_days)
            return await self._rollup.behind()
        else:
            log.warning("the insight rollup is not built for this time zone and there are more than %d cases: "
                        "run `plaint insight rollup --rebuild` (until then the dashboard reads the cases)",
                        self._build_limit)
            return False

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        behind = await self.run_once(now)
        due_at = now if behind else max(now, timer.due_at) + self._every
        await self._timers.schedule(NewTimer(kind=TIMER_KIND, key=TIMER_KEY, due_at=due_at, payload={}))


def build_rollup_watch(settings: Settings, timers: TortoiseTimerStore) -> RollupWatch:
    return RollupWatch(TortoiseInsightRollup(ZoneInfo(settings.timezone)), timers,
                       every=timedelta(minutes=settings.insight_rollup_minutes))
