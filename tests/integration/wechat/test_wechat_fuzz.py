"""Hostile WeChat pushes (correctly signed, plaintext mode): never a 5xx, never a traceback, and a push
retried with the same MsgId has no second effect. Seeded and bounded (tests/hostile_json.py)."""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import pytest
from hypothesis import strategies as st

from storage.models import InboundReceipt, OutboxItem, TranscriptMessage
from tests.hostile_json import draw_examples, mutated
from tests.integration.wechat.test_wechat_webhook import (  # noqa: F401 (fixture)
    WeChatServer,
    sign,
    wechat_plain,
)
from tests.integration.wechat.wechat_platform import ACCOUNT, TOKEN

pytestmark = pytest.mark.one_database("postgres")

_ids = itertools.count(31_000_000_000_000_001)


@st.composite
def valid_pushes(draw: st.DrawFn) -> dict[str, Any]:
    common: dict[str, Any] = {
        "ToUserName": ACCOUNT,
        "FromUserName": f"oFuzz{draw(st.integers(0, 10**6)):023d}",
        "CreateTime": int(time.time()),
    }
    kind = draw(st.sampled_from(["text", "image", "voice", "location", "subscribe", "click", "file", "link"]))
    if kind == "text":
        return {**common, "MsgType": "text", "Content": draw(st.text(min_size=1, max_size=20)), "MsgId": next(_ids)}
    if kind == "image":
        return {**common, "MsgType": "image", "PicUrl": "http://x/p.jpg", "MediaId": "media-1", "MsgId": next(_ids)}
    if kind == "voice":
        return {**common, "MsgType": "voice", "MediaId": "media-2", "Format": "amr", "Recognition": "投诉",
                "MsgId": next(_ids)}
    if kind == "location":
        return {**common, "MsgType": "location", "Location_X": 31.2, "Location_Y": 121.4, "Scale": 15,
                "Label": "上海", "MsgId": next(_ids)}
    if kind == "subscribe":
        return {**common, "MsgType": "event", "Event": "subscribe"}
    if kind == "click":
        return {**common, "MsgType": "event", "Event": "CLICK", "EventKey": "STATUS"}
    if kind == "file":
        return {**common, "MsgType": "file", "Title": "receipt.pdf", "MediaId": "media-3", "FileTotalLen": 2000,
                "MsgId": next(_ids)}
    return {**common, "MsgType": "link", "Title": "order", "Url": "https://shop.example/o/1", "MsgId": next(_ids)}


def push_xml(push: dict[str, Any]) -> bytes:
    parts = []
    for name, value in push.items():
        tag = "".join(char for char in str(name) if char.isalnum() or char == "_") or "x"
        text = value if isinstance(value, str) else str(value)
        parts.append(f"<{tag}><![CDATA[{text}]]></{tag}>")
    # Lone surrogates go out as the invalid UTF-8 a broken sender would produce.
    return f"<xml>{''.join(parts)}</xml>".encode("utf-8", "surrogatepass")


async def test_hostile_pushes_never_get_a_5xx_and_a_retry_changes_nothing(
    wechat_plain: WeChatServer, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    pushes = draw_examples(mutated(valid_pushes()))
    statuses: list[int] = []
    with caplog.at_level(logging.WARNING):
        for push in pushes:
            timestamp, nonce = str(int(time.time())), "4242"
            query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
            body = push_xml(push)
            answer = await wechat_plain.platform.post_raw(body, query)
            statuses.append(answer.status)
            assert answer.status < 500, (answer.status, answer.body, push)
            if answer.status == 200:
                counts = (
                    await InboundReceipt.all().count(),
                    await TranscriptMessage.all().count(),
                    await OutboxItem.all().count(),
                )
                again = await wechat_plain.platform.post_raw(body, query)
                assert again.status == 200
                assert counts == (
                    await InboundReceipt.all().count(),
                    await TranscriptMessage.all().count(),
                    await OutboxItem.all().count(),
                ), push
    assert 200 in statuses and 400 in statuses, sorted(set(statuses))
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
