"""Issue 17, least privilege in Slack: `/plaint` answers only the desk's agents and the routing's admins; a
case's details, its buttons and its modals only the team that owns it. Signed requests, as Slack sends them."""

from __future__ import annotations

import json
import uuid

from bot.desk.blocks import ACKNOWLEDGE_ACTION, RESOLVE_ACTION
from tests.integration.slack.harness import (
    AGENT_ONE,
    AGENT_THREE,
    DESK_ADMIN,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    file_web_case,
    posted_case_message,
)
from tests.integration.slack.test_desk_commands import plaint_blocks, plaint_command
from tests.waiting import eventually

STRANGER = "USTRANGER9"


async def test_plaint_answers_only_the_desk_and_case_details_only_the_owning_team(
    start_plaint: HarnessFactory,
) -> None:
    plaint = await start_plaint()
    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    await plaint.wait_for_case(number, lambda case: case.team == "webdesk" and case.slack_ts is not None, "posted")

    # A workspace member in no team: nothing about any case, whatever they ask.
    for text in ("open", "mine", f"case {number}", "open unassigned", f"reveal {number}", ""):
        answer = await plaint_command(plaint, text, STRANGER)
        assert "answers agents of the desk's teams only" in answer and number not in answer

    # An agent of another team (general): told whose case it is, never its details or its queue.
    answer = await plaint_command(plaint, f"case {number}", AGENT_THREE)
    assert f"Case {number} belongs to team webdesk" in answer and "leaking" not in answer
    assert number not in json.dumps(await plaint_blocks(plaint, "open", AGENT_THREE))
    assert number not in json.dumps(await plaint_blocks(plaint, "open unassigned", AGENT_THREE))
    refused = await plaint_command(plaint, "open team webdesk", AGENT_THREE)
    assert "not an agent of team webdesk" in refused and number not in refused

    # The owning team and an admin named in the routing see it.
    assert "leaking" in await plaint_command(plaint, f"case {number}", AGENT_ONE)
    assert "leaking" in await plaint_command(plaint, f"case {number}", DESK_ADMIN)
    assert number in json.dumps(await plaint_blocks(plaint, "open team webdesk", DESK_ADMIN))


async def _refusals_to(plaint: SlackHarness, user: str) -> list[str]:
    return [
        str(call.params["text"])
        for call in plaint.api.calls_to("chat.postEphemeral", WEB_TEAM_CHANNEL)
        if call.params.get("user") == user
    ]


async def test_buttons_and_modals_work_only_for_the_owning_team(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    message = await posted_case_message(plaint, number)
    ts = str(message.params.get("ts") or "1.0")

    for action in (ACKNOWLEDGE_ACTION, RESOLVE_ACTION):
        response = await plaint.post(plaint.button(AGENT_THREE, WEB_TEAM_CHANNEL, ts, action, number))
        assert response.status == 200

    async def told_twice() -> bool:
        return len(await _refusals_to(plaint, AGENT_THREE)) >= 2

    await eventually(told_twice, what="both presses refused to the outsider")
    assert all(f"Case {number} belongs to team webdesk" in text for text in await _refusals_to(plaint, AGENT_THREE))
    assert not plaint.api.calls_to("views.open")

    # A Resolve modal submitted by an outsider (e.g. a copied payload) stays open with the reason.
    response = await plaint.post(plaint.resolve_submission(AGENT_THREE, number, "Refunded.", "refunded"))
    body = await response.json()
    assert body["response_action"] == "errors" and "belongs to team webdesk" in body["errors"]["summary"]

    case = await plaint.case(number)
    assert case.status == "new"
    assert not any(event.actor == AGENT_THREE for event in case.events)

    # The owning team's agent is not stopped.
    response = await plaint.post(plaint.button(AGENT_ONE, WEB_TEAM_CHANNEL, ts, ACKNOWLEDGE_ACTION, number))
    assert response.status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "acknowledged", "acknowledged by its team")


async def test_only_the_owning_team_writes_to_the_customer(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)
    case = await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")
    assert case.slack_ts is not None

    event, event_id = plaint.thread_message(AGENT_THREE, WEB_TEAM_CHANNEL, case.slack_ts, "I am not on this team.")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200

    async def told() -> bool:
        return any("belongs to team webdesk" in text for text in await _refusals_to(plaint, AGENT_THREE))

    await eventually(told, what="the outsider told")
    await plaint.outbox_drained()
    assert not any("not on this team" in str(m["text"]) for m in await plaint.web_transcript(session))
    assert (await plaint.case(number)).status == "new"
