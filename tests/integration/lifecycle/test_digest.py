"""The daily digest: each team's channel, at its first opening hour, open cases by age and SLA risk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from bot.lifecycle.business_hours import BusinessCalendar
from bot.lifecycle.digest import next_morning
from storage.database import open_database
from storage.models import Case, Timer
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import AGENT, MONDAY, TEAM_CHANNEL, LifecycleRoom, build_room


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        yield build_room(database_url, slack, MONDAY - timedelta(days=3, hours=-16), tmp_path)


def digests(slack: FakeSlackApi) -> list[str]:
    return [str(call.params["text"]) for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL)
            if call.params.get("thread_ts") is None and "open cases" in str(call.params["text"])]


async def test_the_morning_digest_counts_ages_and_risk_and_comes_back_each_business_day(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    # Friday 16:00: three cases filed; one is five days old, one misses its first response on Monday.
    old, missed, fresh = [await room.file_case() for _ in range(3)]
    await Case.filter(number=old).update(created_at=MONDAY - timedelta(days=5))
    await Case.filter(number=missed).update(created_at=MONDAY - timedelta(days=2, hours=8))
    await Case.filter(number=fresh).update(created_at=MONDAY - timedelta(hours=1))
    for number in (old, fresh):
        case = await Case.get(number=number)
        assert case.slack_channel and case.slack_ts
        await room.desk.thread_reply(case.slack_channel, case.slack_ts, "Looking into it", AGENT, f"r-{number}")
    await room.digest.ensure_scheduled()
    await room.digest.ensure_scheduled()  # a second worker starting: still one digest per team
    assert await Timer.filter(kind="digest", status="pending").count() == 1
    await room.run_until(MONDAY + timedelta(hours=9))
    await room.deliver()
    [digest] = digests(slack)
    assert digest.startswith(":bar_chart: *general*: 3 open cases")
    assert "under 1 day 1 · 1-3 days 1 · over 3 days 1" in digest
    # The unanswered case's first response (4h from Friday 16:00) ran out on Monday at 11:00: at risk now.
    assert "missed 0 · due within 4h 1" in digest
    assert f"oldest: {old} (5 d)" in digest
    # Tuesday morning the next one comes, once.
    await room.run_until(MONDAY + timedelta(days=1, hours=9))
    await room.deliver()
    assert len(digests(slack)) == 2 and "missed 1" in digests(slack)[-1]
    assert await Timer.filter(kind="digest", status="pending").count() == 1


def test_next_morning_skips_the_weekend() -> None:
    from zoneinfo import ZoneInfo

    office = BusinessCalendar(timezone=ZoneInfo("Asia/Shanghai"), weekly=(((540, 1080),),) * 5 + ((), ()))
    friday_noon = MONDAY + timedelta(days=4, hours=4)  # 12:00 in Shanghai
    assert next_morning(office, friday_noon) == MONDAY + timedelta(days=7, hours=1)  # Monday 09:00 Shanghai
