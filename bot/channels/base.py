"""What every channel shares: rendering (text splitting, button fallback), delivery errors, the webhook
error boundary. A channel subclass converts payloads and calls its platform; nothing else."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.messages import Button, ChannelName, Outbound

log = logging.getLogger(__name__)


# Evidence moves in pieces of this size: never a whole video in memory.
CHUNK_BYTES = 64 * 1024


async def response_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """A platform's file download, chunk by chunk, for Attachment.open_stream."""
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        yield chunk


class DeliveryError(Exception):
    """Root of what a channel raises when a platform refuses a message."""


class RetryLater(DeliveryError):
    """Rate limited or the platform is down: the outbox tries again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RecipientUnreachable(DeliveryError):
    """The customer blocked the bot or left: stop sending, keep the case."""


class PermanentDeliveryError(DeliveryError):
    """The platform will never accept this message (bad request): retrying cannot help."""


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

    @abstractmethod
    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        """Send one rendered part; raise a `DeliveryError` subclass on refusal."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def webhook_boundary(channel: str, handler: Handler) -> Handler:
    """The one error boundary of a webhook: log the failure and answer 500 so the platform retries later,
    without leaking details; HTTP errors raised on purpose (400, 401, 403) pass through."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("%s webhook failed", channel)
            return web.json_response({"ok": False, "error": "internal error"}, status=500)

    return guarded
