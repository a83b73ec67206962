"""SLA clocks driven by an injected clock through the desk, with alerts reaching the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.lifecycle.sla_policy import parse_sla_policies
from storage.database import open_database
from storage.models import Case, CaseEvent, CaseSla, SlaClock
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import (
    AGENT,
    ESCALATION_CHANNEL,
    LEAD,
    MONDAY,
    POLICIES,
    SENIOR,
    TEAM_CHANNEL,
    LifecycleRoom,
    build_room,
)


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    async with open_database(database_url):
        yield database_url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


def thread_texts(slack: FakeSlackApi) -> list[str]:
    return [str(call.params["text"]) for call in slack.calls_to("chat.postMessage") if call.params.get("thread_ts")]


async def sla_of(number: str) -> CaseSla:
    return await CaseSla.get(case__number=number)


async def clock_of(number: str, metric: str) -> SlaClock:
    return await SlaClock.get(case__number=number, metric=metric)


async def agent_replies(room: LifecycleRoom, number: str, key: str) -> None:
    case = await Case.get(number=number)
    assert case.slack_channel and case.slack_ts
    outcome = await room.desk.thread_reply(case.slack_channel, case.slack_ts, "Sorry! Is it the lid?", AGENT, key)
    assert outcome.kind == "applied", outcome


async def test_first_response_breached_inside_business_hours(
    database: str, slack: FakeSlackApi, data_dir: Path
) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=10), data_dir)
    number = await room.file_case()
    assert (await sla_of(number)).policy_name == "standard"
    assert (await clock_of(number, "first_response")).due_at == MONDAY + timedelta(hours=14)
    # 75% of four hours: the team is warned at 13:00, in the case thread.
    await room.run_until(MONDAY + timedelta(hours=12, minutes=59))
    await room.deliver()
    assert thread_texts(slack) == []
    await room.run_until(MONDAY + timedelta(hours=13))
    await room.deliver()
    [warning] = thread_texts(slack)
    assert number in warning and "first response" in warning
    await room.run_until(MONDAY + timedelta(hours=14))
    await room.deliver()
    breach = thread_texts(slack)[-1]
    assert f"<@{LEAD}>" in breach and "missed its first response target (4h)" in breach
    sla = await sla_of(number)
    assert (sla.state, sla.breached_metric) == ("missed", "first_response")
    assert await room.timeline(number) == [
        ("first_response", "started"), ("resolution", "started"),
        ("first_response", "warned"), ("first_response", "breached"),
    ]
    # An hour of business time later the ladder's next step posts in the escalation channel.
    await room.run_until(MONDAY + timedelta(hours=15))
    await room.deliver()
    [escalated] = [call for call in slack.calls_to("chat.postMessage", ESCALATION_CHANNEL)]
    assert number in str(escalated.params["text"]) and "thread_ts" not in escalated.params
    kinds = [event.kind for event in await CaseEvent.filter(case__number=number).order_by("id")]
    assert kinds[-4:] == ["sla_warned", "sla_breached", "sla_breach_announced", "sla_escalated"]


async def test_first_response_breached_outside_business_hours(
    database: str, slack: FakeSlackApi, data_dir: Path
) -> None:
    # Filed on Friday at 17:00: one business hour on Friday, three on Monday.
    friday = MONDAY + timedelta(days=4, hours=17)
    room = build_room(database, slack, friday, data_dir)
    number = await room.file_case()
    assert (await clock_of(number, "first_response")).due_at == MONDAY + timedelta(days=7, hours=12)
    # The whole weekend passes in silence.
    await room.run_until(MONDAY + timedelta(days=7, hours=8, minutes=59))
    await room.deliver()
    assert thread_texts(slack) == []
    assert (await sla_of(number)).state == "active"
    await room.run_until(MONDAY + timedelta(days=7, hours=12))
    await room.deliver()
    assert len(thread_texts(slack)) == 2  # the warning at 11:00, the breach at 12:00
    assert (await sla_of(number)).state == "missed"
    warned, breached = [event for event in await room.events(number) if event.kind in ("warned", "breached")]
    assert warned.at == MONDAY + timedelta(days=7, hours=11)
    assert breached.at == MONDAY + timedelta(days=7, hours=12)


async def test_a_breach_found_at_night_is_announced_at_the_next_opening(
    database: str, slack: FakeSlackApi, data_dir: Path
) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=15), data_dir)
    number = await room.file_case()
    # Due Tuesday 10:00; warned Tuesday 09:00. Every worker is down from Monday 16:00 to Wednesday 03:00.
    room.clock.set(MONDAY + timedelta(days=2, hours=3))
    await room.timers.fire_due()
    await room.deliver()
    # The breach is recorded at its deadline, but nobody is pinged at 3 a.m.
    sla = await sla_of(number)
    assert (sla.state, sla.breached_metric) == ("missed", "first_response")
    breached = [(event.metric, event.at) for event in await room.events(number) if event.kind == "breached"]
    assert breached == [
        ("first_response", MONDAY + timedelta(days=1, hours=10)),
        ("resolution", MONDAY + timedelta(days=1, hours=14)),
    ]
    assert thread_texts(slack) == []
    await room.run_until(MONDAY + timedelta(days=2, hours=9))
    await room.deliver()
    assert any(f"<@{LEAD}>" in text for text in thread_texts(slack))


async def test_a_24_7_policy_pings_at_night(database: str, slack: FakeSlackApi, data_dir: Path) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=2), data_dir)
    number = await room.file_case(description="The charger caught fire on my desk")
    sla = await sla_of(number)
    assert (sla.policy_name, sla.priority) == ("urgent", "urgent")
    await room.run_until(MONDAY + timedelta(hours=3))
    await room.deliver()
    texts = thread_texts(slack)
    assert len(texts) >= 2 and f"<@{LEAD}>" in texts[1]
    # The urgent ladder reassigns to the senior agent straight after the breach.
    case = await Case.get(number=number)
    assert case.assignee == SENIOR
    assert any(f"<@{SENIOR}>" in text for text in thread_texts(slack))
    # ... and the case message in the team channel is re-rendered.
    assert slack.calls_to("chat.update", TEAM_CHANNEL)


async def test_clocks_pause_while_waiting_for_the_customer(database: str, slack: FakeSlackApi, data_dir: Path) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=9), data_dir)
    number = await room.file_case()
    room.clock.set(MONDAY + timedelta(hours=10))
    await agent_replies(room, number, "reply-1")
    first = await clock_of(number, "first_response")
    assert first.status == "met" and not first.breached
    resolution = await clock_of(number, "resolution")
    assert (resolution.status, resolution.consumed_seconds, resolution.due_at) == ("paused", 3600, None)
    # Two days without an answer: the paused clock never breaches.
    await room.run_until(MONDAY + timedelta(days=2, hours=9))
    assert (await sla_of(number)).state == "active"
    assert await room.customer_writes(number, "customer-1") == "in_progress"
    resolution = await clock_of(number, "resolution")
    # Seven of the eight hours are left: due at 16:00 on Wednesday.
    assert (resolution.status, resolution.due_at) == ("running", MONDAY + timedelta(days=2, hours=16))
    assert (await clock_of(number, "next_response")).due_at == MONDAY + timedelta(days=2, hours=11)
    assert await room.timeline(number) == [
        ("first_response", "started"),
        ("resolution", "started"),
        ("first_response", "met"),
        ("resolution", "paused"),
        ("next_response", "started"),
        ("resolution", "resumed"),
    ]
    room.clock.set(MONDAY + timedelta(days=2, hours=10))
    await agent_replies(room, number, "reply-2")
    assert (await clock_of(number, "next_response")).status == "met"
    # Resolved in time: the SLA was hit, and no timer of this case fires any more.
    room.clock.set(MONDAY + timedelta(days=2, hours=11))
    resolved = await room.desk.resolve(number, "Replaced the kettle", "replaced", AGENT, "resolve-1")
    assert resolved.kind == "applied"
    assert (await sla_of(number)).state == "hit"
    await room.run_until(MONDAY + timedelta(days=9))
    assert (await sla_of(number)).state == "hit"
    assert [kind for _, kind in await room.timeline(number)].count("breached") == 0


async def test_a_policy_change_applies_to_new_cases_only(database: str, slack: FakeSlackApi, data_dir: Path) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=9), data_dir)
    old_case = await room.file_case()
    # An admin halves the first response target mid-case.
    room.policies.policies = parse_sla_policies(POLICIES.replace("first_response: 4h", "first_response: 2h"), "v2")
    room.clock.set(MONDAY + timedelta(hours=10))
    new_case = await room.file_case()
    assert (await clock_of(old_case, "first_response")).due_at == MONDAY + timedelta(hours=13)
    assert (await clock_of(new_case, "first_response")).due_at == MONDAY + timedelta(hours=12)
    await room.run_until(MONDAY + timedelta(hours=12))
    assert (await sla_of(new_case)).state == "missed"
    assert (await sla_of(old_case)).state == "active"
    # A restart (or a reload) reads the stored policy, not the file.
    assert (await sla_of(old_case)).policy["targets"]["first_response"] == 4 * 3600
    await room.run_until(MONDAY + timedelta(hours=13))
    assert (await sla_of(old_case)).state == "missed"


async def test_an_answer_after_the_warning_stops_the_ladder(database: str, slack: FakeSlackApi, data_dir: Path) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=9), data_dir)
    number = await room.file_case()
    await room.run_until(MONDAY + timedelta(hours=12, minutes=30))
    await agent_replies(room, number, "reply-1")
    await room.run_until(MONDAY + timedelta(hours=18))
    await room.deliver()
    assert len(thread_texts(slack)) == 1  # the warning only
    assert (await sla_of(number)).state == "active"
    assert not slack.calls_to("chat.postMessage", ESCALATION_CHANNEL)


async def test_a_reopened_case_resumes_its_resolution_clock(database: str, slack: FakeSlackApi, data_dir: Path) -> None:
    room = build_room(database, slack, MONDAY + timedelta(hours=9), data_dir)
    number = await room.file_case()
    room.clock.set(MONDAY + timedelta(hours=11))
    await room.desk.resolve(number, "Explained", "explained", AGENT, "resolve-1")
    assert (await sla_of(number)).state == "hit"
    room.clock.set(MONDAY + timedelta(days=1, hours=9))
    await room.desk.reopen(number, AGENT, "reopen-1")
    resolution = await clock_of(number, "resolution")
    assert (resolution.status, resolution.due_at) == ("running", MONDAY + timedelta(days=1, hours=15))
    assert (await sla_of(number)).state == "active"
