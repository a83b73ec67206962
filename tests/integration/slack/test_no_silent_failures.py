"""Every agent action is answered (issue 16): a reply on a closed case, a stale button, a stale modal, a file shared
in the thread, a message the customer never received; a takeover tells the previous assignee; each event is one
line in the case thread. Driven with signed Slack payloads against the fake Web API; customers on the web chat
and on Telegram (fake Bot API)."""

from __future__ import annotations

import uuid

from bot.desk.blocks import ASSIGN_TO_ACTION, ASSIGN_TO_ME_ACTION, RECLASSIFY_ACTION, RESOLVE_ACTION
from bot.desk.slack_listeners import SlackDeskListeners
from tests.fakes.slack_api import RecordedCall, SignedRequest
from tests.fakes.telegram_api import InjectedFailure
from tests.integration.slack.complaint_driver import Answer, file_complaint
from tests.integration.slack.harness import (
    AGENT_ONE,
    AGENT_THREE,
    AGENT_TWO,
    DEFAULT_TEAM_CHANNEL,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    SlackHarness,
    file_web_case,
)
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.waiting import eventually


async def _posted_case(plaint: SlackHarness, session: str) -> tuple[str, str]:
    number = await file_web_case(plaint, session)
    case = await plaint.wait_for_case(
        number, lambda case: case.slack_ts is not None and case.assignee is not None, "posted and assigned"
    )
    assert case.slack_ts is not None
    return number, case.slack_ts


async def _ephemerals(plaint: SlackHarness, user: str, count: int = 1) -> list[RecordedCall]:
    def found() -> list[RecordedCall]:
        return [call for call in plaint.api.calls_to("chat.postEphemeral") if call.params.get("user") == user]

    async def enough() -> bool:
        return len(found()) >= count

    await eventually(enough, what=f"{count} ephemeral message(s) to {user}")
    return found()


async def _thread_line(plaint: SlackHarness, channel: str, thread_ts: str, *words: str) -> str:
    def lines() -> list[str]:
        return [
            str(call.params.get("text"))
            for call in plaint.api.calls_to("chat.postMessage", channel)
            if call.params.get("thread_ts") == thread_ts
        ]

    async def posted() -> bool:
        return any(all(word in line for word in words) for line in lines())

    await eventually(posted, what=f"a thread line with {words}")
    return next(line for line in lines() if all(word in line for word in words))


async def test_a_resolved_case_answers_stale_buttons_modals_replies_and_files(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session = f"web-{uuid.uuid4().hex[:12]}"
    number, thread_ts = await _posted_case(plaint, session)
    # Agent two opens the Resolve modal and is slow; agent one resolves meanwhile.
    resolve_button = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, RESOLVE_ACTION, number)
    assert (await plaint.post(resolve_button)).status == 200

    async def modal_opened() -> bool:
        return len(plaint.api.calls_to("views.open")) == 1

    await eventually(modal_opened, what="resolve modal")
    resolved = plaint.resolve_submission(AGENT_ONE, number, "Refunded in full.", "refunded")
    assert (await plaint.post(resolved)).status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "resolved", "resolved")
    line = await _thread_line(plaint, WEB_TEAM_CHANNEL, thread_ts, "Resolved by", f"<@{AGENT_ONE}>")
    assert "Refunded" in line and "refunded" not in line

    async def customer_told() -> bool:
        return any("resolved (Refunded)" in message["text"] for message in await plaint.web_transcript(session))

    await eventually(customer_told, what="the customer reads the outcome's label, not its code")

    # The stale modal is answered in the modal itself: who resolved the case, nothing stored twice.
    response = await plaint.post(plaint.resolve_submission(AGENT_TWO, number, "Replacement sent.", "replaced"))
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors"
    assert "Resolved" in answer["errors"]["summary"] and "Agent 0001" in answer["errors"]["summary"]
    case = await plaint.case(number)
    assert case.resolution_summary == "Refunded in full." and [e.kind for e in case.events].count("resolve") == 1

    # A stale Resolve button opens no modal: the agent is told who resolved it and when, and what to do.
    stale_button = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, RESOLVE_ACTION, number)
    assert (await plaint.post(stale_button)).status == 200
    [refusal] = await _ephemerals(plaint, AGENT_TWO)
    text = str(refusal.params["text"])
    assert f"Case {number} is :white_check_mark: Resolved (by <@{AGENT_ONE}>, <!date^" in text
    assert "Reopen" in text
    assert len(plaint.api.calls_to("views.open")) == 1

    # A thread reply on the resolved case does not reach the customer, and the agent is told so in the thread.
    event, event_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, "One more thing: a voucher.")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    _, told = await _ephemerals(plaint, AGENT_TWO, 2)
    assert told.params["thread_ts"] == thread_ts and "*not* sent to the customer" in str(told.params["text"])
    await plaint.outbox_drained()
    assert not any("voucher" in message["text"] for message in await plaint.web_transcript(session))
    assert (await plaint.case(number)).status == "resolved"

    # A file shared in the thread is not silently dropped either.
    shared = plaint.api.add_file("label.pdf", "application/pdf", b"%PDF-1.4 return label")
    event, event_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, "")
    event.update(subtype="file_share", files=[shared])
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    *_, file_notice = await _ephemerals(plaint, AGENT_TWO, 3)
    assert "label.pdf" in str(file_notice.params["text"]) and "*not* sent" in str(file_notice.params["text"])


async def test_a_team_may_let_a_reply_reopen_the_case(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint(reopen_on_reply=True)
    session = f"web-{uuid.uuid4().hex[:12]}"
    number, thread_ts = await _posted_case(plaint, session)
    resolved = plaint.resolve_submission(AGENT_ONE, number, "Refunded in full.", "refunded")
    assert (await plaint.post(resolved)).status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "resolved", "resolved")

    event, event_id = plaint.thread_message(AGENT_ONE, WEB_TEAM_CHANNEL, thread_ts, "Sorry, one more question.")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    case = await plaint.wait_for_case(number, lambda case: case.status == "waiting_for_customer", "reopened")
    assert [e.kind for e in case.events][-2:] == ["reopen", "agent_reply"]

    async def customer_sees() -> bool:
        return any("one more question" in message["text"] for message in await plaint.web_transcript(session))

    await eventually(customer_sees, what="the reply relayed after reopening")
    await _thread_line(plaint, WEB_TEAM_CHANNEL, thread_ts, "Reopened by", f"<@{AGENT_ONE}>", "reply")


async def test_a_takeover_tells_the_previous_assignee_and_replies_and_notes_get_a_reaction(
    start_plaint: HarnessFactory,
) -> None:
    plaint = await start_plaint()
    number, thread_ts = await _posted_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    assert (await plaint.case(number)).assignee == AGENT_ONE
    button = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, ASSIGN_TO_ME_ACTION, number)
    assert (await plaint.post(button)).status == 200
    line = await _thread_line(plaint, WEB_TEAM_CHANNEL, thread_ts, "took over")
    # The mention makes Slack notify the previous assignee.
    assert line.startswith(f":bust_in_silhouette: <@{AGENT_ONE}>, <@{AGENT_TWO}> took over")

    reply, reply_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, "We are on it.")
    note, note_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, "note: call the store first")
    for event, event_id in ((reply, reply_id), (note, note_id)):
        assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200

    async def reacted() -> bool:
        return len(plaint.api.calls_to("reactions.add", WEB_TEAM_CHANNEL)) == 2

    await eventually(reacted, what="two reactions")
    reactions = {call.params["timestamp"]: call.params["name"] for call in plaint.api.calls_to("reactions.add")}
    assert reactions == {
        reply["ts"]: SlackDeskListeners.RELAYED_REACTION,
        note["ts"]: SlackDeskListeners.NOTE_REACTION,
    }

    # Assign to a named colleague with the message's users_select: a member of the team only.
    assert (await plaint.post(_pick_user(plaint, AGENT_TWO, thread_ts, number, AGENT_THREE))).status == 200
    [refusal] = await _ephemerals(plaint, AGENT_TWO)
    assert f"<@{AGENT_THREE}> is not an agent of team webdesk" in str(refusal.params["text"])
    assert (await plaint.case(number)).assignee == AGENT_TWO
    assert (await plaint.post(_pick_user(plaint, AGENT_TWO, thread_ts, number, AGENT_ONE))).status == 200
    await plaint.wait_for_case(number, lambda case: case.assignee == AGENT_ONE, "assigned to agent one")
    await _thread_line(plaint, WEB_TEAM_CHANNEL, thread_ts, f"<@{AGENT_TWO}> handed this case to <@{AGENT_ONE}>")


def _pick_user(plaint: SlackHarness, user: str, thread_ts: str, number: str, picked: str) -> SignedRequest:
    """What Slack posts when an agent picks a colleague in the case message's users_select."""
    return plaint.block_action(user, WEB_TEAM_CHANNEL, thread_ts, {
        "type": "users_select", "action_id": ASSIGN_TO_ACTION, "block_id": f"case:{number}", "selected_user": picked,
    })


async def test_a_telegram_customer_reads_clean_text_and_the_agent_hears_when_it_cannot_arrive(
    start_plaint: HarnessFactory,
) -> None:
    plaint = await start_plaint(telegram=True)
    assert plaint.telegram is not None
    customer = TelegramCustomer(user_id=777001, first_name="Ada", language_code="en")
    number = await file_complaint(plaint.telegram_sender(customer), Answer(text="I want to complain"))
    case = await plaint.wait_for_case(number, lambda case: case.slack_ts is not None, "posted")
    assert case.channel == "telegram" and case.team == "general" and case.slack_ts is not None
    thread_ts = case.slack_ts

    wire = "Refund &lt; 100 EUR &amp; a voucher, see <https://example.com/faq|our FAQ>, ask <@UAGENT0003>. *Thanks*"
    event, event_id = plaint.thread_message(AGENT_THREE, DEFAULT_TEAM_CHANNEL, thread_ts, wire)
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200

    async def relayed() -> bool:
        return any("voucher" in text for text in plaint.telegram.sent_texts(customer.user_id))  # type: ignore[union-attr]

    await eventually(relayed, what="the reply on Telegram")
    [text] = [text for text in plaint.telegram.sent_texts(customer.user_id) if "voucher" in text]
    assert "Refund < 100 EUR & a voucher, see our FAQ (https://example.com/faq), ask Agent 0003. Thanks" in text
    for leak in ("&lt;", "&amp;", "<https://", "UAGENT0003", "*Thanks*"):
        assert leak not in text, leak

    # The customer blocks the bot: the next reply cannot arrive, and the agent reads that in the thread.
    plaint.telegram.fail_next("sendMessage", InjectedFailure.blocked_by_user())
    event, event_id = plaint.thread_message(AGENT_THREE, DEFAULT_TEAM_CHANNEL, thread_ts, "Are you there?")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    line = await _thread_line(plaint, DEFAULT_TEAM_CHANNEL, thread_ts, "did *not* receive")
    assert f"<@{AGENT_THREE}>" in line and "blocked the bot" in line


async def test_a_form_slack_would_not_open_is_told_not_left_blank(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    number, thread_ts = await _posted_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    await plaint.outbox_drained()
    plaint.api.fail_next(1)  # views.open fails (as with a trigger older than Slack's 3 s)
    button = plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, RECLASSIFY_ACTION, number)
    assert (await plaint.post(button)).status == 200
    [told] = await _ephemerals(plaint, AGENT_TWO)
    assert "did not open the form" in str(told.params["text"])
    assert not plaint.api.calls_to("views.open")
