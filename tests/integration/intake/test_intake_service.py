"""The intake service on a real database, fed Inbound messages directly (as every channel does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.composition import build_application
from bot.config import Settings
from bot.desk.service import DeskOutcomeKind
from bot.intake import IntakeService
from bot.messages import Attachment, Inbound
from flows import format_when
from storage.cases import CaseStatus
from storage.models import Case, CaseEvent, Conversation, Evidence, InboundReceipt, OutboxItem, TranscriptMessage


@pytest_asyncio.fixture
async def intake(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[IntakeService]:
    async with build_application(settings, analyzer=analyzer) as application:
        yield application.intake


class Customer:
    def __init__(self, intake: IntakeService, sender: str = "customer-1") -> None:
        self.intake = intake
        self.sender = sender
        self.count = 0

    def inbound(self, text: str | None = None, choice: str | None = None, **extra: object) -> Inbound:
        self.count += 1
        return Inbound(channel="web", sender_id=self.sender, message_id=f"{self.sender}-{self.count}",
                       received_at=datetime.now(UTC), text=text, choice=choice, locale="en", **extra)  # type: ignore[arg-type]

    async def say(self, text: str | None = None, choice: str | None = None, **extra: object) -> str:
        result = await self.intake.handle(self.inbound(text, choice, **extra))
        return "\n".join(reply.text for reply in result.replies)


async def reach_evidence(customer: Customer) -> None:
    for text, choice in [("Hello", None), ("Ada", None), (None, "email"), ("ada@example.com", None),
                         ("My parcel arrived broken and the courier was rude to me.", None),
                         ("yesterday", None), ("London", None)]:
        await customer.say(text, choice)
    # Answer product and category in words, whatever the NLP proposed.
    for _ in range(3):
        row = await Conversation.get(identity__sender_id=customer.sender)
        if row.step_id == "evidence":
            return
        await customer.say(choice="delivery_logistics") if row.step_id == "category" else await customer.say("parcel")
    raise AssertionError(f"stuck at {row.step_id}")


async def test_a_failed_download_is_reported_and_nothing_is_lost(intake: IntakeService) -> None:
    customer = Customer(intake)
    await reach_evidence(customer)

    async def broken_stream() -> AsyncIterator[bytes]:
        yield b"\xff\xd8"
        raise ConnectionResetError("the platform's file server went away")

    attachment = Attachment(kind="photo", open_stream=broken_stream, file_name="photo.jpg")
    reply = await customer.say(attachments=(attachment,))
    assert "couldn't fetch photo.jpg" in reply
    assert await Evidence.all().count() == 0
    assert (await Conversation.get(identity__sender_id=customer.sender)).step_id == "evidence"
    # The message itself is on record.
    assert await InboundReceipt.filter(message_id=f"{customer.sender}-{customer.count}").exists()


async def test_the_same_message_delivered_concurrently_has_one_effect(intake: IntakeService) -> None:
    customer = Customer(intake)
    await customer.say("Hello")
    message = customer.inbound("Grace Hopper")
    results = await asyncio.gather(*(intake.handle(message) for _ in range(4)))
    assert sorted(result.duplicate for result in results) == [False, True, True, True]
    assert len({tuple(reply.text for reply in result.replies) for result in results}) == 1
    assert [row.text for row in await TranscriptMessage.all()].count("Grace Hopper") == 1  # text is encrypted
    assert await OutboxItem.filter(receipt__message_id=message.message_id).count() == len(results[0].replies)


async def test_status_lists_the_customers_cases(intake: IntakeService) -> None:
    customer = Customer(intake)
    await customer.say("Hello")
    assert "no open cases" in await customer.say("status")


async def file_case(customer: Customer) -> str:
    """Walk the rest of the flow by the buttons' roles (skip, done, confirm), answering anything else in words."""
    await reach_evidence(customer)
    for _ in range(10):
        result = await customer.intake.handle(customer.inbound("refund"))
        for _ in range(5):
            if result.case_number:
                return result.case_number
            roles = {button.role: button.value for reply in result.replies for button in reply.buttons}
            pressed = next((roles[role] for role in ("confirm", "done", "skip") if role in roles), None)
            if pressed is None:
                break
            result = await customer.intake.handle(customer.inbound(choice=pressed))
    raise AssertionError("no case was filed")


async def test_a_customer_answering_a_case_waiting_for_them_moves_it_back_to_the_agent(
    settings: Settings, analyzer: ThreadedAnalyzer
) -> None:
    # No Slack here: the transition belongs to the intake's transaction, not to a Slack notifier.
    async with build_application(settings, analyzer=analyzer) as application:
        customer = Customer(application.intake)
        number = await file_case(customer)
        await Case.filter(number=number).update(status=CaseStatus.WAITING_FOR_CUSTOMER)
        reply = await customer.say("The replacement never came either.")
        assert number in reply
        case = await Case.get(number=number)
        assert case.status == CaseStatus.IN_PROGRESS
        event = await CaseEvent.filter(case_id=case.id, kind="customer_reply").get()
        assert (event.actor, event.data) == ("customer", {"from": "waiting_for_customer", "to": "in_progress"})
        # Transcript text is encrypted at rest: compared after reading, never filtered in SQL.
        texts = [row.text for row in await TranscriptMessage.filter(case_id=case.id)]
        assert "The replacement never came either." in texts


@pytest.mark.one_database("sqlite")
async def test_a_complaint_told_all_at_once_is_not_asked_again(intake: IntakeService) -> None:
    """The intake's NLP port finds the values in the first message; the flow confirms them and moves on."""
    customer = Customer(intake, "all-at-once")
    opener = ("Hi, I'm Maria Lopez. My dryer stopped heating yesterday at 3pm, order 55-1029, "
              "call me on +1 201 555 0123")
    reply = await customer.say(opener)
    assert "I noted name: Maria Lopez; contact preference: Phone; phone: +1 201-555-0123" in reply
    assert "product: Tumble dryer" in reply and "What's your name?" not in reply
    row = await Conversation.get(identity__sender_id=customer.sender)
    assert row.step_id == "category"
    await customer.say(choice="product_quality")
    await customer.say(choice="_skip")
    await customer.say("Repair")
    filed = await customer.say(choice="_confirm")
    assert "Your case number is PL-" in filed
    case = await Case.get(sender_id=customer.sender)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert (case.name, case.phone, case.product, case.occurred_at) == (
        "Maria Lopez", "+12015550123", "dryer", f"{yesterday}T15:00:00+00:00"
    )
    assert case.description == opener and case.occurred_where == "55-1029"

    # Status right after filing answers about the case and offers a new complaint; it starts nothing.
    result = await intake.handle(customer.inbound("status"))
    status = result.replies[0].text
    filed_on = format_when(case.created_at.astimezone(UTC).isoformat(timespec="minutes"), "en")
    assert status.startswith("Your cases:\n\n") and f"{case.number} — received (filed {filed_on})" in status
    assert "About: Tumble dryer, Product quality" in status
    assert "Next: our team will look at it soon and write to you here." in status
    assert [button.role for button in result.replies[-1].buttons] == ["new_complaint"]
    assert "What's your name?" not in "\n".join(reply.text for reply in result.replies)
    # One case by its number, in Chinese; a number that is not theirs is not shown.
    customer_zh = await intake.handle(customer.inbound(f"进度 {case.number.lower()}"))
    text = customer_zh.replies[0].text
    assert text.startswith(f"{case.number}：已受理（") and "内容：干衣机，产品质量" in text
    assert "下一步：我们的团队会尽快查看" in text and "你的投诉：" not in text
    unknown = await intake.handle(customer.inbound("status PL-000000"))
    assert "can't find a case PL-000000 among yours" in unknown.replies[0].text


@pytest.mark.one_database("sqlite")
async def test_the_store_and_the_resolution_told_in_the_story_are_taken_and_the_request_is_no_category(
    intake: IntakeService,
) -> None:
    """The store and "I want a refund" answer their questions before they are asked, and a leaking kettle stays
    a product-quality complaint (the category model read the request as a billing problem)."""
    customer = Customer(intake, "wants-a-refund")
    opener = ("Hi, I'm Tom Baker. My electric kettle from your Oxford Street store started leaking yesterday, "
              "tom@example.com, I want a refund")
    reply = await customer.say(opener)
    assert "where: Oxford Street store" in reply and "resolution: Refund" in reply
    assert "product: Electric kettle" in reply and "Where did it happen?" not in reply
    assert reply.endswith("This sounds like a problem with product quality. Is that right?")
    await customer.say(choice="_yes")
    summary = await customer.say(choice="_skip")
    assert "What would you like us to do about it?" not in summary
    assert "Resolution: Refund" in summary and "Category: product quality" in summary
    assert "Your case number is PL-" in await customer.say(choice="_confirm")
    case = await Case.get(sender_id=customer.sender)
    assert (case.expected_resolution, case.category, case.product) == ("refund", "product_quality", "kettle")
    assert case.occurred_where == "Oxford Street store"


@pytest.mark.one_database("sqlite")
async def test_a_phone_number_answers_phone_or_email(intake: IntakeService) -> None:
    customer = Customer(intake, "value-for-choice")
    await customer.say("Hello")
    await customer.say("Ada Lovelace")
    reply = await customer.say("+1 201 555 0123")
    assert "Please pick one of the options" not in reply
    assert "phone: +1 201-555-0123" in reply and "Please tell me what happened" in reply
    reply = await customer.say("我的手机13800138000坏了，屏幕碎了")
    # Said in Chinese, the conversation follows; the phone in the story contradicts the earlier one.
    assert "两个不同的电话" in reply


@pytest.mark.one_database("sqlite")
async def test_a_photo_sent_early_is_kept_for_the_evidence_question(intake: IntakeService) -> None:
    customer = Customer(intake, "early-photo")
    await customer.say("Hello")
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 200

    async def photo_stream() -> AsyncIterator[bytes]:
        yield jpeg

    photo = Attachment(kind="photo", open_stream=photo_stream, file_name="receipt.jpg",
                       declared_media_type="image/jpeg", declared_size=len(jpeg))
    reply = await customer.say(attachments=(photo,))
    assert "I'll keep receipt.jpg for the evidence question." in reply and "what's your name?" in reply
    assert await Evidence.all().count() == 1
    await customer.say("Ada")
    await customer.say(choice="email")
    await customer.say("ada@example.com")
    await customer.say("My parcel arrived broken and the courier was rude to me.")
    await customer.say("yesterday")
    await customer.say("London")
    for _ in range(3):
        row = await Conversation.get(identity__sender_id=customer.sender)
        if row.step_id == "evidence":
            break
        await customer.say(choice="delivery_logistics") if row.step_id == "category" else await customer.say("parcel")
    await customer.say(choice="_done")
    await customer.say("Refund")
    filed = await customer.say(choice="_confirm")
    assert "Your case number is" in filed
    case = await Case.get(sender_id=customer.sender)
    assert [item.file_name for item in await Evidence.filter(case_id=case.id)] == ["receipt.jpg"]


async def test_status_with_only_resolved_cases_lists_them_instead_of_saying_none(
    settings: Settings, analyzer: ThreadedAnalyzer
) -> None:
    async with build_application(settings, analyzer=analyzer) as application:
        customer = Customer(application.intake, "resolved-only")
        number = await file_case(customer)
        outcome = await application.desk.resolve(number, "Replaced the parcel", "replaced", "U0AGENT", "status-1")
        assert outcome.kind is DeskOutcomeKind.APPLIED, outcome
        reply = await customer.say("status")
        assert reply.startswith("You have no open cases. Recently resolved:")
        assert f"{number} — resolved (filed " in reply and "Next: nothing more to do." in reply
        # Asked again in Chinese, the same case in Chinese.
        chinese = Customer(application.intake, "resolved-only")
        chinese.count = customer.count
        result = await application.intake.handle(replace(chinese.inbound("进度"), locale="zh"))
        text = "\n".join(reply.text for reply in result.replies)
        assert "你目前没有处理中的投诉。最近已解决的投诉：" in text and f"{number}：已解决" in text
        # Asked in traditional characters, answered in them.
        result = await application.intake.handle(replace(chinese.inbound("進度"), locale="zh"))
        text = "\n".join(reply.text for reply in result.replies)
        assert "你目前沒有處理中的投訴。最近已解決的投訴：" in text and f"{number}：已解決" in text
