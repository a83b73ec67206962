"""Secrets and personal identifiers never reach a log line, whoever logs it (our code or a library).

Two measures, installed once where logging is configured:
- Loggers of libraries that write request URLs, payloads or SQL parameters at INFO/DEBUG (httpx puts the
  Telegram bot token in every request line; Tortoise and aiosqlite print every query's values; the Slack SDK
  prints request bodies) are held at WARNING whatever PLAINT_LOG_LEVEL says.
- A filter on every root handler rewrites each record's final text: the configured secrets by value, and by
  shape bot tokens, Slack tokens, emails, phone numbers, WeChat openids, and the values of identifying query
  parameters (session, openid, signatures, access tokens) in access-log lines. Every pattern has bounded
  repetition and starts only at a word boundary, so the filter stays linear in the length of the line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr

from bot.config import Settings

# Libraries whose INFO/DEBUG output carries URLs with tokens, request bodies or query parameters.
CHATTY_LOGGERS = (
    "httpx",
    "httpcore",
    "hpack",
    "tortoise",
    "tortoise.db_client",
    "aiosqlite",
    "asyncpg",
    "asyncmy",
    "aiomysql",
    "slack_sdk",
    "slack_bolt",
    "telegram",
    "multipart",
    "urllib3",
)
# A log line longer than this is cut before redaction: logs are not where megabytes of customer text go, and
# the patterns, linear as they are, cost about a microsecond per character.
MAX_LOG_CHARS = 8192
# Secrets shorter than this are not replaced by value (they would match ordinary words); their shapes
# are still caught below.
_MIN_SECRET_LENGTH = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Identifying query parameters and key=value pairs, in URLs and access-log lines.
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])(session(?:_id)?|openid|unionid|access_token|token|secret|signature|"
            r"msg_signature|echostr|sender_id|recipient_id|chat_id|phone|email)(=|%3D|\": ?\"|': ?')"
            r"[^&\s\"',;]{1,512}"
        ),
        r"\1\2[redacted]",
    ),
    # Telegram bot tokens: <bot id>:<35 characters>, also inside /bot<token>/ URLs.
    (re.compile(r"(?<![A-Za-z0-9_-])(bot)?\d{5,16}:[A-Za-z0-9_-]{30,64}"), r"\1[telegram-token]"),
    # Slack tokens (xoxb-, xoxp-, xapp-, ...).
    (re.compile(r"(?<![A-Za-z0-9_-])x(?:ox[a-z]|app)-[A-Za-z0-9-]{6,256}"), "[slack-token]"),
    # Authorization headers.
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+)?[^\s\"',]{1,512}"), r"\1[redacted]"),
    # Emails.
    (
        re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"),
        "[email]",
    ),
    # WeChat openids: 28 characters starting with "o".
    (re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])"), "[openid]"),
    # Phone numbers: international (+...), Chinese mobiles with spaces/dashes, 3-3-4 groups, and any run of
    # 7-15 digits (also Telegram chat ids, which identify a person).
    (re.compile(r"(?<![\w+])\+\d(?:[ -]?\d){6,14}(?!\w)"), "[phone]"),
    (re.compile(r"(?<![\w-])1[3-9]\d[ -]\d{4}[ -]\d{4}(?![\w-])"), "[phone]"),
    (re.compile(r"(?<![\w(-])\(?\d{3}\)?[ -]\d{3}-\d{4}(?![\w-])"), "[phone]"),
    (re.compile(r"(?<![\w.:/-])-?\d{7,15}(?![\w.:/-])"), "[number]"),
)


@dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class RedactingFilter(logging.Filter):
    """Rewrites the record's message (arguments merged) and its traceback text; never drops a record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what can be shown
            message = f"{record.msg!r} {record.args!r}"
        if len(message) > MAX_LOG_CHARS:
            message = f"{message[:MAX_LOG_CHARS]}... [{len(message) - MAX_LOG_CHARS} characters cut]"
        record.msg = self._redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


def settings_secrets(settings: Settings) -> tuple[str, ...]:
    """Every SecretStr in the settings, by value."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= _MIN_SECRET_LENGTH:
            values.append(value.get_secret_value())
    # Longest first, so a secret containing another is replaced whole.
    return tuple(sorted(set(values), key=len, reverse=True))


def install_log_redaction(secrets: Iterable[str] = (), root: logging.Logger | None = None) -> RedactingFilter:
    """Quiet the chatty libraries and put one redacting filter on every handler of the root logger
    (call it after the handlers exist, e.g. after logging.basicConfig)."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    redacting = RedactingFilter(Redactor(tuple(secret for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH)))
    target = root or logging.getLogger()
    for handler in target.handlers:
        for existing in [item for item in handler.filters if isinstance(item, RedactingFilter)]:
            handler.removeFilter(existing)
        handler.addFilter(redacting)
    return redacting
