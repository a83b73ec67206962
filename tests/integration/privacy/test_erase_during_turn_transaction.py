"""The other order of the erase race (tests/integration/inbox/test_erase_during_turn.py holds a turn before it
stores anything): a worker's turn is inside its transaction, filing a new case for the person, when the DPO
erases them. The erasure waits for the turn (it locks the inbox row the erasure deletes first), then erases
what the turn stored too, the new case included. On every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.crypto import lookup_hash
from storage.database import open_database, supports_row_locks
from storage.evidence import LocalEvidenceStore
from storage.inbox import TortoiseInbox, current_inbox_item
from storage.intake import TortoiseIntakeStore
from storage.models import Case, ChannelIdentity, InboxItem, TranscriptMessage
from storage.privacy import ErasureReport, SubjectQuery, erase_subject, find_subject
from tests.integration.privacy.raw_database import raw_dump
from tests.integration.privacy.test_subject_requests import PHOTO, _person

CHAT = "930017"
NAME = "韩梅梅"
PHONE = "+86 139 0013 9017"
NEW_PHONE = "+86 139 0013 9999"
NEW_WORDS = "第二台洗衣机也漏水了"


async def test_an_erasure_waits_for_a_turn_inside_its_transaction_then_erases_what_it_stored(
    settings: Settings,
) -> None:
    install_data_keyring(settings)
    store = LocalEvidenceStore(settings.evidence_dir)
    url = settings.effective_database_url
    async with open_database(url):
        await _person(store, "telegram", CHAT, "PL-WWW111", NAME, PHONE, None, "洗衣机漏水", PHOTO, "zh")
        inbox = TortoiseInbox(skip_locked=supports_row_locks(url))
        assert await inbox.receive(channel="telegram", platform_id="91001", ordering_key=f"telegram:{CHAT}",
                                   payload={"update_id": 91001})
        [entry] = await inbox.claim_due(5, timedelta(minutes=5), ["telegram"])

        inside = asyncio.Event()

        async def erase_once_the_turn_is_inside() -> ErasureReport:
            # Started before the turn's transaction, so it runs on a connection of its own.
            await inside.wait()
            subject = await find_subject(SubjectQuery(channel="telegram", sender_id=CHAT))
            return await erase_subject(subject, store, actor="dpo@plaint.example")

        erasing = asyncio.create_task(erase_once_the_turn_is_inside())
        token = current_inbox_item.set(entry.id)
        try:
            intake = TortoiseIntakeStore(lock_rows=supports_row_locks(url))
            async with intake.transaction("telegram", CHAT, "91001", "zh", identity_exists=True) as tx:
                await tx.touch_identity("zh", NAME, datetime.now(UTC))
                # The turn files a second complaint of the person (as the flow's last answer would).
                case = await Case.create(
                    number="PL-WWW222", status="new", customer_id=tx.identity.customer_id, channel="telegram",
                    sender_id=CHAT, lang="zh", name=NAME, phone=NEW_PHONE,
                    phone_hash=lookup_hash("phone", NEW_PHONE), description=NEW_WORDS, product="washing machine",
                    category="product_quality",
                )
                await tx.add_transcript(direction="in", author="customer", text=NEW_WORDS, case_id=case.id)
                inside.set()
                # Every chance for the erasure to run ahead of this turn's commit (it must wait for it).
                await asyncio.sleep(1.0)
        finally:
            current_inbox_item.reset(token)
        report = await asyncio.wait_for(erasing, timeout=30)

        assert report.cases_anonymised == 2
        new_case = await Case.get(number="PL-WWW222")
        assert (new_case.status, new_case.product) == ("new", "washing machine")
        assert (new_case.name, new_case.phone, new_case.description, new_case.phone_hash) == (None,) * 4
        assert not await ChannelIdentity.exists(channel="telegram", sender_id=CHAT)
        assert await TranscriptMessage.all().count() == 0
        assert not await InboxItem.filter(id=entry.id).exists()
        stored = "\n".join(await raw_dump())
        for value in (NAME, NEW_WORDS, "0013 9999", "0013 9017"):
            assert value not in stored, value
