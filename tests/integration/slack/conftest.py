"""Plaint's real server on 127.0.0.1 with Slack configured against the fake Slack Web API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.analysis import ThreadedAnalyzer
from bot.app import SERVICES_KEY, build_app
from bot.config import Settings
from bot.services import Services
from storage.cases import CaseDetails, TortoiseCaseRepository
from tests.fakes.slack_api import FakeSlackApi, SignedRequest, SlackRequestSigner
from tests.integration.slack.complaint_driver import Answer, SeenReply

SIGNING_SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
WEB_TEAM_CHANNEL = "C0WEBDESK"
DEFAULT_TEAM_CHANNEL = "C0GENERAL"
CHINA_TEAM_CHANNEL = "C0CHINA"
CUSTOMER_CHANNEL = "C0CUSTOMERS"
AGENT_ONE, AGENT_TWO, AGENT_THREE = "UAGENT0001", "UAGENT0002", "UAGENT0003"

ROUTING = f"""
default_team: general
teams:
  - {{name: general, slack_channel: {DEFAULT_TEAM_CHANNEL}, members: [{AGENT_THREE}]}}
  - {{name: china, slack_channel: {CHINA_TEAM_CHANNEL}, members: [{AGENT_THREE}]}}
  - name: webdesk
    slack_channel: {WEB_TEAM_CHANNEL}
    members: [{AGENT_ONE}, {AGENT_TWO}]
    max_open_per_agent: {{max_open}}
rules:
  - team: china
    when: {{language: [zh]}}
  - team: webdesk
    when: {{channel: [web]}}
"""


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


@dataclass
class SlackHarness:
    client: TestClient[Any, Any]
    api: FakeSlackApi
    signer: SlackRequestSigner
    services: Services
    cases: TortoiseCaseRepository

    async def post(self, signed: SignedRequest) -> ClientResponse:
        return await self.client.post("/slack/events", data=signed.body, headers=signed.headers)

    async def case(self, number: str) -> CaseDetails:
        return await self.cases.get(number)

    async def wait_for_case(
        self, number: str, check: Callable[[CaseDetails], bool], what: str, within: float = 10.0
    ) -> CaseDetails:
        async def matches() -> bool:
            return check(await self.case(number))

        await eventually(matches, within, what)
        return await self.case(number)

    # --- the web chat customer ---------------------------------------------------------------------------

    def web_sender(self, session: str) -> Callable[[Answer], Awaitable[list[SeenReply]]]:
        async def send(answer: Answer) -> list[SeenReply]:
            body = {"session": session, "message_id": uuid.uuid4().hex, "text": answer.text, "choice": answer.choice}
            response = await self.client.post("/chat/api/message", json=body)
            assert response.status == 200, await response.text()
            result = await response.json()
            return [
                SeenReply(reply["text"], tuple(button["value"] for button in reply["buttons"]))
                for reply in result["replies"]
            ]

        return send

    async def web_transcript(self, session: str) -> list[dict[str, Any]]:
        response = await self.client.get("/chat/api/messages", params={"session": session})
        assert response.status == 200, await response.text()
        document = await response.json()
        messages = document["messages"] if isinstance(document, dict) else document
        assert isinstance(messages, list)
        return messages

    # --- agent payloads ------------------------------------------------------------------------------------

    def button(self, user: str, channel: str, message_ts: str, action_id: str, value: str) -> SignedRequest:
        return self.signer.interaction(
            {
                "type": "block_actions",
                "team": {"id": "T0PLAINT"},
                "user": {"id": user, "name": user.lower()},
                "api_app_id": "A0PLAINT",
                "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
                "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
                "channel": {"id": channel},
                "message": {"ts": message_ts, "type": "message"},
                "actions": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "block_id": "case",
                        "value": value,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )

    def view_submission(
        self, user: str, callback_id: str, case_number: str, values: dict[str, dict[str, Any]]
    ) -> SignedRequest:
        return self.signer.interaction(
            {
                "type": "view_submission",
                "team": {"id": "T0PLAINT"},
                "user": {"id": user, "name": user.lower()},
                "api_app_id": "A0PLAINT",
                "view": {
                    "id": f"V{uuid.uuid4().hex[:10].upper()}",
                    "type": "modal",
                    "callback_id": callback_id,
                    "private_metadata": case_number,
                    "state": {"values": {block: {"value": value} for block, value in values.items()}},
                },
            }
        )

    def thread_message(self, user: str, channel: str, thread_ts: str, text: str) -> tuple[dict[str, Any], str]:
        ts = f"{time.time():.6f}"
        event = {
            "type": "message",
            "channel": channel,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
        }
        return event, f"Ev{uuid.uuid4().hex[:10].upper()}"


@pytest_asyncio.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()


HarnessFactory = Callable[..., Awaitable[SlackHarness]]


@pytest_asyncio.fixture
async def start_plaint(
    settings: Settings, analyzer: ThreadedAnalyzer, slack_api: FakeSlackApi, tmp_path: Path
) -> AsyncIterator[HarnessFactory]:
    clients: list[TestClient[Any, Any]] = []

    async def start(max_open: int = 5) -> SlackHarness:
        routing = tmp_path / "routing.yaml"
        routing.write_text(ROUTING.replace("{max_open}", str(max_open)), encoding="utf-8")
        configured = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(slack_api.token),
                "slack_signing_secret": SecretStr(SIGNING_SECRET),
                "slack_api_url": slack_api.base_url,
                "slack_routing_file": routing,
                "slack_customer_channels": CUSTOMER_CHANNEL,
                "public_url": "https://plaint.example",
            }
        )
        app = build_app(configured, analyzer)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return SlackHarness(
            client, slack_api, SlackRequestSigner(SIGNING_SECRET), app[SERVICES_KEY], TortoiseCaseRepository()
        )

    yield start
    for client in clients:
        await client.close()
