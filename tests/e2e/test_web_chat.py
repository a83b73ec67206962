"""The walking skeleton end to end: a complaint over the web chat's HTTP endpoint, into the database."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from bot.channels.web import MAX_FIELD_BYTES
from storage.cases import TortoiseCaseRepository
from storage.models import Case, OutboxItem, TranscriptMessage
from storage.outbox import OutboxStatus
from tests.e2e.web_chat_driver import (
    EVIDENCE_SHA256,
    Action,
    Policy,
    Press,
    Say,
    WebCustomer,
    accept_proposal_or,
    complete_flow,
)

DESCRIPTION_EN = "The screen of my new phone cracked two days after I bought it and the shop refused to replace it."
DESCRIPTION_ZH = "我上周买的手机屏幕裂了，客服不给换货，态度也很差。"

ENGLISH: dict[str, Action | Policy] = {
    "name": Say("Ada Lovelace"),
    "contact_method": Press("both"),
    "phone": Say("+44 20 7946 0958"),
    "email": Say("ada@example.com"),
    "description": Say(DESCRIPTION_EN),
    "occurred_at": Say("yesterday 3pm"),
    "occurred_where": Say("Oxford Street store, London"),
    "product": accept_proposal_or(Say("phone")),
    "category": accept_proposal_or(Press("product_quality")),
    "expected_resolution": Press("replacement"),
    "confirm": Press("_confirm"),
}

CHINESE: dict[str, Action | Policy] = {
    "name": Say("王小明"),
    "contact_method": Say("电话"),
    "phone": Say("138 1234 5678"),
    "description": Say(DESCRIPTION_ZH),
    "occurred_at": Say("昨天下午三点"),
    "occurred_where": Say("上海市静安区南京西路店"),
    "product": accept_proposal_or(Say("手机")),
    "category": accept_proposal_or(Press("product_quality")),
    "expected_resolution": Say("换货"),
    "confirm": Press("_confirm"),
}


async def test_health(web_client: TestClient[Any, Any]) -> None:
    response = await web_client.get("/healthz")
    assert response.status == 200
    assert (await response.json()) == {"status": "ok"}


async def test_chat_page_is_served(web_client: TestClient[Any, Any]) -> None:
    response = await web_client.get("/chat")
    assert response.status == 200
    page = await response.text()
    assert 'name="viewport"' in page and "chat/api/message" in page


async def test_english_complaint_with_two_files_is_stored_whole(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en-GB")
    number = await complete_flow(customer, ENGLISH, first="Hello")
    assert number in customer.text()

    case = await TortoiseCaseRepository().get(number)
    assert case.status == "new"
    assert (case.channel, case.lang) == ("web", "en")
    assert case.name == "Ada Lovelace"
    assert case.phone == "+442079460958"
    assert case.email == "ada@example.com"
    assert case.description == DESCRIPTION_EN
    assert case.occurred_at is not None and "T15:00:00" in case.occurred_at
    assert case.occurred_where == "Oxford Street store, London"
    assert case.product and case.product_confidence is not None
    assert case.category and case.category_confidence is not None
    assert case.expected_resolution == "replacement"
    assert {item.file_name: item.sha256 for item in case.evidence} == EVIDENCE_SHA256
    assert {item.media_type for item in case.evidence} == {"image/jpeg", "application/pdf"}
    texts = [entry.text for entry in case.transcript]
    assert "Ada Lovelace" in texts and DESCRIPTION_EN in texts
    assert any(number in text for text in texts)
    assert [event.kind for event in case.events] == ["filed"]


async def test_chinese_complaint_with_two_files_is_stored_whole(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="zh-CN")
    number = await complete_flow(customer, CHINESE, first="你好")
    assert f"编号是 {number}" in customer.text()

    case = await TortoiseCaseRepository().get(number)
    assert (case.channel, case.lang) == ("web", "zh")
    assert case.name == "王小明"
    assert case.phone == "+8613812345678"
    assert case.email is None
    assert case.description == DESCRIPTION_ZH
    assert case.occurred_at is not None and "T15:00:00" in case.occurred_at
    assert case.occurred_where == "上海市静安区南京西路店"
    assert case.product and case.product_confidence is not None
    assert case.category and case.category_confidence is not None
    assert case.expected_resolution == "replacement"
    assert {item.file_name: item.sha256 for item in case.evidence} == EVIDENCE_SHA256


async def test_a_replayed_message_changes_nothing_and_sends_nothing(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    await customer.post(Say("Grace Hopper"), message_id="same-message")
    first_replies = customer.replies
    replay = await customer.post(Say("Grace Hopper"), message_id="same-message")
    assert replay["duplicate"] is True
    assert replay["replies"] == first_replies
    # One customer message and one set of replies were stored, once.
    assert [row.text for row in await TranscriptMessage.all()].count("Grace Hopper") == 1  # text is encrypted
    assert await OutboxItem.filter(receipt__message_id=f"{customer.session}:same-message").count() == len(first_replies)
    assert await customer.step() == "contact_method"


async def test_a_web_reply_is_delivered_by_the_turns_commit(web_client: TestClient[Any, Any]) -> None:
    # The page reads replies from the answer and the transcript: the outbox row is kept (a retried message is
    # answered from it) but born sent, never claimed or attempted by a worker pass.
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"), message_id="first")
    rows = await OutboxItem.filter(receipt__message_id=f"{customer.session}:first")
    assert rows and len(rows) == len(customer.replies)
    assert {(row.status, row.attempts, row.claimed_by) for row in rows} == {(OutboxStatus.SENT, 0, None)}
    assert all(row.sent_at is not None for row in rows)


async def test_the_confirmation_replayed_files_one_case(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en")
    answers = dict(ENGLISH)
    confirmations: list[str] = []

    def confirm_once(customer: WebCustomer) -> Action:
        confirmations.append("x")
        return Press("_confirm")

    answers["confirm"] = confirm_once
    number = await complete_flow(customer, answers, first="Hi")
    replay = await customer.post(Press("_confirm"), message_id="confirm-again")
    again = await customer.post(Press("_confirm"), message_id="confirm-again")
    assert again["duplicate"] and again["replies"] == replay["replies"]
    assert await Case.filter(sender_id=customer.session).count() == 1
    assert await Case.filter(number=number).exists()


async def test_bad_answers_are_re_asked_with_the_reason(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    await customer.post(Say("Alan Turing"))
    await customer.post(Press("email"))
    await customer.post(Say("not-an-email"))
    assert await customer.step() == "email"
    assert "email" in customer.text().lower()
    zh = WebCustomer(web_client, locale="zh-CN")
    await zh.post(Say("你好"))
    await zh.post(Say("李雷"))
    await zh.post(Press("phone"))
    await zh.post(Say("12345"))
    assert await zh.step() == "phone"
    assert "号码" in zh.text()


async def test_the_web_chat_refuses_malformed_requests(web_client: TestClient[Any, Any]) -> None:
    response = await web_client.post(
        "/chat/api/message", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    response = await web_client.post("/chat/api/message", json={"text": 42})
    assert response.status == 400 and "text" in await response.text()
    assert await TranscriptMessage.all().count() == 0


async def test_a_bad_multipart_field_is_refused_by_its_name(web_client: TestClient[Any, Any]) -> None:
    def form(text: bytes) -> aiohttp.MultipartWriter:
        # Built part by part: FormData would turn a bytes value into a file.
        writer = aiohttp.MultipartWriter("form-data")
        writer.append("multipart-field-0001").set_content_disposition("form-data", name="message_id")
        writer.append(text, {"Content-Type": "text/plain"}).set_content_disposition("form-data", name="text")
        file = writer.append(b"%PDF-1.4 receipt", {"Content-Type": "application/pdf"})
        file.set_content_disposition("form-data", name="file", filename="receipt.pdf")
        return writer

    response = await web_client.post("/chat/api/message", data=form(b"\xff\xfe broken"))
    assert response.status == 400 and await response.text() == "text: not UTF-8 text"
    response = await web_client.post("/chat/api/message", data=form(b"x" * (MAX_FIELD_BYTES + 1)))
    assert response.status == 413 and await response.text() == "text: the field is too long"
    assert await TranscriptMessage.all().count() == 0


async def test_buttons_carry_their_role_so_the_page_never_reads_engine_values(
    web_client: TestClient[Any, Any],
) -> None:
    customer = WebCustomer(web_client, locale="en")
    seen: dict[str, str] = {}

    def remember_then(action: Action) -> Policy:
        def choose(customer: WebCustomer) -> Action:
            for reply in customer.replies:
                seen.update({button["value"]: button["role"] for button in reply["buttons"]})
            return action

        return choose

    answers = {step: remember_then(action) if not callable(action) else action for step, action in ENGLISH.items()}
    await complete_flow(customer, answers, first="Hi")
    # The confirmation offers confirm, edit and cancel; plain options are answers.
    assert seen["_confirm"] == "confirm" and seen["_cancel"] == "cancel"
    assert {role for value, role in seen.items() if value.startswith("_edit:")} == {"edit"}
    assert seen["replacement"] == "answer"
    # The mailbox (what the page polls) keeps the roles too.
    stored = [button for message in await customer.transcript() for button in message["buttons"]]
    assert any(button["value"] == "_confirm" and button["role"] == "confirm" for button in stored)
    assert all(button["role"] == "answer" for button in stored if not button["value"].startswith("_"))
    page = await (await web_client.get("/chat")).text()
    for engine_value in ('"_yes"', '"_done"', '"_confirm"', '"_edit:"', '"_cancel"'):
        assert engine_value not in page
