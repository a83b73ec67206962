"""Slack as a customer channel: a complaint in a direct message to the app, with Block Kit buttons and a
file share downloaded with the bot token into the evidence store."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import time
import uuid
from typing import Any

import pytest
from tortoise import connections

from storage.models import Case, Evidence, InboundReceipt, InboxItem, OutboxItem
from tests.fakes.slack_api import TEAM_ID, event_envelope
from tests.integration.slack.complaint_driver import Answer, SeenReply, file_complaint
from tests.integration.slack.harness import (
    AGENT_ONE,
    CUSTOMER_CHANNEL,
    DEFAULT_TEAM_CHANNEL,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    posted_case_message,
)
from tests.waiting import eventually

CUSTOMER = "UCUSTOMER01"
DM = "D0CUSTOMER1"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"kettle-label" * 200


def seen(call_params: dict[str, Any]) -> SeenReply:
    values: list[str] = []
    for block in call_params.get("blocks") or []:
        if block.get("type") == "actions":
            values += [element["value"] for element in block["elements"]]
    return SeenReply(str(call_params.get("text", "")), tuple(values))


class SlackCustomer:
    def __init__(self, plaint: SlackHarness, channel: str, user: str) -> None:
        self.plaint = plaint
        self.channel = channel
        self.user = user

    def replies(self) -> list[dict[str, Any]]:
        return [call.params for call in self.plaint.api.calls_to("chat.postMessage", self.channel)]

    def message_event(self, text: str | None, files: tuple[dict[str, Any], ...] = ()) -> tuple[dict[str, Any], str]:
        event: dict[str, Any] = {
            "type": "message",
            "channel": self.channel,
            "channel_type": "im" if self.channel.startswith("D") else "channel",
            "user": self.user,
            "text": text or "",
            "ts": f"{time.time():.6f}",
        }
        if files:
            event["subtype"] = "file_share"
            event["files"] = list(files)
        return event, f"Ev{uuid.uuid4().hex[:10].upper()}"

    async def send(self, answer: Answer) -> list[SeenReply]:
        before = len(self.replies())
        if answer.choice is not None:
            signed = self.plaint.signer.interaction(
                {
                    "type": "block_actions",
                    "user": {"id": self.user},
                    "channel": {"id": self.channel},
                    "container": {"type": "message", "channel_id": self.channel},
                    "trigger_id": "t",
                    "actions": [
                        {"action_id": "plaint_choice_0", "value": answer.choice, "action_ts": f"{time.time():.6f}"}
                    ],
                }
            )
        else:
            event, event_id = self.message_event(answer.text, answer.files)
            signed = self.plaint.signer.event(event, event_id)
        response = await self.plaint.post(signed)
        assert response.status == 200
        # Stored before Slack had its answer, a press as a message.
        stored = f"action:{self.channel}:{self.user}:" if answer.choice is not None else f"{self.channel}:"
        assert await InboxItem.filter(channel="slack", platform_id__startswith=stored).exists()

        async def answered() -> bool:
            pending = await OutboxItem.filter(kind="message", status__in=("pending", "sending")).count()
            return pending == 0 and len(self.replies()) > before

        await eventually(answered, what="the bot's answer in Slack")
        return [seen(params) for params in self.replies()[before:]]


async def test_complaint_in_a_direct_message_with_buttons_and_a_file(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    customer = SlackCustomer(plaint, DM, CUSTOMER)
    photo = plaint.api.add_file("label.png", "image/png", PHOTO, filetype="png")

    number = await file_complaint(
        customer.send, Answer(text="hello, I have a complaint"), once={"photos": Answer(files=(photo,))}
    )

    case = await Case.get(number=number)
    assert (case.channel, case.sender_id) == ("slack", f"{DM}:{CUSTOMER}")
    # The file was fetched with the bot token and stored as evidence of this case.
    assert plaint.api.file_downloads == [(photo["id"], f"Bearer {plaint.api.token}")]
    evidence = await Evidence.filter(case_id=case.id)
    assert [(item.file_name, item.sha256) for item in evidence] == [("label.png", hashlib.sha256(PHOTO).hexdigest())]
    # Questions with choices were posted as Block Kit buttons.
    assert any(
        block["type"] == "actions" and block["elements"][0]["action_id"] == "plaint_choice_0"
        for params in customer.replies()
        for block in params["blocks"]
    )
    # No rule matches an English Slack complaint: the default team gets it, with the evidence link.
    message = await posted_case_message(plaint, number)
    assert message.params["channel"] == DEFAULT_TEAM_CHANNEL
    assert f"https://plaint.example/evidence/{evidence[0].id}?expires=" in str(message.params["blocks"])


async def test_a_retried_direct_message_is_answered_once(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    customer = SlackCustomer(plaint, DM, CUSTOMER)
    event, event_id = customer.message_event("hello")
    for retry in (None, 1):
        assert (await plaint.post(plaint.signer.event(event, event_id, retry_num=retry))).status == 200
        # Stored before Slack had its answer: a crash after the 200 cannot lose the message.
        assert await InboxItem.filter(channel="slack", platform_id=f"{DM}:{event['ts']}").count() == 1

    async def drained() -> bool:
        return await OutboxItem.filter(status__in=("pending", "sending")).count() == 0 and bool(customer.replies())

    await eventually(drained, what="the greeting")
    greetings = [params for params in customer.replies() if "name" in str(params.get("text"))]
    assert len(greetings) == 1
    # Stored once in the inbox on receipt, under the customer's address (what an erasure drops while it waits),
    # and settled once the turn was taken: its text no longer kept there.
    [stored] = await InboxItem.filter(channel="slack")
    assert stored.platform_id == f"{DM}:{event['ts']}" and stored.ordering_key == f"slack:{DM}:{CUSTOMER}"
    await eventually(lambda: InboxItem.filter(channel="slack", status="done").exists(), what="the row settled")
    assert (await InboxItem.get(id=stored.id)).payload == {}
    assert await InboundReceipt.filter(channel="slack").count() == 1


async def test_customers_in_a_shared_channel_are_answered_there_by_name(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    customer = SlackCustomer(plaint, CUSTOMER_CHANNEL, CUSTOMER)
    replies = await customer.send(Answer(text="hi"))
    assert replies
    assert all(params["text"].startswith(f"<@{CUSTOMER}>") for params in customer.replies())
    # Messages in other channels (a team channel, not a thread) are not complaints.
    stranger = SlackCustomer(plaint, DEFAULT_TEAM_CHANNEL, "USTRANGER1")
    event, event_id = stranger.message_event("lunch anyone?")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    assert await Case.all().count() == 0
    assert not stranger.replies()


async def test_socket_mode_instead_of_http_events(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint(socket_mode=True)
    # Without a signing secret there is nothing to verify HTTP requests with: no endpoint at all.
    customer = SlackCustomer(plaint, DM, CUSTOMER)
    event, event_id = customer.message_event("hello")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 404

    async def connected() -> bool:
        return plaint.api.socket_connected

    await eventually(connected, what="socket mode connection")
    # A request of another shape is acknowledged (resending it would not mend it) and goes nowhere.
    await plaint.api.push_socket_event({"type": "event_callback", "event": ["not", "an", "event"]}, "env-0")
    await eventually(lambda: {"envelope_id": "env-0"} in plaint.api.socket_acks, what="the bad request's ack")
    await plaint.api.push_socket_event(event_envelope(event, event_id), envelope_id="env-1")

    async def answered() -> bool:
        return any("name" in str(params.get("text")) for params in customer.replies())

    await eventually(answered, what="the greeting over the Web API")
    assert {"envelope_id": "env-1"} in plaint.api.socket_acks

    # An agent's slash command over the same connection still reaches the desk; its answer is in the ack.
    command = {"command": "/plaint", "text": "", "user_id": AGENT_ONE, "channel_id": WEB_TEAM_CHANNEL,
               "team_id": TEAM_ID, "trigger_id": "trigger-socket", "response_url": "http://127.0.0.1:9/unused"}
    await plaint.api.push_socket_request("slash_commands", command, "env-command")
    [answer] = await eventually(
        lambda: [ack for ack in plaint.api.socket_acks if ack.get("envelope_id") == "env-command"],
        what="the command's acknowledgement",
    )
    assert "Usage" in str(answer.get("payload"))


async def test_socket_mode_acknowledges_a_message_only_once_it_is_stored(
    start_plaint: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    plaint = await start_plaint(socket_mode=True)
    customer = SlackCustomer(plaint, DM, CUSTOMER)
    event, event_id = customer.message_event("hello")
    stored_id = f"{DM}:{event['ts']}"
    stored_when_acknowledged: list[bool] = []

    async def stored() -> bool:
        return await InboxItem.filter(channel="slack", platform_id=stored_id).exists()

    # The fake's handler runs outside the database's context: the look-up runs in this test's.
    in_this_test = contextvars.copy_context()

    async def look_at_the_inbox(ack: dict[str, Any]) -> None:
        stored_when_acknowledged.append(await asyncio.get_running_loop().create_task(stored(), context=in_this_test))

    plaint.api.on_socket_ack = look_at_the_inbox
    await eventually(lambda: plaint.api.socket_connected, what="socket mode connection")

    # The inbox cannot be written (its table is away): the message is not acknowledged, so Slack sends it again.
    table = InboxItem._meta.db_table
    database = connections.get("default")
    await database.execute_script(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        with caplog.at_level(logging.WARNING, logger="bot.slack_app"):
            await plaint.api.push_socket_event(event_envelope(event, event_id), envelope_id="env-lost")
            await eventually(
                lambda: [record for record in caplog.records if "not stored" in record.getMessage()],
                what="the warning that the request was left unacknowledged",
            )
    finally:
        await database.execute_script(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert plaint.api.socket_acks == []

    # Slack's second delivery is stored, then acknowledged, then answered.
    await plaint.api.push_socket_event(event_envelope(event, event_id), envelope_id="env-again")
    await eventually(lambda: plaint.api.socket_acks, what="the acknowledgement")
    assert plaint.api.socket_acks == [{"envelope_id": "env-again"}]
    assert stored_when_acknowledged == [True]

    async def answered() -> bool:
        return any("name" in str(params.get("text")) for params in customer.replies())

    await eventually(answered, what="the greeting over the Web API")
    assert await InboxItem.filter(channel="slack", platform_id=stored_id).count() == 1
