"""Structured logs: `PLAINT_LOG_FORMAT=json` writes one JSON object per line with a correlation id (the HTTP
request, and the conversation as a pseudonym, never the customer's platform id). The formatter is a plain
logging.Formatter, so filters (redaction) and handlers compose with it as with any other."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("plaint_request_id", default=None)
_conversation: contextvars.ContextVar[str | None] = contextvars.ContextVar("plaint_conversation", default=None)

REQUEST_ID_HEADER = "X-Request-Id"
# What a LogRecord carries by itself; anything else set through `extra=` is written as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def pseudonym(value: str) -> str:
    """A stable short id for correlating log lines without writing who the customer is."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


@contextmanager
def correlation_scope(*, request_id: str | None = None, conversation: str | None = None) -> Iterator[None]:
    tokens = []
    if request_id is not None:
        tokens.append((_request_id, _request_id.set(request_id)))
    if conversation is not None:
        tokens.append((_conversation, _conversation.set(conversation)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id is not None:
            document["request_id"] = request_id
        conversation = _conversation.get()
        if conversation is not None:
            document["conversation"] = conversation
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                document[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def configure_log_format(log_format: str) -> None:
    """Swap the formatter of the root handlers; filters already installed on them stay."""
    if log_format != "json":
        return
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())


def _valid_request_id(value: str | None) -> str | None:
    # A proxy's id is kept when it looks like one; anything else a client sends is not written to our logs.
    if value and len(value) <= 64 and all(ch.isalnum() or ch in "-_." for ch in value):
        return value
    return None


@web.middleware
async def request_correlation(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = _valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
    with correlation_scope(request_id=request_id):
        response = await handler(request)
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response
