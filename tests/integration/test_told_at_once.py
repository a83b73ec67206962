"""The same complaint told step by step and told all at once, on Telegram and on WeChat (their fakes): all at
once finishes in at most half the customer's messages (issue 11). The customer types every answer, as a WeChat
customer must (no buttons there); a proposal is confirmed by typing its label."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from storage.models import Case, ChannelIdentity, Conversation, InboundReceipt
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.integration.telegram.test_telegram_webhook import TelegramServer, telegram  # noqa: F401
from tests.integration.wechat.test_wechat_webhook import WeChatServer, eventually, wechat  # noqa: F401

# One database is enough: this counts turns, storage is tested elsewhere.
pytestmark = pytest.mark.one_database("sqlite")

MAX_TURNS = 30


@dataclass(frozen=True)
class Story:
    lang: str
    opener: str
    all_at_once: str
    answers: dict[str, str]  # what the customer types when a step is asked


ENGLISH = Story(
    "en", "Hi",
    "Hi, I'm Maria Lopez. My AX-300 dryer stopped heating yesterday at 3pm, order 55-1029, call me on +1 201 555 0123",
    {
        "name": "Maria Lopez", "contact_method": "Phone", "phone": "+1 201 555 0123",
        "description": "My AX-300 dryer stopped heating, it just tumbles cold.", "occurred_at": "yesterday 3pm",
        "occurred_where": "order 55-1029", "product": "Tumble dryer", "category": "product quality",
        "evidence": "skip", "expected_resolution": "Repair", "confirm": "Confirm and submit",
    },
)
CHINESE = Story(
    "zh", "你好",
    "我叫李娜，手机13800138000，昨天下午三点微波炉坏了，完全不能加热，订单55-1029",
    {
        "name": "李娜", "contact_method": "电话", "phone": "13800138000", "description": "微波炉坏了，完全不能加热。",
        "occurred_at": "昨天下午三点", "occurred_where": "订单55-1029", "product": "微波炉", "category": "产品质量",
        "evidence": "跳过", "expected_resolution": "维修", "confirm": "确认提交",
    },
)


async def turns_to_file(channel: str, sender: str, send: Callable[[str], Awaitable[None]], story: Story,
                        *, all_at_once: bool) -> int:
    """Customer messages until the case is filed (the opener counts)."""
    async def handled(count: int) -> None:
        # Each message is answered in its own transaction, which stores its receipt.
        await eventually(lambda: InboundReceipt.filter(channel=channel).count(), "the receipts",
                         accept=lambda n: n >= count)

    before = await InboundReceipt.filter(channel=channel).count()
    await send(story.all_at_once if all_at_once else story.opener)
    turns = 1
    await handled(before + turns)
    identity = await ChannelIdentity.get(channel=channel, sender_id=sender)
    while turns < MAX_TURNS:
        if await Case.filter(channel=channel, sender_id=sender).exists():
            return turns
        row = await Conversation.filter(identity_id=identity.id).order_by("-id").first()
        assert row is not None and row.status == "active", row
        await send(story.answers[row.step_id])
        turns += 1
        await handled(before + turns)
    raise AssertionError(f"{channel} {story.lang}: no case after {MAX_TURNS} messages")


@pytest.mark.parametrize("story", [ENGLISH, CHINESE], ids=["en", "zh"])
async def test_all_at_once_on_telegram_takes_at_most_half_the_turns(
    telegram: TelegramServer, story: Story  # noqa: F811
) -> None:
    async def talker(user_id: int) -> Callable[[str], Awaitable[None]]:
        # Update ids are unique per bot (Telegram's retry key), not per chat: each customer gets a range of its own.
        customer = TelegramCustomer(user_id, "Maria", "zh-hans" if story.lang == "zh" else "en-GB",
                                    _update_ids=itertools.count(user_id * 1_000_000))

        async def send(text: str) -> None:
            response = await telegram.post(customer.text(text))
            assert response.status == 200, await response.text()

        return send

    stepwise = await turns_to_file("telegram", "3001", await talker(3001), story, all_at_once=False)
    at_once = await turns_to_file("telegram", "3002", await talker(3002), story, all_at_once=True)
    assert at_once * 2 <= stepwise, (at_once, stepwise)
    # And the customer was answered on Telegram all along.
    await telegram.outbox_drained(within=30)
    assert len(telegram.fake.sent_messages) >= stepwise + at_once


@pytest.mark.parametrize("story", [ENGLISH, CHINESE], ids=["en", "zh"])
async def test_all_at_once_on_wechat_takes_at_most_half_the_turns(
    wechat: WeChatServer, story: Story  # noqa: F811
) -> None:
    def talker(open_id: str) -> Callable[[str], Awaitable[None]]:
        customer = wechat.customer(open_id)

        async def send(text: str) -> None:
            answer = await customer.send(customer.text(text))
            assert answer.status == 200, answer.body

        return send

    stepwise = await turns_to_file("wechat", "oStepwise", talker("oStepwise"), story, all_at_once=False)
    at_once = await turns_to_file("wechat", "oAtOnce", talker("oAtOnce"), story, all_at_once=True)
    assert at_once * 2 <= stepwise, (at_once, stepwise)
