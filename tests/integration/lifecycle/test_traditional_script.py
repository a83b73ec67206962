"""A customer who wrote traditional Chinese characters in their conversation reads every later message of ours in
them: the resolution notice, an agent's reply (typed in simplified characters), the satisfaction survey and its
buttons, the possible-duplicate question and its buttons, the reminder. A customer who wrote simplified ones
keeps reading simplified. What the fake platforms received (Telegram) or the outbox queued (web chat) is checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from telegram import Bot, Update

from bot.channels.telegram_updates import TelegramFiles, TelegramUpdateReader
from bot.messages import Inbound
from storage.database import open_database
from storage.models import Case, OutboxItem, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.lifecycle.lifecycle_room import AGENT, MONDAY, LifecycleRoom, build_room, telegram_in
from tests.integration.telegram.telegram_updates import TelegramCustomer

TOKEN = "123456:TEST-script-token"
NOON = MONDAY + timedelta(hours=12)
TRADITIONAL_CHAT, SIMPLIFIED_CHAT = 515151, 626262


pytestmark = pytest.mark.usefixtures("data_key")


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        yield build_room(database_url, slack, NOON, tmp_path, transcript_channels=("web",))


@pytest_asyncio.fixture
async def telegram(room: LifecycleRoom) -> AsyncIterator[tuple[FakeTelegramBotApi, Bot]]:
    async with telegram_in(room, TOKEN) as pair:
        yield pair


async def agent_replies(room: LifecycleRoom, number: str, text: str) -> None:
    case = await Case.get(number=number)
    assert case.slack_channel and case.slack_ts
    await room.desk.thread_reply(case.slack_channel, case.slack_ts, text, AGENT, f"reply-{number}-{text}")
    await room.deliver()


async def resolve_and_ask(room: LifecycleRoom, number: str) -> None:
    """The agent resolves; a minute later the survey timer fires; the outbox delivers everything."""
    await room.desk.resolve(number, "已为你更换新的水壶", "replaced", AGENT, f"resolve-{number}")
    await room.deliver()
    await room.run_until(room.clock.now() + timedelta(minutes=1))
    await room.deliver()


def buttons_of(message: dict[str, object]) -> list[dict[str, Any]]:
    keyboard: Any = message["reply_markup"]
    return [row[0] for row in keyboard["inline_keyboard"]]


async def test_agent_reply_resolution_and_survey_follow_the_customers_script_on_telegram(
    room: LifecycleRoom, telegram: tuple[FakeTelegramBotApi, Bot]
) -> None:
    fake, bot = telegram
    traditional = await room.file_case("水壶漏水", lang="zh", channel="telegram", sender=str(TRADITIONAL_CHAT),
                                       traditional=True)
    simplified = await room.file_case("水壶漏水", lang="zh", channel="telegram", sender=str(SIMPLIFIED_CHAT),
                                      traditional=False)
    for number in (traditional, simplified):
        await agent_replies(room, number, "我们会为您更换")
        await resolve_and_ask(room, number)

    # The agent's words and ours, in traditional characters (Taiwan standard forms: 為, 覆).
    reply, resolved, question = fake.sent_texts(TRADITIONAL_CHAT)
    assert reply == f"關於投訴 {traditional}，客服回覆：\n我們會為您更換"
    assert "已處理完畢" in resolved and "已為你更換新的水壺" in resolved and "处理" not in resolved
    assert "滿意嗎" in question and "满意" not in question
    [asked] = [message for message in fake.sent_messages if message["text"] == question]
    labels = [button["text"] for button in buttons_of(asked)]
    assert labels == ["1 – 非常不滿意", "2 – 不滿意", "3 – 一般", "4 – 滿意", "5 – 非常滿意"]
    # The transcript keeps what was sent.
    sent = [row.text for row in await TranscriptMessage.filter(case__number=traditional, direction="out")]
    assert f"關於投訴 {traditional}，客服回覆：\n我們會為您更換" in sent and question in sent

    # Pressing a score is answered in the same characters.
    customer = TelegramCustomer(user_id=TRADITIONAL_CHAT, first_name="Mei", last_name="Lin", language_code="zh-hant")
    async with aiohttp.ClientSession() as http:
        reader = TelegramUpdateReader(TelegramFiles(bot, http))
        update = Update.de_json(customer.press(asked, buttons_of(asked)[4]["callback_data"]), bot)
        pressed = reader.read(update).inbound
    assert pressed is not None
    result = await room.intake.handle(pressed)
    assert result.replies[0].text == f"感謝你為投訴 {traditional} 打分：5/5。"

    # The customer who writes simplified characters reads them, agent's words included.
    reply, resolved, question = fake.sent_texts(SIMPLIFIED_CHAT)
    assert reply == f"关于投诉 {simplified}，客服回复：\n我们会为您更换"
    assert "已处理完毕" in resolved and "满意吗" in question
    [asked] = [message for message in fake.sent_messages if message["text"] == question]
    assert buttons_of(asked)[0]["text"] == "1 – 非常不满意"


async def test_the_possible_duplicate_question_and_its_buttons_in_traditional(room: LifecycleRoom) -> None:
    first = await room.file_case("订单 KT-55501234 的水壶漏水", lang="zh", channel="web", sender="web-mei",
                                 phone="+44 20 7946 0958", product="kettle")
    room.clock.advance(days=1)
    second = await room.file_case("訂單 KT-55501234 又漏水了", lang="zh", channel="web", sender="web-mei-2",
                                  phone="+442079460958", product="kettle", traditional=True)
    rows = await OutboxItem.filter(kind="message", channel="web").order_by("id")
    [question] = [row.payload for row in rows if row.payload["recipient_id"] == "web-mei-2"]
    assert f"這是關於投訴 {first}" in question["text"] and "这是" not in question["text"]
    assert [button[1] for button in question["buttons"]] == ["是，同一個問題", "不是，新問題"]
    yes = Inbound(channel="web", sender_id="web-mei-2", message_id="dup-yes", received_at=datetime.now(UTC),
                  choice=question["buttons"][0][0])
    replies = [reply.text for reply in (await room.intake.handle(yes)).replies]
    assert replies == [f"謝謝。我們已把這些信息補充到投訴 {first}，負責的團隊會看到。"]
    assert (await Case.get(number=second)).resolution_code == "duplicate"


async def test_the_reminder_to_a_silent_customer_in_traditional(room: LifecycleRoom) -> None:
    room.clock.set(MONDAY + timedelta(hours=10))
    number = await room.file_case("水壶漏水", lang="zh", channel="web", sender="web-lin", traditional=True)
    await agent_replies(room, number, "请问是哪个型号？")
    await room.run_until(MONDAY + timedelta(days=1, hours=10))
    rows = await OutboxItem.filter(kind="message", channel="web").order_by("id")
    texts = [str(row.payload["text"]) for row in rows if row.payload["recipient_id"] == "web-lin"]
    assert texts[0].endswith("請問是哪個型號？")
    assert texts[-1] == f"提醒：關於投訴 {number}，客服正在等待你的回覆，請直接在這裡回覆。"
