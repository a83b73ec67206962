"""The hand-off end to end, as the people involved would live it: a customer complains on Telegram (updates
POSTed to Plaint's webhook, replies read back from the fake Bot API), the case appears in the team's Slack
channel, Zendesk is down when the case is filed and back a moment later, the agent resolves the case from Slack
(a signed view submission), and the one Zendesk ticket follows: created with the case's fields, then solved."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.analysis import ThreadedAnalyzer
from bot.app import APPLICATION_KEY, build_app
from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.config import Settings
from bot.desk.blocks import RESOLVE_VIEW
from storage.models import Case, ExternalTicket, OutboxItem
from tests.fakes.helpdesk_api import FakeZendesk, serving
from tests.fakes.slack_api import FakeSlackApi, SlackRequestSigner
from tests.fakes.telegram_api import FakeTelegramBotApi, running_fake_bot_api
from tests.integration.slack.complaint_driver import Answer, SeenReply, file_complaint
from tests.integration.slack.harness import DEFAULT_TEAM_CHANNEL, ROUTING, SIGNING_SECRET, block_texts
from tests.integration.telegram.telegram_updates import JSON, TelegramCustomer
from tests.waiting import eventually

TOKEN = "777000:hand-off-token"
TELEGRAM_SECRET = "hand-off-secret"
ZENDESK_EMAIL = "agent@example.com"
ZENDESK_TOKEN = "zd-hand-off-token"
pytestmark = pytest.mark.one_database("sqlite")  # about the hand-off, not storage
AGENT = "UAGENT0003"  # the general team's member in the Slack tests' routing


@pytest_asyncio.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()


def telegram_sender(
    client: TestClient[Any, Any], fake: FakeTelegramBotApi, customer: TelegramCustomer
) -> Callable[[Answer], Any]:
    """Sends an answer as Telegram would (typed text, or a tap on a button of the last question) and returns
    what the bot said back, once the outbox has sent it."""
    outbox = client.app[APPLICATION_KEY].outbox
    last_question: list[JSON] = []

    async def send(answer: Answer) -> list[SeenReply]:
        already = len(fake.sent_messages)
        if answer.choice is not None:
            [question] = last_question
            update = customer.press(question, answer.choice)
        else:
            update = customer.text(answer.text or "")
        response = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: TELEGRAM_SECRET})
        assert response.status == 200, await response.text()

        async def answered() -> bool:
            return len(fake.sent_messages) > already and await outbox.pending_count() == 0

        await eventually(answered, "the bot's answer on Telegram")
        messages = fake.sent_messages[already:]
        last_question[:] = messages[-1:]
        seen = []
        for message in messages:
            markup = message.get("reply_markup")
            rows = markup["inline_keyboard"] if isinstance(markup, dict) else []
            seen.append(SeenReply(str(message["text"]), tuple(b["callback_data"] for row in rows for b in row)))
        return seen

    return send


async def test_a_telegram_complaint_worked_in_slack_becomes_one_zendesk_ticket(
    settings: Settings, analyzer: ThreadedAnalyzer, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING.replace("{max_open}", "5").replace("{reopen}", "false"), encoding="utf-8")
    zendesk = FakeZendesk(f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
    customer = TelegramCustomer(5550001, "Ada", "en", last_name="Lovelace")
    signer = SlackRequestSigner(SIGNING_SECRET)
    async with serving(zendesk) as zendesk_url, running_fake_bot_api(TOKEN) as (telegram, telegram_url):
        configured = settings.model_copy(update={
            "telegram_token": SecretStr(TOKEN),
            "telegram_webhook_secret": SecretStr(TELEGRAM_SECRET),
            "telegram_api_url": telegram_url,
            "slack_bot_token": SecretStr(slack_api.token),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": slack_api.base_url,
            "slack_routing_file": routing,
            "zendesk_url": zendesk_url,
            "zendesk_email": ZENDESK_EMAIL,
            "zendesk_api_token": SecretStr(ZENDESK_TOKEN),
            "public_url": "https://plaint.example.com",
        })
        # Zendesk is down when the case is filed: the first tries fail with 503 and are retried.
        zendesk.fail_next(2, 503)
        async with TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1")) as client:
            number = await file_complaint(telegram_sender(client, telegram, customer), Answer(text="/start"))

            # The case reaches the team's channel in Slack, with the customer's story.
            def posted() -> list[Any]:
                return [call for call in slack_api.calls_to("chat.postMessage", DEFAULT_TEAM_CHANNEL)
                        if number in block_texts(call)]

            await eventually(posted, "the case in Slack")
            assert "Telegram / English" in block_texts(posted()[0])
            await eventually(lambda: len(zendesk.succeeded("POST")) == 1, "the Zendesk ticket")

            # The agent resolves it from Slack: the modal's submission, signed as Slack signs it.
            submission = signer.interaction({
                "type": "view_submission",
                "team": {"id": "T0PLAINT"},
                "user": {"id": AGENT, "name": "agent"},
                "api_app_id": "A0PLAINT",
                "view": {
                    "id": "V0RESOLVE01", "type": "modal", "callback_id": RESOLVE_VIEW,
                    "private_metadata": number,
                    "state": {"values": {
                        "summary": {"value": {"type": "plain_text_input", "value": "Sent a new kettle"}},
                        "code": {"value": {"type": "static_select", "selected_option": {"value": "replaced"}}},
                    }},
                },
            })
            response = await client.post("/slack/events", data=submission.body, headers=submission.headers)
            assert response.status == 200, await response.text()

            async def resolved() -> bool:
                return (await Case.get(number=number)).status == "resolved"

            await eventually(resolved, "the case resolved")
            await eventually(lambda: len(zendesk.succeeded("PUT")) == 1, "the Zendesk update")
            tickets = {row.connector: row.ticket_id for row in await ExternalTicket.filter(case__number=number)}

            async def connector_rows_left() -> int:
                return await OutboxItem.filter(kind="connector", status__in=("pending", "sending", "dead")).count()

            # Zendesk has the update before the worker records its answer: the row is "sending" for a moment.
            left = await eventually(connector_rows_left, "the connector rows settled", accept=lambda count: count == 0)

    # One ticket, made after the outage, then solved: in that order, nothing twice.
    writes = [(call.method, call.answered) for call in zendesk.calls if call.method in ("POST", "PUT")]
    assert writes == [("POST", 201), ("PUT", 200)]
    assert [call.answered for call in zendesk.calls if call.answered >= 300] == [503, 503]
    [ticket] = zendesk.tickets.values()
    assert tickets == {"zendesk": str(ticket["id"])}
    assert ticket["external_id"] == number and ticket["subject"].startswith(f"[{number}]")
    assert ticket["requester"]["name"] == "Ada Lovelace"
    assert "channel-telegram" in ticket["tags"] and f"plaint-{number.lower()}" in ticket["tags"]
    assert ticket["status"] == "solved"
    created, solved = (note["body"] for note in zendesk.notes[ticket["id"]])
    assert "kettle started leaking" in created
    assert "resolved (replaced): Sent a new kettle" in solved
    assert left == 0
    # The customer heard about it on Telegram.
    assert any(number in text and "resolved" in text.lower() for text in telegram.sent_texts(customer.user_id))
