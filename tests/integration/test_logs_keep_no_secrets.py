"""A whole complaint on every channel with DEBUG logging, through the redaction the CLI installs: no token,
secret, session id, openid, phone number or email reaches any log line, third-party libraries included."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from bot.config import Settings
from bot.log_redaction import CHATTY_LOGGERS, RedactingFilter, Redactor, install_log_redaction, settings_secrets
from tests.e2e.conftest import web_client
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import WebCustomer, complete_flow
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack.conftest import slack_api, start_plaint
from tests.integration.slack.harness import SIGNING_SECRET, HarnessFactory
from tests.integration.slack.test_slack_customer import CUSTOMER, DM
from tests.integration.slack.test_slack_customer import (
    test_complaint_in_a_direct_message_with_buttons_and_a_file as slack_complaint,
)
from tests.integration.telegram.test_telegram_webhook import SECRET as TELEGRAM_SECRET
from tests.integration.telegram.test_telegram_webhook import TOKEN as TELEGRAM_TOKEN
from tests.integration.telegram.test_telegram_webhook import TelegramServer, telegram
from tests.integration.telegram.test_telegram_webhook import (
    test_a_complaint_in_english_with_an_album_and_a_document as telegram_complaint,
)
from tests.integration.wechat import wechat_platform
from tests.integration.wechat.test_wechat_webhook import WeChatServer, wechat
from tests.integration.wechat.test_wechat_webhook import (
    test_chinese_complaint_with_two_photos_in_safe_mode_by_passive_replies as wechat_complaint,
)

__all__ = ["slack_api", "start_plaint", "telegram", "web_client", "wechat"]  # fixtures, used by name

# Every secret any of the harnesses configures, as a deployment would set them.
DEPLOYED = Settings(
    telegram_token=SecretStr(TELEGRAM_TOKEN),
    telegram_webhook_secret=SecretStr(TELEGRAM_SECRET),
    slack_bot_token=SecretStr(FakeSlackApi.token),
    slack_signing_secret=SecretStr(SIGNING_SECRET),
    slack_app_token=SecretStr(FakeSlackApi.app_token),
    wechat_token=SecretStr(wechat_platform.TOKEN),
    wechat_aes_key=SecretStr(wechat_platform.AES_KEY),
    wechat_app_secret=SecretStr(wechat_platform.APP_SECRET),
)


class CapturedLog:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def text(self) -> str:
        return self._stream.getvalue()

    def assert_free_of(self, *needles: str) -> None:
        text = self.text()
        # The capture worked: the complaint was logged at DEBUG, by us and by libraries.
        assert "DEBUG" in text and "INFO aiohttp.access" in text, text[:2000]
        leaks = {
            needle: [line for line in text.splitlines() if re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", line)]
            for needle in needles
        }
        assert {needle: lines[:3] for needle, lines in leaks.items() if lines} == {}


@pytest.fixture
def debug_log() -> Iterator[CapturedLog]:
    """Requested before the channel fixture, so the server starts with logging configured like the CLI's."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    saved = (root.level, {name: logging.getLogger(name).level for name in CHATTY_LOGGERS})
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install_log_redaction(settings_secrets(DEPLOYED))
    try:
        yield CapturedLog(stream)
    finally:
        root.removeHandler(handler)
        for each in root.handlers:
            for item in [item for item in each.filters if isinstance(item, RedactingFilter)]:
                each.removeFilter(item)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


SECRETS = settings_secrets(DEPLOYED)


async def test_telegram(debug_log: CapturedLog, telegram: TelegramServer) -> None:
    await telegram_complaint(telegram)
    debug_log.assert_free_of(*SECRETS, "TEST-webhook-token", "ana@example.com")


async def test_slack(debug_log: CapturedLog, start_plaint: HarnessFactory) -> None:
    await slack_complaint(start_plaint)
    debug_log.assert_free_of(
        *SECRETS, "ada@example.com", "+44 20 7946 0958", "+442079460958", f"{DM}:{CUSTOMER}"
    )


async def test_wechat(debug_log: CapturedLog, wechat: WeChatServer) -> None:
    await wechat_complaint(wechat)
    debug_log.assert_free_of(*SECRETS, "oCustomer_zhang", "13812345678", "+8613812345678", "TOKEN-1")


async def test_web_chat(debug_log: CapturedLog, web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en-GB")
    await complete_flow(customer, ENGLISH, first="Hello")
    # The transcript is polled with the session cookie, as the page does.
    assert await customer.transcript()
    debug_log.assert_free_of(*SECRETS, customer.session, "ada@example.com", "+44 20 7946 0958", "+442079460958")


def test_the_patterns_catch_shapes_whose_values_are_not_configured() -> None:
    redactor = Redactor()
    line = (
        'HTTP Request: POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw4/sendMessage '
        '"HTTP/1.1 200 OK" xoxb-1234-5678-abcdef GET /wechat?signature=abc&openid=o6_bmjrPTlm6_2sgVt7hMZOPfL2M '
        "mail someone.else@example.org or call +86 138 0013 8000, 138-0013-8000, (555) 123-4567; chat 987654321"
    )
    redacted = redactor.redact(line)
    for leaked in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw4", "xoxb-1234", "abc&", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
                   "someone.else", "138 0013 8000", "138-0013-8000", "123-4567", "987654321"):
        assert leaked not in redacted, (leaked, redacted)
    # Ordinary figures survive: addresses, times, sizes, dates.
    kept = redactor.redact("127.0.0.1 [29/Nov/2026:20:10:35 +0000] 200 1234 2026-11-29 12:00 outbox item 42")
    assert kept == "127.0.0.1 [29/Nov/2026:20:10:35 +0000] 200 1234 2026-11-29 12:00 outbox item 42"
    # Linear in the length of the line (bounded repetitions, starts only at word boundaries).
    for character in "a1 +@o-":
        assert len(redactor.redact(character * 100_000)) == 100_000


def test_tracebacks_are_redacted_too() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("plaint.test.redaction")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor(("super-secret-value",))))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError("token super-secret-value refused for ada@example.com")
        except RuntimeError:
            logger.exception("call failed with %s", "super-secret-value")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "super-secret-value" not in text and "ada@example.com" not in text
    # A megabyte logged by mistake is cut, not written out (nor scanned) whole.
    stream.truncate(0)
    logger.addHandler(handler)
    try:
        logger.warning("%s", "x" * 1_000_000)
    finally:
        logger.removeHandler(handler)
    assert len(stream.getvalue()) < 10_000 and "characters cut" in stream.getvalue()
