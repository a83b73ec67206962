"""The web chat: a page at /chat and a JSON endpoint behind it. Needs no credentials: the server issues each
browser a session in an HttpOnly cookie (bot/channels/web_sessions.py), and only that cookie reads or writes
the conversation.

The transcript is the web customer's mailbox: a reply counts as delivered once it is stored, and the page
polls for what agents write later."""

from __future__ import annotations

import ipaddress
import json
import math
import re
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.channels.base import (
    CHUNK_BYTES,
    MAX_INBOUND_TEXT_CHARS,
    Channel,
    ChannelContext,
    RenderedPart,
    RunningState,
    attachment_kind,
    clean_text,
    spooled_file_opener,
    validation_reason,
    webhook_boundary,
)
from bot.channels.rate_limits import Allowance, RateLimiter
from bot.channels.web_sessions import LINK_LIFETIME_SECONDS, SpentLinks, WebSessions
from bot.messages import (
    ERROR_TONE,
    TONE,
    Attachment,
    Button,
    ChannelName,
    Inbound,
    IntakeResult,
    MailboxMessage,
    Outbound,
    OutboundFile,
)

# The largest file a customer may upload through the page.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_TEXT_CHARS = MAX_INBOUND_TEXT_CHARS
# A text field of a multipart body is read up to this many bytes (4 per character at worst).
MAX_FIELD_BYTES = 4 * MAX_TEXT_CHARS
# A form-encoded message (no files): the longest text percent-encoded (up to 12 bytes a character) and the rest.
MAX_FORM_BYTES = 12 * MAX_TEXT_CHARS + 4096
MAX_FILES_PER_MESSAGE = 10
MAX_FILE_NAME_CHARS = 200
MAX_MEDIA_TYPE_CHARS = 127
_ALL_KINDS = ("photo", "video", "audio", "document")
_LOCALE_PATTERN = re.compile(r"^[A-Za-z]{2,8}(?:[_-][A-Za-z0-9]{1,8}){0,4}$")

# A customer answers a question every few seconds; 40 at once covers a paste split into pieces and two
# complaints tapped through back to back (a flow is about 15 answers).
MESSAGES_PER_SESSION = Allowance(burst=40, per_seconds=1.0)
# Every request from one address (polls included): an office or a phone carrier puts many customers behind one.
REQUESTS_PER_ADDRESS = Allowance(burst=240, per_seconds=0.1)
# New conversations from one address.
SESSIONS_PER_ADDRESS = Allowance(burst=30, per_seconds=20.0)

_TOO_MANY = {
    "en": "You are sending messages too quickly. Please wait a moment and try again.",
    "zh": "你发送消息太频繁了，请稍等片刻再试。",
}
_NO_SESSION = {
    "en": "There is no conversation in this browser yet.",
    "zh": "此浏览器中还没有对话。",
}
_LINK_GONE = {
    "en": "This link has already been used or has expired. Ask for a new one in the chat you started on.",
    "zh": "此链接已被使用或已过期。请在原来的对话中重新获取链接。",
}


def page_policy(nonce: str) -> str:
    """The chat page's Content-Security-Policy: nothing from other origins, inline code only with the nonce."""
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _header_locale(request: web.Request) -> str | None:
    first = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return first if _LOCALE_PATTERN.match(first) else None


def _disposition(part: BodyPartReader) -> tuple[str | None, str | None]:
    """The part's field name and file name from one parse of its Content-Disposition: aiohttp's `name` and
    `filename` each parse the header again, and a parse costs ~0.1 ms of escaping set-up."""
    _, params = parse_content_disposition(part.headers.get(hdrs.CONTENT_DISPOSITION))
    return content_disposition_filename(params, "name"), content_disposition_filename(params, "filename")


async def _field_text(part: BodyPartReader, name: str) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK_BYTES):
        data.extend(chunk)
        if len(data) > MAX_FIELD_BYTES:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_FIELD_BYTES, actual_size=len(data), text=f"{name}: the field is too long"
            )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text=f"{name}: not UTF-8 text") from None


# The channels delivered by TranscriptChannel: a reply there is delivered once its turn commits.
TRANSCRIPT_CHANNELS: frozenset[str] = frozenset({"web", "console"})


class TranscriptChannel(Channel):
    """Delivery for channels whose customers read the transcript (web chat, console)."""

    max_text_length = 100_000

    def __init__(self, name: ChannelName) -> None:
        self.name = name

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        return None

    async def send_file(self, message: Outbound, item: OutboundFile) -> None:
        # The customer reads the transcript, which lists the file with a signed link (bot/mailbox.py).
        return None


def button_json(button: Button) -> dict[str, str]:
    # The role lets the page style a button without knowing what the flow engine's values mean.
    return {"value": button.value, "label": button.label, "role": button.role}


def mailbox_json(message: MailboxMessage) -> dict[str, object]:
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author,
        "text": message.text,
        "files": list(message.files),
        "file_links": list(message.file_links),
        "buttons": [button_json(button) for button in message.buttons],
        "error": message.error,
    }


def reply_json(message: Outbound) -> dict[str, object]:
    return {
        "text": message.text,
        "buttons": [button_json(button) for button in message.buttons],
        "error": (TONE, ERROR_TONE) in message.metadata,
    }


def result_json(result: IntakeResult) -> dict[str, object]:
    return {
        "duplicate": result.duplicate,
        "case_number": result.case_number,
        "replies": [reply_json(message) for message in result.replies],
    }


class WebChatPost(BaseModel):
    """What the page posts with a message (JSON, a form or multipart fields). The session is not among
    them: it comes from the cookie the server issued."""

    model_config = ConfigDict(extra="ignore", strict=True)

    # The page sends a fresh id per message and the same id when it retries.
    message_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    choice: str | None = Field(default=None, max_length=512)
    locale: str | None = Field(default=None, max_length=200)

    @field_validator("locale")
    @classmethod
    def _known_shape(cls, locale: str | None) -> str | None:
        # A language tag or nothing: whatever else a client sends is ignored, not stored.
        return locale if locale is not None and _LOCALE_PATTERN.match(locale) else None


def language_of(request: web.Request) -> Literal["en", "zh"]:
    return "zh" if request.headers.get("Accept-Language", "").lower().startswith("zh") else "en"


class WebChatLimits:
    """Per-session and per-address allowances; each answer over them is a 429 in the customer's language."""

    def __init__(
        self,
        messages_per_session: Allowance = MESSAGES_PER_SESSION,
        requests_per_address: Allowance = REQUESTS_PER_ADDRESS,
        sessions_per_address: Allowance = SESSIONS_PER_ADDRESS,
    ) -> None:
        self.messages = RateLimiter(messages_per_session)
        self.requests = RateLimiter(requests_per_address)
        self.sessions = RateLimiter(sessions_per_address)

    @staticmethod
    def check(limiter: RateLimiter, key: str | None, request: web.Request) -> None:
        """Spend one of `key`'s allowance or answer 429; a None key (a local client) is not limited."""
        wait = limiter.take(key) if key is not None else 0.0
        if wait > 0:
            raise web.HTTPTooManyRequests(
                text=_TOO_MANY[language_of(request)],
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


class WebChat:
    name: ChannelName = "web"

    def __init__(
        self,
        spool_dir: Path,
        max_upload_bytes: int,
        sessions: WebSessions,
        spent_links: SpentLinks,
        *,
        public_url: str = "",
        limits: WebChatLimits | None = None,
    ) -> None:
        self._spool_dir = spool_dir
        self._spent_links = spent_links
        self._public_url = public_url.rstrip("/")
        self._max_upload_bytes = max_upload_bytes
        self._sessions = sessions
        self._limits = limits or WebChatLimits()
        self._context: RunningState[ChannelContext] = RunningState()

    @asynccontextmanager
    async def running(self, context: ChannelContext) -> AsyncIterator[Channel]:
        with self._context.holding(context):
            yield TranscriptChannel("web")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chat", self.page),
            web.post("/chat/api/message", webhook_boundary("web", self.message)),
            web.get("/chat/api/messages", webhook_boundary("web", self.messages)),
            web.post("/chat/api/link", webhook_boundary("web", self.link)),
            # The token is a query parameter: the log redaction hides `token=` values in access-log lines.
            web.get("/chat/resume", self.resume),
        ]

    @staticmethod
    def _address(request: web.Request) -> str | None:
        """Who is asking, for the per-address limits; None for a local client that speaks for itself.

        Behind a reverse proxy on the same machine every request comes from loopback: the proxy's
        X-Forwarded-For (its last entry, the one the proxy added) names the customer. A loopback request
        without one is a local tool (a test, a benchmark, `curl`), not a stranger: no per-address limit."""
        peer = request.remote or ""
        try:
            local = ipaddress.ip_address(peer).is_loopback
        except ValueError:
            local = False
        if not local:
            return peer or "unknown"
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        return forwarded[:64] or None

    def _session_or_new(self, request: web.Request) -> tuple[str, bool]:
        """The session the cookie proves, else a new one (counted against the address's allowance)."""
        session = self._sessions.read(request)
        if session is not None:
            return session, False
        WebChatLimits.check(self._limits.sessions, self._address(request), request)
        return self._sessions.mint(), True

    async def page(self, request: web.Request) -> web.StreamResponse:
        html = (resources.files("bot") / "web" / "chat.html").read_text(encoding="utf-8")
        # Inline script and style run under the CSP only with this response's nonce.
        nonce = secrets.token_urlsafe(16)
        html = html.replace("<script>", f'<script nonce="{nonce}">').replace("<style>", f'<style nonce="{nonce}">')
        # The page checks a file's size and kind before uploading it, against the server's own limits.
        max_bytes, kinds = self.upload_limits()
        html = html.replace("<body>", f'<body data-max-bytes="{max_bytes}" data-kinds="{",".join(kinds)}">', 1)
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        response.headers["Content-Security-Policy"] = page_policy(nonce)
        response.headers["Cache-Control"] = "no-store"
        session = self._sessions.read(request)
        if session is None:
            address = self._address(request)
            if address is None or self._limits.sessions.take(address) == 0:
                self._sessions.attach(response, request, self._sessions.mint())
        return response

    def upload_limits(self) -> tuple[int, tuple[str, ...]]:
        """The largest file the page may send and the kinds it may send: the current flow's evidence limits
        within this channel's transport limit."""
        try:
            context: ChannelContext | None = self._context.get()
        except web.HTTPServiceUnavailable:
            context = None  # not running yet: the page's first message gets "starting up" anyway
        limits = context.upload_limits() if context is not None and context.upload_limits is not None else None
        if limits is None:
            return self._max_upload_bytes, _ALL_KINDS
        kinds = tuple(kind for kind in limits.kinds if kind in _ALL_KINDS)
        return min(self._max_upload_bytes, limits.max_bytes), kinds

    def _same_origin(self, request: web.Request) -> None:
        # The cookie is SameSite=Lax; an Origin from another site is refused as well (old browsers).
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null" and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="cross-site request refused")

    async def message(self, request: web.Request) -> web.StreamResponse:
        self._same_origin(request)
        WebChatLimits.check(self._limits.requests, self._address(request), request)
        session, new = self._session_or_new(request)
        WebChatLimits.check(self._limits.messages, session, request)
        fields: dict[str, object] = {}
        spooled: list[tuple[Path, str, str | None]] = []
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        try:
            if request.content_type == "multipart/form-data":
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader):
                        continue
                    name, filename = _disposition(part)
                    if name is None:
                        continue
                    if filename is None:
                        fields[name] = await _field_text(part, name)
                        continue
                    if len(spooled) >= MAX_FILES_PER_MESSAGE:
                        raise web.HTTPBadRequest(text=f"at most {MAX_FILES_PER_MESSAGE} files per message")
                    spooled.append(await self._spool(part, filename))
            elif request.content_type == "application/x-www-form-urlencoded":
                # The page's messages without files: cheaper to read than multipart, bounded before reading.
                if request.content_length is None or request.content_length > MAX_FORM_BYTES:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=MAX_FORM_BYTES, actual_size=request.content_length or 0,
                        text="the message is too long",
                    )
                fields = {key: str(value) for key, value in (await request.post()).items()}
            else:
                try:
                    body = await request.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise web.HTTPBadRequest(text="body must be JSON, a form or multipart/form-data") from None
                if not isinstance(body, dict):
                    raise web.HTTPBadRequest(text="body must be a JSON object")
                fields = {key: value for key, value in body.items() if value is not None}
            try:
                post = WebChatPost.model_validate(fields)
            except ValidationError as error:
                raise web.HTTPBadRequest(text=validation_reason(error)) from None
            inbound = Inbound(
                channel="web",
                sender_id=session,
                # Scoped by the session: another browser's message id can never make this one a duplicate.
                message_id=f"{session}:{post.message_id or uuid.uuid4().hex}",
                received_at=datetime.now(UTC),
                text=clean_text(post.text),
                choice=clean_text(post.choice),
                locale=post.locale or _header_locale(request),
                attachments=tuple(
                    Attachment(
                        kind=attachment_kind(media_type),
                        open_stream=lambda path=path: spooled_file_opener(path),  # type: ignore[misc]
                        file_name=name,
                        declared_media_type=media_type,
                        declared_size=path.stat().st_size,
                    )
                    for path, name, media_type in spooled
                ),
            )
            result = await self._context.get().sink.handle(inbound)
            response = web.json_response(result_json(result))
            if new:
                self._sessions.attach(response, request, session)
            return response
        finally:
            for path, _, _ in spooled:
                path.unlink(missing_ok=True)

    async def _spool(self, part: BodyPartReader, filename: str) -> tuple[Path, str, str | None]:
        """Uploads go to disk chunk by chunk; the intake then streams them into the evidence store."""
        with tempfile.NamedTemporaryFile(dir=self._spool_dir, delete=False, suffix=".upload") as handle:
            path = Path(handle.name)
            size = 0
            while chunk := await part.read_chunk(CHUNK_BYTES):
                size += len(chunk)
                if size > self._max_upload_bytes:
                    handle.close()
                    path.unlink(missing_ok=True)
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=self._max_upload_bytes,
                        actual_size=size,
                        text=f"a file may be at most {self._max_upload_bytes // (1024 * 1024)} MB",
                    )
                handle.write(chunk)
        media_type = (part.headers.get("Content-Type") or "")[:MAX_MEDIA_TYPE_CHARS] or None
        name = clean_text(Path(filename).name[:MAX_FILE_NAME_CHARS]) or "upload"
        return path, name, media_type

    async def messages(self, request: web.Request) -> web.StreamResponse:
        WebChatLimits.check(self._limits.requests, self._address(request), request)
        session = self._sessions.read(request)
        after_text = request.query.get("after", "0")
        if not after_text.isdigit() or len(after_text) > 18:
            raise web.HTTPBadRequest(text="after must be a whole number")
        if session is None:
            # No session, or one the server never issued: there is nothing to read.
            return web.json_response({"messages": []})
        messages = await self._context.get().mailbox.messages_after("web", session, int(after_text))
        return web.json_response({"messages": [mailbox_json(message) for message in messages]})

    async def link(self, request: web.Request) -> web.StreamResponse:
        """A one-time link that moves this conversation to another device (valid for ten minutes)."""
        self._same_origin(request)
        WebChatLimits.check(self._limits.requests, self._address(request), request)
        session = self._sessions.read(request)
        if session is None:
            raise web.HTTPUnauthorized(text=_NO_SESSION[language_of(request)])
        token = self._sessions.link_token(session)
        return web.json_response(
            {"url": f"{self._public_base(request)}/chat/resume?token={token}", "expires_in": LINK_LIFETIME_SECONDS},
            headers={"Cache-Control": "no-store"},
        )

    async def resume(self, request: web.Request) -> web.StreamResponse:
        """Opening a one-time link: the browser gets the conversation's session and lands on the chat page.
        The token is spent on first use; the address is cleared from the history by the redirect."""
        WebChatLimits.check(self._limits.requests, self._address(request), request)
        link = self._sessions.read_link(request.query.get("token", ""))
        if link is None or not await self._spent_links.spend(link.nonce, link.expires):
            return web.Response(
                status=410, text=_LINK_GONE[language_of(request)], content_type="text/plain", charset="utf-8",
                headers={"Cache-Control": "no-store"},
            )
        response = web.Response(status=303, headers={"Location": "/chat", "Cache-Control": "no-store"})
        self._sessions.attach(response, request, link.session)
        return response

    def _public_base(self, request: web.Request) -> str:
        return self._public_url or f"{request.scheme}://{request.host}"
