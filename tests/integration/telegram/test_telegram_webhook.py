"""Telegram end to end: real-shaped updates POSTed to Plaint's own server at /telegram/webhook, through the
intake service into the database, and replies out through the outbox worker to the fake Bot API."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.analysis import ThreadedAnalyzer
from bot.app import APPLICATION_KEY, build_app
from bot.channels.telegram import ANSWERED_MARKER
from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.config import Settings
from bot.messages import Outbound, outbound_to_payload
from storage.models import Case, Customer, Evidence, InboundReceipt, OutboxItem, TranscriptMessage
from tests.fakes.telegram_api import FakeTelegramBotApi, InjectedFailure, running_fake_bot_api
from tests.integration.telegram.telegram_updates import JSON, TelegramCustomer
from tests.waiting import WITHIN, eventually

TOKEN = "654321:TEST-webhook-token"
SECRET = "s3cret_Token-for-tests"
MB = 1024 * 1024


def jpeg_bytes(seed: str, size: int) -> bytes:
    """Bytes that sniff as JPEG, distinct per seed, so each photo has its own hash."""
    body = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + body)[:size]


PDF_BYTES = b"%PDF-1.4\n" + os.urandom(40_000) + b"\n%%EOF\n"


@dataclass
class TelegramServer:
    fake: FakeTelegramBotApi
    client: TestClient  # type: ignore[type-arg]

    async def post(self, update: JSON | bytes, *, secret: str | None = SECRET) -> ClientResponse:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(update, bytes):
            return await self.client.post(WEBHOOK_PATH, data=update, headers=headers)
        return await self.client.post(WEBHOOK_PATH, json=update, headers=headers)

    async def deliver(self, update: JSON) -> list[dict[str, object]]:
        """POST an update as Telegram would, wait until the outbox has sent everything it caused, and
        return the bot messages that reached the fake Bot API."""
        already = len(self.fake.sent_messages)
        response = await self.post(update)
        assert response.status == 200, await response.text()
        await self.outbox_drained()
        return self.fake.sent_messages[already:]

    async def inbox_drained(self, within: float = WITHIN) -> None:
        """The webhook answers on receipt; the inbox worker takes the turn a moment later."""
        inbox = self.client.app[APPLICATION_KEY].inbox_worker
        await eventually(lambda: inbox.pending_count(), "the inbox drained", accept=lambda count: count == 0,
                         within=within)

    async def outbox_drained(self, within: float = WITHIN) -> None:
        await self.inbox_drained(within)
        outbox = self.client.app[APPLICATION_KEY].outbox
        await eventually(outbox.pending_count, "the outbox to empty", accept=lambda count: count == 0, within=within)


@pytest_asyncio.fixture
async def telegram(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[TelegramServer]:
    async with running_fake_bot_api(TOKEN) as (fake, url):
        configured = settings.model_copy(
            update={
                "telegram_token": SecretStr(TOKEN),
                "telegram_webhook_secret": SecretStr(SECRET),
                "telegram_api_url": url,
            }
        )
        client = TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1"))
        await client.start_server()
        try:
            yield TelegramServer(fake, client)
        finally:
            await client.close()


def buttons(message: dict[str, object]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    return [(button["callback_data"], button["text"]) for row in markup["inline_keyboard"] for button in row]


async def nothing_stored() -> bool:
    return (
        await InboundReceipt.all().count() == 0
        and await TranscriptMessage.all().count() == 0
        and await OutboxItem.all().count() == 0
    )


# ---- refusals -------------------------------------------------------------------------------------------


async def test_wrong_or_missing_secret_is_refused_and_nothing_stored(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(1001, "Eve", "en")
    for secret in ("wrong-secret", None, SECRET + "x"):
        response = await telegram.post(customer.text("/start"), secret=secret)
        assert response.status == 403
    assert await nothing_stored()
    assert telegram.fake.calls_to("sendMessage") == []


async def test_malformed_json_is_a_bad_request_and_nothing_stored(telegram: TelegramServer) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"message": {"text": "no update_id"}}', b"\xff\xfe"):
        response = await telegram.post(body)
        assert response.status == 400, body
    assert await nothing_stored()


async def test_a_redelivered_update_has_exactly_one_effect(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(1002, "Ann", "en")
    update = customer.text("/start")
    first = await telegram.deliver(update)
    assert len(first) >= 1
    again = await telegram.deliver(update)
    assert again == []
    assert await InboundReceipt.filter(channel="telegram", message_id=str(update["update_id"])).count() == 1
    assert len(telegram.fake.calls_to("sendMessage")) == len(first)


async def test_flood_control_delays_the_reply_which_then_leaves_once(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(1003, "Bo", "en")
    telegram.fake.fail_next("sendMessage", InjectedFailure.too_many_requests(1))
    started = time.monotonic()
    delivered = await telegram.deliver(customer.text("/start"))
    calls = telegram.fake.calls_to("sendMessage")
    # The refused attempt and the successful one carry the same text; the retry waited retry_after.
    assert len(calls) == len(delivered) + 1
    assert calls[0].params["text"] == calls[1].params["text"] == delivered[0]["text"]
    assert time.monotonic() - started >= 1
    items = await OutboxItem.filter(channel="telegram").order_by("id")
    assert [item.status for item in items] == ["sent"] * len(items)
    assert items[0].attempts == 2


# ---- whole complaints -------------------------------------------------------------------------------------


@dataclass
class Conversation:
    """A customer talking to the bot over the webhook, answering the last question the bot asked."""

    server: TelegramServer
    customer: TelegramCustomer
    last: dict[str, object] | None = None
    pressed_query_ids: list[str] = field(default_factory=list)

    async def send(self, update: JSON) -> list[dict[str, object]]:
        replies = await self.server.deliver(update)
        if replies:
            self.last = replies[-1]
        return replies

    async def say(self, text: str) -> list[dict[str, object]]:
        return await self.send(self.customer.text(text))

    def offers(self, value: str) -> bool:
        return self.last is not None and any(data == value for data, _ in buttons(self.last))

    async def press(self, value: str) -> list[dict[str, object]]:
        assert self.last is not None and self.offers(value), (value, self.last)
        update = self.customer.press(self.last, value)
        self.pressed_query_ids.append(update["callback_query"]["id"])  # type: ignore[index]
        return await self.send(update)

    async def through_nlp_questions(self, typed_product: str) -> None:
        """Product and category: accept what the NLP proposes, or answer if it proposed nothing. Ends at the
        evidence question (the one offering Skip)."""
        for _ in range(4):
            if self.offers("_skip"):
                return
            if self.offers("_yes"):
                await self.press("_yes")
            elif self.last is not None and buttons(self.last):
                await self.press(buttons(self.last)[0][0])
            else:
                await self.say(typed_product)
        assert self.offers("_skip"), self.last


def host_evidence(fake: FakeTelegramBotApi, prefix: str) -> dict[str, bytes]:
    """Three album photos and a PDF on the fake server, by file_id."""
    files = {f"{prefix}-photo-{n}": jpeg_bytes(f"{prefix}{n}", 150_000 + n * 1000) for n in (1, 2, 3)}
    files[f"{prefix}-pdf"] = PDF_BYTES
    for file_id, content in files.items():
        fake.host_file(content, file_id=file_id, file_path=f"documents/{file_id}.bin")
    return files


async def send_evidence(talk: Conversation, files: dict[str, bytes], prefix: str) -> None:
    photos = [(file_id, len(content)) for file_id, content in files.items() if "photo" in file_id]
    for update in talk.customer.album(f"album-{prefix}", photos, caption=None):
        await talk.send(update)
    await talk.send(talk.customer.document(f"{prefix}-pdf", "receipt.pdf", "application/pdf", len(PDF_BYTES)))


async def assert_one_case_with_evidence(
    telegram: TelegramServer, customer: TelegramCustomer, files: dict[str, bytes], lang: str
) -> Case:
    [case] = await Case.filter(channel="telegram", sender_id=str(customer.user_id))
    assert case.lang == lang
    evidence = await Evidence.filter(case_id=case.id)
    assert sorted(item.sha256 for item in evidence) == sorted(
        hashlib.sha256(content).hexdigest() for content in files.values()
    )
    assert sorted(telegram.fake.downloads) == sorted(f"documents/{file_id}.bin" for file_id in files)
    assert case.number in str(telegram.fake.sent_messages[-1]["text"])
    # Plain text everywhere: nothing a customer typed is ever read as markup.
    assert all("parse_mode" not in call.params for call in telegram.fake.calls_to("sendMessage"))
    return case


async def test_a_complaint_in_english_with_an_album_and_a_document(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(2001, "Ana", "en-GB", last_name="Lee")
    files = host_evidence(telegram.fake, "en")
    talk = Conversation(telegram, customer)
    await talk.say("/start")
    await talk.say("Ana <b>Lee</b> & Co")
    await talk.press("email")
    await talk.say("ana@example.com")
    await talk.say("My Kettle 2000 leaks water from the bottom after two days of use.")
    await talk.say("yesterday 3pm")
    await talk.send(customer.venue(51.5072, -0.1276, "Kitchen World", "12 High Street, London"))
    await talk.through_nlp_questions("Kettle 2000")
    await send_evidence(talk, files, "en")
    await talk.press("_done")
    await talk.press("replacement")
    assert "Ana <b>Lee</b> & Co" in str(talk.last and talk.last["text"])
    await talk.press("_confirm")

    case = await assert_one_case_with_evidence(telegram, customer, files, "en")
    assert (case.name, case.email, case.expected_resolution) == (
        "Ana <b>Lee</b> & Co",
        "ana@example.com",
        "replacement",
    )
    assert case.occurred_where is not None and "Kitchen World" in case.occurred_where
    # Every press stopped its spinner, and its keyboard now shows only what was chosen.
    answered = [call.params["callback_query_id"] for call in telegram.fake.calls_to("answerCallbackQuery")]
    assert answered == talk.pressed_query_ids
    marks = [call.json_param("reply_markup") for call in telegram.fake.calls_to("editMessageReplyMarkup")]
    assert len(marks) == len(answered)
    assert {"text": "✓ Email", "callback_data": ANSWERED_MARKER} in [
        button
        for mark in marks
        for row in mark["inline_keyboard"]  # type: ignore[index]
        for button in row
    ]


async def test_a_complaint_in_chinese_with_typed_answers(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(2002, "娜", "zh-hans", last_name="李")
    files = host_evidence(telegram.fake, "zh")
    talk = Conversation(telegram, customer)
    await talk.say("/start")
    await talk.say("李娜")
    await talk.say("电话")
    await talk.say("13812345678")
    await talk.say("我买的电水壶用了两天就漏水了，底部一直在滴水。")
    await talk.say("昨天下午三点")
    await talk.send(customer.location(31.2304, 121.4737))
    await talk.through_nlp_questions("电水壶")
    await send_evidence(talk, files, "zh")
    await talk.say("完成")
    await talk.say("退款")
    await talk.say("确认提交")

    case = await assert_one_case_with_evidence(telegram, customer, files, "zh")
    assert (case.name, case.phone, case.expected_resolution) == ("李娜", "+8613812345678", "refund")
    assert "编号" in str(telegram.fake.sent_messages[-1]["text"])


async def reach_evidence_question(talk: Conversation) -> None:
    await talk.say("/start")
    await talk.say("Sam Fox")
    await talk.press("email")
    await talk.say("sam@example.com")
    await talk.say("The Kettle 2000 I bought stopped heating after a week.")
    await talk.press("_skip")
    await talk.press("_skip")
    await talk.through_nlp_questions("Kettle 2000")


async def test_a_video_over_the_bot_api_limit_is_refused_with_the_limit_and_never_downloaded(
    telegram: TelegramServer,
) -> None:
    customer = TelegramCustomer(2003, "Sam", "en")
    talk = Conversation(telegram, customer)
    await reach_evidence_question(talk)
    telegram.fake.host_file(b"\x00" * 1024, file_id="huge-video", file_path="videos/huge.mp4")
    [reply] = await talk.send(customer.video("huge-video", 21 * MB, file_name="dashcam.mp4"))
    assert "dashcam.mp4" in str(reply["text"])
    assert "20 MB" in str(reply["text"])
    assert telegram.fake.calls_to("getFile") == []
    assert telegram.fake.downloads == []
    assert await Evidence.all().count() == 0
    # The customer can still go on without it.
    await talk.press("_skip")
    assert talk.offers("refund")


async def test_a_blocked_bot_marks_the_customer_unreachable_and_keeps_the_case(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(2004, "Kim", "en")
    talk = Conversation(telegram, customer)
    await reach_evidence_question(talk)
    await talk.press("_skip")
    await talk.press("refund")
    telegram.fake.fail_next("sendMessage", InjectedFailure.blocked_by_user())
    assert await talk.press("_confirm") == []
    [case] = await Case.filter(channel="telegram", sender_id="2004")
    assert case.expected_resolution == "refund"
    customer_row = await Customer.get(id=case.customer_id)  # type: ignore[attr-defined]
    assert customer_row.unreachable
    last_item = await OutboxItem.filter(channel="telegram").order_by("-id").first()
    assert last_item is not None and last_item.status == "dead"
    assert case.number in str(last_item.payload["text"])


async def test_editing_the_last_answer_replaces_it(telegram: TelegramServer) -> None:
    customer = TelegramCustomer(2005, "Lu", "en")
    talk = Conversation(telegram, customer)
    await talk.say("/start")
    name = customer.text("Lu Xun")
    await talk.send(name)
    [reply] = await talk.send(customer.edit(name, "Lu Xin"))
    assert "Lu Xin" in str(reply["text"])
    await talk.press("email")
    await talk.say("lu@example.com")
    await talk.say("The Kettle 2000 lid broke off on the first day.")
    await talk.press("_skip")
    await talk.press("_skip")
    await talk.through_nlp_questions("Kettle 2000")
    await talk.press("_skip")
    await talk.press("apology")
    assert "Lu Xin" in str(talk.last and talk.last["text"])
    await talk.press("_confirm")
    [case] = await Case.filter(sender_id="2005")
    assert case.name == "Lu Xin"


# ---- polling mode ----------------------------------------------------------------------------------------


async def test_polling_mode_fetches_updates_and_confirms_them(settings: Settings, analyzer: ThreadedAnalyzer) -> None:
    customer = TelegramCustomer(3001, "Pat", "en")
    async with running_fake_bot_api(TOKEN) as (fake, url):
        configured = settings.model_copy(
            update={"telegram_token": SecretStr(TOKEN), "telegram_api_url": url, "telegram_mode": "polling"}
        )
        client = TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1"))
        await client.start_server()
        try:
            # No webhook route in polling mode.
            assert (await client.post(WEBHOOK_PATH, json=customer.text("hi"))).status in (404, 405)
            first = customer.text("/start")
            fake.queue_update(first)
            await eventually(lambda: len(fake.sent_messages), "two messages sent", accept=lambda count: count >= 2)
            second = customer.text("Pat Doe")
            fake.queue_update(second)
            await eventually(lambda: fake.sent_texts()[-1], "the answer sent",
                             accept=lambda text: "get back to you" in str(text))
            offsets = [call.params.get("offset") for call in fake.calls_to("getUpdates")]
            assert str(first["update_id"] + 1) in offsets  # type: ignore[operator]
            assert str(second["update_id"] + 1) in offsets  # type: ignore[operator]
            assert await InboundReceipt.filter(channel="telegram").count() == 2
        finally:
            await client.close()
    methods = [call.method for call in fake.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")


async def test_an_agent_reply_queued_for_a_telegram_customer_arrives_as_plain_text(telegram: TelegramServer) -> None:
    # What the agent desk queues when an agent answers in the case thread: the same outbox, this channel.
    text = "Hi Ana, we are sending a replacement <today>. Reply here if anything's wrong & thanks!"
    outbox = telegram.client.app[APPLICATION_KEY].outbox
    await outbox.enqueue(
        kind="message",
        channel="telegram",
        ordering_key="telegram:2006",
        payload=outbound_to_payload(Outbound(channel="telegram", recipient_id="2006", text=text, kind="agent_reply")),
    )
    await telegram.outbox_drained()
    [call] = telegram.fake.calls_to("sendMessage")
    assert (call.params["chat_id"], call.params["text"]) == ("2006", text)
    assert "parse_mode" not in call.params


async def test_the_intake_wakes_the_outbox_so_a_reply_does_not_wait_for_the_next_poll(
    settings: Settings, analyzer: ThreadedAnalyzer
) -> None:
    # The worker looks for due rows only once a minute here: a reply arriving well before that was sent
    # because the intake rang the outbox after its commit, not because the worker polled.
    poll_interval = 60.0
    async with running_fake_bot_api(TOKEN) as (fake, url):
        configured = settings.model_copy(
            update={
                "telegram_token": SecretStr(TOKEN),
                "telegram_webhook_secret": SecretStr(SECRET),
                "telegram_api_url": url,
                "outbox_poll_interval": poll_interval,
            }
        )
        client = TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1"))
        await client.start_server()
        try:
            server = TelegramServer(fake, client)
            # Let the worker's first pass (at start-up) finish and go to sleep for the poll interval.
            await asyncio.sleep(0.5)
            started = time.monotonic()
            response = await server.post(TelegramCustomer(1501, "Quinn", "en").text("/start"))
            assert response.status == 200
            await eventually(lambda: len(fake.sent_messages), "the reply sent before the next poll",
                             accept=lambda count: count >= 1, within=poll_interval / 4)
            assert time.monotonic() - started < poll_interval / 4
        finally:
            await client.close()
