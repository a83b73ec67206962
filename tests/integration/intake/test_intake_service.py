"""The intake service on a real database, fed Inbound messages directly (as every channel does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.config import Settings
from bot.intake import IntakeService
from bot.messages import Attachment, Inbound
from bot.services import open_services
from storage.models import Conversation, Evidence, InboundReceipt, OutboxItem, TranscriptMessage


@pytest_asyncio.fixture
async def intake(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[IntakeService]:
    async with open_services(settings, analyzer) as services:
        yield services.intake


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
