"""Follow-ups on Telegram (the real channel class and update reader against the fake Bot API): words sent after
filing join the open case, its transcript and its Slack thread and count as the customer's reply; the one
acknowledgement carries a New complaint button that starts one; refused files are said so."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from telegram import Bot, Update

from bot.channels.telegram_updates import TelegramFiles, TelegramUpdateReader
from bot.intake import IntakeService
from bot.messages import Inbound
from storage.database import open_database
from storage.models import Case, Conversation, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.lifecycle.lifecycle_room import (
    AGENT,
    MONDAY,
    TEAM_CHANNEL,
    LifecycleRoom,
    build_room,
    telegram_in,
)
from tests.integration.telegram.telegram_updates import JSON, TelegramCustomer

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
TOKEN = "123456:TEST-follow-up-token"
USER_ID = 616161


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        yield build_room(database_url, slack, MONDAY + timedelta(hours=10), tmp_path)


@pytest_asyncio.fixture
async def telegram(room: LifecycleRoom) -> AsyncIterator[tuple[FakeTelegramBotApi, Bot]]:
    async with telegram_in(room, TOKEN) as pair:
        yield pair


class Chat:
    """The customer's side of the chat: sends updates through the real reader into the intake."""

    def __init__(self, intake: IntakeService, bot: Bot, http: aiohttp.ClientSession) -> None:
        self.intake = intake
        self.bot = bot
        self.reader = TelegramUpdateReader(TelegramFiles(bot, http))
        self.customer = TelegramCustomer(user_id=USER_ID, first_name="Ana", language_code="en")

    async def send(self, update: JSON) -> None:
        inbound: Inbound | None = self.reader.read(Update.de_json(update, self.bot)).inbound
        assert inbound is not None
        await self.intake.handle(inbound)


def last_sent(fake: FakeTelegramBotApi) -> dict[str, Any]:
    return fake.sent_messages[-1]


async def test_words_after_filing_join_the_case_and_new_complaint_starts_one(
    room: LifecycleRoom, slack: FakeSlackApi, telegram: tuple[FakeTelegramBotApi, Bot]
) -> None:
    fake, bot = telegram
    number = await room.file_case(channel="telegram", sender=str(USER_ID))
    case = await Case.get(number=number)
    assert case.slack_channel and case.slack_ts
    # The agent asks; the case waits for the customer and its resolution clock pauses.
    outcome = await room.desk.thread_reply(case.slack_channel, case.slack_ts, "Is it the lid?", AGENT, "ask-1")
    assert outcome.kind == "applied"
    await room.deliver()
    async with aiohttp.ClientSession() as http:
        chat = Chat(room.intake, bot, http)
        await chat.send(chat.customer.text("Yes, the <lid> cracked"))
        await room.deliver()
        ack = last_sent(fake)
        assert str(ack["text"]).startswith(f"Added to your case {number}.")
        keyboard: Any = ack["reply_markup"]
        [[new_complaint]] = keyboard["inline_keyboard"]
        assert new_complaint["text"] == "New complaint"
        assert (await Case.get(number=number)).status == "in_progress"
        # The customer's reply resumes the paused clock and starts the next-response target.
        timeline = await room.timeline(number)
        assert ("resolution", "resumed") in timeline and ("next_response", "started") in timeline
        words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
        assert "Yes, the <lid> cracked" in words
        posts = [str(call.params["text"]) for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL)
                 if call.params.get("thread_ts")]
        assert any("Yes, the &lt;lid&gt; cracked" in text for text in posts), posts
        # Words on a case that is not waiting still join it (and say so once).
        sent_before = len(fake.sent_messages)
        await chat.send(chat.customer.text("It also smells of plastic"))
        await room.deliver()
        assert len(fake.sent_messages) == sent_before + 1
        assert str(last_sent(fake)["text"]).startswith(f"Added to your case {number}.")
        # The button starts a new complaint: the flow's first question, no acknowledgement.
        await chat.send(chat.customer.press(ack, str(new_complaint["callback_data"])))
        await room.deliver()
        assert "Added to your case" not in str(last_sent(fake)["text"])
        assert await Conversation.filter(identity__sender_id=str(USER_ID), status="active").count() == 1


async def test_a_file_too_large_after_filing_is_refused_aloud(
    room: LifecycleRoom, telegram: tuple[FakeTelegramBotApi, Bot]
) -> None:
    fake, bot = telegram
    await room.file_case(channel="telegram", sender=str(USER_ID))
    async with aiohttp.ClientSession() as http:
        chat = Chat(room.intake, bot, http)
        await chat.send(chat.customer.document("doc-big", "manual.pdf", "application/pdf", 30 * 1024 * 1024))
        await room.deliver()
    assert fake.sent_texts(USER_ID)[-1] == "manual.pdf is too large (limit 20 MB per file)."
