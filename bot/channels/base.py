"""What every channel shares: the ports a channel is handed (`InboundSink`, `PassiveReplies`, `Mailbox`), the plugin
shape the composition root builds channels from, rendering (text splitting, button fallback), delivery
errors, the "starting up" guard and the webhook error boundary. A channel converts payloads and calls its
platform; nothing else. Channels import this module and bot.messages, never the intake, the desk or storage."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

import aiohttp
from aiohttp import web
from pydantic import AfterValidator

from bot.delivery import DeliveryError, PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.messages import (
    AttachmentKind,
    Button,
    ChannelName,
    Inbound,
    IntakeResult,
    MailboxMessage,
    Outbound,
    OutboundFile,
)
from bot.webhooks import MAX_INBOUND_TEXT_CHARS, RunningState, validation_reason, webhook_boundary

__all__ = [
    "CHUNK_BYTES",
    "MAX_INBOUND_TEXT_CHARS",
    "Channel",
    "ChannelContext",
    "ChannelPlugin",
    "DeliveryError",
    "InboundSink",
    "Inbox",
    "Mailbox",
    "PassiveReplies",
    "PermanentDeliveryError",
    "ReceivedUpdates",
    "RecipientUnreachable",
    "RenderedPart",
    "RetryLater",
    "RunningState",
    "StorableStr",
    "attachment_kind",
    "clean_text",
    "file_link_text",
    "numbered_options",
    "read_capped",
    "response_chunks",
    "split_text",
    "spooled_file_opener",
    "validation_reason",
    "webhook_boundary",
]

class InboundSink(Protocol):
    """Where a channel hands what a customer sent (the intake service, built by the composition root). The
    sink commits the turn and wakes the outbox worker; the result carries the replies it queued."""

    async def handle(self, inbound: Inbound) -> IntakeResult: ...


class PassiveReplies(Protocol):
    """Replies that may leave in the platform's HTTP answer instead of through its API (WeChat's passive
    reply). While a window is open for a customer, delivery through the API waits; `claim` takes the queued
    replies of one inbound message so the outbox worker never sends them too."""

    def open_window(self, sender_id: str, deadline: float) -> AbstractContextManager[None]: ...

    def seconds_left(self, sender_id: str) -> float: ...

    async def claim(
        self, channel: ChannelName, result: IntakeResult, message_id: str, deadline: float,
        fits: Callable[[Sequence[Outbound]], bool] | None = None,
    ) -> tuple[Outbound, ...]: ...


class Mailbox(Protocol):
    """A customer's transcript, for channels whose customers read it rather than receive pushes (web chat)."""

    async def messages_after(
        self, channel: ChannelName, sender_id: str, after_id: int
    ) -> Sequence[MailboxMessage]: ...


class Inbox(Protocol):
    """Where a webhook writes what a platform sent, in one insert, before it answers (the update is then
    safe: a worker takes the turn from there). Idempotent on the platform's id: False for a retry."""

    async def receive(
        self, *, channel: ChannelName, platform_id: str, ordering_key: str, payload: Mapping[str, Any]
    ) -> bool: ...


async def store_or_take(
    inbox: Inbox | None, take_turn: Callable[[Mapping[str, Any]], Awaitable[None]], *, channel: ChannelName,
    platform_id: str, ordering_key: str, payload: Mapping[str, Any],
) -> None:
    """What a platform sent, stored in the inbox before the platform is answered (from then on it survives a
    crash, and a retry stores nothing; the inbox worker hands it to `process_received`); without an inbox (a
    channel built alone, in tests) the turn is taken now."""
    if inbox is None:
        await take_turn(payload)
    else:
        await inbox.receive(channel=channel, platform_id=platform_id, ordering_key=ordering_key, payload=payload)


@runtime_checkable
class ReceivedUpdates(Protocol):
    """A plugin whose webhook answers on receipt: the inbox worker hands each stored update back to it, in
    order per `ordering_key`, and the plugin takes the turn (convert, then the `InboundSink`). Raising means
    "try again later"; the intake's de-duplication by platform message id makes a second try harmless."""

    name: ChannelName

    async def process_received(self, payload: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class UploadLimits:
    """What the current flow's evidence step accepts: the largest file and the kinds (photo, video, audio,
    document). A page checks a file against them before sending a byte."""

    max_bytes: int
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class ChannelContext:
    """Everything a running channel may use, handed over by the composition root."""

    sink: InboundSink
    passive_replies: PassiveReplies
    mailbox: Mailbox
    # None: no inbox in this process; webhooks take the turn before they answer (today's path).
    inbox: Inbox | None = None
    # The current flow's evidence limits (None: the channel's own transport limit is all there is).
    upload_limits: Callable[[], UploadLimits | None] | None = None


class ChannelPlugin(Protocol):
    """A channel as the server sees it: routes registered at build time (aiohttp freezes its router at
    start-up), and a running phase, entered once the application is built, that yields the delivery
    `Channel`. A plugin mutates nothing outside itself."""

    name: ChannelName

    def routes(self) -> Sequence[web.RouteDef]: ...

    def running(self, context: ChannelContext) -> AbstractAsyncContextManager[Channel]: ...


# NUL (PostgreSQL refuses it in text), the other C0 controls but tab and line breaks, and lone UTF-16
# surrogates (JSON can carry them; no database encoding can store them): dropped from anything a customer
# sends before it goes further. One table lookup per character: linear in the text.
_UNSTORABLE = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000)])


def clean_text(text: str | None) -> str | None:
    """The text without characters no store can keep; None when nothing is left."""
    if text is None:
        return None
    return text.translate(_UNSTORABLE) or None


def _storable(text: str) -> str:
    return text.translate(_UNSTORABLE)


# A string field of a platform payload model: whatever it holds, what passes on can be stored.
StorableStr = Annotated[str, AfterValidator(_storable)]




def attachment_kind(media_type: str | None) -> AttachmentKind:
    if media_type and media_type.startswith("image/"):
        return "photo"
    if media_type and media_type.startswith("video/"):
        return "video"
    if media_type and media_type.startswith("audio/"):
        return "audio"
    return "document"


def spooled_file_opener(path: Path) -> AsyncIterator[bytes]:
    """A local file's bytes, chunk by chunk, for Attachment.open_stream (uploads spooled to disk, console files)."""

    async def chunks() -> AsyncIterator[bytes]:
        with path.open("rb") as source:
            while chunk := source.read(CHUNK_BYTES):
                yield chunk

    return chunks()


# Evidence moves in pieces of this size: never a whole video in memory.
CHUNK_BYTES = 64 * 1024


async def response_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """A platform's file download, chunk by chunk, for Attachment.open_stream."""
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        yield chunk


@dataclass(frozen=True)
class RenderedPart:
    text: str
    buttons: tuple[Button, ...] = ()


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, line, sentence or word boundaries so no part exceeds `limit` characters."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", "。", ". ", " "):
            position = window.rfind(separator)
            if position > limit // 3:
                cut = position + len(separator)
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def file_link_text(item: OutboundFile) -> str:
    """A file as a line of text: its name, size and signed link."""
    if not item.url:
        raise PermanentDeliveryError(f"file {item.evidence_id} has no link to send")
    return f"📎 {item.name} ({_human_size(item.size)}): {item.url}"


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


async def read_capped(item: OutboundFile, limit: int) -> bytes | None:
    """A file's bytes when they fit under `limit`, else None (read no further than the limit)."""
    if item.open_stream is None or item.size > limit:
        return None
    data = bytearray()
    async for chunk in item.open_stream():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def numbered_options(buttons: tuple[Button, ...]) -> str:
    return "\n".join(f"{index}. {button.label}" for index, button in enumerate(buttons, start=1))


class Channel(ABC):
    """A platform the customer talks on. Subclasses set the class attributes and implement `send_part`."""

    name: ChannelName
    max_text_length: int = 4000
    supports_buttons: bool = True

    def render(self, message: Outbound) -> list[RenderedPart]:
        text = message.text
        buttons = message.buttons
        if buttons and not self.supports_buttons:
            text = f"{text}\n\n{numbered_options(buttons)}"
            buttons = ()
        chunks = split_text(text, self.max_text_length)
        # Buttons go with the last part so they stay under the question they answer.
        return [RenderedPart(chunk) for chunk in chunks[:-1]] + [RenderedPart(chunks[-1], buttons)]

    async def deliver(self, message: Outbound) -> None:
        for part in self.render(message):
            await self.send_part(message, part)
        for item in message.files:
            await self.send_file(message, item)

    async def send_file(self, message: Outbound, item: OutboundFile) -> None:
        """A file for the customer. Here: its signed link as a text part (platforms whose file types or sizes
        do not fit); channels that can carry the file itself override this within their platform's limits."""
        await self.send_part(message, RenderedPart(file_link_text(item)))

    @abstractmethod
    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        """Send one rendered part; raise a `DeliveryError` subclass on refusal."""
