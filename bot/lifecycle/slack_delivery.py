"""Outbox kind "case_thread": the lifecycle room's words posted in Slack with the desk's client and error
translation (rate limits and outages wait in the outbox; the case's other desk items keep their order).
Built where the desk's own notifier is built, beside it."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import RetryLater
from bot.slack_app import translate_slack_errors
from storage.errors import CaseNotFound
from storage.outbox import OutboxEntry
from storage.sla import TortoiseSlaStore


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
