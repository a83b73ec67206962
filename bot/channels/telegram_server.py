"""Telegram inside Plaint's server: the webhook at POST /telegram/webhook, polling mode, and registering
the webhook with Telegram. Both entry points feed the same reader and the intake service.

The webhook answers on durable receipt: it checks the secret, validates the update, writes it to the inbox
(one insert, idempotent on the update_id) and answers 200 at once; the inbox worker (bot/inbox.py) hands the
stored update back to `process_received`, in order per chat, and the turn happens there. Polling mode takes
the turn before it moves its offset, which is already durable."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import ValidationError
from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.channels.base import (
    Channel,
    ChannelContext,
    InboundSink,
    Inbox,
    RunningState,
    store_or_take,
    validation_reason,
    webhook_boundary,
)
from bot.channels.telegram import TelegramChannel, bot_api_urls, retry_after_seconds
from bot.channels.telegram_payload import TelegramUpdate
from bot.channels.telegram_updates import TelegramFiles, TelegramUpdateReader, answer_press, mark_answered
from bot.config import Settings
from bot.errors import ConfigurationError
from bot.messages import ChannelName, IntakeResult

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Only what the reader converts; Telegram then does not even send the rest.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# Long-poll duration of getUpdates in seconds (Telegram holds the request open until an update comes).
POLL_TIMEOUT_SECONDS = 25
# A 20 MB download can take a while on a slow link; the connection must not sit idle longer than this.
DOWNLOAD_READ_TIMEOUT_SECONDS = 60


def new_bot(settings: Settings) -> Bot:
    if settings.telegram_token is None:
        raise ConfigurationError("PLAINT_TELEGRAM_TOKEN", "is not set")
    base_url, base_file_url = bot_api_urls(settings.telegram_api_url)
    return Bot(settings.telegram_token.get_secret_value(), base_url=base_url, base_file_url=base_file_url)


class TelegramUpdateIntake:
    """One update, from the webhook or from polling: convert, stop the spinner, hand to the intake."""

    def __init__(self, bot: Bot, reader: TelegramUpdateReader, sink: InboundSink) -> None:
        self.bot = bot
        self._reader = reader
        self._sink = sink

    async def process(self, update: Update) -> IntakeResult | None:
        read = self._reader.read(update)
        if read.pressed is not None:
            await answer_press(self.bot, read.pressed)
        result = await self._sink.handle(read.inbound) if read.inbound is not None else None
        if read.pressed is not None and read.inbound is not None:
            # Marked only once the press is stored: if storing fails, Telegram retries and the keyboard
            # still offers the choice.
            await mark_answered(self.bot, read.pressed)
        return result


def ordering_key(update: TelegramUpdate) -> str:
    """One chat's updates are processed in order: the chat (a button press carries its message's chat, as the
    reader's sender id does)."""
    press = update.callback_query
    for message in (update.message, update.edited_message, press.message if press is not None else None):
        if message is not None:
            return f"telegram:{message.chat.id}"
    return f"telegram:{press.from_user.id}" if press is not None else f"telegram:update:{update.update_id}"


@dataclass(frozen=True)
class _Running:
    updates: TelegramUpdateIntake
    inbox: Inbox | None


class TelegramPlugin:
    """The Telegram channel as the server sees it (bot.app.PlatformPlugin, bot.channels.base.ReceivedUpdates)."""

    name: ChannelName = "telegram"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        secret = settings.telegram_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret is not None else None
        self._running: RunningState[_Running] = RunningState()

    def routes(self) -> list[web.RouteDef]:
        if self._settings.telegram_mode != "webhook":
            return []
        return [web.post(WEBHOOK_PATH, webhook_boundary("telegram", self.webhook))]

    @asynccontextmanager
    async def running(self, context: ChannelContext) -> AsyncIterator[Channel]:
        bot = new_bot(self._settings)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=DOWNLOAD_READ_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as http, contextlib.AsyncExitStack() as stack:
            await _start_bot(bot)
            stack.push_async_callback(bot.shutdown)
            updates = TelegramUpdateIntake(bot, TelegramUpdateReader(TelegramFiles(bot, http)), context.sink)
            poller: asyncio.Task[None] | None = None
            if self._settings.telegram_mode == "polling":
                poller = asyncio.create_task(poll_updates(updates), name="telegram-poller")
            try:
                with self._running.holding(_Running(updates, context.inbox)):
                    yield TelegramChannel(bot)
            finally:
                if poller is not None:
                    poller.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await poller

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        # Checked before the body is read: a forged request costs nothing and stores nothing.
        given = request.headers.get(SECRET_HEADER, "").encode()
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            raise web.HTTPForbidden(text="wrong or missing secret token")
        running = self._running.get()
        try:
            body = json.loads(await request.read())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="body must be a JSON Update") from None
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
            raise web.HTTPBadRequest(text="body must be a JSON Update with an update_id")
        try:
            checked = TelegramUpdate.model_validate(body)
        except ValidationError as error:
            # Telegram would resend a refused update forever, holding back the chat's later ones: it is
            # acknowledged and dropped, with the reason logged once (no values: they may be personal).
            log.warning("telegram: update %s dropped, not a valid Update: %s", body["update_id"],
                        validation_reason(error))
            return web.Response(status=200)
        await store_or_take(
            running.inbox, lambda payload: self._take_turn(running.updates, payload), channel="telegram",
            platform_id=str(checked.update_id), ordering_key=ordering_key(checked), payload=checked.for_ptb(),
        )
        # Telegram only needs a 2xx; an empty body is not read as a method call.
        return web.Response(status=200)

    async def process_received(self, payload: Mapping[str, Any]) -> None:
        """The turn of an update the webhook stored (called by the inbox worker)."""
        await self._take_turn(self._running.get().updates, payload)

    @staticmethod
    async def _take_turn(updates: TelegramUpdateIntake, payload: Mapping[str, Any]) -> None:
        try:
            update = Update.de_json(dict(payload), updates.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # Valid for our model yet refused by PTB: dropped like an invalid update (retrying cannot help).
            log.warning("telegram: update %s dropped, not a valid Update: %s", payload.get("update_id"),
                        type(error).__name__)
            return
        await updates.process(update)


def telegram_plugin(settings: Settings) -> TelegramPlugin | None:
    """The channel is on when PLAINT_TELEGRAM_TOKEN is set."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        return None
    if settings.telegram_mode == "webhook" and settings.telegram_webhook_secret is None:
        log.warning(
            "telegram: PLAINT_TELEGRAM_WEBHOOK_SECRET is not set; %s refuses every request until it is",
            WEBHOOK_PATH,
        )
    return TelegramPlugin(settings)


async def _start_bot(bot: Bot) -> None:
    """getMe checks the token. A wrong token stops start-up; Telegram being unreachable for a moment does
    not (the outbox retries what cannot be sent)."""
    try:
        await bot.initialize()
    except InvalidToken:
        raise
    except TelegramError as error:
        log.warning("telegram: getMe failed, continuing: %s", error)


async def poll_updates(updates: TelegramUpdateIntake) -> None:
    """Polling mode: getUpdates in a loop. The offset moves past an update only once it was processed, so a
    failure means Telegram hands the same update again (and the intake de-duplicates it)."""
    bot = updates.bot
    # getUpdates is refused while a webhook is set.
    while True:
        try:
            await bot.delete_webhook()
            break
        except TelegramError as error:
            log.warning("telegram: deleteWebhook failed (%s), retrying", error)
            await asyncio.sleep(5)
    offset: int | None = None
    failures = 0
    while True:
        try:
            batch = await bot.get_updates(
                offset=offset, timeout=POLL_TIMEOUT_SECONDS, allowed_updates=list(ALLOWED_UPDATES)
            )
        except RetryAfter as error:
            await asyncio.sleep(retry_after_seconds(error))
            continue
        except TelegramError as error:
            failures += 1
            log.warning("telegram: getUpdates failed (%s), retrying", error)
            await asyncio.sleep(min(2**failures, 60))
            continue
        failures = 0
        for update in batch:
            try:
                await updates.process(update)
            except Exception:
                log.exception("telegram: update %s failed; it will be fetched again", update.update_id)
                await asyncio.sleep(5)
                break
            offset = update.update_id + 1


async def set_webhook(settings: Settings, url: str) -> None:
    """`plaint telegram set-webhook URL`: point Telegram at this server, with the secret it must echo."""
    if settings.telegram_webhook_secret is None:
        raise ValueError("set PLAINT_TELEGRAM_WEBHOOK_SECRET first: the webhook refuses requests without it")
    async with new_bot(settings) as bot:
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES),
        )


async def delete_webhook(settings: Settings) -> None:
    async with new_bot(settings) as bot:
        await bot.delete_webhook()
