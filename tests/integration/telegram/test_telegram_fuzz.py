"""Hostile Telegram updates (with the right secret): never a 5xx, never a traceback, and a retried update has
no second effect. Seeded and bounded (tests/hostile_json.py)."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest
from hypothesis import strategies as st

from storage.models import InboundReceipt, OutboxItem, TranscriptMessage
from tests.hostile_json import draw_examples, mutated
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.integration.telegram.test_telegram_webhook import TelegramServer, telegram  # noqa: F401 (fixture)

pytestmark = pytest.mark.one_database("postgres")

_users = itertools.count(7_000_000)


def _bot_message(chat_id: int) -> dict[str, Any]:
    return {
        "message_id": 77,
        "from": {"id": 1, "is_bot": True, "first_name": "Plaint"},
        "chat": {"id": chat_id, "type": "private"},
        "date": 1_700_000_000,
        "text": "How should we reach you?",
        "reply_markup": {"inline_keyboard": [[{"text": "Phone", "callback_data": "phone"}]]},
    }


@st.composite
def valid_updates(draw: st.DrawFn) -> dict[str, Any]:
    customer = TelegramCustomer(next(_users), "Ann", draw(st.sampled_from(["en", "zh-hans", "de"])))
    kind = draw(st.sampled_from(["text", "command", "photo", "document", "press", "edit", "venue", "location"]))
    if kind == "text":
        return customer.text(draw(st.text(min_size=1, max_size=30)))
    if kind == "command":
        return customer.text("/start")
    if kind == "photo":
        return customer.photo("AgAC-photo", 50_000, caption="cracked")
    if kind == "document":
        return customer.document("BQAC-doc", "receipt.pdf", "application/pdf", 40_000)
    if kind == "press":
        return customer.press(_bot_message(customer.user_id), "phone")
    if kind == "edit":
        return customer.edit(customer.text("first"), "second")
    if kind == "venue":
        return customer.venue(51.5, -0.14, "Shop", "Oxford Street")
    return customer.location(31.23, 121.47)


async def test_hostile_updates_never_get_a_5xx_and_a_retry_changes_nothing(
    telegram: TelegramServer, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    statuses: list[int] = []

    async def one(update: dict[str, Any]) -> None:
        body = json.dumps(update).encode()
        response = await telegram.post(body)
        statuses.append(response.status)
        assert response.status < 500, (response.status, await response.text(), update)
        if response.status == 200:
            await telegram.inbox_drained()
            counts = (
                await InboundReceipt.all().count(),
                await TranscriptMessage.all().count(),
                await OutboxItem.all().count(),
            )
            again = await telegram.post(body)
            assert again.status == 200, await again.text()
            await telegram.inbox_drained()
            assert counts == (
                await InboundReceipt.all().count(),
                await TranscriptMessage.all().count(),
                await OutboxItem.all().count(),
            ), update

    updates = draw_examples(mutated(valid_updates()))
    with caplog.at_level(logging.WARNING):
        for update in updates:
            await one(update)
    # Some inputs were accepted, some refused: the fuzz reached past the edge.
    assert 200 in statuses and 400 in statuses, sorted(set(statuses))
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
