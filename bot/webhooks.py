"""What every HTTP entry point of a platform shares: the "starting up" guard and the error boundary.
Neutral ground: channels (through bot.channels.base) and the agent desk's Slack endpoint both use it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The most text one inbound message may carry to the flow, which refuses anything over its own (smaller)
# limit in the customer's language; a payload with more is refused at the edge.
MAX_INBOUND_TEXT_CHARS = 2_000_000


def validation_reason(error: ValidationError) -> str:
    """The first problem of a payload, by field and kind, in one line: never the value (it may be personal)."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


class RunningState(Generic[T]):
    """What a webhook needs once its platform runs. Routes exist before that (and after shutdown starts):
    meanwhile every request gets 503 "starting up", so the platform retries later."""

    def __init__(self) -> None:
        self._value: T | None = None

    @contextmanager
    def holding(self, value: T) -> Iterator[T]:
        self._value = value
        try:
            yield value
        finally:
            self._value = None

    def get(self) -> T:
        if self._value is None:
            raise web.HTTPServiceUnavailable(text="starting up")
        return self._value


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
