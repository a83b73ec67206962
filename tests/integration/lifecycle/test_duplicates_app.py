"""Duplicate complaints through the whole application: a web chat customer files the same complaint twice, is
asked in their chat, and an agent presses Link in Slack (signed block_actions through Bolt)."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.slack.complaint_driver import Answer, file_complaint
from tests.integration.slack.conftest import slack_api, start_plaint  # noqa: F401 (fixtures)
from tests.integration.slack.harness import (
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually

# One database: the storage of duplicates is tested on every database in test_duplicates.py.
pytestmark = pytest.mark.one_database("sqlite")


async def test_the_customer_is_asked_and_an_agent_links_the_repeat_from_slack(
    start_plaint: HarnessFactory,  # noqa: F811
) -> None:
    plaint = await start_plaint()
    session = uuid.uuid4().hex
    first = await file_web_case(plaint, session)
    await posted_case_message(plaint, first)
    # The same customer, the same kettle, the same words: a repeat. While the first case is open their words
    # follow it up, so they ask for a new complaint first.
    second = await file_complaint(plaint.web_sender(session), Answer(text="new complaint"))
    assert second != first
    await posted_case_message(plaint, second)

    async def chat_says(words: str) -> bool:
        return any(words in str(message.get("text")) for message in await plaint.web_transcript(session))

    async def asked() -> bool:
        return await chat_says(f"Is this about case {first}")

    await eventually(asked, what="the customer asked whether it is the same complaint")

    async def offered() -> bool:
        return any(
            "Possible duplicate" in str(call.params.get("text")) and "duplicate_link" in str(call.params.get("blocks"))
            for call in plaint.api.calls_to("chat.postMessage", WEB_TEAM_CHANNEL)
        )

    await eventually(offered, what="Link / Not a duplicate offered in the thread")
    response = await plaint.post(plaint.button("UAGENT0001", WEB_TEAM_CHANNEL, "1.000001", "duplicate_link", second))
    assert response.status == 200
    repeat = await plaint.wait_for_case(second, lambda case: case.status == "resolved", "the repeat resolved")
    assert repeat.resolution_code == "duplicate" and repeat.linked_cases == (first,)
    assert (await plaint.case(first)).linked_cases == (second,)

    async def told() -> bool:
        return await chat_says(f"added this to case {first}")

    await eventually(told, what="the customer told the repeat went to the earlier case")
