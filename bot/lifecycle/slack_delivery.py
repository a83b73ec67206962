"""Outbox kind "case_thread": the lifecycle room's words posted in Slack with the desk's client and error
translation (rate limits and outages wait in the outbox; the case's other desk items keep their order).
Built where the desk's own notifier is built, beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.channels.base import RetryLater
from bot.slack_app import translate_slack_errors
from storage.errors import CaseNotFound
from storage.outbox import OutboxEntry
from storage.sla import TortoiseSlaStore

if TYPE_CHECKING:
    # Types only: slack_sdk and slack_bolt are imported when Slack is on (bot/slack_app.py), not at start-up.
    from slack_sdk.web.async_client import AsyncWebClient


class SlackCaseThreadDelivery:
    """Outbox kind "case_thread"."""

    def __init__(
        self, client: AsyncWebClient, store: TortoiseSlaStore, evidence_url: Callable[[int], str] | None = None
    ) -> None:
        self._client = client
        self._store = store
        self._evidence_url = evidence_url

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
        text = self._with_files(text, entry.payload.get("evidence_ids"))
        blocks = _blocks(text, entry.payload.get("actions"))
        async with translate_slack_errors():
            if blocks is None:
                await self._client.chat_postMessage(channel=case.slack_channel, thread_ts=case.slack_ts, text=text)
            else:
                await self._client.chat_postMessage(
                    channel=case.slack_channel, thread_ts=case.slack_ts, text=text, blocks=blocks
                )

    def _with_files(self, text: str, evidence_ids: object) -> str:
        if not isinstance(evidence_ids, list) or not evidence_ids or self._evidence_url is None:
            return text
        links = " ".join(f"<{self._evidence_url(int(item))}|file {n}>" for n, item in enumerate(evidence_ids, 1))
        return f"{text}\n{links}"


def _blocks(text: str, actions: object) -> list[dict[str, Any]] | None:
    """The text with buttons under it (the lifecycle room's thread questions, e.g. Link / Not a duplicate)."""
    if not isinstance(actions, list) or not actions:
        return None
    buttons = [
        {
            "type": "button",
            "action_id": str(action["action_id"]),
            "text": {"type": "plain_text", "text": str(action["label"])[:75]},
            "value": str(action["value"]),
        }
        for action in actions
        if isinstance(action, dict)
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {"type": "actions", "elements": buttons},
    ]
