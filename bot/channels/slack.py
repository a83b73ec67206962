"""Slack as a customer channel: direct messages to the app and configured customer channels become
`Inbound`; `Outbound` becomes a message with Block Kit buttons. The agent desk lives in bot/desk/; the Bolt
app, the events endpoint and the error translation both use are in bot/slack_app.py.

Conversion only. Both entry points de-duplicate on Slack's own ids, so Slack's retries change nothing twice.
A message or button press that comes to the events endpoint is stored in the inbox (one insert, keyed by Slack's
ids) before Slack is answered (bot/slack_app.py `on_receipt`), over HTTP and over Socket Mode alike. The inbox
worker of any process takes the turn from there, in order per customer, retried when it fails, and again after
a crash (bot/inbox.py). Without an inbox (tests that build the channel alone) the listener takes the turn
itself."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.channels.base import (
    Channel,
    ChannelContext,
    InboundSink,
    Inbox,
    RenderedPart,
    RunningState,
    attachment_kind,
    store_or_take,
)
from bot.messages import Attachment, ChannelName, Inbound, Outbound
from bot.slack_app import SlackApp, SlackFileDownloader, translate_slack_errors

if TYPE_CHECKING:
    # Types only: slack_sdk and slack_bolt are imported when Slack is on (bot/slack_app.py), not at start-up.
    from slack_bolt.app.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

CHOICE_ACTION_PREFIX = "plaint_choice_"
_CHOICE_ACTION = re.compile(rf"^{CHOICE_ACTION_PREFIX}\d+$")
# Message subtypes that carry something a person wrote; edits, joins, deletions and bots are not turns.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}


def slack_sender_id(channel_id: str, user_id: str) -> str:
    """A Slack customer is a person in one conversation (a DM or a shared channel): replies go there."""
    return f"{channel_id}:{user_id}"


def _parse_sender_id(sender_id: str) -> tuple[str, str]:
    channel_id, _, user_id = sender_id.partition(":")
    return channel_id, user_id


def is_person_message(event: dict[str, Any]) -> bool:
    return not event.get("bot_id") and event.get("subtype") in _PERSON_SUBTYPES and bool(event.get("user"))


def _presser(body: dict[str, Any]) -> tuple[str, str] | None:
    """The (channel, user) of a button press: the message's channel and the person who pressed."""
    user, channel, container = body.get("user"), body.get("channel"), body.get("container")
    user_id = user.get("id") if isinstance(user, dict) else None
    channel_id = (channel.get("id") if isinstance(channel, dict) else None) or (
        container.get("channel_id") if isinstance(container, dict) else None
    )
    if not isinstance(user_id, str) or not user_id or not isinstance(channel_id, str):
        return None
    return channel_id, user_id


def received_at(ts: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts or ""), UTC)
    except ValueError:
        return datetime.now(UTC)


class SlackChannel(Channel):
    """Delivery to Slack customers: text in a section block, buttons as Block Kit actions."""

    name: ChannelName = "slack"
    max_text_length = 2900
    supports_buttons = True

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        channel_id, user_id = _parse_sender_id(message.recipient_id)
        text = part.text
        # In a shared channel several people talk: say whom the answer is for.
        if user_id and not channel_id.startswith("D"):
            text = f"<@{user_id}> {text}"
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        if part.buttons:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": button.label[:75]},
                            "action_id": f"{CHOICE_ACTION_PREFIX}{index}",
                            "value": button.value,
                        }
                        for index, button in enumerate(part.buttons)
                    ],
                }
            )
        async with translate_slack_errors():
            await self._client.chat_postMessage(channel=channel_id, text=text, blocks=blocks)


@dataclass(frozen=True)
class _Running:
    sink: InboundSink
    inbox: Inbox | None


class SlackCustomers:
    """The channel plugin and its Bolt listeners (a `bot.slack_app.SlackListenerSet`): customer messages and
    customer button presses become `Inbound` for the sink, through the inbox (a
    `bot.channels.base.ReceivedUpdates`)."""

    name: ChannelName = "slack"

    def __init__(self, slack: SlackApp, customer_channels: frozenset[str]) -> None:
        self._slack = slack
        self._customer_channels = customer_channels
        self._downloader = SlackFileDownloader(slack.token, slack.api_url)
        self._running: RunningState[_Running] = RunningState()

    def routes(self) -> list[web.RouteDef]:
        return []  # Slack's one endpoint belongs to the shared SlackApp

    @contextlib.asynccontextmanager
    async def running(self, context: ChannelContext) -> AsyncIterator[Channel]:
        with self._running.holding(_Running(context.sink, context.inbox)):
            yield SlackChannel(self._slack.client)

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(_CHOICE_ACTION)(self.on_customer_choice)

    async def on_message(self, event: dict[str, Any]) -> bool:
        if not is_person_message(event):
            return True  # bots, edits, joins: nobody's turn, on any side
        channel_id = str(event.get("channel", ""))
        if event.get("channel_type") != "im" and channel_id not in self._customer_channels:
            return False
        # The message's own (channel, ts) is stable across Slack's retries: the de-duplication key.
        platform_id = f"{channel_id}:{event.get('ts', '')}"
        await self._receive({"message": event}, platform_id, slack_sender_id(channel_id, str(event["user"])))
        return True

    async def on_receipt(self, document: dict[str, Any]) -> bool:
        """At the events endpoint, before Slack is answered (bot.slack_app.MessageReceipt): a customer's message
        or button press is stored; anything else is left to Bolt."""
        if document.get("type") == "event_callback":
            event = document.get("event")
            return isinstance(event, dict) and event.get("type") == "message" and await self.on_message(event)
        actions = document.get("actions")
        if document.get("type") != "block_actions" or not isinstance(actions, list) or len(actions) != 1:
            return False
        action, presser = actions[0], _presser(document)
        if not isinstance(action, dict) or not _CHOICE_ACTION.match(str(action.get("action_id", ""))):
            return False
        if presser is None:
            return False  # no person or channel to answer: Bolt acknowledges it, nothing is stored
        await self._store_press(*presser, action)
        return True

    async def on_customer_choice(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        presser = _presser(body)
        if presser is not None:
            await self._store_press(*presser, action)

    async def _store_press(self, channel_id: str, user_id: str, action: dict[str, Any]) -> None:
        press = {"channel": channel_id, "user": user_id, "action_ts": str(action.get("action_ts", "")),
                 "value": str(action.get("value", ""))}
        platform_id = f"action:{channel_id}:{user_id}:{press['action_ts']}"
        await self._receive({"press": press}, platform_id, slack_sender_id(channel_id, user_id))

    async def _receive(self, payload: dict[str, Any], platform_id: str, sender_id: str) -> None:
        await store_or_take(self._running.get().inbox, self._take_turn, channel="slack", platform_id=platform_id,
                            ordering_key=f"slack:{sender_id}", payload=payload)

    async def process_received(self, payload: Mapping[str, Any]) -> None:
        """The turn of a message or press the listener stored (called by the inbox worker)."""
        await self._take_turn(payload)

    async def _take_turn(self, payload: Mapping[str, Any]) -> None:
        sink = self._running.get().sink
        if isinstance(event := payload.get("message"), dict):
            channel_id = str(event.get("channel", ""))
            ts = str(event.get("ts", ""))
            await sink.handle(
                Inbound(
                    channel="slack",
                    sender_id=slack_sender_id(channel_id, str(event["user"])),
                    message_id=f"{channel_id}:{ts}",
                    received_at=received_at(ts),
                    text=str(event.get("text") or "") or None,
                    attachments=self._attachments(event),
                )
            )
        elif isinstance(press := payload.get("press"), dict):
            channel_id, user_id = str(press["channel"]), str(press["user"])
            await sink.handle(
                Inbound(
                    channel="slack",
                    sender_id=slack_sender_id(channel_id, user_id),
                    message_id=f"action:{channel_id}:{user_id}:{press['action_ts']}",
                    received_at=received_at(press["action_ts"] or None),
                    choice=str(press["value"]),
                )
            )
        else:
            log.warning("slack: a stored update of an unknown shape was dropped")

    def _attachments(self, event: dict[str, Any]) -> tuple[Attachment, ...]:
        attachments = []
        for file in event.get("files") or []:
            url = file.get("url_private_download") or file.get("url_private")
            if not url:
                continue
            media_type = file.get("mimetype")
            attachments.append(
                Attachment(
                    kind=attachment_kind(media_type),
                    open_stream=self._downloader.opener_for(str(url)),
                    file_name=file.get("name"),
                    declared_media_type=media_type,
                    declared_size=file.get("size"),
                    platform_file_id=file.get("id"),
                )
            )
        return tuple(attachments)
