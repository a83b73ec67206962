"""The desk shows the lifecycle's SLA: the case message carries its state and due time (redrawn on a breach), and
`/plaint open` lists breached cases first, then the nearest due, then the oldest, filtered in the database; on
every database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from bot.desk.commands import answer_plaint_command
from storage.database import open_database
from storage.desk import QueueFilter
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import AGENT, MONDAY, TEAM_CHANNEL, LifecycleRoom, build_room
from tests.integration.slack.harness import block_texts


@pytest_asyncio.fixture
async def room(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[LifecycleRoom, FakeSlackApi]]:
    api = FakeSlackApi()
    await api.start()
    async with open_database(database_url):
        yield build_room(database_url, api, MONDAY + timedelta(hours=10), tmp_path), api
    await api.close()


async def test_queue_is_sorted_by_sla_risk_and_the_case_message_shows_the_sla(
    room: tuple[LifecycleRoom, FakeSlackApi],
) -> None:
    desk_room, slack = room
    oldest = await desk_room.file_case("The lid is loose")  # standard: first response due 14:00
    await desk_room.run_until(MONDAY + timedelta(hours=10, minutes=30))
    breached = await desk_room.file_case("The charger caught fire")  # urgent: due 11:30, 24/7
    await desk_room.run_until(MONDAY + timedelta(hours=10, minutes=45))
    later = await desk_room.file_case("The handle broke")  # standard: due 14:45
    await desk_room.run_until(MONDAY + timedelta(hours=12))
    nearest = await desk_room.file_case("Smoke and fire from the plug")  # urgent: due 13:00
    await desk_room.run_until(MONDAY + timedelta(hours=12, minutes=5))
    await desk_room.deliver()

    # Breached first, then nearest due, then by age (age alone would be oldest, breached, later, nearest).
    queue = await desk_room.desk.queue(QueueFilter(teams=("general",)))
    assert [case.number for case in queue] == [breached, nearest, oldest, later]
    assert (queue[0].sla_state, queue[0].sla_breached_metric) == ("missed", "first_response")
    assert queue[1].sla_due_at == MONDAY + timedelta(hours=13)
    # The filters are the database's (the breached urgent case was escalated to a senior agent).
    assert queue[0].assignee != AGENT
    assert [case.number for case in await desk_room.desk.queue(QueueFilter(assignee=AGENT), 2)] == [nearest, oldest]
    assert await desk_room.desk.queue(QueueFilter(unassigned=True)) == []
    assert await desk_room.desk.queue(QueueFilter(teams=("nobody",))) == []

    answer = await answer_plaint_command(desk_room.desk, "open", AGENT)
    assert [answer.text.index(number) for number in (breached, nearest, oldest, later)] == sorted(
        answer.text.index(number) for number in (breached, nearest, oldest, later)
    )
    assert "*breached*: first response" in answer.text

    # The case message: its SLA with a due time each agent reads in their own zone; redrawn when it is breached.
    posted = [call for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL) if oldest in str(call.params["text"])]
    shown = block_texts(posted[0])
    due = int((MONDAY + timedelta(hours=14)).timestamp())
    assert "*SLA*" in shown and f"on track · due <!date^{due}^" in shown
    redrawn = [call for call in slack.calls_to("chat.update", TEAM_CHANNEL) if breached in str(call.params["text"])]
    assert redrawn and "*breached*: first response" in block_texts(redrawn[-1])
    assert "first_response" not in block_texts(redrawn[-1])
