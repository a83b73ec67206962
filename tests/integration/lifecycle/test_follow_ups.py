"""Follow-ups complete: files the customer sends after filing reach the case (evidence), its transcript and its
Slack thread as signed links, whatever the case's status. And the case's priority is shown where agents look."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.channels.web import TranscriptChannel
from bot.messages import Attachment, Inbound
from storage.cases import TortoiseCaseRepository
from storage.database import open_database
from storage.models import Case, Evidence, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import MONDAY, TEAM_CHANNEL, LifecycleRoom, build_room

PHOTO = b"\xff\xd8\xff\xe0" + b"puddle under the kettle " * 400


async def photo_stream() -> AsyncIterator[bytes]:
    for start in range(0, len(PHOTO), 4096):
        yield PHOTO[start:start + 4096]


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        built = build_room(database_url, slack, MONDAY + timedelta(hours=10), tmp_path)
        built.channels["web"] = TranscriptChannel("web")
        yield built


async def test_a_photo_sent_after_filing_reaches_the_case_the_transcript_and_the_thread(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    number = await room.file_case("The kettle leaks", sender="web-ada")
    assert (await Case.get(number=number)).status == "new"  # not waiting for the customer: nobody asked
    photo = Attachment(kind="photo", open_stream=photo_stream, file_name="puddle.jpg", declared_media_type="image/jpeg")
    inbound = Inbound(channel="web", sender_id="web-ada", message_id="after-1", received_at=datetime.now(UTC),
                      text="Here is the puddle", attachments=(photo,))
    result = await room.intake.handle(inbound)
    await room.deliver()
    assert any(number in reply.text for reply in result.replies), [reply.text for reply in result.replies]
    case = await Case.get(number=number)
    [evidence] = await Evidence.filter(case_id=case.id)
    assert evidence.size == len(PHOTO)
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert "Here is the puddle" in words
    posts = [str(call.params["text"]) for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL)
             if call.params.get("thread_ts")]
    assert any("Here is the puddle" in text and f"https://plaint.example/e/{evidence.id}" in text for text in posts)


async def test_the_priority_is_shown_in_the_slack_case_message_and_the_console_record(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    number = await room.file_case("The kettle caught fire on the counter", sender="web-fire")
    [posted] = [call for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL) if not call.params.get("thread_ts")]
    blocks = posted.params["blocks"]
    text = blocks if isinstance(blocks, str) else json.dumps(blocks)
    assert "*Priority*" in text and "Urgent" in text
    assert (await TortoiseCaseRepository().get(number)).priority == "urgent"
