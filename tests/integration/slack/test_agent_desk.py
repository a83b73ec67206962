"""The agent desk end to end: a complaint filed on the web chat reaches the right team channel in Slack,
and agents work it from Slack payloads alone (signed with slack_sdk's own code), against the fake Web API."""

from __future__ import annotations

import re
import uuid

from bot.desk.blocks import (
    ACKNOWLEDGE_ACTION,
    ASSIGN_TO_ME_ACTION,
    CLOSE_ACTION,
    RECLASSIFY_ACTION,
    RECLASSIFY_VIEW,
    REOPEN_ACTION,
    RESOLVE_ACTION,
    RESOLVE_VIEW,
)
from storage.models import Case, NlpCorrection
from tests.fakes.slack_api import SignedRequest
from tests.integration.slack.complaint_driver import Answer
from tests.integration.slack.harness import (
    AGENT_ONE,
    AGENT_TWO,
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    block_texts,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually


async def test_case_from_web_chat_is_worked_from_slack(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    session = f"web-{uuid.uuid4().hex[:12]}"
    number = await file_web_case(plaint, session)

    # The routing rule for the web channel picked the web desk; round-robin gave it to the first agent.
    message = await posted_case_message(plaint, number)
    assert message.params["channel"] == WEB_TEAM_CHANNEL
    shown = block_texts(message)
    for expected in (
        number,
        "Electric kettle",
        "leaking",
        "Oxford Street",
        "Web chat / English",
        "<!date^",
        "[Acknowledge]",
        "[Assign to me]",
        "[Reclassify]",
        "[Resolve]",
        f"<@{AGENT_ONE}>",
    ):
        assert expected in shown, expected
    # Words, not codes: no snake_case left once emoji codes and Slack's <...> elements are set aside.
    words = re.sub(r"<[^>]*>", "", re.sub(r":[a-z0-9_+-]+:", "", shown))
    assert not re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", words), words
    # Contact details are masked: the full phone number and e-mail never reach the channel.
    assert "7946 0958" not in shown and "ada@example.com" not in shown
    assert "******0958" in shown
    case = await plaint.wait_for_case(number, lambda case: case.assignee == AGENT_ONE, "auto assignment")
    assert case.team == "webdesk"
    row = await Case.get(number=number)
    assert row.slack_channel == WEB_TEAM_CHANNEL and row.slack_ts
    thread_ts = row.slack_ts

    # Acknowledge by button: status changes and the channel message is updated in place.
    response = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, ACKNOWLEDGE_ACTION, number))
    assert response.status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "acknowledged", "acknowledged")

    async def updated_with(text: str) -> bool:
        return any(
            call.params.get("ts") == thread_ts and text in block_texts(call)
            for call in plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL)
        )

    await eventually(lambda: updated_with("Acknowledged"), what="message updated to Acknowledged")

    # Assign to me.
    response = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, ASSIGN_TO_ME_ACTION, number))
    assert response.status == 200
    await plaint.wait_for_case(number, lambda case: case.assignee == AGENT_TWO, "assigned to agent two")
    await eventually(lambda: updated_with(f"<@{AGENT_TWO}>"), what="message shows the new assignee")

    # A thread reply reaches the customer on the web chat; the case now waits for them.
    event, event_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, "We are sending a new kettle.")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "waiting_for_customer", "waiting")

    async def customer_sees(text: str) -> bool:
        return any(text in message["text"] for message in await plaint.web_transcript(session))

    await eventually(lambda: customer_sees("We are sending a new kettle."), what="agent reply relayed")

    # An internal note stays in Slack.
    event, event_id = plaint.thread_message(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, "note: VIP customer, be quick")
    assert (await plaint.post(plaint.signer.event(event, event_id))).status == 200
    await plaint.wait_for_case(number, lambda case: any(e.kind == "note" for e in case.events), "note stored")
    assert not await customer_sees("VIP customer")

    # The customer answers on the web chat: it appears in the case thread, and the case is back in progress.
    replies = await plaint.web_sender(session)(Answer(text="Thanks! When will it arrive?"))
    assert replies
    await plaint.wait_for_case(number, lambda case: case.status == "in_progress", "customer reply")

    async def thread_has_customer_text() -> bool:
        return any(
            call.params.get("thread_ts") == thread_ts and "When will it arrive?" in str(call.params.get("text"))
            for call in plaint.api.calls_to("chat.postMessage", WEB_TEAM_CHANNEL)
        )

    await eventually(thread_has_customer_text, what="customer follow-up in the thread")

    # Reclassify: the button opens a modal; submitting it stores the corrections for NLP retraining.
    response = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, RECLASSIFY_ACTION, number))
    assert response.status == 200

    async def modal_opened(callback_id: str) -> bool:
        return any(call.params["view"]["callback_id"] == callback_id for call in plaint.api.calls_to("views.open"))

    await eventually(lambda: modal_opened(RECLASSIFY_VIEW), what="reclassify modal")
    proposed = await plaint.case(number)
    # Whatever the NLP proposed, the agent picks another category: that difference is the training example.
    corrected = "billing_refund" if proposed.category != "billing_refund" else "product_quality"
    # The modal offers the catalog's products and the taxonomy's categories as selects, labelled.
    [opened] = [
        call for call in plaint.api.calls_to("views.open") if call.params["view"]["callback_id"] == RECLASSIFY_VIEW
    ]
    product_select = opened.params["view"]["blocks"][0]["element"]
    assert product_select["type"] == "static_select"
    assert {"text": {"type": "plain_text", "text": "Blender"}, "value": "blender"} in product_select["options"]

    def reclassify(product: str, category: str) -> SignedRequest:
        return plaint.view_submission(
            AGENT_TWO,
            RECLASSIFY_VIEW,
            number,
            {
                "product": {"type": "static_select", "selected_option": {"value": product}},
                "category": {"type": "static_select", "selected_option": {"value": category}},
            },
        )

    # A value the catalog does not hold is refused in the modal, not stored at 100%.
    response = await plaint.post(reclassify("electric kettle", corrected))
    assert (await response.json())["response_action"] == "errors"
    response = await plaint.post(reclassify("blender", corrected))
    assert response.status == 200
    case = await plaint.wait_for_case(number, lambda case: case.product == "blender", "reclassified")
    assert (case.category, case.category_confidence, case.product_confidence) == (corrected, 1.0, 1.0)
    corrections = await NlpCorrection.filter(case__number=number).order_by("field")
    assert [(c.field, c.old_value, c.new_value, c.actor) for c in corrections] == [
        ("category", proposed.category, corrected, AGENT_TWO),
        ("product", proposed.product, "blender", AGENT_TWO),
    ]
    assert "leaking" in corrections[0].text

    # Resolve with a summary and a code: the customer is told on their own channel.
    response = await plaint.post(plaint.button(AGENT_TWO, WEB_TEAM_CHANNEL, thread_ts, RESOLVE_ACTION, number))
    assert response.status == 200
    await eventually(lambda: modal_opened(RESOLVE_VIEW), what="resolve modal")
    response = await plaint.post(
        plaint.resolve_submission(AGENT_TWO, number, "A replacement kettle is on its way.", "replaced")
    )
    assert response.status == 200
    case = await plaint.wait_for_case(number, lambda case: case.status == "resolved", "resolved")
    assert (case.resolution_summary, case.resolution_code) == ("A replacement kettle is on its way.", "replaced")
    await eventually(lambda: customer_sees("A replacement kettle is on its way."), what="outcome told")
    await eventually(lambda: updated_with("Resolved"), what="message shows Resolved")
    last_update = plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL)[-1]
    assert "[Resolve]" not in block_texts(last_update) and "[Acknowledge]" not in block_texts(last_update)

    # Closing and reopening are buttons too.
    response = await plaint.post(plaint.button(AGENT_ONE, WEB_TEAM_CHANNEL, thread_ts, CLOSE_ACTION, number))
    assert response.status == 200
    await plaint.wait_for_case(number, lambda case: case.status == "closed", "closed")
    response = await plaint.post(plaint.button(AGENT_ONE, WEB_TEAM_CHANNEL, thread_ts, REOPEN_ACTION, number))
    assert response.status == 200
    case = await plaint.wait_for_case(number, lambda case: case.status == "in_progress", "reopened")
    await eventually(lambda: updated_with("In progress"), what="message shows the reopened case")

    # Every step is an event with who did it.
    events = [(event.kind, event.actor) for event in case.events]
    assert events == [
        ("filed", "customer"),
        ("routed", "plaint"),
        ("priority_set", "plaint"),  # the lifecycle room's priority rules, when the case is routed
        ("assigned", "plaint"),
        ("acknowledge", AGENT_TWO),
        ("assign", AGENT_TWO),
        ("agent_reply", AGENT_TWO),
        ("note", AGENT_TWO),
        ("customer_reply", "customer"),
        ("reclassify", AGENT_TWO),
        ("resolve", AGENT_TWO),
        ("close", AGENT_ONE),
        ("reopen", AGENT_ONE),
    ]
    reopened = case.events[-1]
    assert (reopened.data["from"], reopened.data["to"]) == ("closed", "in_progress")
    assert all(event.created_at is not None for event in case.events)
