"""Slack's delivery guarantees: forged requests are refused, retries change nothing twice, and desk
notifications survive the Slack API being down or rate-limited."""

from __future__ import annotations

import time
import uuid

from bot.desk.blocks import ACKNOWLEDGE_ACTION, RECLASSIFY_ACTION, RECLASSIFY_VIEW
from storage.models import Case, CaseEvent, OutboxItem
from tests.fakes.slack_api import SlackRequestSigner
from tests.integration.slack.harness import (
    AGENT_TWO,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually


async def filed_and_posted(plaint: SlackHarness) -> tuple[str, str, str]:
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)
    await posted_case_message(plaint, number)
    row = await plaint.wait_for_case(number, lambda case: True, "case")
    case = await Case.get(number=row.number)
    assert case.slack_ts is not None
    return session, number, case.slack_ts


async def test_forged_or_stale_requests_are_refused_and_change_nothing(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    _, number, ts = await filed_and_posted(plaint)
    events_before = await CaseEvent.filter(case__number=number).count()
    calls_before = len(plaint.api.calls)

    forged = SlackRequestSigner("not-the-signing-secret").interaction(
        {
            "type": "block_actions",
            "user": {"id": AGENT_TWO},
            "actions": [{"action_id": ACKNOWLEDGE_ACTION, "value": number, "action_ts": "1.0"}],
        }
    )
    assert (await plaint.post(forged)).status == 401

    genuine = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, ts, ACKNOWLEDGE_ACTION, number)
    tampered_body = genuine.body.replace(b"desk_acknowledge", b"desk_resolve")
    response = await plaint.client.post("/slack/events", data=tampered_body, headers=genuine.headers)
    assert response.status == 401

    stale = plaint.signer.sign(genuine.body, genuine.headers["Content-Type"], timestamp=int(time.time()) - 3600)
    assert (await plaint.post(stale)).status == 401

    unsigned = await plaint.client.post(
        "/slack/events", data=genuine.body, headers={"Content-Type": genuine.headers["Content-Type"]}
    )
    assert unsigned.status == 401

    case = await plaint.case(number)
    assert case.status == "new"
    assert await CaseEvent.filter(case__number=number).count() == events_before
    # Refused requests never reach the Slack API either.
    assert len(plaint.api.calls) == calls_before


async def test_retried_events_and_actions_have_one_effect(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session, number, ts = await filed_and_posted(plaint)

    # The same button payload twice (a double click delivered twice, or a proxy retry): one acknowledgement,
    # and the repeat is not refused as "already acknowledged" either.
    button = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, ts, ACKNOWLEDGE_ACTION, number)
    assert (await plaint.post(button)).status == 200
    assert (await plaint.post(button)).status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "acknowledged", "acknowledged")

    # Slack retries an event it thinks timed out, with X-Slack-Retry-Num and the same event.
    event, event_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, ts, "Could you send a photo of the label?")
    for retry in (None, 1, 2):
        response = await plaint.post(plaint.signer.event(event, event_id, retry_num=retry))
        assert response.status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "waiting_for_customer", "agent reply applied")

    async def outbox_drained() -> bool:
        return await OutboxItem.filter(status__in=("pending", "sending")).count() == 0

    await eventually(outbox_drained, what="everything delivered")
    transcript = await plaint.web_transcript(session)
    assert sum("photo of the label" in message["text"] for message in transcript) == 1
    kinds = [event.kind for event in (await plaint.case(number)).events]
    assert kinds.count("acknowledge") == 1
    assert kinds.count("agent_reply") == 1
    assert not plaint.api.calls_to("chat.postEphemeral")
    relays = [
        item
        for item in await OutboxItem.filter(kind="message", channel="web")
        if item.payload.get("kind") == "agent_reply"
    ]
    assert len(relays) == 1


async def test_notifications_wait_out_500_and_429_and_arrive_once_in_order(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    plaint.api.fail_next(2, status=500)
    plaint.api.fail_next(1, status=429, retry_after=1)
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)

    # While Slack is failing, an agent acknowledges (say from /plaint): its update queues behind the post.
    await plaint.wait_for_case(number, lambda case: case.team == "webdesk", "routed despite Slack failing")
    outcome = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, "0", ACKNOWLEDGE_ACTION, number))
    assert outcome.status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "acknowledged", "acknowledged")

    async def all_sent() -> bool:
        return await OutboxItem.filter(kind="desk", status__in=("pending", "sending")).count() == 0

    await eventually(all_sent, within=15, what="desk notifications delivered after the outage")
    failures = [call.status for call in plaint.api.calls if call.status != 200]
    assert failures == [500, 500, 429]
    posts = [
        call for call in plaint.api.calls_to("chat.postMessage", WEB_TEAM_CHANNEL) if not call.params.get("thread_ts")
    ]
    assert len(posts) == 1
    updates = plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL)
    assert len(updates) == 1
    # In order: the case was posted before its update, and the update shows the latest truth.
    assert plaint.api.calls.index(posts[0]) < plaint.api.calls.index(updates[0])
    assert "Acknowledged" in str(updates[0].params["blocks"])
    assert await OutboxItem.filter(kind="desk", status="dead").count() == 0


async def test_slack_gets_its_answer_before_the_work_is_done(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    _, number, ts = await filed_and_posted(plaint)
    plaint.api.delays["views.open"] = 3.5  # longer than Slack's 3-second patience

    started = time.monotonic()
    response = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, ts, RECLASSIFY_ACTION, number))
    answered_after = time.monotonic() - started
    assert response.status == 200
    assert answered_after < 1.0
    assert not plaint.api.calls_to("views.open")

    async def modal_opened() -> bool:
        return any(call.params["view"]["callback_id"] == RECLASSIFY_VIEW for call in plaint.api.calls_to("views.open"))

    await eventually(modal_opened, what="the modal, opened after the acknowledgement")
