"""The web chat: a page at /chat and a JSON endpoint behind it. Needs no credentials.

The transcript is the web customer's mailbox: a reply counts as delivered once it is stored, and the page
polls for what agents write later."""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from aiohttp import BodyPartReader, web

from bot.channels.base import (
    CHUNK_BYTES,
    Channel,
    ChannelContext,
    RenderedPart,
    RunningState,
    attachment_kind,
    spooled_file_opener,
    webhook_boundary,
)
from bot.messages import Attachment, Button, ChannelName, Inbound, IntakeResult, MailboxMessage, Outbound

_SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# The largest file a customer may upload through the page.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class TranscriptChannel(Channel):
    """Delivery for channels whose customers read the transcript (web chat, console)."""

    max_text_length = 100_000

    def __init__(self, name: ChannelName) -> None:
        self.name = name

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
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
        "buttons": [button_json(button) for button in message.buttons],
    }


def reply_json(message: Outbound) -> dict[str, object]:
    return {
        "text": message.text,
        "buttons": [button_json(button) for button in message.buttons],
    }


def result_json(result: IntakeResult) -> dict[str, object]:
    return {
        "duplicate": result.duplicate,
        "case_number": result.case_number,
        "replies": [reply_json(message) for message in result.replies],
    }


class WebChat:
    name: ChannelName = "web"

    def __init__(self, spool_dir: Path, max_upload_bytes: int) -> None:
        self._spool_dir = spool_dir
        self._max_upload_bytes = max_upload_bytes
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
        ]

    async def page(self, request: web.Request) -> web.StreamResponse:
        html = (resources.files("bot") / "web" / "chat.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def message(self, request: web.Request) -> web.StreamResponse:
        fields: dict[str, str] = {}
        spooled: list[tuple[Path, str, str | None]] = []
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        try:
            if request.content_type == "multipart/form-data":
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    if part.filename is None:
                        fields[part.name] = await part.text()
                        continue
                    spooled.append(await self._spool(part))
            elif request.content_type == "application/x-www-form-urlencoded":
                fields = {key: str(value) for key, value in (await request.post()).items()}
            else:
                try:
                    body = await request.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise web.HTTPBadRequest(text="body must be JSON, a form or multipart/form-data") from None
                if not isinstance(body, dict):
                    raise web.HTTPBadRequest(text="body must be a JSON object")
                fields = {key: str(value) for key, value in body.items() if value is not None}
            session = fields.get("session", "")
            if not _SESSION_PATTERN.match(session):
                raise web.HTTPBadRequest(text="session must be 8-64 characters of A-Z a-z 0-9 _ -")
            inbound = Inbound(
                channel="web",
                sender_id=session,
                # The page sends a fresh id per message and the same id when it retries.
                message_id=fields.get("message_id") or uuid.uuid4().hex,
                received_at=datetime.now(UTC),
                text=fields.get("text") or None,
                choice=fields.get("choice") or None,
                locale=fields.get("locale") or request.headers.get("Accept-Language", "").split(",")[0] or None,
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
            return web.json_response(result_json(result))
        finally:
            for path, _, _ in spooled:
                path.unlink(missing_ok=True)

    async def _spool(self, part: BodyPartReader) -> tuple[Path, str, str | None]:
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
        media_type = part.headers.get("Content-Type")
        return path, Path(part.filename or "upload").name, media_type

    async def messages(self, request: web.Request) -> web.StreamResponse:
        session = request.query.get("session", "")
        if not _SESSION_PATTERN.match(session):
            raise web.HTTPBadRequest(text="session is required")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="after must be a number") from None
        messages = await self._context.get().mailbox.messages_after("web", session, after)
        return web.json_response({"messages": [mailbox_json(message) for message in messages]})
