"""Slack: the agent desk and a customer channel, on slack-bolt (async) inside Plaint's aiohttp server.

This module converts and nothing else. Events, interactivity and `/plaint` arrive at POST /slack/events;
bolt verifies the signature (401 otherwise) and acknowledges before the listener works. Customer messages
(DMs to the app, configured customer channels) become `Inbound` for the intake service; agent payloads
become calls on the desk service. Both de-duplicate on the platform's ids, so Slack's retries change
nothing twice."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import (
    Channel,
    PermanentDeliveryError,
    RecipientUnreachable,
    RenderedPart,
    RetryLater,
    response_chunks,
    webhook_boundary,
)
from bot.channels.web import attachment_kind
from bot.config import Settings
from bot.desk.blocks import (
    ACKNOWLEDGE_ACTION,
    ASSIGN_TO_ME_ACTION,
    CLOSE_ACTION,
    RECLASSIFY_ACTION,
    RECLASSIFY_VIEW,
    REOPEN_ACTION,
    RESOLVE_ACTION,
    RESOLVE_VIEW,
    reclassify_view,
    resolve_view,
)
from bot.desk.commands import answer_plaint_command
from bot.desk.routing import RoutingConfig, load_routing
from bot.desk.service import DeskOutcome, DeskOutcomeKind, DeskService
from bot.messages import Attachment, ByteStreamOpener, Inbound, Outbound
from bot.services import Services
from storage.desk import TortoiseDeskStore

log = logging.getLogger(__name__)

CHOICE_ACTION_PREFIX = "plaint_choice_"
_CHOICE_ACTION = re.compile(rf"^{CHOICE_ACTION_PREFIX}\d+$")
# Message subtypes that carry something a person wrote; edits, joins, deletions and bots are not turns.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
# Slack keeps errors that a person must fix (reinstall, invite the bot) apart from bad requests: those wait
# in the outbox until fixed instead of being thrown away.
_FIXABLE_ERRORS = {"not_in_channel", "invalid_auth", "token_revoked", "account_inactive", "not_authed"}
_UNREACHABLE_ERRORS = {"user_not_found", "cannot_dm_bot", "user_disabled", "channel_not_found", "is_archived"}
_OUTAGE_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


@contextlib.asynccontextmanager
async def translate_slack_errors() -> AsyncIterator[None]:
    """Slack API failures as the outbox's delivery errors: 429 and 5xx wait, bad requests die."""
    try:
        yield
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error", "")) if isinstance(error.response.data, dict) else ""
        if status == 429:
            retry_after = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
            raise RetryLater("slack rate limited", float(retry_after) if retry_after else 30.0) from error
        if status >= 500 or code in {
            "internal_error",
            "fatal_error",
            "service_unavailable",
            "request_timeout",
        }:
            raise RetryLater(f"slack unavailable ({status} {code})") from error
        if code in _FIXABLE_ERRORS:
            raise RetryLater(f"slack refused: {code} (needs an admin)", retry_after=300) from error
        if code in _UNREACHABLE_ERRORS:
            raise RecipientUnreachable(code) from error
        raise PermanentDeliveryError(f"slack refused: {status} {code}") from error
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RetryLater(f"slack unreachable: {error!r}") from error


def slack_sender_id(channel_id: str, user_id: str) -> str:
    """A Slack customer is a person in one conversation (a DM or a shared channel): replies go there."""
    return f"{channel_id}:{user_id}"


def _parse_sender_id(sender_id: str) -> tuple[str, str]:
    channel_id, _, user_id = sender_id.partition(":")
    return channel_id, user_id


class SlackChannel(Channel):
    """Delivery to Slack customers: text in a section block, buttons as Block Kit actions."""

    name = "slack"
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


def _received_at(ts: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts or ""), UTC)
    except ValueError:
        return datetime.now(UTC)


class SlackFileDownloader:
    """Opens a Slack file share with the bot token. The token is only ever sent to Slack's own hosts (or the
    configured API host), never to a URL someone put in a payload."""

    def __init__(self, token: str, api_url: str) -> None:
        self._token = token
        api_host = urlparse(api_url).hostname or ""
        self._trusted_hosts = {"files.slack.com", "slack.com", api_host}

    def opener_for(self, url: str) -> ByteStreamOpener:
        return lambda: self._download(url)

    async def _download(self, url: str) -> AsyncIterator[bytes]:
        host = urlparse(url).hostname or ""
        if host not in self._trusted_hosts:
            raise PermissionError(f"refusing to send the Slack token to {host}")
        headers = {"Authorization": f"Bearer {self._token}"}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
            # Slack answers a sign-in page (200, HTML) when the token lacks files:read.
            if response.status != 200 or response.content_type == "text/html":
                raise PermissionError(f"slack file download refused ({response.status})")
            async for chunk in response_chunks(response):
                yield chunk


class SlackListeners:
    """Bolt listeners: each one converts a payload and hands it over."""

    def __init__(
        self,
        services: Services,
        desk: DeskService,
        client: AsyncWebClient,
        downloader: SlackFileDownloader,
        customer_channels: frozenset[str],
    ) -> None:
        self._services = services
        self._desk = desk
        self._client = client
        self._downloader = downloader
        self._customer_channels = customer_channels

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_message)
        app.action(_CHOICE_ACTION)(self.on_customer_choice)
        app.action(ACKNOWLEDGE_ACTION)(self.on_acknowledge)
        app.action(ASSIGN_TO_ME_ACTION)(self.on_assign_to_me)
        app.action(RECLASSIFY_ACTION)(self.on_open_reclassify)
        app.action(RESOLVE_ACTION)(self.on_open_resolve)
        app.action(CLOSE_ACTION)(self.on_close)
        app.action(REOPEN_ACTION)(self.on_reopen)
        app.view(RECLASSIFY_VIEW)(self.on_reclassify_submitted)
        app.view(RESOLVE_VIEW)(self.on_resolve_submitted)
        app.command("/plaint")(self.on_plaint_command)

    def _wake_outbox(self) -> None:
        if self._services.worker is not None:
            self._services.worker.wake()

    async def _to_customer_intake(self, inbound: Inbound) -> None:
        await self._services.intake.handle(inbound)
        self._wake_outbox()

    # --- events ----------------------------------------------------------------------------------------

    async def on_message(self, event: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype") not in _PERSON_SUBTYPES or not event.get("user"):
            return
        channel_id = str(event.get("channel", ""))
        user_id = str(event["user"])
        ts = str(event.get("ts", ""))
        # The message's own (channel, ts) is stable across Slack's retries: the de-duplication key.
        message_key = f"{channel_id}:{ts}"
        if event.get("channel_type") == "im" or channel_id in self._customer_channels:
            await self._to_customer_intake(
                Inbound(
                    channel="slack",
                    sender_id=slack_sender_id(channel_id, user_id),
                    message_id=message_key,
                    received_at=_received_at(ts),
                    text=str(event.get("text") or "") or None,
                    attachments=self._attachments(event),
                )
            )
            return
        thread_ts = event.get("thread_ts")
        if thread_ts and thread_ts != ts:
            outcome = await self._desk.thread_reply(
                channel_id, str(thread_ts), str(event.get("text") or ""), user_id, f"message:{message_key}"
            )
            self._after_desk(outcome)

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

    # --- buttons ---------------------------------------------------------------------------------------

    async def on_customer_choice(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        channel_id = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        user_id = str(body["user"]["id"])
        await self._to_customer_intake(
            Inbound(
                channel="slack",
                sender_id=slack_sender_id(channel_id, user_id),
                message_id=f"action:{channel_id}:{user_id}:{action.get('action_ts', '')}",
                received_at=_received_at(action.get("action_ts")),
                choice=str(action.get("value", "")),
            )
        )

    @staticmethod
    def _action_key(body: dict[str, Any], action: dict[str, Any]) -> str:
        return f"action:{body['user']['id']}:{action.get('action_ts', '')}:{action.get('action_id', '')}"

    async def on_acknowledge(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id = str(body["user"]["id"])
        outcome = await self._desk.acknowledge(str(action["value"]), user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_assign_to_me(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id = str(body["user"]["id"])
        outcome = await self._desk.assign_to(str(action["value"]), user_id, user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_close(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id = str(body["user"]["id"])
        outcome = await self._desk.close(str(action["value"]), user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_reopen(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id = str(body["user"]["id"])
        outcome = await self._desk.reopen(str(action["value"]), user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_open_reclassify(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        case = await self._desk.get_case(str(action["value"]))
        if case is not None:
            await client.views_open(trigger_id=body["trigger_id"], view=reclassify_view(case))

    async def on_open_resolve(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        case = await self._desk.get_case(str(action["value"]))
        if case is not None:
            await client.views_open(trigger_id=body["trigger_id"], view=resolve_view(case))

    # --- modals ----------------------------------------------------------------------------------------

    @staticmethod
    def _input(view: dict[str, Any], block_id: str) -> str:
        value = view.get("state", {}).get("values", {}).get(block_id, {}).get("value", {})
        selected = value.get("selected_option")
        if isinstance(selected, dict):
            return str(selected.get("value") or "")
        return str(value.get("value") or "")

    async def on_reclassify_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        product, category = self._input(view, "product"), self._input(view, "category")
        if not product.strip() and not category.strip():
            await ack(response_action="errors", errors={"product": "Give a product or a category."})
            return
        await ack()
        outcome = await self._desk.reclassify(
            str(view.get("private_metadata", "")),
            product,
            category,
            str(body["user"]["id"]),
            f"view:{view['id']}",
        )
        await self._tell_agent(body, outcome)

    async def on_resolve_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        summary, code = self._input(view, "summary").strip(), self._input(view, "code")
        if not summary:
            await ack(response_action="errors", errors={"summary": "The customer needs a summary."})
            return
        await ack()
        outcome = await self._desk.resolve(
            str(view.get("private_metadata", "")),
            summary,
            code or "other",
            str(body["user"]["id"]),
            f"view:{view['id']}",
        )
        await self._tell_agent(body, outcome)

    async def on_plaint_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        # A short read: answered in the acknowledgement itself, shown only to the agent who asked.
        answer = await answer_plaint_command(self._desk, str(command.get("text", "")), str(command["user_id"]))
        await ack(text=answer, response_type="ephemeral")

    # --- telling the agent what happened ----------------------------------------------------------------

    def _after_desk(self, outcome: DeskOutcome) -> None:
        if outcome.kind is DeskOutcomeKind.APPLIED:
            self._wake_outbox()

    async def _tell_agent(self, body: dict[str, Any], outcome: DeskOutcome) -> None:
        self._after_desk(outcome)
        if outcome.kind not in (DeskOutcomeKind.REFUSED, DeskOutcomeKind.NOT_FOUND):
            return
        channel_id = (body.get("channel") or {}).get("id")
        if channel_id:
            with contextlib.suppress(SlackApiError):
                await self._client.chat_postEphemeral(channel=channel_id, user=body["user"]["id"], text=outcome.message)


class SlackPlugin:
    """The Slack platform as the server sees it: POST /slack/events, the desk outbox handler, delivery."""

    name = "slack"

    def __init__(self, settings: Settings, routing: RoutingConfig) -> None:
        self._settings = settings
        self._routing = routing
        self._bolt: AsyncApp | None = None

    def routes(self) -> list[web.RouteDef]:
        # Without a signing secret nothing over HTTP can be verified: events come by Socket Mode only.
        if self._settings.slack_signing_secret is None:
            return []
        return [web.post("/slack/events", webhook_boundary("slack", self.events))]

    async def events(self, request: web.Request) -> web.StreamResponse:
        if self._bolt is None:
            raise web.HTTPServiceUnavailable(text="starting")
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await self._bolt.async_dispatch(bolt_request))

    @contextlib.asynccontextmanager
    async def running(self, services: Services) -> AsyncIterator[Channel]:
        from bot.desk.notifier import SlackDeskNotifier  # the notifier builds on this module's error mapping

        settings = self._settings
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
        store = TortoiseDeskStore()
        desk = DeskService(store, self._routing)
        services.handlers["desk"] = SlackDeskNotifier(client, desk, store, services.evidence_links.url)
        signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        bolt = AsyncApp(
            client=client,
            signing_secret=signing_secret or None,
            process_before_response=False,
            # Socket Mode alone needs no signing secret; with one, every HTTP request is verified.
            request_verification_enabled=bool(signing_secret),
        )
        downloader = SlackFileDownloader(token, settings.slack_api_url)
        SlackListeners(services, desk, client, downloader, settings.slack_customer_channel_ids).register(bolt)
        self._bolt = bolt
        async with contextlib.AsyncExitStack() as stack:
            if settings.slack_app_token is not None:
                from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

                socket = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
                await socket.connect_async()  # type: ignore[no-untyped-call]
                stack.push_async_callback(socket.close_async)
            try:
                yield SlackChannel(client)
            finally:
                self._bolt = None


def slack_plugin(settings: Settings) -> SlackPlugin | None:
    """On when a bot token and a way to receive events (signing secret or app token) are configured."""
    if settings.slack_bot_token is None or (settings.slack_signing_secret is None and settings.slack_app_token is None):
        return None
    return SlackPlugin(settings, load_routing(settings.slack_routing_file))
