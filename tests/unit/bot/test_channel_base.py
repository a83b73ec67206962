from __future__ import annotations

import pytest

from bot.channels.base import Channel, RenderedPart, numbered_options, split_text
from bot.messages import Button, Outbound


class RecordingChannel(Channel):
    name = "telegram"
    max_text_length = 50

    def __init__(self, supports_buttons: bool) -> None:
        self.supports_buttons = supports_buttons
        self.sent: list[RenderedPart] = []

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        self.sent.append(part)


def test_split_text_keeps_every_character_and_respects_the_limit() -> None:
    text = "First paragraph here.\n\nSecond one is a little longer than that. " * 5
    parts = split_text(text, 60)
    assert all(0 < len(part) <= 60 for part in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_split_text_cuts_chinese_at_sentence_ends() -> None:
    text = "我的手机屏幕坏了。" * 20
    parts = split_text(text, 40)
    assert all(part.endswith("。") for part in parts)
    assert "".join(parts) == text


def test_split_text_cuts_a_long_word_hard() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_text_rejects_a_non_positive_limit() -> None:
    with pytest.raises(ValueError):
        split_text("abc", 0)


async def test_buttons_go_with_the_last_part() -> None:
    channel = RecordingChannel(supports_buttons=True)
    buttons = (Button("yes", "Yes"), Button("no", "No"))
    await channel.deliver(Outbound("telegram", "42", "word " * 30, buttons))
    assert len(channel.sent) > 1
    assert all(part.buttons == () for part in channel.sent[:-1])
    assert channel.sent[-1].buttons == buttons


async def test_platforms_without_buttons_get_numbered_options() -> None:
    channel = RecordingChannel(supports_buttons=False)
    await channel.deliver(Outbound("telegram", "42", "Pick one", (Button("a", "Refund"), Button("b", "Repair"))))
    assert channel.sent == [RenderedPart("Pick one\n\n1. Refund\n2. Repair")]
    assert numbered_options((Button("x", "退款"),)) == "1. 退款"
