"""The WeChat Official Account (公众号) channel: the `/wechat` webhook and customer-service delivery.

WeChat waits 5 seconds for the HTTP answer to a pushed message and retries up to 3 times otherwise. The
webhook runs the intake as a task and waits at most `wechat_reply_deadline` seconds: replies ready in time
leave in the HTTP answer (a "passive reply", claimed from the outbox so the worker never sends them too);
otherwise the answer is "success" and the outbox worker sends them through /cgi-bin/message/custom/send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.channels.base import (
    Channel,
    ChannelContext,
    PassiveReplies,
    PermanentDeliveryError,
    RecipientUnreachable,
    RenderedPart,
    RetryLater,
    RunningState,
    read_capped,
    webhook_boundary,
)
from bot.channels.wechat_api import (
    INVALID_TOKEN_ERRCODES,
    SYSTEM_BUSY,
    UNEXPECTED_ANSWER,
    TokenCache,
    WeChatApiClient,
    WeChatApiError,
)
from bot.channels.wechat_crypto import (
    InvalidAppId,
    InvalidCiphertext,
    InvalidSignature,
    WeChatCipher,
    check_signature,
)
from bot.channels.wechat_inbound import inbound_from_fields
from bot.channels.wechat_xml import (
    MalformedXml,
    WeChatFields,
    encrypted_envelope_xml,
    parse_fields,
    text_reply_xml,
)
from bot.config import Settings
from bot.messages import ChannelName, Inbound, IntakeResult, Outbound, OutboundFile

log = logging.getLogger(__name__)

# WeChat pushes small XML documents; anything bigger is not WeChat.
MAX_BODY_BYTES = 64 * 1024
# One text message may carry 2048 bytes; a passive answer holding more goes through custom/send instead.
MAX_TEXT_BYTES = 2048
# Customer-service messages WeChat refuses because of the customer, not us: outside the 48-hour window
# (45015), unsubscribed (43004), 20 messages without an answer (45047), unknown openid (40003).
UNREACHABLE_ERRCODES = frozenset({45015, 43004, 45047, 40003})
# System busy, rate limits, our own "not a WeChat answer": worth trying again later.
TRANSIENT_ERRCODES = frozenset({SYSTEM_BUSY, UNEXPECTED_ANSWER, 45009, 45011})
SUCCESS = "success"
# A push signed further than this from our clock is a replay (or a clock badly wrong): refused.
MAX_CLOCK_SKEW_SECONDS = 5 * 60


@dataclass(frozen=True)
class WeChatConfig:
    token: str
    app_id: str
    app_secret: str
    aes_key: str | None
    api_url: str
    reply_deadline: float
    # Locale assumed for events, which carry no text to detect the language from.
    event_locale: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatConfig | None:
        if not (settings.wechat_token and settings.wechat_app_id and settings.wechat_app_secret):
            return None
        return cls(
            token=settings.wechat_token.get_secret_value(),
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret.get_secret_value(),
            aes_key=settings.wechat_aes_key.get_secret_value() if settings.wechat_aes_key else None,
            api_url=settings.wechat_api_url,
            reply_deadline=settings.wechat_reply_deadline,
            event_locale=settings.wechat_locale,
        )


# Temporary image media: JPEG, PNG or GIF up to 10 MB; anything else goes as a link.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})


class WeChatChannel(Channel):
    name: ChannelName = "wechat"
    supports_buttons = False
    # Characters, not bytes: 500 CJK characters stay under the 2048-byte message limit.
    max_text_length = 500

    def __init__(self, api: WeChatApiClient, passive: PassiveReplies) -> None:
        self._api = api
        self._passive = passive

    def hold_seconds(self, recipient_id: str) -> float:
        """For the outbox worker (DeliveryHold): wait while a passive answer to this customer is prepared."""
        return self._passive.seconds_left(recipient_id)

    async def deliver(self, message: Outbound) -> None:
        waiting = self._passive.seconds_left(message.recipient_id)
        if waiting > 0:
            raise RetryLater("a passive answer to this customer is being prepared", retry_after=waiting + 0.05)
        await super().deliver(message)

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        with _delivery_errors():
            await self._api.send_text(message.recipient_id, part.text)

    async def send_file(self, message: Outbound, item: OutboundFile) -> None:
        """An image is uploaded as temporary media and sent as a customer-service image message (within WeChat's
        10 MB and its formats); any other file, which the customer-service API cannot carry, goes as its link."""
        content = await read_capped(item, MAX_IMAGE_BYTES) if item.media_type in IMAGE_TYPES else None
        if content is None:
            await super().send_file(message, item)
            return
        with _delivery_errors():
            media_id = await self._api.upload_media("image", item.name, content, item.media_type)
            await self._api.send_image(message.recipient_id, media_id)


@contextlib.contextmanager
def _delivery_errors() -> Iterator[None]:
    """WeChat API errors as the outbox's delivery-error taxonomy."""
    try:
        yield
    except WeChatApiError as error:
        if error.errcode in UNREACHABLE_ERRCODES:
            # The customer is flagged unreachable; writing to us again clears the flag and reopens the
            # 48-hour window, so nothing is retried into a closed window.
            raise RecipientUnreachable(str(error)) from error
        if error.errcode in TRANSIENT_ERRCODES or error.errcode in INVALID_TOKEN_ERRCODES:
            raise RetryLater(str(error)) from error
        raise PermanentDeliveryError(str(error)) from error
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RetryLater(f"WeChat API unreachable: {error!r}") from error


@dataclass(frozen=True)
class _Running:
    context: ChannelContext
    channel: WeChatChannel
    api: WeChatApiClient


class WeChatWebhook:
    """The platform plugin: routes at build time, API session and delivery channel while running."""

    name: ChannelName = "wechat"

    def __init__(self, config: WeChatConfig, tokens: TokenCache, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._tokens = tokens
        self._cipher = WeChatCipher(config.aes_key, config.app_id) if config.aes_key else None
        self._running: RunningState[_Running] = RunningState()
        # Intake tasks that outlived their request (slow path): kept so they are not garbage collected
        # mid-flight and can be awaited at shutdown.
        self._late_tasks: set[asyncio.Task[IntakeResult]] = set()
        self._in_flight: dict[str, asyncio.Task[IntakeResult]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/wechat", webhook_boundary("wechat", self.verify)),
            web.post("/wechat", webhook_boundary("wechat", self.receive)),
        ]

    @asynccontextmanager
    async def running(self, context: ChannelContext) -> AsyncIterator[Channel]:
        timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            api = WeChatApiClient(
                session, self._config.api_url, self._config.app_id, self._config.app_secret, self._tokens
            )
            channel = WeChatChannel(api, context.passive_replies)
            try:
                with self._running.holding(_Running(context, channel, api)):
                    yield channel
            finally:
                if self._late_tasks:
                    await asyncio.gather(*self._late_tasks, return_exceptions=True)

    async def verify(self, request: web.Request) -> web.StreamResponse:
        """Server verification when the URL is configured in the WeChat admin console."""
        query = request.query
        try:
            check_signature(
                query.get("signature"), self._config.token, query.get("timestamp", ""), query.get("nonce", "")
            )
        except InvalidSignature:
            raise web.HTTPForbidden(text="bad signature") from None
        return web.Response(text=query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        running = self._running.get()
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        try:
            check_signature(query.get("signature"), self._config.token, timestamp, nonce)
        except InvalidSignature:
            raise web.HTTPForbidden(text="bad signature") from None
        # The signature covers the timestamp, so a captured push replayed later fails here.
        if not (timestamp.isdigit() and len(timestamp) <= 11) or abs(
            int(timestamp) - self._clock()
        ) > MAX_CLOCK_SKEW_SECONDS:
            log.warning("wechat push refused: timestamp more than %d s from now", MAX_CLOCK_SKEW_SECONDS)
            raise web.HTTPForbidden(text="timestamp more than 5 minutes from now: replayed, or a wrong clock")
        body = await _read_body(request)
        safe_mode = query.get("encrypt_type") == "aes"
        try:
            fields = parse_fields(body)
            if self._cipher is not None and not safe_mode:
                # The plaintext signature does not cover the body: with a key configured, only the
                # signed ciphertext is trusted.
                raise web.HTTPForbidden(text="safe mode required")
            if safe_mode:
                fields = self._decrypt(fields, timestamp, nonce, query.get("msg_signature"))
            inbound = inbound_from_fields(fields, running.api, self._config.event_locale)
            # The passive reply comes from the account the push was sent to.
            account = fields.require("ToUserName")
        except MalformedXml as error:
            log.warning("wechat push refused: %s", error)
            raise web.HTTPBadRequest(text="malformed XML") from None
        if inbound is None:
            return web.Response(text=SUCCESS)
        deadline = started + self._config.reply_deadline
        # The window stays open until the answer is written: until then the worker holds this customer's later
        # replies back, so none of them can reach the customer before what this answer carries.
        with running.context.passive_replies.open_window(inbound.sender_id, deadline):
            answer = await self._answer(running, inbound, deadline)
            if answer is None:
                response = web.Response(text=SUCCESS)
            else:
                reply = text_reply_xml(inbound.sender_id, account, int(time.time()), answer)
                if safe_mode and self._cipher is not None:
                    reply = encrypted_envelope_xml(
                        self._cipher, self._config.token, reply, str(int(time.time())),
                        str(secrets.randbelow(10**9)),
                    )
                response = web.Response(text=reply, content_type="application/xml")
            await response.prepare(request)
            await response.write_eof()
        return response

    def _decrypt(self, envelope: WeChatFields, timestamp: str, nonce: str, msg_signature: str | None) -> WeChatFields:
        if self._cipher is None:
            raise web.HTTPBadRequest(text="safe mode is not configured (PLAINT_WECHAT_AES_KEY)")
        # Compatible mode sends plaintext fields beside Encrypt: only the signed ciphertext is used.
        encrypted = envelope.require("Encrypt")
        try:
            check_signature(msg_signature, self._config.token, timestamp, nonce, encrypted)
            return parse_fields(self._cipher.decrypt(encrypted))
        except InvalidSignature:
            raise web.HTTPForbidden(text="bad msg_signature") from None
        except InvalidAppId as error:
            log.warning("wechat push for app id %r refused", error.received)
            raise web.HTTPForbidden(text="wrong app id") from None
        except InvalidCiphertext as error:
            log.warning("wechat push refused: %s", error)
            raise web.HTTPBadRequest(text="bad ciphertext") from None

    async def _answer(self, running: _Running, inbound: Inbound, deadline: float) -> str | None:
        """The passive answer's text, or None to answer "success" and leave the replies to the worker (called
        with the customer's passive window open)."""
        task = self._intake_task(running, inbound)
        done, _ = await asyncio.wait({task}, timeout=max(deadline - time.monotonic(), 0))
        if not done:
            log.info("wechat %s: intake still busy at the deadline, replies go by custom/send", inbound.message_id)
            self._late_tasks.add(task)
            task.add_done_callback(self._late_done)
            return None
        result = task.result()
        if not result.replies:
            return None

        def fits(messages: Sequence[Outbound]) -> bool:
            return len(self._passive_text(running, messages).encode("utf-8")) <= MAX_TEXT_BYTES

        if not fits(result.replies):
            return None  # more than one message can carry: the worker sends them in parts
        messages = await running.context.passive_replies.claim("wechat", result, inbound.message_id, deadline, fits)
        return self._passive_text(running, messages) if messages else None

    def _intake_task(self, running: _Running, inbound: Inbound) -> asyncio.Task[IntakeResult]:
        """WeChat's retry of a push still being handled here joins that work instead of starting it again
        (which would download the media twice); a retry reaching another worker is the intake's duplicate."""
        task = self._in_flight.get(inbound.message_id)
        if task is None:
            task = asyncio.create_task(running.context.sink.handle(inbound), name=f"wechat-{inbound.message_id}")
            self._in_flight[inbound.message_id] = task
            task.add_done_callback(lambda _: self._in_flight.pop(inbound.message_id, None))
        return task

    @staticmethod
    def _passive_text(running: _Running, messages: Sequence[Outbound]) -> str:
        # One passive answer per push: several replies become one text, options numbered as in custom/send.
        return "\n\n".join(part.text for message in messages for part in running.channel.render(message))

    def _late_done(self, task: asyncio.Task[IntakeResult]) -> None:
        # The intake woke the outbox worker when it committed: nothing to hand over here.
        self._late_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("wechat intake failed after the passive deadline", exc_info=task.exception())


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=request.content_length)
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=len(body))
    return body


def wechat_plugin(settings: Settings, tokens: TokenCache) -> WeChatWebhook | None:
    """On when token, app id and app secret are set; `tokens` is the access-token cache every worker shares."""
    config = WeChatConfig.from_settings(settings)
    return None if config is None else WeChatWebhook(config, tokens)
