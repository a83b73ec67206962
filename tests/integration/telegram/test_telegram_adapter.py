"""The Telegram adapter on its own: python-telegram-bot's real Bot against the fake Bot API on 127.0.0.1.

Update JSON -> Inbound (through `Update.de_json`, as the webhook does) and Outbound -> sendMessage."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, Update

from bot.channels.base import RecipientUnreachable, RetryLater
from bot.channels.telegram import (
    ANSWERED_MARKER,
    MAX_CALLBACK_DATA_BYTES,
    TelegramChannel,
    TelegramFileUnavailable,
    bot_api_urls,
    callback_data_for,
)
from bot.channels.telegram_updates import TelegramFiles, TelegramUpdateReader, answer_press, mark_answered
from bot.messages import Button, Inbound, Outbound
from tests.fakes.telegram_api import (
    FakeTelegramBotApi,
    InjectedFailure,
    running_fake_bot_api,
)
from tests.integration.telegram.telegram_updates import JSON, TelegramCustomer

TOKEN = "123456:TEST-adapter-token"
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


class Harness:
    def __init__(self, fake: FakeTelegramBotApi, bot: Bot, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.bot = bot
        self.channel = TelegramChannel(bot)
        self.reader = TelegramUpdateReader(TelegramFiles(bot, http))

    def inbound(self, update: JSON) -> Inbound:
        read = self.reader.read(Update.de_json(update, self.bot))
        assert read.inbound is not None
        return read.inbound


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_fake_bot_api(TOKEN) as (fake, url):
        base_url, base_file_url = bot_api_urls(url)
        async with (
            Bot(TOKEN, base_url=base_url, base_file_url=base_file_url) as bot,
            aiohttp.ClientSession() as http,
        ):
            yield Harness(fake, bot, http)


@pytest.fixture
def customer() -> TelegramCustomer:
    return TelegramCustomer(user_id=424242, first_name="Ana", last_name="<b>Lee</b>", language_code="en")


async def read_all(inbound: Inbound) -> tuple[bytes, int]:
    chunks = [chunk async for chunk in inbound.attachments[0].open_stream()]
    return b"".join(chunks), len(chunks)


async def test_text_becomes_inbound_keyed_by_update_id(harness: Harness, customer: TelegramCustomer) -> None:
    update = customer.text("My kettle leaks")
    inbound = harness.inbound(update)
    assert inbound.channel == "telegram"
    assert inbound.sender_id == "424242"
    assert inbound.message_id == str(update["update_id"])
    assert inbound.text == "My kettle leaks"
    assert inbound.locale == "en"
    assert inbound.display_name == "Ana <b>Lee</b>"
    assert inbound.received_at.tzinfo is not None


async def test_command_addressed_to_the_bot_loses_the_bot_name(harness: Harness, customer: TelegramCustomer) -> None:
    assert harness.inbound(customer.text("/start@plaint_test_bot")).text == "/start"
    assert harness.inbound(customer.text("/cancel")).text == "/cancel"


async def test_edited_message_names_the_message_it_edits(harness: Harness, customer: TelegramCustomer) -> None:
    original = customer.text("Tuesday")
    edit = customer.edit(original, "Wednesday")
    inbound = harness.inbound(edit)
    assert inbound.text == "Wednesday"
    assert inbound.edits_message_id == str(original["message"]["message_id"])  # type: ignore[index]
    assert inbound.message_id == str(edit["update_id"]) != str(original["update_id"])


async def test_photo_keeps_only_the_largest_size_and_streams_it(harness: Harness, customer: TelegramCustomer) -> None:
    content = os.urandom(200_000)
    harness.fake.host_file(content, file_id="photo-big", file_path="photos/file_1.jpg")
    inbound = harness.inbound(customer.photo("photo-big", len(content), caption="the crack"))
    assert inbound.text == "the crack"
    [attachment] = inbound.attachments
    assert (attachment.kind, attachment.platform_file_id) == ("photo", "photo-big")
    assert attachment.declared_size == len(content)
    assert attachment.declared_media_type == "image/jpeg"
    assert harness.fake.downloads == []  # nothing is fetched until the intake asks
    data, chunk_count = await read_all(inbound)
    assert data == content
    assert chunk_count > 1
    assert [call.params["file_id"] for call in harness.fake.calls_to("getFile")] == ["photo-big"]
    assert harness.fake.downloads == ["photos/file_1.jpg"]


async def test_document_video_and_voice_keep_their_names_and_types(
    harness: Harness, customer: TelegramCustomer
) -> None:
    document = harness.inbound(customer.document("doc-1", "receipt.pdf", "application/pdf", 5000))
    video = harness.inbound(customer.video("vid-1", 21 * 1024 * 1024))
    voice = harness.inbound(customer.voice("voice-1", 8000))
    assert [
        (a.kind, a.file_name, a.declared_media_type, a.declared_size)
        for m in (document, video, voice)
        for a in m.attachments
    ] == [
        ("document", "receipt.pdf", "application/pdf", 5000),
        ("video", "clip.mp4", "video/mp4", 21 * 1024 * 1024),
        ("voice", "voice-voice-1-u.ogg", "audio/ogg", 8000),
    ]


async def test_album_is_one_inbound_per_photo(harness: Harness, customer: TelegramCustomer) -> None:
    updates = customer.album("album-1", [("p1", 100), ("p2", 200), ("p3", 300)], caption="three angles")
    inbounds = [harness.inbound(update) for update in updates]
    assert [inbound.attachments[0].platform_file_id for inbound in inbounds] == ["p1", "p2", "p3"]
    assert [inbound.text for inbound in inbounds] == ["three angles", None, None]
    assert len({inbound.message_id for inbound in inbounds}) == 3


async def test_missing_file_is_reported_not_swallowed(harness: Harness, customer: TelegramCustomer) -> None:
    inbound = harness.inbound(customer.photo("expired", 10))
    with pytest.raises(TelegramFileUnavailable):
        await read_all(inbound)


async def test_location_and_venue(harness: Harness, customer: TelegramCustomer) -> None:
    location = harness.inbound(customer.location(31.2304, 121.4737)).location
    assert location is not None
    assert (location.latitude, location.longitude, location.label) == (31.2304, 121.4737, None)
    venue = harness.inbound(customer.venue(51.5, -0.12, "Shop 12", "1 High St")).location
    assert venue is not None
    assert venue.label == "Shop 12, 1 High St"


async def test_group_chats_and_stickers_are_ignored(harness: Harness, customer: TelegramCustomer) -> None:
    group = customer.text("hello")
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "friends"}  # type: ignore[index]
    sticker = customer.text("x")
    del sticker["message"]["text"]  # type: ignore[attr-defined]
    sticker["message"]["sticker"] = {  # type: ignore[index]
        "file_id": "s",
        "file_unique_id": "s",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    for update in (group, sticker):
        assert harness.reader.read(Update.de_json(update, harness.bot)).inbound is None


async def test_outbound_is_plain_text_with_an_inline_keyboard(harness: Harness) -> None:
    text = "Name: <b>Bob</b> & *Co* _x_ </pre>"
    await harness.channel.deliver(
        Outbound(
            channel="telegram",
            recipient_id="424242",
            text=text,
            buttons=(Button("yes", "Yes"), Button("no", "No, change it")),
        )
    )
    [call] = harness.fake.calls_to("sendMessage")
    assert call.params["chat_id"] == "424242"
    assert call.params["text"] == text
    assert "parse_mode" not in call.params
    assert call.json_param("reply_markup") == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "yes"}],
            [{"text": "No, change it", "callback_data": "no"}],
        ]
    }


async def test_long_text_is_split_at_telegrams_limit_with_buttons_on_the_last_part(harness: Harness) -> None:
    paragraph = "这是一段很长的描述。" * 100
    text = "\n\n".join([paragraph] * 9)
    await harness.channel.deliver(
        Outbound(channel="telegram", recipient_id="424242", text=text, buttons=(Button("ok", "OK"),))
    )
    calls = harness.fake.calls_to("sendMessage")
    assert len(calls) == 3
    assert all(len(call.params["text"]) <= 4096 for call in calls)
    assert "".join(call.params["text"] for call in calls).replace("\n", "") == text.replace("\n", "")
    assert ["reply_markup" in call.params for call in calls] == [False, False, True]


async def test_pressing_a_button_gives_its_value_and_marks_the_keyboard(
    harness: Harness, customer: TelegramCustomer
) -> None:
    await harness.channel.deliver(
        Outbound(
            channel="telegram",
            recipient_id="424242",
            text="Is it the kettle?",
            buttons=(Button("product:kettle-2000", "Kettle 2000"), Button("other", "Something else")),
        )
    )
    [bot_message] = harness.fake.sent_messages
    read = harness.reader.read(Update.de_json(customer.press(bot_message, "product:kettle-2000"), harness.bot))
    assert read.inbound is not None
    assert read.inbound.choice == "product:kettle-2000"
    assert read.inbound.sender_id == "424242"
    assert read.pressed is not None
    await answer_press(harness.bot, read.pressed)
    await mark_answered(harness.bot, read.pressed)
    [answer] = harness.fake.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"] == read.pressed.query_id
    [edit] = harness.fake.calls_to("editMessageReplyMarkup")
    assert edit.params["message_id"] == str(bot_message["message_id"])
    assert edit.json_param("reply_markup") == {
        "inline_keyboard": [[{"text": "✓ Kettle 2000", "callback_data": ANSWERED_MARKER}]]
    }
    # Pressing the marked button again only stops the spinner.
    again = harness.reader.read(Update.de_json(customer.press(bot_message, ANSWERED_MARKER), harness.bot))
    assert again.inbound is None
    assert again.pressed is not None


async def test_a_value_too_long_for_callback_data_comes_back_as_its_label(
    harness: Harness, customer: TelegramCustomer
) -> None:
    value = "product:" + "超长的产品名称" * 5
    assert len(value.encode()) > MAX_CALLBACK_DATA_BYTES
    await harness.channel.deliver(
        Outbound(channel="telegram", recipient_id="424242", text="哪个产品？", buttons=(Button(value, "超长产品"),))
    )
    [call] = harness.fake.calls_to("sendMessage")
    data = call.json_param("reply_markup")["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    assert data == callback_data_for(value)
    assert len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    read = harness.reader.read(Update.de_json(customer.press(harness.fake.sent_messages[0], data), harness.bot))
    assert read.inbound is not None
    assert (read.inbound.choice, read.inbound.text) == (None, "超长产品")


async def test_flood_control_asks_the_outbox_to_retry_after_the_given_time(harness: Harness) -> None:
    harness.fake.fail_next("sendMessage", InjectedFailure.too_many_requests(7))
    with pytest.raises(RetryLater) as raised:
        await harness.channel.deliver(Outbound(channel="telegram", recipient_id="424242", text="hi"))
    assert raised.value.retry_after == 7


async def test_blocked_bot_means_the_customer_is_unreachable(harness: Harness) -> None:
    harness.fake.fail_next("sendMessage", InjectedFailure.blocked_by_user())
    with pytest.raises(RecipientUnreachable):
        await harness.channel.deliver(Outbound(channel="telegram", recipient_id="424242", text="hi"))


async def test_a_rejected_token_keeps_messages_waiting(harness: Harness) -> None:
    base_url, base_file_url = bot_api_urls(str(harness.bot.base_url).removesuffix(f"/bot{TOKEN}"))
    # Not initialised (that would call getMe and fail): the token is revoked after start-up.
    revoked = Bot("999:REVOKED", base_url=base_url, base_file_url=base_file_url)
    try:
        with pytest.raises(RetryLater):
            await TelegramChannel(revoked).deliver(Outbound(channel="telegram", recipient_id="424242", text="hi"))
    finally:
        await revoked.shutdown()
    assert harness.fake.calls_to("sendMessage") == []
