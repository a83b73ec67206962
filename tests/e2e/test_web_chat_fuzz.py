"""Hostile web chat bodies (JSON, forms, multipart) from one browser session: never a 5xx, never a traceback;
a retried message id has no second effect. Seeded and bounded (tests/hostile_json.py)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import strategies as st

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.channels.web import WebChatLimits
from bot.channels.web_sessions import COOKIE_NAME
from bot.config import Settings
from storage.models import InboundReceipt, OutboxItem, TranscriptMessage
from tests.hostile_json import draw_examples, mutated

pytestmark = pytest.mark.one_database("postgres")


@st.composite
def valid_posts(draw: st.DrawFn) -> dict[str, Any]:
    post: dict[str, Any] = {"message_id": draw(st.from_regex(r"[A-Za-z0-9_-]{8,32}", fullmatch=True))}
    kind = draw(st.sampled_from(["text", "choice", "both"]))
    if kind in ("text", "both"):
        post["text"] = draw(st.text(min_size=1, max_size=30))
    if kind in ("choice", "both"):
        post["choice"] = draw(st.sampled_from(["phone", "email", "_yes", "_done", "_confirm", "_edit:name"]))
    post["locale"] = draw(st.sampled_from(["en", "zh-CN", "en-GB"]))
    return post


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, Any]:
    """(encoding, body): a mutated post sent as JSON, as a form, or as multipart with a hostile file part."""
    post = draw(mutated(valid_posts()))
    encoding = draw(st.sampled_from(["json", "json", "form", "multipart", "raw"]))
    if encoding == "raw":
        return encoding, draw(st.one_of(st.binary(max_size=200), st.just(b"\xff\xfe{"), st.just(b"[]")))
    return encoding, post


_HEADER_SAFE = re.compile(r"^[\x20-\x7e\u00a0-\ud7ff\ue000-\uffff]*$")


def _body(encoding: str, post: Any, file_name: str) -> tuple[Any, dict[str, str]]:
    if encoding == "json":
        return json.dumps(post).encode(), {"Content-Type": "application/json"}
    if encoding == "raw":
        return post, {"Content-Type": "application/json"}
    flat = {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in post.items()}
    if encoding == "form":
        # Built by hand: lone surrogates go out as the invalid UTF-8 a broken client would send.
        pairs = [(key.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass"))
                 for key, value in flat.items()]
        return urlencode(pairs).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    form = aiohttp.FormData()
    for key, value in flat.items():
        if _HEADER_SAFE.match(key):  # field names go into part headers, which the client keeps clean
            form.add_field(key, value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    form.add_field("file", b"\xff\xd8\xff\xe0 not really a jpeg", filename=file_name, content_type="image/jpeg")
    return form, {}


async def test_hostile_bodies_never_get_a_5xx_and_a_retry_changes_nothing(
    settings: Settings, analyzer: ThreadedAnalyzer, caplog: pytest.LogCaptureFixture
) -> None:
    # File names a client can put in a multipart header (no control characters, no surrogates).
    file_names = st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=300),
        st.just("../../etc/passwd"), st.just("a" * 5000 + ".jpg"),
    )
    requests = draw_examples(st.tuples(hostile_requests(), file_names))
    statuses: list[int] = []
    app = build_app(settings, analyzer)
    async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
        page = await client.get("/chat")
        cookie = {"Cookie": f"{COOKIE_NAME}={page.cookies[COOKIE_NAME].value}"}
        with caplog.at_level(logging.WARNING):
            for (encoding, post), file_name in requests:
                # The fuzz is about bodies, not floods (the limits have their own test).
                _lift_limits(app)
                body, headers = _body(encoding, post, file_name)
                response = await client.post("/chat/api/message", data=body, headers={**cookie, **headers})
                statuses.append(response.status)
                assert response.status < 500, (response.status, await response.text(), encoding, post)
                if response.status == 200 and encoding == "json" and isinstance(post.get("message_id"), str):
                    counts = (
                        await InboundReceipt.all().count(),
                        await TranscriptMessage.all().count(),
                        await OutboxItem.all().count(),
                    )
                    again = await client.post("/chat/api/message", data=body, headers={**cookie, **headers})
                    assert again.status == 200 and (await again.json())["duplicate"] is True
                    assert counts == (
                        await InboundReceipt.all().count(),
                        await TranscriptMessage.all().count(),
                        await OutboxItem.all().count(),
                    )
    assert 200 in statuses and 400 in statuses, sorted(set(statuses))
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


def _lift_limits(app: Any) -> None:
    """Refill every allowance of the app's web chat (the limits are tested in test_web_chat_sessions.py)."""
    for resource in app.router.resources():
        for route in resource:
            handler = getattr(route.handler, "__self__", None)
            limits = getattr(handler, "_limits", None)
            if isinstance(limits, WebChatLimits):
                limits.__init__()  # type: ignore[misc]
