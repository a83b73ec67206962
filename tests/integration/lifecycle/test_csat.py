"""CSAT inside the chat: asked on the customer's own platform (real channel classes against the fake
platforms), answered by pressing or typing, once per case; a low score reopens the case and tells the thread."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from telegram import Bot, Update

from bot.channels.slack import SlackChannel
from bot.channels.telegram import TelegramChannel, bot_api_urls
from bot.channels.telegram_updates import TelegramFiles, TelegramUpdateReader
from bot.channels.web import TranscriptChannel
from bot.messages import Inbound
from storage.database import open_database
from storage.models import Case, CaseEvent, CsatSurvey, OutboxItem, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramBotApi, running_fake_bot_api
from tests.integration.lifecycle.lifecycle_room import AGENT, LEAD, MONDAY, LifecycleRoom, build_room, wechat_channel
from tests.integration.telegram.telegram_updates import TelegramCustomer

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
TOKEN = "123456:TEST-csat-token"
NOON = MONDAY + timedelta(hours=12)


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        yield build_room(database_url, slack, NOON, tmp_path)


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegramBotApi, Bot]]:
    async with running_fake_bot_api(TOKEN) as (fake, url):
        base_url, base_file_url = bot_api_urls(url)
        async with Bot(TOKEN, base_url=base_url, base_file_url=base_file_url) as bot:
            yield fake, bot


async def resolve_and_ask(room: LifecycleRoom, number: str) -> None:
    """The agent resolves; a minute later the survey timer fires; the outbox delivers everything."""
    outcome = await room.desk.resolve(number, "Replaced the kettle", "replaced", AGENT, f"resolve-{number}")
    assert outcome.kind == "applied"
    await room.deliver()
    await room.run_until(room.clock.now() + timedelta(minutes=1))
    await room.deliver()


def thread_texts(slack: FakeSlackApi) -> list[str]:
    return [str(call.params["text"]) for call in slack.calls_to("chat.postMessage") if call.params.get("thread_ts")]


async def test_telegram_buttons_a_low_score_reopens_and_a_second_answer_is_refused(
    room: LifecycleRoom, slack: FakeSlackApi, telegram: tuple[FakeTelegramBotApi, Bot]
) -> None:
    fake, bot = telegram
    room.channels["telegram"] = TelegramChannel(bot)
    customer = TelegramCustomer(user_id=424242, first_name="Ana", last_name="Lee", language_code="en")
    number = await room.file_case(channel="telegram", sender="424242")
    await resolve_and_ask(room, number)
    question = fake.sent_messages[-1]
    assert f"How did we handle case {number}?" in str(question["text"])
    keyboard: Any = question["reply_markup"]
    buttons = [row[0] for row in keyboard["inline_keyboard"]]
    assert [button["text"] for button in buttons] == [
        "1 – Very poor", "2 – Poor", "3 – OK", "4 – Good", "5 – Excellent",
    ]
    async with aiohttp.ClientSession() as http:
        reader = TelegramUpdateReader(TelegramFiles(bot, http))

        def press(index: int) -> Inbound:
            read = reader.read(Update.de_json(customer.press(question, buttons[index]["callback_data"]), bot))
            assert read.inbound is not None
            return read.inbound

        result = await room.intake.handle(press(0))
        texts = [reply.text for reply in result.replies]
        assert texts[0] == f"Thank you for rating case {number} 1/5."
        assert "open again" in texts[1] and "skip" in texts[2]
        case = await Case.get(number=number)
        assert case.status == "in_progress"
        survey = await CsatSurvey.get(case_id=case.id)
        assert (survey.status, survey.score) == ("awaiting_comment", 1)
        # The comment is a plain message; it reaches the team.
        comment = reader.read(Update.de_json(customer.text("It still <leaks> at the base"), bot)).inbound
        assert comment is not None
        result = await room.intake.handle(comment)
        assert [reply.text for reply in result.replies] == ["Thank you, we passed your comment to the team."]
        # Pressing again is a second answer: refused politely, the first one stands.
        result = await room.intake.handle(press(4))
        assert [reply.text for reply in result.replies] == [
            f"You already rated case {number} (1/5), thank you. Only the first answer counts."
        ]
    survey = await CsatSurvey.get(case_id=case.id)
    assert (survey.status, survey.score, survey.comment) == ("answered", 1, "It still <leaks> at the base")
    await room.deliver()
    team = thread_texts(slack)
    assert any(f"<@{LEAD}> Low satisfaction score (1/5): {number} was reopened." in text for text in team)
    assert any("It still &lt;leaks&gt; at the base" in text for text in team)
    assert fake.sent_texts(424242)[-1].startswith("You already rated")
    # Every customer message after filing is on the case's transcript.
    inbound = await TranscriptMessage.filter(case_id=case.id, direction="in").order_by("id")
    assert [row.text for row in inbound][-1].startswith("csat:")
    assert "It still <leaks> at the base" in [row.text for row in inbound]


async def test_wechat_numbered_options_and_a_typed_score(room: LifecycleRoom, slack: FakeSlackApi) -> None:
    async with wechat_channel(room) as fake:
        number = await room.file_case(
            channel="wechat", sender="oOPENID1", lang="zh", last_inbound_at=datetime.now(UTC),
        )
        room.clock.set(datetime.now(UTC))
        await resolve_and_ask(room, number)
        [(open_id, text)] = [sent for sent in fake.sent_texts if "满意吗" in sent[1]]
        assert open_id == "oOPENID1"
        assert "1. 1 – 非常不满意" in text and "5. 5 – 非常满意" in text
        typed = Inbound(channel="wechat", sender_id="oOPENID1", message_id="m-1",
                        received_at=datetime.now(UTC), text="５分")
        result = await room.intake.handle(typed)
        assert result.replies[0].text == f"感谢你为投诉 {number} 打分：5/5。"
        skip = Inbound(channel="wechat", sender_id="oOPENID1", message_id="m-2",
                       received_at=datetime.now(UTC), text="跳过")
        assert [reply.text for reply in (await room.intake.handle(skip)).replies] == ["感谢你的反馈。"]
    case = await Case.get(number=number)
    assert case.status == "resolved"  # a good score leaves it resolved
    survey = await CsatSurvey.get(case_id=case.id)
    assert (survey.status, survey.score, survey.comment) == ("answered", 5, None)
    await room.deliver()
    assert any(f"客户为 {number} 打分：5/5" in text for text in thread_texts(slack))


async def test_wechat_outside_48_hours_is_recorded_as_not_asked(room: LifecycleRoom) -> None:
    number = await room.file_case(channel="wechat", sender="oOPENID2", lang="zh",
                                  last_inbound_at=NOON - timedelta(hours=49))
    await room.desk.resolve(number, "Done", "explained", AGENT, "resolve")
    await room.run_until(NOON + timedelta(minutes=5))
    survey = await CsatSurvey.get(case__number=number)
    assert (survey.status, survey.reason, survey.asked_at) == ("not_asked", "wechat_48h_window", None)
    queued = [str(row.payload["text"]) for row in await OutboxItem.filter(kind="message", channel="wechat")]
    assert queued and not any("满意吗" in text for text in queued)  # the resolution message only
    assert await CaseEvent.filter(case__number=number, kind="csat_not_asked").exists()
    # A "5" typed later is not taken as an answer to a survey never asked.
    late = Inbound(channel="wechat", sender_id="oOPENID2", message_id="late", received_at=NOON, text="5")
    assert "满意" not in " ".join(reply.text for reply in (await room.intake.handle(late)).replies)


async def test_slack_customers_get_buttons_in_their_dm(room: LifecycleRoom, slack: FakeSlackApi) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    room.channels["slack"] = SlackChannel(AsyncWebClient(token=slack.token, base_url=slack.base_url))
    number = await room.file_case(channel="slack", sender="D0CUSTOMER")
    await resolve_and_ask(room, number)
    [call] = [call for call in slack.calls_to("chat.postMessage", "D0CUSTOMER") if "rate" in str(call.params["text"])]
    values = [element["value"] for block in call.params["blocks"] if block["type"] == "actions"
              for element in block["elements"]]
    assert values == [f"csat:{number}:{score}" for score in range(1, 6)]
    pressed = Inbound(channel="slack", sender_id="D0CUSTOMER", message_id="press-1",
                      received_at=datetime.now(UTC), choice=values[3])
    assert (await room.intake.handle(pressed)).replies[0].text == f"Thank you for rating case {number} 4/5."
    assert (await CsatSurvey.get(case__number=number)).score == 4


async def test_web_chat_and_forged_buttons(room: LifecycleRoom) -> None:
    room.channels["web"] = TranscriptChannel("web")
    mine = await room.file_case(sender="web-browser-1")
    theirs = await room.file_case(sender="web-browser-2")
    await resolve_and_ask(room, mine)
    await room.desk.resolve(theirs, "Done", "explained", AGENT, "resolve-theirs")
    await room.run_until(room.clock.now() + timedelta(minutes=1))
    # Another customer's case number in a forged button value is not an answer to anything.
    forged = Inbound(channel="web", sender_id="web-browser-1", message_id="f-1", received_at=datetime.now(UTC),
                     choice=f"csat:{theirs}:1")
    result = await room.intake.handle(forged)
    assert not any("rating" in reply.text for reply in result.replies)
    assert (await CsatSurvey.get(case__number=theirs)).status == "asked"
    # A typed score after the survey expired (a week) starts nothing of the survey.
    room.clock.advance(days=8)
    late = Inbound(channel="web", sender_id="web-browser-1", message_id="f-2", received_at=datetime.now(UTC),
                   text="2")
    result = await room.intake.handle(late)
    assert not any("rating" in reply.text for reply in result.replies)
    assert (await CsatSurvey.get(case__number=mine)).status == "asked"


# --- a low score reopening and a second answer refused, on every channel (the test list) ------------


async def low_score_then_again(
    room: LifecycleRoom, slack: FakeSlackApi, number: str, first: Inbound, second: Inbound
) -> tuple[list[str], list[str]]:
    """The customer answers low (the case reopens, the thread hears it), then answers again (refused)."""
    low = [reply.text for reply in (await room.intake.handle(first)).replies]
    case = await Case.get(number=number)
    assert case.status == "in_progress"
    assert (await CsatSurvey.get(case_id=case.id)).score == 1
    again = [reply.text for reply in (await room.intake.handle(second)).replies]
    assert (await CsatSurvey.get(case_id=case.id)).score == 1
    await room.deliver()
    assert any(f"<@{LEAD}>" in text and number in text for text in thread_texts(slack)), thread_texts(slack)
    return low, again


async def test_wechat_low_score_by_numbered_option_reopens_and_a_second_is_refused(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    async with wechat_channel(room) as fake:
        number = await room.file_case(
            channel="wechat", sender="oOPENID3", lang="zh", last_inbound_at=datetime.now(UTC),
        )
        room.clock.set(datetime.now(UTC))
        await resolve_and_ask(room, number)
        assert any("1. 1 – 非常不满意" in text for _, text in fake.sent_texts)

        def typed(message_id: str, text: str) -> Inbound:
            return Inbound(channel="wechat", sender_id="oOPENID3", message_id=message_id,
                           received_at=datetime.now(UTC), text=text)

        low, again = await low_score_then_again(room, slack, number, typed("w-1", "1"), typed("w-2", "4"))
    assert low[0] == f"感谢你为投诉 {number} 打分：1/5。" and f"投诉 {number} 已重新打开" in low[1]
    assert again == [f"你已经为投诉 {number} 打过分（1/5），谢谢。只记录第一次的评分。"]


async def test_slack_low_score_button_reopens_and_a_second_press_is_refused(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    room.channels["slack"] = SlackChannel(AsyncWebClient(token=slack.token, base_url=slack.base_url))
    number = await room.file_case(channel="slack", sender="D0CUSTOMR2")
    await resolve_and_ask(room, number)
    [call] = [call for call in slack.calls_to("chat.postMessage", "D0CUSTOMR2") if "rate" in str(call.params["text"])]
    values = [element["value"] for block in call.params["blocks"] if block["type"] == "actions"
              for element in block["elements"]]

    def pressed(message_id: str, value: str) -> Inbound:
        return Inbound(channel="slack", sender_id="D0CUSTOMR2", message_id=message_id,
                       received_at=datetime.now(UTC), choice=value)

    low, again = await low_score_then_again(room, slack, number, pressed("s-1", values[0]), pressed("s-2", values[4]))
    assert low[0] == f"Thank you for rating case {number} 1/5." and "open again" in low[1]
    assert again == [f"You already rated case {number} (1/5), thank you. Only the first answer counts."]


async def test_web_chat_low_score_button_reopens_and_a_second_press_is_refused(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    room.channels["web"] = TranscriptChannel("web")
    number = await room.file_case(sender="web-browser-3")
    await resolve_and_ask(room, number)
    [question] = [row for row in await OutboxItem.filter(kind="message", channel="web")
                  if "How did we handle" in str(row.payload.get("text"))]
    values = [str(button[0]) for button in question.payload["buttons"]]
    assert values == [f"csat:{number}:{score}" for score in range(1, 6)]

    def pressed(message_id: str, value: str) -> Inbound:
        return Inbound(channel="web", sender_id="web-browser-3", message_id=message_id,
                       received_at=datetime.now(UTC), choice=value)

    low, again = await low_score_then_again(room, slack, number, pressed("b-1", values[0]), pressed("b-2", values[2]))
    assert low[0] == f"Thank you for rating case {number} 1/5." and "open again" in low[1]
    assert again == [f"You already rated case {number} (1/5), thank you. Only the first answer counts."]
