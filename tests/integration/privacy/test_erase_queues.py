"""Erasing a person reaches the queues too: the Telegram inbox (their updates, keyed by their chat) and the
outbox (messages to them, rows about their cases). Afterwards no row of either table holds their chat id,
name, phone or words (SQL on every backend), while the delivery figures (settled rows per channel, kind and
status) are unchanged and another customer's rows are untouched; the same with `--hard`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.database import open_database
from storage.delivery_pace import TortoiseDeliveryPace
from storage.evidence import LocalEvidenceStore
from storage.inbox import TortoiseInbox
from storage.models import DeadReason, InboxItem, OutboxItem, OutboxStatus
from storage.outbox import TortoiseOutbox, add_outbox_item
from tests.integration.privacy.raw_database import raw_table
from tests.integration.privacy.test_subject_requests import PHOTO, _person, _plaint

CHAT = "777001"
NAME = "韩梅梅"
PHONE = "+86 139 0013 9000"
WORDS = "冰箱不制冷，食物都坏了"
OTHER_CHAT = "888002"
OTHER_NAME = "Ada Lovelace"
OTHER_PHONE = "+44 20 7946 0958"


def _update(update_id: int, chat: str, name: str, text: str, phone: str | None = None) -> dict[str, object]:
    message: dict[str, object] = {
        "message_id": update_id, "date": 1700000000, "text": text,
        "chat": {"id": int(chat), "type": "private", "first_name": name},
        "from": {"id": int(chat), "is_bot": False, "first_name": name},
    }
    if phone is not None:
        message["contact"] = {"phone_number": phone, "first_name": name, "user_id": int(chat)}
    return {"update_id": update_id, "message": message}


async def _queues_of(chat: str, name: str, phone: str, words: str, number: str, first_update: int) -> None:
    """What a Telegram customer leaves in the queues: a processed update and one still waiting; a reply
    delivered, one given up, one still waiting; the desk told of their follow-up (sent) and of another
    (waiting), and a case event."""
    inbox = TortoiseInbox(skip_locked=False)
    key = f"telegram:{chat}"
    assert await inbox.receive(channel="telegram", platform_id=str(first_update), ordering_key=key,
                               payload=_update(first_update, chat, name, words, phone))
    done = await InboxItem.get(channel="telegram", platform_id=str(first_update))
    await inbox.mark_done(done.id)
    # A settled row still names the chat (its key) for up to a day.
    assert (await InboxItem.get(id=done.id)).ordering_key == key
    assert await inbox.receive(channel="telegram", platform_id=str(first_update + 1), ordering_key=key,
                               payload=_update(first_update + 1, chat, name, f"我叫{name}，电话{phone}"))
    outbox = TortoiseOutbox(skip_locked=False)
    reply = {"chat_id": chat, "text": f"{name}，您好：我们已记录 {phone}"}
    sent = await add_outbox_item(kind="message", channel="telegram", ordering_key=key, payload=reply)
    await outbox.mark_sent(sent)
    dead = await add_outbox_item(kind="message", channel="telegram", ordering_key=key, payload=reply)
    await outbox.mark_dead(dead, DeadReason.REFUSED, f"Forbidden: bot was blocked by the user {chat} ({name})")
    await add_outbox_item(kind="message", channel="telegram", ordering_key=key, payload=reply)
    told = await add_outbox_item(kind="desk", channel="slack", ordering_key=f"desk:{number}",
                                 payload={"event": "customer_message", "case_number": number, "text": words})
    await outbox.mark_sent(told)
    await add_outbox_item(kind="desk", channel="slack", ordering_key=f"desk:{number}",
                          payload={"event": "customer_message", "case_number": number, "text": f"{name} {phone}"})
    pace = TortoiseDeliveryPace()
    await pace.reserve(f"message:telegram:{chat}", interval=1.0, burst=3, max_wait=0.0)
    await pace.reserve(f"message:telegram:{key}", interval=1.0, burst=3, max_wait=0.0)
    await add_outbox_item(kind="case_event", channel="operations", ordering_key=f"case-event:{number}",
                          payload={"case_number": number, "action": "file", "to": "new", "actor": "customer"})


async def _raw(table: str) -> str:
    return "\n".join(await raw_table(table))


async def _settled() -> Counter[tuple[str, str, str]]:
    rows = await OutboxItem.filter(status__not_in=(OutboxStatus.PENDING, OutboxStatus.SENDING))
    return Counter((row.channel, row.kind, str(row.status)) for row in rows)


async def test_erase_empties_the_inbox_and_outbox_of_that_person(settings: Settings, tmp_path: Path) -> None:
    install_data_keyring(settings)
    store = LocalEvidenceStore(settings.evidence_dir)
    async with open_database(settings.effective_database_url):
        await _person(store, "telegram", CHAT, "PL-QQQ111", NAME, PHONE, None, WORDS, PHOTO, "zh")
        await _person(store, "telegram", OTHER_CHAT, "PL-RRR222", OTHER_NAME, OTHER_PHONE, None,
                      "Fridge is warm", b"%PDF-1.4 other", "en")
        await _queues_of(CHAT, NAME, PHONE, WORDS, "PL-QQQ111", 5000)
        await _queues_of(OTHER_CHAT, OTHER_NAME, OTHER_PHONE, "Fridge is warm", "PL-RRR222", 6000)
        settled = await _settled()
        other_inbox = await InboxItem.filter(ordering_key=f"telegram:{OTHER_CHAT}").count()
        other_outbox = await OutboxItem.filter(ordering_key__in=(
            f"telegram:{OTHER_CHAT}", "desk:PL-RRR222", "case-event:PL-RRR222")).count()
        for table in ("inbox_item", "outbox_item", "delivery_pace"):
            assert CHAT in await _raw(table), table  # the test would notice a leftover

        code, _, err = await _plaint(settings, "privacy", "erase", "--customer", f"telegram:{CHAT}", "--yes")
        assert code == 0, err
        for table in ("inbox_item", "outbox_item", "delivery_pace"):
            stored = await _raw(table)
            for value in (CHAT, NAME, PHONE, "139 0013", WORDS):
                assert value not in stored, (table, value)
        readable = "\n".join(str((row.ordering_key, row.payload, row.last_error)) for row in
                             [*await InboxItem.all(), *await OutboxItem.all()])
        for value in (CHAT, NAME, PHONE, WORDS):
            assert value not in readable, value
        # The delivery figures still add up; their updates and messages still waiting are gone.
        assert await _settled() == settled
        assert await InboxItem.filter(platform_id="5001").count() == 0
        assert [row.ordering_key for row in await OutboxItem.filter(channel="telegram", status=OutboxStatus.PENDING)
                ] == [f"telegram:{OTHER_CHAT}"]
        # A processed update keeps its row: a late retry of it from Telegram is still recognised.
        inbox = TortoiseInbox(skip_locked=False)
        assert not await inbox.receive(channel="telegram", platform_id="5000", ordering_key=f"telegram:{CHAT}",
                                       payload=_update(5000, CHAT, NAME, WORDS))
        # The desk still hears that a follow-up waits, without the words.
        waiting = await OutboxItem.get(ordering_key="desk:PL-QQQ111", status=OutboxStatus.PENDING)
        assert waiting.payload == {"event": "customer_message", "case_number": "PL-QQQ111"}
        # The other customer is untouched.
        assert await InboxItem.filter(ordering_key=f"telegram:{OTHER_CHAT}").count() == other_inbox
        assert await OutboxItem.filter(ordering_key__in=(
            f"telegram:{OTHER_CHAT}", "desk:PL-RRR222", "case-event:PL-RRR222")).count() == other_outbox
        assert OTHER_CHAT in await _raw("inbox_item") and OTHER_CHAT in await _raw("outbox_item")

        code, _, err = await _plaint(settings, "privacy", "erase", "--customer", f"telegram:{OTHER_CHAT}",
                                       "--hard", "--yes")
        assert code == 0, err
        for table in ("inbox_item", "outbox_item", "delivery_pace"):
            stored = await _raw(table)
            for value in (OTHER_CHAT, OTHER_NAME, "7946 0958"):
                assert value not in stored, (table, value)
        assert await _settled() == settled
