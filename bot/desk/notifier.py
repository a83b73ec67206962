"""Outbox kind "desk": keeps the team channel telling the truth. On any desk event the case is routed and
assigned if it is not yet, posted once (its ts stored on the case) and afterwards updated in place, in the
team's language; an agent's action adds one line to the case thread, a customer's follow-up goes into the
thread, and a message that never reached the customer is told there. Slack being down or rate-limited raises
RetryLater, so the item waits in the outbox and the ones behind it (same case) keep their order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.delivery import PermanentDeliveryError
from bot.desk.blocks import case_blocks, case_text, escape_mrkdwn
from bot.desk.events import (
    CaseChanged,
    CaseMoved,
    CustomerMessage,
    DeliveryFailed,
    UnknownDeskEvent,
    desk_event_from_payload,
)
from bot.desk.service import DeskService
from bot.desk.thread_lines import delivery_failed_line, moved_line, thread_line
from bot.desk.vocabulary import desk_says
from bot.slack_app import translate_slack_errors
from storage.desk import TortoiseDeskStore
from storage.outbox import OutboxEntry

if TYPE_CHECKING:
    # Types only: slack_sdk and slack_bolt are imported when Slack is on (bot/slack_app.py), not at start-up.
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class SlackDeskNotifier:
    def __init__(
        self, client: AsyncWebClient, desk: DeskService, store: TortoiseDeskStore, evidence_url: Callable[[int], str]
    ) -> None:
        self._client = client
        self._desk = desk
        self._store = store
        self._evidence_url = evidence_url

    async def handle(self, entry: OutboxEntry) -> None:
        try:
            event = desk_event_from_payload(entry.payload)
        except UnknownDeskEvent as error:
            raise PermanentDeliveryError(str(error)) from error
        case = await self._desk.route_and_assign(event.case_number)
        if case is None or case.team is None:
            log.warning("desk event %s for unknown case %r dropped", event.name, event.case_number)
            return
        lang = self._desk.team_language(case.team)
        vocabulary = self._desk.vocabulary
        teams = [team.name for team in self._desk.routing.teams]
        if isinstance(event, CaseMoved):
            # The old thread hears where the case went (and its previous assignee that it left them).
            old_lang = self._desk.team_language(event.from_team)
            async with translate_slack_errors():
                await self._client.chat_postMessage(
                    channel=event.old_channel, thread_ts=event.old_ts, text=moved_line(event, old_lang)
                )
        blocks = case_blocks(case, self._evidence_url, lang=lang, vocabulary=vocabulary, teams=teams)
        text = case_text(case, lang, vocabulary)
        if case.slack_ts is None or case.slack_channel is None:
            routing = self._desk.routing
            # A team an admin removed since the case was routed: its default team's channel gets the case.
            channel = (routing.team(case.team) if case.team in {t.name for t in routing.teams}
                       else routing.team(routing.default_team)).slack_channel
            async with translate_slack_errors():
                posted = await self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            ts = str(posted["ts"])
            await self._store.set_slack_message(case.number, str(posted.get("channel") or channel), ts)
            thread = (str(posted.get("channel") or channel), ts)
        else:
            async with translate_slack_errors():
                await self._client.chat_update(channel=case.slack_channel, ts=case.slack_ts, text=text, blocks=blocks)
            thread = (case.slack_channel, case.slack_ts)
        line: str | None = None
        if isinstance(event, CustomerMessage):
            said = escape_mrkdwn(event.text)
            # Files sent after filing: signed links, made now (the outbox may have waited).
            files = " ".join(f"<{self._evidence_url(item)}|{desk_says('file', lang, n=n)}>"
                             for n, item in enumerate(event.evidence_ids, 1))
            line = desk_says("customer_said", lang, text=f"{said} {files}".strip())
        elif isinstance(event, CaseChanged):
            line = thread_line(event, lang, vocabulary)
        elif isinstance(event, DeliveryFailed):
            line = delivery_failed_line(event, lang)
        elif isinstance(event, CaseMoved):
            line = thread_line(CaseChanged(case.number, "moved", event.actor, (("from", event.from_team),)), lang,
                               vocabulary)
        if line:
            async with translate_slack_errors():
                await self._client.chat_postMessage(channel=thread[0], thread_ts=thread[1], text=line)
