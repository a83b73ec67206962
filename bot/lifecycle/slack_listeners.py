"""The lifecycle room's Slack buttons: Link / Not a duplicate under a "possible duplicate" thread message.
Each press becomes one call on the duplicate service; a refusal (someone decided first) is told to the agent
alone. Registered on the shared Slack app beside the desk's listeners."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.duplicates import LINK_ACTION, NOT_DUPLICATE_ACTION, DuplicateService


class SlackLifecycleListeners:
    """A `bot.slack_app.SlackListenerSet` for the room's thread buttons (it takes no messages)."""

    def __init__(self, duplicates: DuplicateService, client: AsyncWebClient) -> None:
        self._duplicates = duplicates
        self._client = client

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(LINK_ACTION)(self.on_link)
        bolt.action(NOT_DUPLICATE_ACTION)(self.on_not_duplicate)

    async def on_message(self, event: dict[str, Any]) -> bool:
        return False

    async def on_link(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self._decide(body, action, linked=True)

    async def on_not_duplicate(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self._decide(body, action, linked=False)

    async def _decide(self, body: dict[str, Any], action: dict[str, Any], *, linked: bool) -> None:
        user_id = str(body["user"]["id"])
        decision = await self._duplicates.agent_decides(str(action.get("value", "")), linked, user_id)
        channel_id = (body.get("channel") or {}).get("id")
        if not decision.applied and channel_id:
            with contextlib.suppress(SlackApiError):
                await self._client.chat_postEphemeral(channel=channel_id, user=user_id, text=decision.message)
