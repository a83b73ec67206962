"""What the Slack tests share: the harness around Plaint's real server, payload builders, waiting helpers."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.channels.web_sessions import COOKIE_NAME
from bot.composition import Application
from bot.desk.blocks import RESOLVE_VIEW
from storage.cases import CaseDetails, TortoiseCaseRepository
from tests.fakes.slack_api import FakeSlackApi, RecordedCall, SignedRequest, SlackRequestSigner
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.fakes.wechat_api import FakeWeChatApi
from tests.integration.slack.complaint_driver import Answer, SeenReply, file_complaint
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.waiting import WITHIN, eventually

SIGNING_SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
WEB_TEAM_CHANNEL = "C0WEBDESK"
DEFAULT_TEAM_CHANNEL = "C0GENERAL"
CHINA_TEAM_CHANNEL = "C0CHINA"
CUSTOMER_CHANNEL = "C0CUSTOMERS"
AGENT_ONE, AGENT_TWO, AGENT_THREE = "UAGENT0001", "UAGENT0002", "UAGENT0003"
# Named in the routing as an admin: no team, sees every team's cases.
DESK_ADMIN = "UADMIN0001"
TELEGRAM_TOKEN = "654321:TEST-desk-token"
TELEGRAM_SECRET = "desk_Secret-for-tests"
WECHAT_TOKEN = "deskWeChatToken"
WECHAT_APP_ID = "wxdesk000000000001"
WECHAT_APP_SECRET = "desk-wechat-secret"

ROUTING = f"""
default_team: general
admins: [{DESK_ADMIN}]
teams:
  - {{name: general, slack_channel: {DEFAULT_TEAM_CHANNEL}, members: [{AGENT_THREE}]}}
  - {{name: china, slack_channel: {CHINA_TEAM_CHANNEL}, members: [{AGENT_THREE}], language: zh}}
  - name: webdesk
    slack_channel: {WEB_TEAM_CHANNEL}
    members: [{AGENT_ONE}, {AGENT_TWO}]
    max_open_per_agent: {{max_open}}
    reopen_on_reply: {{reopen}}
rules:
  - team: china
    when: {{language: [zh]}}
  - team: webdesk
    when: {{channel: [web]}}
"""


@dataclass
class SlackHarness:
    client: TestClient[Any, Any]
    api: FakeSlackApi
    signer: SlackRequestSigner
    application: Application
    cases: TortoiseCaseRepository
    # The fake Bot API when the harness was started with Telegram on.
    telegram: FakeTelegramBotApi | None = None
    # The fake WeChat API when the harness was started with WeChat on.
    wechat: FakeWeChatApi | None = None
    # Test name of a web customer -> the session cookie the server issued to them.
    web_sessions: dict[str, str] = dataclasses.field(default_factory=dict)

    async def post(self, signed: SignedRequest) -> ClientResponse:
        return await self.client.post("/slack/events", data=signed.body, headers=signed.headers)

    async def case(self, number: str) -> CaseDetails:
        return await self.cases.get(number)

    async def wait_for_case(
        self, number: str, check: Callable[[CaseDetails], bool], what: str, within: float = WITHIN
    ) -> CaseDetails:
        async def matches() -> bool:
            return check(await self.case(number))

        await eventually(matches, what, within=within)
        return await self.case(number)

    # --- the web chat customer ---------------------------------------------------------------------------

    def web_cookie(self, customer: str) -> dict[str, str]:
        """The session cookie the server issued to the web customer the test calls `customer`."""
        cookie = self.web_sessions.get(customer)
        return {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}

    def web_sender(self, customer: str) -> Callable[[Answer], Awaitable[list[SeenReply]]]:
        async def send(answer: Answer) -> list[SeenReply]:
            body = {"message_id": uuid.uuid4().hex, "text": answer.text, "choice": answer.choice}
            response = await self.client.post("/chat/api/message", json=body, headers=self.web_cookie(customer))
            assert response.status == 200, await response.text()
            if (morsel := response.cookies.get(COOKIE_NAME)) is not None:
                self.web_sessions[customer] = morsel.value
            result = await response.json()
            return [
                SeenReply(reply["text"], tuple(button["value"] for button in reply["buttons"]))
                for reply in result["replies"]
            ]

        return send

    async def web_transcript(self, customer: str) -> list[dict[str, Any]]:
        response = await self.client.get("/chat/api/messages", headers=self.web_cookie(customer))
        assert response.status == 200, await response.text()
        document = await response.json()
        messages = document["messages"] if isinstance(document, dict) else document
        assert isinstance(messages, list)
        return messages

    # --- a Telegram customer -------------------------------------------------------------------------------

    def telegram_sender(self, customer: TelegramCustomer) -> Callable[[Answer], Awaitable[list[SeenReply]]]:
        """Answers as a Telegram customer would (typing, or tapping a button of the bot's last message) and
        returns what the bot sent back once the outbox is empty."""
        fake = self.telegram
        assert fake is not None, "start the harness with telegram=True"
        last: list[dict[str, Any]] = []

        async def send(answer: Answer) -> list[SeenReply]:
            update = customer.press(last[-1], answer.choice) if answer.choice else customer.text(answer.text or "")
            already = len(fake.sent_messages)
            response = await self.client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: TELEGRAM_SECRET})
            assert response.status == 200, await response.text()
            await self.outbox_drained()
            sent = fake.sent_messages[already:]
            last.extend(sent)
            return [SeenReply(str(message.get("text", "")), tuple(_callback_data(message))) for message in sent]

        return send

    async def outbox_drained(self, within: float = WITHIN) -> None:
        """Every received update taken (a Telegram webhook answers on receipt: the inbox worker takes the turn
        a moment later) and every reply sent."""
        inbox = self.application.inbox_worker
        outbox = self.application.outbox

        async def drained() -> bool:
            return await inbox.pending_count() == 0 and await outbox.pending_count() == 0

        await eventually(drained, "the inbox and the outbox to empty", within=within)

    # --- agent payloads ------------------------------------------------------------------------------------

    def button(self, user: str, channel: str, message_ts: str, action_id: str, value: str) -> SignedRequest:
        return self.block_action(
            user, channel, message_ts, {"type": "button", "action_id": action_id, "block_id": "case", "value": value}
        )

    def block_action(self, user: str, channel: str, message_ts: str, action: dict[str, Any]) -> SignedRequest:
        """What Slack posts when an agent uses an element (`action`: type, action_id, block_id, its value) of a
        message in `channel`."""
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
                "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
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

    def resolve_submission(self, user: str, case_number: str, summary: str, code: str) -> SignedRequest:
        """What Slack posts when an agent submits the Resolve modal."""
        return self.view_submission(
            user,
            RESOLVE_VIEW,
            case_number,
            {
                "summary": {"type": "plain_text_input", "value": summary},
                "code": {"type": "static_select", "selected_option": {"value": code}},
            },
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


HarnessFactory = Callable[..., Awaitable[SlackHarness]]


def _callback_data(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    return [str(button.get("callback_data")) for row in markup.get("inline_keyboard", []) for button in row]


def block_texts(call: RecordedCall) -> str:
    """Everything a person would read in a posted or updated message."""
    parts: list[str] = [str(call.params.get("text", ""))]
    for block in call.params.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
        for field in block.get("fields") or []:
            parts.append(str(field.get("text", "")))
        for element in block.get("elements") or []:
            label = element.get("text")
            if isinstance(label, dict):
                parts.append(f"[{label.get('text')}]")
            elif isinstance(label, str):  # a context block's mrkdwn element
                parts.append(label)
    return "\n".join(parts)


async def file_web_case(plaint: SlackHarness, session: str) -> str:
    return await file_complaint(plaint.web_sender(session), Answer(text="I want to complain"))


async def posted_case_message(plaint: SlackHarness, number: str) -> RecordedCall:
    def matching() -> list[RecordedCall]:
        # A Slack customer's own confirmation (in their direct message, a "D" channel) names the number too.
        return [
            call
            for call in plaint.api.calls_to("chat.postMessage")
            if number in str(call.params.get("text")) and not str(call.params.get("channel")).startswith("D")
        ]

    async def posted() -> bool:
        return bool(matching())

    await eventually(posted, what=f"case {number} posted to Slack")
    return matching()[0]
