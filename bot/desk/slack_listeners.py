"""The agent desk's Slack side: case buttons, the Reclassify and Resolve modals, replies in case threads and
`/plaint`. Each listener converts a payload into a call on the desk service and answers every input: a refusal
or an input that went nowhere is told to the agent (an ephemeral message, or `response_action: errors` in a
modal, which has no channel), in their team's language; a relayed reply and a note get a reaction.
Registered on the shared Slack app (bot/slack_app.py)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.desk.agent_files import AgentFile, AgentFiles, SkippedFile
from bot.desk.blocks import (
    ACKNOWLEDGE_ACTION,
    ASSIGN_TEAM_ACTION,
    ASSIGN_TO_ACTION,
    ASSIGN_TO_ME_ACTION,
    CASE_BLOCK_PREFIX,
    CLOSE_ACTION,
    RECLASSIFY_ACTION,
    RECLASSIFY_VIEW,
    REOPEN_ACTION,
    RESOLVE_ACTION,
    RESOLVE_VIEW,
    reclassify_view,
    resolve_view,
    slack_date,
    status_label,
)
from bot.desk.commands import answer_plaint_command
from bot.desk.lifecycle import CaseAction, CaseStatus
from bot.desk.service import NOTE_PREFIX, DeskOutcome, DeskOutcomeKind, DeskService
from bot.desk.slack_text import customer_text
from bot.desk.vocabulary import desk_says
from storage.cases import CaseDetails


class SlackDeskListeners:
    """A `bot.slack_app.SlackListenerSet` for agents."""

    # Reactions on an agent's thread message: relayed to the customer, or kept as an internal note.
    RELAYED_REACTION = "outbox_tray"
    NOTE_REACTION = "memo"

    def __init__(self, desk: DeskService, client: AsyncWebClient, files: AgentFiles | None = None) -> None:
        self._desk = desk
        self._client = client
        # Fetches agents' file shares for the customer; None: files stay in Slack (the agent is told).
        self._files = files

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(ACKNOWLEDGE_ACTION)(self.on_acknowledge)
        bolt.action(ASSIGN_TO_ME_ACTION)(self.on_assign_to_me)
        bolt.action(ASSIGN_TO_ACTION)(self.on_assign_to)
        bolt.action(ASSIGN_TEAM_ACTION)(self.on_assign_team)
        bolt.action(RECLASSIFY_ACTION)(self.on_open_reclassify)
        bolt.action(RESOLVE_ACTION)(self.on_open_resolve)
        bolt.action(CLOSE_ACTION)(self.on_close)
        bolt.action(REOPEN_ACTION)(self.on_reopen)
        bolt.view(RECLASSIFY_VIEW)(self.on_reclassify_submitted)
        bolt.view(RESOLVE_VIEW)(self.on_resolve_submitted)
        bolt.command("/plaint")(self.on_plaint_command)

    def _channel_language(self, channel_id: str) -> str:
        team = self._desk.routing.team_for_slack_channel(channel_id)
        return team.language if team is not None else "en"

    async def on_message(self, event: dict[str, Any]) -> bool:
        """A person's reply in a case thread; anything else is not the desk's."""
        ts = str(event.get("ts", ""))
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == ts or not event.get("user"):
            return False
        channel_id = str(event.get("channel", ""))
        user_id = str(event["user"])
        lang = self._channel_language(channel_id)
        # Slack's wire text (entities, <url|label>, <@U...>, *bold*) as a customer should read it; a mentioned
        # colleague by their display name, never the internal id.
        raw = str(event.get("text") or "")
        text = customer_text(raw, await self._display_names(_MENTION.findall(raw)[:5]))
        files = [file for file in event.get("files") or [] if isinstance(file, dict)]
        if not text and not files:
            return True
        case = await self._desk.case_by_thread(channel_id, str(thread_ts))
        if case is None:
            return True  # a thread that is no case's: the desk has nothing to say, nothing is downloaded
        if not self._desk.routing.may_see_case(user_id, case.team):
            # Least privilege: only the case's team (and admins) speak to its customer.
            refused = desk_says("not_case_team", lang, number=case.number, team=case.team or "-")
            await self._ephemeral(channel_id, user_id, f":warning: {refused}", str(thread_ts))
            return True
        fetched: list[AgentFile] = []
        skipped: list[SkippedFile] = []
        note = text.strip().lower().startswith(NOTE_PREFIX)
        if files and not note:
            if self._files is None:
                skipped = [SkippedFile(str(file.get("name") or "file"), "unreadable") for file in files]
            else:
                fetched, skipped = await self._files.fetch(files)
        if text or fetched:
            outcome = await self._desk.thread_reply(
                channel_id,
                str(thread_ts),
                text,
                user_id,
                # The message's own (channel, ts) is stable across Slack's retries: the de-duplication key.
                f"message:{channel_id}:{ts}",
                fetched,
            )
            if outcome.kind is DeskOutcomeKind.NOT_FOUND:
                return True  # a thread that is no case's: the desk has nothing to say
            if outcome.kind is DeskOutcomeKind.REFUSED:
                refused = self._refusal_text(outcome, lang, reply=True)
                # The files that did not go either, by name.
                names = " ".join(f"📎 {item}" for item in [*(f.name for f in fetched), *(s.name for s in skipped)])
                await self._ephemeral(channel_id, user_id, f"{refused} {names}".strip(), str(thread_ts))
                return True
            if outcome.kind is DeskOutcomeKind.APPLIED:
                reaction = self.NOTE_REACTION if outcome.action == "note" else self.RELAYED_REACTION
                with contextlib.suppress(SlackApiError):
                    await self._client.reactions_add(channel=channel_id, timestamp=ts, name=reaction)
        # A file that stays in Slack is said so, with why, rather than let the agent believe it was sent.
        for item in skipped:
            reason = desk_says(f"file_{item.reason}", lang)
            await self._ephemeral(
                channel_id, user_id, desk_says("file_not_relayed", lang, name=item.name, reason=reason), str(thread_ts)
            )
        return True

    async def _refuse_outsider(self, body: dict[str, Any], number: str) -> bool:
        """Least privilege: a case is worked only by its team (or an admin named in the routing). True when the
        presser is someone else, who is told so in an ephemeral and nothing changes."""
        user_id = str(body["user"]["id"])
        case = await self._desk.get_case(number)
        if case is None or self._desk.routing.may_see_case(user_id, case.team):
            return False
        channel_id = str((body.get("channel") or {}).get("id", ""))
        lang = self._desk.team_language(case.team)
        text = desk_says("not_case_team", lang, number=case.number, team=case.team or "-")
        if channel_id:
            await self._ephemeral(channel_id, user_id, text)
        return True

    @staticmethod
    def _action_key(body: dict[str, Any], action: dict[str, Any]) -> str:
        return f"action:{body['user']['id']}:{action.get('action_ts', '')}:{action.get('action_id', '')}"

    async def on_acknowledge(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if await self._refuse_outsider(body, str(action["value"])):
            return
        user_id = str(body["user"]["id"])
        outcome = await self._desk.acknowledge(str(action["value"]), user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_assign_to_me(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if await self._refuse_outsider(body, str(action["value"])):
            return
        user_id = str(body["user"]["id"])
        outcome = await self._desk.assign_to(str(action["value"]), user_id, user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_assign_to(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A colleague picked in the case message's users_select: only a member of the case's team can take it."""
        await ack()
        user_id = str(body["user"]["id"])
        number = str(action.get("block_id", "")).removeprefix(CASE_BLOCK_PREFIX)
        agent = str(action.get("selected_user") or "")
        if await self._refuse_outsider(body, number):
            return
        case = await self._desk.get_case(number)
        if case is None or not agent:
            await self._tell_agent(body, DeskOutcome(DeskOutcomeKind.NOT_FOUND, number or "?"))
            return
        team = self._desk.routing.team_for_name(case.team)
        if team is None or agent not in team.members:
            lang = self._desk.team_language(case.team)
            stays = f"<@{case.assignee}>" if case.assignee else desk_says("unassigned", lang)
            text = desk_says("not_a_member", lang, agent=f"<@{agent}>", team=case.team or "-", number=number,
                             assignee=stays)
            await self._ephemeral(str((body.get("channel") or {}).get("id", "")), user_id, text)
            return
        outcome = await self._desk.assign_to(number, agent, user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_assign_team(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Another team picked in the case message's team select: the case moves to that team's channel."""
        await ack()
        number = str(action.get("block_id", "")).removeprefix(CASE_BLOCK_PREFIX)
        if await self._refuse_outsider(body, number):
            return
        selected = action.get("selected_option") or {}
        team = str(selected.get("value") or "") if isinstance(selected, dict) else ""
        outcome = await self._desk.move_to_team(number, team, str(body["user"]["id"]), self._action_key(body, action))
        if outcome.kind is DeskOutcomeKind.INVALID:
            channel_id = str((body.get("channel") or {}).get("id", ""))
            lang = self._desk.team_language(outcome.team)
            text = desk_says("unknown_team", lang, team=team or "-")
            await self._ephemeral(channel_id, str(body["user"]["id"]), text)
            return
        await self._tell_agent(body, outcome)

    async def on_close(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if await self._refuse_outsider(body, str(action["value"])):
            return
        user_id = str(body["user"]["id"])
        outcome = await self._desk.close(str(action["value"]), user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_reopen(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if await self._refuse_outsider(body, str(action["value"])):
            return
        user_id = str(body["user"]["id"])
        outcome = await self._desk.reopen(str(action["value"]), user_id, self._action_key(body, action))
        await self._tell_agent(body, outcome)

    async def on_open_reclassify(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        if await self._refuse_outsider(body, str(action["value"])):
            return
        # A stale button (the case moved on since the message was drawn) is answered, not opened.
        outcome = await self._desk.check(str(action["value"]), CaseAction.RECLASSIFY)
        case = await self._desk.get_case(str(action["value"]))
        if outcome.kind is not DeskOutcomeKind.APPLIED or case is None:
            await self._tell_agent(body, outcome)
            return
        lang = self._desk.team_language(case.team)
        await self._open_modal(client, body, reclassify_view(case, lang, self._desk.vocabulary), lang)

    async def on_open_resolve(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        if await self._refuse_outsider(body, str(action["value"])):
            return
        outcome = await self._desk.check(str(action["value"]), CaseAction.RESOLVE)
        case = await self._desk.get_case(str(action["value"]))
        if outcome.kind is not DeskOutcomeKind.APPLIED or case is None:
            await self._tell_agent(body, outcome)
            return
        lang = self._desk.team_language(case.team)
        await self._open_modal(client, body, resolve_view(case, lang), lang)

    async def _open_modal(self, client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any], lang: str) -> None:
        """Slack refuses a modal whose trigger is older than 3 s (a slow database): the agent is asked to press
        again rather than left looking at nothing."""
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError:
            channel_id = str((body.get("channel") or {}).get("id", ""))
            await self._ephemeral(channel_id, str(body["user"]["id"]), desk_says("modal_failed", lang))

    @staticmethod
    def _input(view: dict[str, Any], block_id: str) -> str:
        value = view.get("state", {}).get("values", {}).get(block_id, {}).get("value", {})
        selected = value.get("selected_option")
        if isinstance(selected, dict):
            return str(selected.get("value") or "")
        return str(value.get("value") or "")

    async def _stale_modal(
        self, ack: AsyncAck, number: str, action: CaseAction, block_id: str, user_id: str = ""
    ) -> bool:
        """A modal submitted after the case moved on (resolved by a colleague meanwhile), or by someone outside
        the case's team, stays open with the reason under its first field; True when it was answered so."""
        case = await self._desk.get_case(number)
        if case is not None and not self._desk.routing.may_see_case(user_id, case.team):
            text = desk_says("not_case_team", self._desk.team_language(case.team), number=case.number,
                             team=case.team or "-")
            await ack(response_action="errors", errors={block_id: text[:150]})
            return True
        outcome = await self._desk.check(number, action)
        if outcome.kind is DeskOutcomeKind.APPLIED:
            return False
        lang = self._desk.team_language(outcome.team)
        names = await self._display_names([outcome.by] if outcome.by else [])
        reason = customer_text(self._refusal_text(outcome, lang), names)
        await ack(response_action="errors", errors={block_id: reason[:150]})
        return True

    async def _display_names(self, user_ids: list[str]) -> dict[str, str]:
        """Display names of Slack users (users.info); an id Slack does not answer for is left out."""
        names: dict[str, str] = {}
        for user_id in dict.fromkeys(user_ids):
            with contextlib.suppress(SlackApiError):
                found = await self._client.users_info(user=user_id)
                user = found.get("user") or {}
                profile = user.get("profile") or {}
                name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                if name:
                    names[user_id] = str(name)
        return names

    async def on_reclassify_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = str(view.get("private_metadata", ""))
        product, category = self._input(view, "product"), self._input(view, "category")
        if await self._stale_modal(ack, number, CaseAction.RECLASSIFY, "product", str(body["user"]["id"])):
            return
        case = await self._desk.get_case(number)
        lang = self._desk.team_language(case.team if case else None)
        if not product.strip() and not category.strip():
            await ack(response_action="errors", errors={"product": desk_says("product_or_category", lang)})
            return
        words = self._desk.vocabulary
        for block_id, value, known in (("product", product, words.products), ("category", category, words.categories)):
            if value.strip() and known and value.strip() not in known:
                await ack(response_action="errors", errors={block_id: desk_says("unknown_choice", lang)})
                return
        await ack()
        outcome = await self._desk.reclassify(number, product, category, str(body["user"]["id"]), f"view:{view['id']}")
        await self._tell_agent(body, outcome)

    async def on_resolve_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = str(view.get("private_metadata", ""))
        summary, code = self._input(view, "summary").strip(), self._input(view, "code")
        if await self._stale_modal(ack, number, CaseAction.RESOLVE, "summary", str(body["user"]["id"])):
            return
        if not summary:
            case = await self._desk.get_case(number)
            lang = self._desk.team_language(case.team if case else None)
            await ack(response_action="errors", errors={"summary": desk_says("summary_needed", lang)})
            return
        await ack()
        outcome = await self._desk.resolve(
            number, summary, code or "other", str(body["user"]["id"]), f"view:{view['id']}"
        )
        await self._tell_agent(body, outcome)

    async def on_plaint_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        # A short read: answered in the acknowledgement itself, shown only to the agent who asked.
        lang = self._channel_language(str(command.get("channel_id", "")))
        if not command.get("user_id"):
            # Slack always names the agent; a signed request without one is answered, not a 500 (found by the fuzz).
            await ack(text="?", response_type="ephemeral")
            return
        answer = await answer_plaint_command(
            self._desk, str(command.get("text", "")), str(command["user_id"]), self._permalink, lang
        )
        if answer.blocks:
            await ack(text=answer.text, blocks=answer.blocks, response_type="ephemeral")
        else:
            await ack(text=answer.text, response_type="ephemeral")

    async def _permalink(self, case: CaseDetails) -> str | None:
        if not case.slack_channel or not case.slack_ts:
            return None
        with contextlib.suppress(SlackApiError):
            found = await self._client.chat_getPermalink(channel=case.slack_channel, message_ts=case.slack_ts)
            return str(found.get("permalink") or "") or None
        return None

    def _refusal_text(self, outcome: DeskOutcome, lang: str, reply: bool = False) -> str:
        number = outcome.case_number or "?"
        if outcome.kind is DeskOutcomeKind.NOT_FOUND:
            return desk_says("not_found", lang, number=number)
        if outcome.kind is DeskOutcomeKind.INVALID:
            return desk_says("unknown_choice", lang)
        status = status_label(outcome.status or "", lang)
        by = (
            desk_says("refused_by", lang, actor=_person(outcome.by), when=slack_date(outcome.at))
            if outcome.by and outcome.at
            else ""
        )
        hint = ""
        if outcome.status in (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value) and outcome.action != "reopen":
            hint = desk_says("hint_reopen", lang)
        if reply:
            return desk_says("reply_refused", lang, number=number, status=status, by=by, hint=hint)
        action = desk_says(f"action_{outcome.action}", lang) if outcome.action else "?"
        return desk_says("refused", lang, number=number, status=status, by=by, action=action, hint=hint)

    async def _tell_agent(self, body: dict[str, Any], outcome: DeskOutcome) -> None:
        if outcome.kind not in (DeskOutcomeKind.REFUSED, DeskOutcomeKind.NOT_FOUND, DeskOutcomeKind.INVALID):
            return
        channel_id = (body.get("channel") or {}).get("id")
        if channel_id:
            lang = self._desk.team_language(outcome.team) if outcome.team else self._channel_language(str(channel_id))
            await self._ephemeral(str(channel_id), str(body["user"]["id"]), self._refusal_text(outcome, lang))

    async def _ephemeral(self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None) -> None:
        with contextlib.suppress(SlackApiError):
            if thread_ts:
                await self._client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, thread_ts=thread_ts)
            else:
                await self._client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)


def _person(user_id: str) -> str:
    return f"<@{user_id}>" if user_id[:1] in {"U", "W"} and user_id.isalnum() else user_id


_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>")
