"""`/plaint` for agents, answered only to the agent who asked, as Block Kit with a plain-text fallback:
`case NUMBER`, `mine`, `open [unassigned|team NAME|mine]` (SLA breached first, then nearest due, then oldest;
only the asking agent's teams unless they are an admin named in the routing; each case with its permalink, age,
status, assignee and buttons) and `reveal NUMBER` (the unmasked contact, for an agent of the owning team, audited)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.desk.blocks import ACKNOWLEDGE_ACTION, ASSIGN_TO_ME_ACTION, Block, case_line, escape_mrkdwn
from bot.desk.lifecycle import CaseAction, allowed_actions
from bot.desk.service import DeskService, RevealRefused
from bot.desk.vocabulary import desk_says, plural_age
from storage.cases import CaseDetails
from storage.desk import QueueFilter

USAGE = (
    "Usage: `/plaint case NUMBER` · `/plaint mine` · `/plaint open [unassigned|team NAME|mine]` · "
    "`/plaint reveal NUMBER`"
)
# The most cases one answer lists (Slack allows 50 blocks per message: a line and a button row each).
MAX_LISTED = 20

# A case's Slack permalink (chat.getPermalink), None when Slack cannot give one.
Permalink = Callable[[CaseDetails], Awaitable[str | None]]


@dataclass(frozen=True)
class PlaintAnswer:
    text: str
    blocks: list[Block] = field(default_factory=list)


async def answer_plaint_command(
    desk: DeskService, text: str, user_id: str, permalink: Permalink | None = None, lang: str = "en"
) -> PlaintAnswer:
    routing = desk.routing
    # Least privilege: only the desk's agents (and the routing's admins) are answered at all.
    if not routing.may_use_desk(user_id):
        return PlaintAnswer(desk_says("not_desk_member", lang))
    words = text.split()
    if not words:
        return PlaintAnswer(USAGE)
    verb, rest = words[0].lower(), words[1:]
    if verb == "case" and len(rest) == 1:
        case = await desk.get_case(rest[0])
        if case is None:
            return PlaintAnswer(f"No case {escape_mrkdwn(rest[0])}.")
        if not routing.may_see_case(user_id, case.team):
            return PlaintAnswer(desk_says("not_case_team", lang, number=case.number,
                                          team=escape_mrkdwn(case.team or "-")))
        listed = await _listing([case], permalink, lang, desk)
        quote = f">{escape_mrkdwn((case.description or '-')[:300])}"
        return PlaintAnswer(listed.text + "\n" + quote, [*listed.blocks, _section(quote)])
    if verb == "reveal" and len(rest) == 1:
        return await _reveal(desk, rest[0], user_id, lang)
    if verb == "mine" and not rest:
        verb, rest = "open", ["mine"]
    if verb == "open":
        selection = _select(desk, rest, user_id, lang)
        if selection is None:
            return PlaintAnswer(USAGE)
        if isinstance(selection, PlaintAnswer):
            return selection
        title, select = selection
        cases = await desk.queue(select, MAX_LISTED)
        if not cases:
            return PlaintAnswer("You have no open cases." if rest == ["mine"] else f"No {title.lower()}.")
        listed = await _listing(cases, permalink, lang, desk)
        heading = f"*{title}* ({len(cases)}, SLA breached first, then nearest due, then oldest)"
        return PlaintAnswer(heading + "\n" + listed.text, [_section(heading), *listed.blocks])
    return PlaintAnswer(USAGE)


def _select(
    desk: DeskService, rest: Sequence[str], user_id: str, lang: str
) -> tuple[str, QueueFilter] | PlaintAnswer | None:
    """The queue asked for, filtered in the database; an agent sees their own teams' cases, an admin all."""
    routing = desk.routing
    own = None if routing.is_admin(user_id) else routing.teams_of(user_id)
    if not rest:
        return "Open cases", QueueFilter(teams=own)
    which = rest[0].lower()
    if which == "mine" and len(rest) == 1:
        return "Your open cases", QueueFilter(assignee=user_id)
    if which == "unassigned" and len(rest) == 1:
        return "Unassigned open cases", QueueFilter(unassigned=True, teams=own)
    if which == "team" and len(rest) == 2:
        team = next((team.name for team in routing.teams if team.name.lower() == rest[1].lower()), rest[1])
        if own is not None and team not in own:
            return PlaintAnswer(desk_says("not_your_team", lang, team=escape_mrkdwn(team)))
        return f"Open cases of {escape_mrkdwn(team)}", QueueFilter(teams=(team,))
    return None


async def _listing(cases: list[CaseDetails], permalink: Permalink | None, lang: str, desk: DeskService) -> PlaintAnswer:
    links: list[str | None] = (
        list(await asyncio.gather(*(permalink(case) for case in cases))) if permalink else [None] * len(cases)
    )
    now = datetime.now(UTC)
    lines: list[str] = []
    blocks: list[Block] = []
    for case, link in zip(cases, links, strict=True):
        line = case_line(case, lang, desk.vocabulary)
        if link:
            line = line.replace(f"*{case.number}*", f"*<{link}|{case.number}>*", 1)
        line += f" · {plural_age((now - case.created_at).total_seconds(), lang)}"
        lines.append(line)
        blocks.append(_section(line))
        buttons = _buttons(case, lang)
        if buttons:
            blocks.append({"type": "actions", "block_id": f"plaint:{case.number}", "elements": buttons})
    return PlaintAnswer("\n".join(lines), blocks)


def _buttons(case: CaseDetails, lang: str) -> list[Block]:
    actions = allowed_actions(case.status)
    buttons: list[Block] = []
    for action, key, action_id in (
        (CaseAction.ACKNOWLEDGE, "button_acknowledge", ACKNOWLEDGE_ACTION),
        (CaseAction.ASSIGN, "button_assign_to_me", ASSIGN_TO_ME_ACTION),
    ):
        if action in actions:
            buttons.append({
                "type": "button",
                "text": {"type": "plain_text", "text": desk_says(key, lang)},
                "action_id": action_id,
                "value": case.number,
            })
    return buttons


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


async def _reveal(desk: DeskService, number: str, user_id: str, lang: str) -> PlaintAnswer:
    try:
        contact = await desk.reveal_contact(number, user_id)
    except RevealRefused as refused:
        return PlaintAnswer(desk_says(f"reveal_{refused.reason}", lang, number=escape_mrkdwn(number.upper()),
                                      team=escape_mrkdwn(refused.team or "-")))
    parts = [
        f"{desk_says(label, lang)}: {escape_mrkdwn(value)}"
        for label, value in (("name", contact.name), ("phone", contact.phone), ("email", contact.email))
        if value
    ]
    text = desk_says("reveal_shown", lang, number=contact.number) + "\n" + "\n".join(parts or ["-"])
    return PlaintAnswer(text, [_section(text)])
