"""Assign to another team: the case message offers the other teams; picking one moves the case to that team's
channel (a new case message there, a line in the old thread naming the previous assignee), audited; the old team
can no longer work it."""

from __future__ import annotations

import uuid

from bot.desk.blocks import ACKNOWLEDGE_ACTION, ASSIGN_TEAM_ACTION
from storage.models import AuditEntry
from tests.integration.slack.harness import (
    AGENT_ONE,
    AGENT_THREE,
    AGENT_TWO,
    DEFAULT_TEAM_CHANNEL,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually


async def test_a_case_moves_to_another_team(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    message = await posted_case_message(plaint, number)
    case = await plaint.wait_for_case(number, lambda case: case.assignee == AGENT_ONE and case.slack_ts, "assigned")
    old_ts = case.slack_ts
    assert old_ts is not None
    [select] = [element for block in message.params["blocks"] if block["type"] == "actions"
                for element in block["elements"] if element["action_id"] == ASSIGN_TEAM_ACTION]
    assert {option["value"] for option in select["options"]} == {"general", "china"}

    pick = {"type": "static_select", "action_id": ASSIGN_TEAM_ACTION, "block_id": f"case:{number}",
            "selected_option": {"value": "general", "text": {"type": "plain_text", "text": "general"}}}
    assert (await plaint.post(plaint.block_action(AGENT_TWO, WEB_TEAM_CHANNEL, old_ts, pick))).status == 200

    moved = await plaint.wait_for_case(
        number, lambda case: case.team == "general" and case.slack_channel == DEFAULT_TEAM_CHANNEL, "moved"
    )
    assert moved.assignee == AGENT_THREE  # the new team's round-robin
    # The old thread says where it went and tells the previous assignee.
    old_lines = [str(call.params["text"]) for call in plaint.api.calls_to("chat.postMessage", WEB_TEAM_CHANNEL)
                 if call.params.get("thread_ts") == old_ts]
    [line] = [text for text in old_lines if "moved this case to team general" in text]
    assert f"<@{AGENT_TWO}> moved" in line and f"<@{AGENT_ONE}>, it is no longer assigned to you" in line

    # A new case message in the new team's channel, with a line saying where it came from.
    async def new_thread_line() -> bool:
        return any(
            "Moved here from team webdesk" in str(call.params["text"])
            and call.params.get("thread_ts") == moved.slack_ts
            for call in plaint.api.calls_to("chat.postMessage", DEFAULT_TEAM_CHANNEL)
        )

    await eventually(new_thread_line, what="the line in the new thread")
    assert any(number in str(call.params["text"]) and not call.params.get("thread_ts")
               for call in plaint.api.calls_to("chat.postMessage", DEFAULT_TEAM_CHANNEL))

    [audit] = await AuditEntry.filter(action="case.team_changed", object_id=number)
    assert (audit.actor, audit.before["team"], audit.after["team"]) == (f"slack:{AGENT_TWO}", "webdesk", "general")
    assert [event.kind for event in moved.events].count("team_changed") == 1

    # The old team's buttons no longer work the case.
    press = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, old_ts, ACKNOWLEDGE_ACTION, number)
    assert (await plaint.post(press)).status == 200

    async def refused() -> bool:
        return any("belongs to team general" in str(call.params["text"])
                   for call in plaint.api.calls_to("chat.postEphemeral", WEB_TEAM_CHANNEL))

    await eventually(refused, what="the old team refused")
    assert (await plaint.case(number)).status == "new"
