"""Follow-ups complete: files the customer sends after filing reach the case (evidence), its transcript and its
Slack thread as signed links, whatever the case's status. And the case's priority is shown where agents look."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.messages import Attachment, Inbound
from storage.cases import TortoiseCaseRepository
from storage.database import open_database
from storage.models import Case, CaseEvent, Conversation, Evidence, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import (
    AGENT,
    MONDAY,
    TEAM_CHANNEL,
    LifecycleRoom,
    build_room,
    wechat_channel,
)

PHOTO = b"\xff\xd8\xff\xe0" + b"puddle under the kettle " * 400


async def photo_stream() -> AsyncIterator[bytes]:
    for start in range(0, len(PHOTO), 4096):
        yield PHOTO[start:start + 4096]


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        yield build_room(database_url, slack, MONDAY + timedelta(hours=10), tmp_path, transcript_channels=("web",))


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


# --- every customer message after filing is in the case transcript (item 8) ---------------------------------


def thread_posts(slack: FakeSlackApi) -> list[str]:
    return [str(call.params["text"]) for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL)
            if call.params.get("thread_ts")]


def says(sender: str, message_id: str, text: str | None = None, *attachments: Attachment) -> Inbound:
    return Inbound(channel="web", sender_id=sender, message_id=message_id, received_at=datetime.now(UTC),
                   text=text, attachments=attachments)


async def active_conversations(sender: str) -> int:
    return await Conversation.filter(identity__sender_id=sender, status="active").count()


async def test_text_after_filing_joins_the_case_its_thread_and_is_acknowledged_once(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    number = await room.file_case("The kettle leaks", sender="web-bo")
    result = await room.intake.handle(says("web-bo", "after-text-1", "It leaks <again> & *worse* today"))
    await room.deliver()
    [ack] = result.replies
    assert ack.text.startswith(f"Added to your case {number}."), ack.text
    assert [(button.value, button.label, button.role) for button in ack.buttons] == [
        ("_new", "New complaint", "new_complaint")
    ]
    case = await Case.get(number=number)
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert "It leaks <again> & *worse* today" in words
    # Escaped for Slack: the customer's words cannot mention, link or format anything in the team channel.
    assert any("It leaks &lt;again&gt; &amp;" in text for text in thread_posts(slack)), thread_posts(slack)
    assert await CaseEvent.filter(case_id=case.id, kind="customer_reply").count() == 1
    # No new complaint was started by it.
    assert await active_conversations("web-bo") == 0
    # "status" still answers the status, and is no follow-up.
    status = await room.intake.handle(says("web-bo", "after-status", "status"))
    assert number in status.replies[0].text and "Added to your case" not in status.replies[0].text
    assert await CaseEvent.filter(case_id=case.id, kind="customer_reply").count() == 1


async def test_a_chinese_follow_up_is_acknowledged_in_chinese(room: LifecycleRoom, slack: FakeSlackApi) -> None:
    number = await room.file_case("水壶漏水", lang="zh", sender="web-zh")
    result = await room.intake.handle(says("web-zh", "after-zh-1", "盖子也裂了"))
    [ack] = result.replies
    assert ack.text.startswith(f"已补充到你的投诉 {number}。"), ack.text
    assert [button.label for button in ack.buttons] == ["新投诉"]
    await room.deliver()
    assert any("盖子也裂了" in text for text in thread_posts(slack))


async def test_a_follow_up_in_traditional_characters_is_acknowledged_in_them(room: LifecycleRoom) -> None:
    number = await room.file_case("水壶漏水", lang="zh", sender="web-hk")
    [ack] = (await room.intake.handle(says("web-hk", "after-hk-1", "蓋子也裂了，請儘快處理"))).replies
    assert ack.text.startswith(f"已補充到你的投訴 {number}。"), ack.text
    assert [button.label for button in ack.buttons] == ["新投訴"]


async def test_new_complaint_starts_one_and_its_answers_are_not_follow_ups(room: LifecycleRoom) -> None:
    number = await room.file_case("The kettle leaks", sender="web-cy")
    case = await Case.get(number=number)
    started = await room.intake.handle(says("web-cy", "new-1", "new complaint"))
    assert await active_conversations("web-cy") == 1
    assert all("Added to your case" not in reply.text for reply in started.replies)
    answered = await room.intake.handle(says("web-cy", "new-2", "The toaster burns the bread"))
    assert all("Added to your case" not in reply.text for reply in answered.replies)
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert "The toaster burns the bread" not in words


async def test_after_resolution_text_starts_a_new_complaint(room: LifecycleRoom) -> None:
    number = await room.file_case("The kettle leaks", sender="web-dee")
    outcome = await room.desk.resolve(number, "Replaced the kettle", "replaced", AGENT, "resolve-dee")
    assert outcome.kind == "applied"
    await room.deliver()
    result = await room.intake.handle(says("web-dee", "after-resolve-1", "Now the toaster smokes"))
    assert all("Added to your case" not in reply.text for reply in result.replies)
    assert await active_conversations("web-dee") == 1
    case = await Case.get(number=number)
    assert case.status == "resolved"
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert "Now the toaster smokes" not in words


# --- refused follow-up files are said so (item 2) -------------------------------------------------------------

ID3_AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + bytes(2048)


async def test_a_follow_up_file_of_a_kind_the_case_does_not_take_is_refused_in_the_customers_language(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    number = await room.file_case("水壶漏水", lang="zh", sender="web-song")

    async def audio() -> AsyncIterator[bytes]:
        yield ID3_AUDIO

    voice = Attachment(kind="document", open_stream=audio, file_name="voice.mp3", declared_media_type="audio/mpeg")
    result = await room.intake.handle(says("web-song", "after-audio", None, voice))
    texts = [reply.text for reply in result.replies]
    assert texts == ["无法接收 voice.mp3：只接受文档、照片、视频。"], texts
    case = await Case.get(number=number)
    assert await Evidence.filter(case_id=case.id).count() == 0
    [kept] = await TranscriptMessage.filter(case_id=case.id, direction="in")
    assert kept.payload["rejected_files"] == ["voice.mp3"]
    # Nothing reached the case, so nothing counts as the customer's reply.
    assert await CaseEvent.filter(case_id=case.id, kind="customer_reply").count() == 0


async def test_a_refused_file_beside_words_is_said_and_the_words_still_join_the_case(room: LifecycleRoom) -> None:
    number = await room.file_case("The kettle leaks", sender="web-eve")

    async def broken() -> AsyncIterator[bytes]:
        raise ConnectionResetError("the platform's file server hung up")
        yield b""  # pragma: no cover - makes this an async generator

    lost = Attachment(kind="photo", open_stream=broken, file_name="lid.jpg", declared_media_type="image/jpeg")
    huge = Attachment(kind="video", open_stream=photo_stream, file_name="clip.mp4", declared_size=50 * 1024 * 1024)
    result = await room.intake.handle(says("web-eve", "after-files", "Photos of the lid", lost, huge))
    texts = [reply.text for reply in result.replies]
    assert texts[0] == "I couldn't fetch lid.jpg from the chat app. Please send it again."
    assert texts[1] == "clip.mp4 is too large (limit 20 MB per file)."
    assert texts[2].startswith(f"Added to your case {number}.")
    case = await Case.get(number=number)
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert "Photos of the lid" in words


async def test_on_wechat_the_acknowledgement_numbers_new_complaint_and_typing_it_starts_one(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    async with wechat_channel(room) as fake:
        number = await room.file_case("水壶漏水", lang="zh", channel="wechat", sender="oFOLLOW1",
                                      last_inbound_at=datetime.now(UTC))

        def typed(message_id: str, text: str) -> Inbound:
            return Inbound(channel="wechat", sender_id="oFOLLOW1", message_id=message_id,
                           received_at=datetime.now(UTC), text=text)

        await room.intake.handle(typed("wx-1", "盖子也裂了"))
        await room.deliver()
        [(open_id, ack)] = [sent for sent in fake.sent_texts if number in sent[1]]
        assert open_id == "oFOLLOW1"
        assert ack.startswith(f"已补充到你的投诉 {number}。") and ack.endswith("1. 新投诉"), ack
        # "1" picks the numbered option: a new complaint, not the words "1" on the case.
        started = await room.intake.handle(typed("wx-2", "1"))
        assert all("已补充" not in reply.text for reply in started.replies)
        assert await active_conversations("oFOLLOW1") == 1
    case = await Case.get(number=number)
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert list(words) == ["盖子也裂了"]


async def test_a_typed_number_is_an_ordinary_follow_up_when_no_option_carries_it(room: LifecycleRoom) -> None:
    number = await room.file_case("The kettle leaks", sender="web-num")
    result = await room.intake.handle(says("web-num", "num-1", "It leaks"))
    assert result.replies[0].text.startswith(f"Added to your case {number}.")
    # Only one option was offered: "2" is the customer's words (how many kettles leak), added to the case.
    result = await room.intake.handle(says("web-num", "num-2", "2"))
    assert result.replies[0].text.startswith(f"Added to your case {number}.")
    assert await active_conversations("web-num") == 0
