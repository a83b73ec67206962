"""Plaint's real server on 127.0.0.1 with Slack configured against the fake Slack Web API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.analysis import ThreadedAnalyzer
from bot.app import APPLICATION_KEY, build_app
from bot.config import Settings
from storage.cases import TortoiseCaseRepository
from tests.fakes.slack_api import FakeSlackApi, SlackRequestSigner
from tests.fakes.telegram_api import FakeTelegramBotApi, running_fake_bot_api
from tests.fakes.wechat_api import FakeWeChatApi
from tests.integration.slack.harness import (
    CUSTOMER_CHANNEL,
    ROUTING,
    SIGNING_SECRET,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    WECHAT_APP_ID,
    WECHAT_APP_SECRET,
    WECHAT_TOKEN,
    HarnessFactory,
    SlackHarness,
)


@pytest_asyncio.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()


@pytest_asyncio.fixture
async def start_plaint(
    settings: Settings, analyzer: ThreadedAnalyzer, slack_api: FakeSlackApi, tmp_path: Path
) -> AsyncIterator[HarnessFactory]:
    clients: list[TestClient[Any, Any]] = []

    async def start(
        max_open: int = 5, socket_mode: bool = False, reopen_on_reply: bool = False, telegram: bool = False,
        wechat: bool = False,
    ) -> SlackHarness:
        routing = tmp_path / "routing.yaml"
        routing.write_text(
            ROUTING.replace("{max_open}", str(max_open)).replace("{reopen}", str(reopen_on_reply).lower()),
            encoding="utf-8",
        )
        fake_telegram: FakeTelegramBotApi | None = None
        extra: dict[str, Any] = {}
        if telegram:
            fake_telegram, telegram_url = await stack.enter_async_context(running_fake_bot_api(TELEGRAM_TOKEN))
            extra = {
                "telegram_token": SecretStr(TELEGRAM_TOKEN),
                "telegram_webhook_secret": SecretStr(TELEGRAM_SECRET),
                "telegram_api_url": telegram_url,
            }
        fake_wechat: FakeWeChatApi | None = None
        if wechat:
            fake_wechat = FakeWeChatApi(app_id=WECHAT_APP_ID, app_secret=WECHAT_APP_SECRET)
            await fake_wechat.start()
            stack.push_async_callback(fake_wechat.close)
            extra.update({
                "wechat_token": SecretStr(WECHAT_TOKEN),
                "wechat_app_id": WECHAT_APP_ID,
                "wechat_app_secret": SecretStr(WECHAT_APP_SECRET),
                "wechat_api_url": fake_wechat.base_url,
            })
        configured = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(slack_api.token),
                # Socket Mode alone: an app-level token and no signing secret (so no HTTP endpoint).
                "slack_signing_secret": None if socket_mode else SecretStr(SIGNING_SECRET),
                "slack_app_token": SecretStr(slack_api.app_token) if socket_mode else None,
                "slack_api_url": slack_api.base_url,
                "slack_routing_file": routing,
                "slack_customer_channels": CUSTOMER_CHANNEL,
                "public_url": "https://plaint.example",
                **extra,
            }
        )
        app = build_app(configured, analyzer)
        # No shared cookie jar: the harness keeps each web customer's session cookie itself.
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar())
        await client.start_server()
        clients.append(client)
        return SlackHarness(
            client, slack_api, SlackRequestSigner(SIGNING_SECRET), app[APPLICATION_KEY], TortoiseCaseRepository(),
            fake_telegram,
            wechat=fake_wechat,
        )

    async with contextlib.AsyncExitStack() as stack:
        yield start
        for client in clients:
            await client.close()
