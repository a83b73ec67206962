"""An erasure while a worker is taking one of the person's turns: the customer sends a photo, Telegram's file
server is slow, the DPO erases the person meanwhile; when the download ends, the turn stores nothing (no
identity, customer, message, file row or reply made again) and is dropped, not retried."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.config import Settings
from storage.evidence import LocalEvidenceStore
from storage.models import (
    ChannelIdentity,
    Customer,
    Evidence,
    InboundReceipt,
    InboxItem,
    OutboxItem,
    TranscriptMessage,
)
from storage.privacy import SubjectQuery, erase_subject, find_subject
from tests.integration.privacy.raw_database import raw_dump
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.integration.telegram.test_telegram_webhook import TelegramServer, telegram  # noqa: F401 (fixture)
from tests.waiting import eventually

CHAT = 4_300_017
WORDS = "洗衣机漏水，地板都泡坏了"
CAPTION = "漏水的照片，韩梅梅"
PHOTO = b"\xff\xd8\xff\xe0 a photo of the flooded floor" * 40


async def test_a_turn_in_progress_when_the_person_is_erased_stores_nothing(
    telegram: TelegramServer, settings: Settings, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    caplog.set_level(logging.INFO, logger="bot.inbox")
    customer = TelegramCustomer(CHAT, "Meimei", "zh")
    await telegram.deliver(customer.text("/start"))
    await telegram.deliver(customer.text(WORDS))
    assert await ChannelIdentity.exists(channel="telegram", sender_id=str(CHAT))
    assert WORDS in [row.text for row in await TranscriptMessage.all()]
    replies_before = len(telegram.fake.sent_texts(CHAT))

    # The photo's turn is held half way: claimed, its file being fetched.
    telegram.fake.host_file(PHOTO, file_id="flood", file_path="photos/flood.jpg")
    gate = telegram.fake.download_gate = asyncio.Event()
    update = customer.photo("flood", len(PHOTO), caption=CAPTION)
    assert (await telegram.post(update)).status == 200
    await asyncio.wait_for(telegram.fake.download_waiting.wait(), timeout=30)
    assert await InboxItem.filter(platform_id=str(update["update_id"]), status="processing").exists()

    subject = await find_subject(SubjectQuery(channel="telegram", sender_id=str(CHAT)))
    await erase_subject(subject, LocalEvidenceStore(settings.evidence_dir), actor="dpo@plaint.example")
    customers = await Customer.all().count()
    gate.set()

    # The turn ends, dropped: nothing of the person was made again.
    await eventually(lambda: [record.getMessage() for record in caplog.records
                              if "dropped: its sender's data was erased" in record.getMessage()],
                     "the withdrawn turn to be dropped")
    await telegram.outbox_drained()
    assert not await ChannelIdentity.exists(channel="telegram", sender_id=str(CHAT))
    assert await Customer.all().count() == customers
    assert await TranscriptMessage.all().count() == 0
    assert await Evidence.all().count() == 0
    assert not await InboundReceipt.exists(channel="telegram", message_id=str(update["update_id"]))
    assert not await InboxItem.filter(platform_id=str(update["update_id"])).exists()
    assert not await OutboxItem.filter(ordering_key=f"telegram:{CHAT}").exists()
    assert len(telegram.fake.sent_texts(CHAT)) == replies_before
    stored = "\n".join(await raw_dump())
    for value in (WORDS, CAPTION, "Meimei"):
        assert value not in stored, value
    # Dropped, not failed: nothing given up or retried.
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING
                and record.name == "bot.inbox"]
