"""The 429 backlog of issue 17: chats that Telegram keeps answering "429 retry later", a backlog of their
replies in the outbox, and one healthy customer whose reply must not wait behind them.

Shared by tests/integration/test_outbox_backlog.py (ordering and outcome) and bench/outbox.py (latency)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot

from bot.channels.telegram import TelegramChannel, bot_api_urls
from bot.outbox import ChannelDelivery, OutboxWorker, RateLimit, RetryPolicy
from storage.outbox import TortoiseOutbox
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.waiting import eventually

TOKEN = "777000:backlog-test-token"
HEALTHY_CHAT = 900_001


@dataclass
class RateLimitingBotApi(FakeTelegramBotApi):
    """Answers 429 with `retry_after` to every sendMessage for the chats in `limited`; records when each
    sendMessage arrived (text -> monotonic times) and when each message was accepted."""

    limited: set[int] = field(default_factory=set)
    retry_after: int = 1
    attempts: dict[str, list[float]] = field(default_factory=dict)
    accepted_at: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    accepted_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def _answer_sendmessage(self, params: Mapping[str, str]) -> object:
        self.attempts.setdefault(params["text"], []).append(time.monotonic())
        if int(params["chat_id"]) in self.limited:
            self.refused += 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {self.retry_after}",
                "parameters": {"retry_after": self.retry_after},
            }
            return web.json_response(body, status=429)
        self.accepted_at[params["text"]] = time.monotonic()
        self.accepted_event.set()
        return await super()._answer_sendmessage(params)


@dataclass
class Backlog:
    api: RateLimitingBotApi
    outbox: TortoiseOutbox
    worker: OutboxWorker
    texts: list[str]

    async def queue(self, chat_id: int, text: str) -> int:
        return await self.outbox.enqueue(
            kind="message", channel="telegram", ordering_key=f"telegram:{chat_id}",
            payload={"recipient_id": str(chat_id), "text": text},
        )

    async def until(self, condition: Callable[[], bool], within: float) -> None:
        await eventually(condition, "the backlog's condition", within=within, interval=0.01)


@asynccontextmanager
async def running_backlog(
    *,
    limited_chats: int,
    replies_per_chat: int,
    skip_locked: bool,
    rate_limits: Mapping[tuple[str, str], tuple[RateLimit, ...]],
    retry: RetryPolicy,
    retry_after: int = 1,
) -> AsyncIterator[Backlog]:
    """A running outbox worker (inside an open database) delivering to the fake Bot API, with the backlog
    queued: `replies_per_chat` replies for each of `limited_chats` rate-limited chats."""
    api = RateLimitingBotApi(TOKEN, limited=set(range(100_001, 100_001 + limited_chats)), retry_after=retry_after)
    server = TestServer(api.make_app(), host="127.0.0.1")
    await server.start_server()
    base_url, file_url = bot_api_urls(str(server.make_url("")).rstrip("/"))
    bot = Bot(TOKEN, base_url=base_url, base_file_url=file_url)
    await bot.initialize()
    outbox = TortoiseOutbox(skip_locked=skip_locked)
    worker = OutboxWorker(
        outbox, {"message": ChannelDelivery({"telegram": TelegramChannel(bot)})}, poll_interval=0.05,
        rate_limits=rate_limits, retry=retry,
    )
    backlog = Backlog(api, outbox, worker, [])
    for chat in sorted(api.limited):
        for number in range(replies_per_chat):
            text = f"reply {number + 1} to {chat}"
            backlog.texts.append(text)
            await backlog.queue(chat, text)
    task = asyncio.create_task(worker.run())
    try:
        yield backlog
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.shutdown()
        await server.close()
