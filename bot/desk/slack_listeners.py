"""The agent desk's Slack side: case buttons, the Reclassify and Resolve modals, replies in case threads and
`/plaint`. Each listener converts a payload into a call on the desk service and tells the agent when the
desk refused. Registered on the shared Slack app (bot/slack_app.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

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
from bot.desk.service import DeskOutcome, DeskOutcomeKind, DeskService
from bot.desk.slack_text import customer_text


class SlackDeskListeners:
    """A `bot.slack_app.SlackListenerSet` for agents."""

    def __init__(self, desk: DeskService, client: AsyncWebClient) -> None:
        self._desk = desk
        self._client = client

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(ACKNOWLEDGE_ACTION)(self.on_acknowledge)
        bolt.action(ASSIGN_TO_ME_ACTION)(self.on_assign_to_me)
        bolt.action(RECLASSIFY_ACTION)(self.on_open_reclassify)
        bolt.action(RESOLVE_ACTION)(self.on_open_resolve)
        bolt.action(CLOSE_ACTION)(self.on_close)
        bolt.action(REOPEN_ACTION)(self.on_reopen)
        bolt.view(RECLASSIFY_VIEW)(self.on_reclassify_submitted)
        bolt.view(RESOLVE_VIEW)(self.on_resolve_submitted)
        bolt.command("/plaint")(self.on_plaint_command)

    async def on_message(self, event: dict[str, Any]) -> bool:
        """A person's reply in a case thread; anything else is not the desk's."""
        ts = str(event.get("ts", ""))
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == ts or not event.get("user"):
            return False
        channel_id = str(event.get("channel", ""))
        await self._desk.thread_reply(
            channel_id,
            str(thread_ts),
            # Slack's wire text (entities, <url|label>, <@U...>, *bold*) as a customer should read it.
            customer_text(str(event.get("text") or "")),
            str(event["user"]),
            # The message's own (channel, ts) is stable across Slack's retries: the de-duplication key.
            f"message:{channel_id}:{ts}",
        )
        return True

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
            str(view.get("private_metadata", "")), product, category, str(body["user"]["id"]), f"view:{view['id']}"
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

    async def _tell_agent(self, body: dict[str, Any], outcome: DeskOutcome) -> None:
        if outcome.kind not in (DeskOutcomeKind.REFUSED, DeskOutcomeKind.NOT_FOUND):
            return
        channel_id = (body.get("channel") or {}).get("id")
        if channel_id:
            with contextlib.suppress(SlackApiError):
                await self._client.chat_postEphemeral(channel=channel_id, user=body["user"]["id"], text=outcome.message)
