"""Posting into a case's Slack thread (and an escalation channel) from the lifecycle room.

The port `CaseThreadNotifier` is what the SLA service calls, inside its transaction; `OutboxCaseThreadNotifier`
writes an outbox row (the outbox's one way in) keyed like the desk's own items for the case, so a warning never
overtakes the case message it answers. `SlackCaseThreadDelivery` is the outbox handler that posts it with the
desk's Slack client and error translation."""

from __future__ import annotations

from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import RetryLater
from bot.channels.slack import translate_slack_errors
from storage.errors import CaseNotFound
from storage.outbox import OutboxEntry, add_outbox_item
from storage.sla import TortoiseSlaStore

OUTBOX_KIND = "case_thread"


class CaseThreadNotifier(Protocol):
    async def post_in_thread(self, case_number: str, text: str) -> None:
        """Say `text` in the case's thread (queued in the caller's transaction)."""

    async def post_in_channel(self, case_number: str, slack_channel: str, text: str) -> None:
        """Say `text` in another channel (an escalation channel), about the case."""

    async def case_changed(self, case_number: str) -> None:
        """Ask the desk to re-render the case message (after a reassignment)."""


class OutboxCaseThreadNotifier:
    async def post_in_thread(self, case_number: str, text: str) -> None:
        await add_outbox_item(
            kind=OUTBOX_KIND,
            channel="slack",
            ordering_key=f"desk:{case_number}",
            payload={"case_number": case_number, "text": text},
        )

    async def post_in_channel(self, case_number: str, slack_channel: str, text: str) -> None:
        await add_outbox_item(
            kind=OUTBOX_KIND,
            channel="slack",
            ordering_key=f"desk:{case_number}",
            payload={"case_number": case_number, "text": text, "slack_channel": slack_channel},
        )

    async def case_changed(self, case_number: str) -> None:
        await add_outbox_item(
            kind="desk",
            channel="slack",
            ordering_key=f"desk:{case_number}",
            payload={"event": "case_changed", "case_number": case_number},
        )


class SlackCaseThreadDelivery:
    """Outbox kind "case_thread"."""

    def __init__(self, client: AsyncWebClient, store: TortoiseSlaStore) -> None:
        self._client = client
        self._store = store

    async def handle(self, entry: OutboxEntry) -> None:
        number = str(entry.payload.get("case_number", ""))
        text = str(entry.payload.get("text", ""))
        target = entry.payload.get("slack_channel")
        if target is not None:
            async with translate_slack_errors():
                await self._client.chat_postMessage(channel=str(target), text=text)
            return
        try:
            case = await self._store.case(number)
        except CaseNotFound:
            return
        if case.slack_channel is None or case.slack_ts is None:
            # The desk has not posted the case yet (Slack was down): the thread will exist soon.
            raise RetryLater(f"case {number} has no Slack thread yet", retry_after=30)
        async with translate_slack_errors():
            await self._client.chat_postMessage(channel=case.slack_channel, thread_ts=case.slack_ts, text=text)
