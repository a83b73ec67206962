"""Priority stored with the case: rules when it is routed, agents afterwards; repeat complaints counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.lifecycle.case_lifecycle import UnknownPriority
from storage.database import open_database
from storage.models import Case, CaseEvent, CasePriority, ChannelIdentity
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import AGENT, MONDAY, LifecycleRoom, build_room


@pytest_asyncio.fixture
async def room(database_url: str, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    api = FakeSlackApi()
    await api.start()
    async with open_database(database_url):
        yield build_room(database_url, api, MONDAY + timedelta(hours=10), tmp_path)
    await api.close()


async def test_rules_set_the_priority_when_the_case_is_routed(room: LifecycleRoom) -> None:
    number = await room.file_case(description="充电器起火了", lang="zh")
    row = await CasePriority.get(case__number=number)
    assert (row.priority, row.source, row.reasons) == ("urgent", "rules", ["words 起火"])
    calm = await room.file_case(description="The lid is loose")
    assert (await CasePriority.get(case__number=calm)).priority == "normal"


async def test_an_agent_changes_the_priority_and_the_rules_do_not_undo_it(room: LifecycleRoom) -> None:
    number = await room.file_case(description="The lid is loose")
    await room.priorities.set_by_agent(number, "High", AGENT)
    row = await CasePriority.get(case__number=number)
    assert (row.priority, row.source, row.set_by) == ("high", "agent", AGENT)
    await room.desk.route_and_assign(number)
    assert (await room.priorities.apply_rules(number)).priority == "high"
    events = await CaseEvent.filter(case__number=number, kind="priority_set").order_by("id")
    assert [event.data["priority"] for event in events] == ["normal", "high"]
    with pytest.raises(UnknownPriority):
        await room.priorities.set_by_agent(number, "asap", AGENT)


async def test_a_third_complaint_of_one_customer_within_a_month_is_high(room: LifecycleRoom) -> None:
    first = await room.file_case(description="Late delivery")
    case = await Case.get(number=first)
    identity = await ChannelIdentity.get(channel="web", sender_id=case.sender_id)
    for text in ("Late again", "Still late"):
        number = f"PL-R{text[:1]}{len(text):04d}"
        await Case.create(number=number, status="new", customer_id=identity.customer_id, channel="web",
                          sender_id=case.sender_id, lang="en", description=text)
        decision = await room.priorities.apply_rules(number)
    assert decision.priority == "high" and decision.reasons == ("2 earlier cases within 30 days",)
