"""SIGTERM to a `plaint serve` process while customers are mid-complaint and webhooks are being delivered:
new requests are refused (503 or a closed port) and retried by the clients with the same message id after the
restart; turns in flight finish; claimed outbox items are given back. Nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.channels.web_sessions import COOKIE_NAME
from bot.config import Settings
from storage.models import Case, InboundReceipt, OutboxItem, TranscriptMessage, WebhookDelivery
from tests.e2e.test_processes import database, plaint, plaint_env  # noqa: F401  (fixture)
from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.serve_process import free_port, start_serve

SECRET = "shutdown-secret-0123456789"
ANSWERS = {
    "name": "Grace Hopper",
    "contact_method": "email",
    "email": "grace@example.com",
    "description": "The washing machine I bought last week leaks water all over the kitchen floor.",
    "occurred_at": "yesterday 3pm",
    "occurred_where": "at home",
    "product": "washing machine",
    "category": "product_quality",
    "expected_resolution": "refund",
    "confirm": "_confirm",
    "evidence": "_done",
}
CHOICES = {"contact_method", "category", "expected_resolution", "confirm", "evidence"}


async def start_server(settings: Settings, port: int, log: Path) -> asyncio.subprocess.Process:
    """`plaint serve`, waited for until /readyz says it takes traffic."""
    env = {**plaint_env(settings), "PLAINT_LOG_LEVEL": "INFO"}
    with log.open("ab") as stderr:
        try:
            return await start_serve(port, env, ready_path="/readyz", stderr=stderr)
        except AssertionError as error:
            raise AssertionError(f"{error}: {log.read_text()[-3000:]}") from None


@dataclass
class Customer:
    # The session cookie the server issues with its first answer; its id part is the conversation's sender.
    cookie: str | None = None
    sent: list[str] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    case_number: str | None = None
    refused: int = 0


async def post(http: aiohttp.ClientSession, base: str, customer: Customer, fields: dict[str, str]) -> None:
    """Like the chat page: a fresh message id per message, the same id on every retry of it."""
    message_id = uuid.uuid4().hex
    customer.sent.append(message_id)
    for _ in range(600):
        try:
            if customer.cookie is None:
                # Like the browser: the page hands out the session before the first message is sent, so
                # a retried first message cannot start a second conversation.
                async with http.get(f"{base}/chat") as page:
                    if (morsel := page.cookies.get(COOKIE_NAME)) is not None:
                        customer.cookie = morsel.value
                if customer.cookie is None:
                    raise aiohttp.ClientConnectionError("no session yet")
            async with http.post(
                f"{base}/chat/api/message",
                json={"message_id": message_id, "locale": "en", **fields},
                headers={"Cookie": f"{COOKIE_NAME}={customer.cookie}"} if customer.cookie else {},
            ) as response:
                if response.status == 200:
                    if (morsel := response.cookies.get(COOKIE_NAME)) is not None:
                        customer.cookie = morsel.value
                    result = await response.json()
                    customer.buttons = [b["value"] for reply in result["replies"] for b in reply["buttons"]]
                    customer.case_number = customer.case_number or result["case_number"]
                    return
                assert response.status == 503, await response.text()
        except (TimeoutError, aiohttp.ClientConnectionError):
            pass
        customer.refused += 1
        await asyncio.sleep(0.1)
    raise AssertionError("the server never came back")


async def complain(http: aiohttp.ClientSession, base: str, customer: Customer, start_after: float) -> None:
    from storage.models import Conversation

    await asyncio.sleep(start_after)
    await post(http, base, customer, {"text": "Hello"})
    for _ in range(40):
        assert customer.cookie is not None
        session = customer.cookie.split(".", 1)[0]
        row = await Conversation.filter(identity__sender_id=session).order_by("-id").first()
        if row is None or row.status != "active":
            break
        step = row.step_id
        if "_yes" in customer.buttons and step in ("product", "category"):
            await post(http, base, customer, {"choice": "_yes"})
        elif step in CHOICES:
            await post(http, base, customer, {"choice": ANSWERS[step]})
        else:
            await post(http, base, customer, {"text": ANSWERS[step]})
    assert customer.case_number, customer.sent


async def test_sigterm_during_load_loses_and_doubles_nothing(
    settings: Settings, database: None, tmp_path: Path  # noqa: F811
) -> None:
    receiver = FakeWebhookReceiver({"/hook": SECRET}, delay=1.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    customers = [Customer() for _ in range(6)]
    async with receiver.serving() as hooks:
        await plaint(settings, "webhooks", "add", f"{hooks}/hook", "--event", "case.filed", "--secret", SECRET)
        server = await start_server(settings, port, tmp_path / "serve.log")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            # Staggered: when the first case is filed the others are at different steps of their complaints.
            load = asyncio.gather(
                *(complain(http, base, customer, index * 1.0) for index, customer in enumerate(customers))
            )
            for _ in range(1200):
                if await WebhookDelivery.all().count() >= 1:
                    break
                await asyncio.sleep(0.05)
            # The first case's webhook is now being delivered (the receiver takes a second to answer).
            await asyncio.sleep(0.3)
            server.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.wait(), 60) == 0, (tmp_path / "serve.log").read_text()[-3000:]
            # What the stopped worker held is back in the queue, not stuck until a lease runs out.
            assert await OutboxItem.filter(status="sending").count() == 0
            server = await start_server(settings, port, tmp_path / "serve.log")
            try:
                await asyncio.wait_for(load, 300)
                for _ in range(1200):
                    if await OutboxItem.filter(status__in=("pending", "sending")).count() == 0:
                        break
                    await asyncio.sleep(0.05)
            finally:
                server.send_signal(signal.SIGTERM)
                await server.wait()

    assert sum(customer.refused for customer in customers) > 0, "the signal never met a request"
    # Nothing lost: every customer filed one case, every case reached the receiver.
    numbers = {customer.case_number for customer in customers}
    assert len(numbers) == len(customers) == await Case.all().count()
    accepted = receiver.accepted("/hook")
    assert {item.document["case"]["number"] for item in accepted} == numbers
    # Nothing doubled: each message handled once, each event delivered once, nothing left behind.
    sent = [message_id for customer in customers for message_id in customer.sent]
    assert await InboundReceipt.filter(channel="web").count() == len(sent) == len(set(sent))
    assert await TranscriptMessage.filter(direction="in").count() == len(sent)
    assert max(Counter(item.document["id"] for item in accepted).values()) == 1
    assert await WebhookDelivery.filter(status="delivered").count() == len(customers)
    left = await OutboxItem.filter(status__in=("pending", "sending", "dead")).values_list("kind", "status")
    assert not left, left
    assert all(item.verified for item in receiver.received)
