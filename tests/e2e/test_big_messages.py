"""A 100,000-character word and a 1 MB one, over the web chat and over Telegram: each is answered clearly
(the flow's "too long" in the customer's language) within two seconds, and /healthz keeps answering
meanwhile. The bound on /healthz here is generous for a shared CI machine; bench/hardening_big_messages.py
measures the real figure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.e2e.web_chat_driver import Say, WebCustomer
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.integration.telegram.test_telegram_webhook import TelegramServer, telegram  # noqa: F401 (fixture)

pytestmark = pytest.mark.one_database("sqlite")

SIZES = (100_000, 1_000_000)
ANSWER_WITHIN = 2.0
HEALTH_BOUND = 0.5


async def while_polling_health(client: TestClient[Any, Any], work: Callable[[], Awaitable[None]]) -> float:
    """Run `work` while /healthz is asked every 20 ms; the slowest /healthz answer, in seconds."""
    slowest = 0.0
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal slowest
        while not done.is_set():
            started = time.perf_counter()
            response = await client.get("/healthz")
            assert response.status == 200
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.02)

    poller = asyncio.create_task(poll())
    await asyncio.sleep(0.05)
    try:
        await work()
    finally:
        done.set()
        await poller
    return slowest


async def test_a_huge_word_on_the_web_chat_is_answered_and_health_stays_quick(
    web_client: TestClient[Any, Any],
) -> None:
    for size, lang, expected in ((SIZES[0], "en", "too long"), (SIZES[1], "zh-CN", "太长")):
        customer = WebCustomer(web_client, locale=lang)
        await customer.post(Say("你好" if lang.startswith("zh") else "Hello"))

        async def send(customer: WebCustomer = customer, size: int = size) -> None:
            started = time.perf_counter()
            await customer.post(Say("x" * size))
            assert time.perf_counter() - started < ANSWER_WITHIN

        slowest = await while_polling_health(web_client, send)
        assert expected in customer.text(), customer.text()
        assert slowest < HEALTH_BOUND, slowest
        # The question is still open: the refused message changed nothing.
        assert await customer.step() == "name"


async def test_a_huge_word_over_telegram_is_answered_and_health_stays_quick(
    telegram: TelegramServer,  # noqa: F811
) -> None:
    # One customer (update ids are numbered per customer): the refused word leaves the question open.
    customer = TelegramCustomer(8_800_001, "Ann", "en")
    await telegram.deliver(customer.text("/start"))
    for size in SIZES:

        async def send(customer: TelegramCustomer = customer, size: int = size) -> None:
            started = time.perf_counter()
            replies = await telegram.deliver(customer.text("y" * size))
            assert time.perf_counter() - started < ANSWER_WITHIN
            assert any("too long" in str(reply["text"]) for reply in replies), replies

        slowest = await while_polling_health(telegram.client, send)
        assert slowest < HEALTH_BOUND, slowest


async def test_a_form_encoded_message_is_bounded_before_it_is_read(web_client: TestClient[Any, Any]) -> None:
    """The page posts messages without files as a plain form: one longer than the longest text could be
    encoded, or one that does not say its length, is refused before the server reads it."""
    from bot.channels.web import MAX_FORM_BYTES

    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"plaint_chat={customer.cookie}"}
    body = b"message_id=big&text=" + b"%E4" * ((MAX_FORM_BYTES // 3) + 1)
    response = await web_client.post("/chat/api/message", data=body, headers=form)
    assert response.status == 413 and "too long" in await response.text()

    async def unsized() -> Any:
        yield b"message_id=chunked&text=hello"

    response = await web_client.post("/chat/api/message", data=unsized(), headers=form)
    assert response.status == 413
    # Neither reached the conversation: the open question is still the name.
    assert await customer.step() == "name"
