"""`/plaint`, refusals shown only to the agent, and assignment that waits for capacity."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bot.desk.blocks import ACKNOWLEDGE_ACTION, ASSIGN_TO_ME_ACTION
from storage.models import AuditEntry
from tests.integration.slack.harness import (
    AGENT_ONE,
    AGENT_THREE,
    AGENT_TWO,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually


async def plaint_command(plaint: SlackHarness, text: str, user: str) -> str:
    response = await plaint.post(plaint.signer.command("/plaint", text, user, WEB_TEAM_CHANNEL))
    assert response.status == 200
    body = await response.json()
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


async def test_plaint_case_mine_and_open(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    await plaint.wait_for_case(number, lambda case: case.assignee == AGENT_ONE, "assigned")

    answer = await plaint_command(plaint, f"case {number.lower()}", AGENT_TWO)
    assert number in answer and "leaking" in answer and f"<@{AGENT_ONE}>" in answer
    assert "No case" in await plaint_command(plaint, "case PL-NOPE00", AGENT_TWO)
    assert number in await plaint_command(plaint, "mine", AGENT_ONE)
    assert "no open cases" in await plaint_command(plaint, "mine", AGENT_TWO)
    assert number in await plaint_command(plaint, "open", AGENT_TWO)
    assert "Usage" in await plaint_command(plaint, "", AGENT_TWO)


async def plaint_blocks(plaint: SlackHarness, text: str, user: str) -> list[dict[str, Any]]:
    response = await plaint.post(plaint.signer.command("/plaint", text, user, WEB_TEAM_CHANNEL))
    assert response.status == 200
    body = await response.json()
    assert body["response_type"] == "ephemeral"
    blocks = body.get("blocks") or []
    assert isinstance(blocks, list)
    return blocks


async def test_plaint_works_a_queue_with_permalinks_filters_buttons_and_an_audited_reveal(
    start_plaint: HarnessFactory,
) -> None:
    plaint = await start_plaint(max_open=1)
    first = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    second = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    third = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    await plaint.wait_for_case(third, lambda case: case.slack_ts is not None and case.team == "webdesk", "posted")
    await plaint.wait_for_case(second, lambda case: case.assignee == AGENT_TWO, "assigned")

    blocks = await plaint_blocks(plaint, "open", AGENT_ONE)
    shown = json.dumps(blocks)
    # Oldest first, each number a permalink to its case message, with age and buttons.
    assert shown.index(first) < shown.index(second) < shown.index(third)
    third_case = await plaint.case(third)
    assert third_case.slack_ts is not None
    link = f"https://plaint-test.slack.com/archives/{WEB_TEAM_CHANNEL}/p{third_case.slack_ts.replace('.', '')}"
    assert f"<{link}|{third}>" in shown
    assert " min" in shown and "_unassigned_" in shown
    buttons = [element for block in blocks if block["type"] == "actions" for element in block["elements"]]
    assert {(button["action_id"], button["value"]) for button in buttons} >= {
        (ACKNOWLEDGE_ACTION, third),
        (ASSIGN_TO_ME_ACTION, third),
    }

    unassigned = json.dumps(await plaint_blocks(plaint, "open unassigned", AGENT_ONE))
    assert third in unassigned and first not in unassigned and second not in unassigned
    assert first in json.dumps(await plaint_blocks(plaint, "open team webdesk", AGENT_ONE))
    assert "No open cases of general" in await plaint_command(plaint, "open team general", AGENT_THREE)
    mine = json.dumps(await plaint_blocks(plaint, "open mine", AGENT_TWO))
    assert second in mine and first not in mine

    # The full contact, to an agent of the owning team only, each time audited.
    refused = await plaint_command(plaint, f"reveal {first}", AGENT_THREE)
    assert "Only agents of team webdesk" in refused and "7946" not in refused
    revealed = await plaint_command(plaint, f"reveal {first.lower()}", AGENT_ONE)
    assert "Phone: +442079460958" in revealed and "Ada Lovelace" in revealed and "audit log" in revealed
    events = [(event.kind, event.actor) for event in (await plaint.case(first)).events]
    assert events.count(("contact_revealed", AGENT_ONE)) == 1 and ("contact_revealed", AGENT_THREE) not in events
    [audit] = await AuditEntry.filter(action="case.contact_revealed")
    assert (audit.actor, audit.object_id, audit.via) == (f"slack:{AGENT_ONE}", first, "slack")
    assert "7946" not in json.dumps([audit.before, audit.after, audit.changes])


async def test_a_refused_action_is_explained_to_the_agent_only(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    await posted_case_message(plaint, number)
    for _ in range(2):  # two separate clicks, not a retry
        response = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, "1.0", ACKNOWLEDGE_ACTION, number))
        assert response.status == 200

    async def told() -> bool:
        return bool(plaint.api.calls_to("chat.postEphemeral", WEB_TEAM_CHANNEL))

    await eventually(told, what="ephemeral refusal")
    notice = plaint.api.calls_to("chat.postEphemeral", WEB_TEAM_CHANNEL)[0].params
    assert notice["user"] == AGENT_TWO
    # What happened, who did it and when (a date each agent reads in their own time zone).
    assert f"Case {number} is :eyes: Acknowledged (by <@{AGENT_TWO}>, <!date^" in notice["text"]
    assert "you cannot acknowledge it now" in notice["text"]
    events = [event.kind for event in (await plaint.case(number)).events]
    assert events.count("acknowledge") == 1


async def test_cases_wait_unassigned_until_an_agent_has_room(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint(max_open=1)
    first = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    second = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    third = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    await plaint.wait_for_case(first, lambda case: case.assignee == AGENT_ONE, "first to agent one")
    await plaint.wait_for_case(second, lambda case: case.assignee == AGENT_TWO, "second to agent two")
    waiting = await plaint.wait_for_case(third, lambda case: case.team == "webdesk", "third routed")
    assert waiting.assignee is None
    message = await posted_case_message(plaint, third)
    assert "_unassigned_" in str(message.params["blocks"])

    # Agent one resolves their case: the waiting one is theirs now, and its Slack message says so.
    response = await plaint.post(
        plaint.resolve_submission(AGENT_ONE, first, "Refunded in full.", "refunded")
    )
    assert response.status == 200
    await plaint.wait_for_case(third, lambda case: case.assignee == AGENT_ONE, "picked up when capacity freed")

    async def updated() -> bool:
        return any(
            third in str(call.params.get("text")) and f"<@{AGENT_ONE}>" in str(call.params.get("blocks"))
            for call in plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL)
        )

    await eventually(updated, what="the waiting case's message shows its new assignee")


async def test_resolve_needs_a_summary(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    response = await plaint.post(
        plaint.resolve_submission(AGENT_ONE, number, "  ", "refunded")
    )
    assert response.status == 200
    body = await response.json()
    assert body["response_action"] == "errors" and "summary" in body["errors"]
    assert (await plaint.case(number)).status == "new"
