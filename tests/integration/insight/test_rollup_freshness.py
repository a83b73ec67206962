"""The rollup's refresh sees every kind of case write (QuerySet.update() skips auto_now: storage bumps updated_at
itself), and a refresh over many days goes in bounded chunks, resumable from the stored pass."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.insight.figures import InsightFigures
from bot.insight.rollup_watch import TIMER_KIND as ROLLUP_TIMER_KIND
from bot.insight.rollup_watch import RollupWatch
from storage.desk import TortoiseDeskStore
from storage.insight import CaseQuery, TortoiseInsight
from storage.insight_rollup import TortoiseInsightRollup, delete_cases
from storage.models import (
    Case,
    CaseEvent,
    InsightDaily,
    InsightDirtyDay,
    InsightRollupState,
    NlpCorrection,
    Timer,
)
from storage.privacy import anonymise_cases
from storage.synthetic import insert_synthetic_cases
from storage.timers import TortoiseTimerStore
from tests.e2e.test_processes import plaint, plaint_env
from tests.integration.insight.test_insight import SHANGHAI, T0, case, fixed_data

__all__ = ["fixed_data"]

# The fixed cases' filing days in Shanghai: Ann the 27th, Bob the 28th, 李娜 the 29th, Eve the 30th.
ANN_DAY = date(2026, 11, 27)


async def _built(lag: timedelta = timedelta(0)) -> TortoiseInsightRollup:
    # No look-back: the fixed cases were written a moment ago, and would all count as changed.
    rollup = TortoiseInsightRollup(SHANGHAI, lag=lag)
    await rollup.rebuild(datetime.now(UTC))
    return rollup


async def test_a_team_move_and_an_erasure_reach_the_rollup_on_the_next_refresh(fixed_data: TortoiseInsight) -> None:
    ann = await Case.get(sender_id="s-Ann")
    await NlpCorrection.create(case_id=ann.id, field="category", text="x", lang="en", old_value="product_quality",
                               new_value="delivery_logistics", actor="U1")
    rollup = await _built()
    figures = InsightFigures(fixed_data, SHANGHAI, rollup)
    assert [row.corrected for row in await figures.nlp_quality(CaseQuery(), "category")] == [1, 0]

    # An agent moves Ann's case to billing (the desk's move: a QuerySet update of the case row).
    async with TortoiseDeskStore().unit_of_work() as uow:
        await uow.move_case(ann.number, "billing")
    assert ANN_DAY in await rollup.refresh(datetime.now(UTC))
    teams = await figures.volume(CaseQuery(), "day", "team")
    assert (ANN_DAY, "billing", 1) in [(p.period, p.value, p.cases) for p in teams]
    assert (ANN_DAY, "general", 1) not in [(p.period, p.value, p.cases) for p in teams]

    # Ann's data are erased: her correction goes with them (a delete the refresh cannot see), her case row is
    # updated, and that update is what brings her day back into the next refresh.
    await anonymise_cases([ann.id])
    assert ANN_DAY in await rollup.refresh(datetime.now(UTC))
    assert [row.corrected for row in await figures.nlp_quality(CaseQuery(), "category")] == [0, 0]


async def test_a_hard_erasure_leaves_the_rollup_at_the_next_refresh(
    fixed_data: TortoiseInsight, settings: Settings
) -> None:
    # Bob filed at 17:00 UTC on the 27th: the 28th in Shanghai, the rollup's zone (a UTC day would miss him).
    bob_day = date(2026, 11, 28)
    rollup = await _built()
    figures = InsightFigures(fixed_data, SHANGHAI, rollup)
    assert (await figures.timings(CaseQuery())).cases == 4
    assert [p.cases for p in await figures.volume(CaseQuery(), "day", "channel") if p.period == bob_day] == [1]

    # The data protection officer erases Bob for good: his case row is deleted, nothing left for a refresh to find
    # but the filing day the delete recorded.
    await plaint(settings, "privacy", "erase", "--customer", "telegram:s-Bob", "--hard", "--yes")
    assert await Case.filter(sender_id="s-Bob").count() == 0
    assert [row.day for row in await InsightDirtyDay.all()] == [bob_day]
    assert (await figures.timings(CaseQuery())).cases == 4  # counted until the refresh

    assert bob_day in await rollup.refresh(datetime.now(UTC))
    timings = await figures.timings(CaseQuery())
    assert (timings.cases, timings.resolution.cases) == (3, 1)  # Bob was one of the two resolved
    assert [p.cases for p in await figures.volume(CaseQuery(), "day", "channel") if p.period == bob_day] == []
    assert sum(row.cases for row in await InsightDaily.filter(grain="")) == 3
    assert await InsightDirtyDay.all().count() == 0  # done: the next refresh does not recompute it again
    assert bob_day not in await rollup.refresh(datetime.now(UTC))


async def test_cases_deleted_by_retention_leave_the_rollup_at_the_next_refresh(
    fixed_data: TortoiseInsight, settings: Settings, tmp_path: Path
) -> None:
    # Bob's case was closed long ago; the policy deletes closed cases after a year.
    bob_day = date(2026, 11, 28)
    await Case.filter(sender_id="s-Bob").update(status="closed", updated_at=datetime.now(UTC) - timedelta(days=400))
    rollup = await _built()
    figures = InsightFigures(fixed_data, SHANGHAI, rollup)
    assert (await figures.timings(CaseQuery())).cases == 4
    policy = tmp_path / "retention.yaml"
    policy.write_text("closed_cases: {after_days: 365, action: delete}\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "privacy", "retention", "--apply", "--actor", "dpo",
        env={**plaint_env(settings), "PLAINT_RETENTION_FILE": str(policy)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert await Case.filter(sender_id="s-Bob").count() == 0 and await Case.all().count() == 3

    assert bob_day in await rollup.refresh(datetime.now(UTC))
    assert (await figures.timings(CaseQuery())).cases == 3
    assert [p.cases for p in await figures.volume(CaseQuery(), "day", "channel") if p.period == bob_day] == []


async def test_a_refresh_over_many_days_goes_in_chunks_resumed_from_the_stored_pass(
    fixed_data: TortoiseInsight,
) -> None:
    rollup = await _built()
    figures = InsightFigures(fixed_data, SHANGHAI, rollup)
    watermark = await rollup.as_of()
    # Every fixed case gets a reply: four filing days changed.
    for row in await Case.all():
        await CaseEvent.create(case_id=row.id, kind="agent_reply", actor="U1", data={})
    started = datetime.now(UTC)
    assert await rollup.refresh(started, max_days=3) == [ANN_DAY, date(2026, 11, 28), date(2026, 11, 29)]
    assert await rollup.behind() and await rollup.as_of() == watermark  # the watermark waits for the pass's end
    # During the pass: a new case on a day already done, and one on a day still to do.
    await insert_synthetic_cases([case("Zed", created_at=T0 + timedelta(minutes=10)),
                                  case("Yan", created_at=T0 + timedelta(days=3, minutes=10))])
    assert await rollup.refresh(datetime.now(UTC), max_days=3) == [date(2026, 11, 30)]
    assert not await rollup.behind() and await rollup.as_of() == started  # the pass's start is the new watermark
    assert (await figures.timings(CaseQuery())).cases == 5  # Yan counted; Zed's day was done before Zed came
    # The next pass sees the change made during the last one on a day it had already done.
    assert await rollup.refresh(datetime.now(UTC), max_days=3) == [ANN_DAY, date(2026, 11, 30)]
    assert (await figures.timings(CaseQuery())).cases == 6
    assert (await figures.timings(CaseQuery())).first_response.cases == 4


async def test_a_day_that_lost_cases_during_a_chunked_pass_is_recomputed_though_the_pass_is_past_it(
    fixed_data: TortoiseInsight,
) -> None:
    rollup = await _built()
    figures = InsightFigures(fixed_data, SHANGHAI, rollup)
    for row in await Case.all():
        await CaseEvent.create(case_id=row.id, kind="agent_reply", actor="U1", data={})
    assert await rollup.refresh(datetime.now(UTC), max_days=2) == [ANN_DAY, date(2026, 11, 28)]
    # Mid-pass, Ann's case (a day the pass has done) is deleted.
    await delete_cases([(await Case.get(sender_id="s-Ann")).id])
    assert await rollup.refresh(datetime.now(UTC), max_days=2) == [ANN_DAY, date(2026, 11, 29)]
    assert await rollup.refresh(datetime.now(UTC), max_days=2) == [date(2026, 11, 30)]
    assert not await rollup.behind() and await InsightDirtyDay.all().count() == 0
    assert (await figures.timings(CaseQuery())).cases == 3


async def test_the_watch_fires_again_at_once_while_a_refresh_pass_has_days_left(fixed_data: TortoiseInsight) -> None:
    rollup = await _built()
    timers = TortoiseTimerStore(skip_locked=False)
    watch = RollupWatch(rollup, timers, every=timedelta(minutes=5), chunk_days=2)
    for row in await Case.all():
        await CaseEvent.create(case_id=row.id, kind="reopen", actor="customer", data={})
    now = datetime.now(UTC)
    await watch.ensure_scheduled(now)
    fired = 0
    while True:
        [due] = await timers.claim_due(now, "worker-1")
        async with timers.firing(due, "worker-1", now):
            await watch.fire(due, now)
        fired += 1
        [following] = await Timer.filter(kind=ROLLUP_TIMER_KIND, status="pending")
        if following.due_at > now:
            break
        assert fired < 5
    # Four changed days at two a firing: two firings, the first followed at once, the second by the usual pause.
    assert fired == 2 and following.due_at == now + timedelta(minutes=5)
    state = await InsightRollupState.get(name="daily")
    assert state.pass_until is None and state.pass_next is None
    # Ann's case was reopened already; now Bob's too (李娜's and Eve's were never resolved: no reopen counts).
    assert sum(row.reopened for row in await InsightDaily.filter(grain="")) == 2
    assert sum(row.cases for row in await InsightDaily.filter(grain="")) == 4
