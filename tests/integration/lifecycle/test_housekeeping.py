"""Nothing left to rot: reminders to a silent customer, closing unanswered cases with a message, closing
resolved cases nobody reopened; any move of the case cancels what was pending."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from storage.database import open_database
from storage.models import Case, CaseEvent, OutboxItem, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import AGENT, MONDAY, LifecycleRoom, build_room


@pytest_asyncio.fixture
async def room(database_url: str, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    api = FakeSlackApi()
    await api.start()
    async with open_database(database_url):
        yield build_room(database_url, api, MONDAY + timedelta(hours=10), tmp_path)
    await api.close()


async def customer_texts(number: str) -> list[str]:
    case = await Case.get(number=number)
    rows = await OutboxItem.filter(kind="message", channel=case.channel).order_by("id")
    return [str(row.payload["text"]) for row in rows if row.payload["recipient_id"] == case.sender_id]


async def ask_customer(room: LifecycleRoom, number: str) -> None:
    case = await Case.get(number=number)
    assert case.slack_channel and case.slack_ts
    await room.desk.thread_reply(case.slack_channel, case.slack_ts, "Which model is it?", AGENT, f"ask-{number}")


async def test_a_silent_customer_is_reminded_then_the_case_is_closed(room: LifecycleRoom) -> None:
    number = await room.file_case()
    await ask_customer(room, number)
    await room.run_until(MONDAY + timedelta(days=1, hours=9, minutes=59))
    assert not any("reminder" in text for text in await customer_texts(number))
    await room.run_until(MONDAY + timedelta(days=1, hours=10))
    assert any(text.startswith(f"A reminder about case {number}") for text in await customer_texts(number))
    # Transcript text is encrypted at rest: compared after reading, never filtered in SQL.
    texts = [row.text for row in await TranscriptMessage.filter(case__number=number)]
    assert any(text.startswith("A reminder") for text in texts)
    # Three more days of silence: closed with a message, through the desk's own resolve.
    await room.run_until(MONDAY + timedelta(days=4, hours=10))
    case = await Case.get(number=number)
    assert (case.status, case.resolution_code) == ("resolved", "no_reply")
    assert any("did not hear back" in text for text in await customer_texts(number))
    # A week later nobody reopened it: closed for good.
    await room.run_until(MONDAY + timedelta(days=11, hours=10))
    assert (await Case.get(number=number)).status == "closed"
    kinds = [event.kind for event in await CaseEvent.filter(case__number=number).order_by("id")]
    assert "customer_reminded" in kinds and kinds[-1] == "close"


async def test_an_answer_cancels_the_reminder(room: LifecycleRoom) -> None:
    number = await room.file_case()
    await ask_customer(room, number)
    room.clock.set(MONDAY + timedelta(hours=15))
    await room.customer_writes(number, "answer-1")
    await room.run_until(MONDAY + timedelta(days=5))
    assert not any("reminder" in text for text in await customer_texts(number))
    assert (await Case.get(number=number)).status == "in_progress"


async def test_a_reopened_case_is_not_closed_by_the_old_timer(room: LifecycleRoom) -> None:
    number = await room.file_case()
    await room.desk.resolve(number, "Done", "explained", AGENT, "resolve-1")
    room.clock.set(MONDAY + timedelta(days=3))
    await room.desk.reopen(number, AGENT, "reopen-1")
    await room.run_until(MONDAY + timedelta(days=10))
    assert (await Case.get(number=number)).status == "in_progress"
