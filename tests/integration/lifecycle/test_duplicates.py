"""Duplicate complaints: the same customer on two channels about the same order is asked "Is this about case
PL-...?" and, on yes, the new information lands on the earlier case; agents see the possible duplicate with
Link / Not a duplicate buttons; whoever decides first decides; a different product is never a repeat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.messages import Inbound
from storage.case_links import TortoiseCaseLinks
from storage.cases import TortoiseCaseRepository
from storage.database import open_database
from storage.models import Case, CaseEvent, CaseLink, CsatSurvey, OutboxItem, TranscriptMessage
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.lifecycle.lifecycle_room import AGENT, MONDAY, TEAM_CHANNEL, LifecycleRoom, build_room

NOON = MONDAY + timedelta(hours=12)
PHONE = "+44 20 7946 0958"


pytestmark = pytest.mark.usefixtures("data_key")


@pytest_asyncio.fixture
async def room(database_url: str, slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[LifecycleRoom]:
    async with open_database(database_url):
        yield build_room(database_url, slack, NOON, tmp_path, transcript_channels=("web", "telegram"))


def thread_posts(slack: FakeSlackApi) -> list[dict[str, object]]:
    return [call.params for call in slack.calls_to("chat.postMessage", TEAM_CHANNEL) if call.params.get("thread_ts")]


async def messages_to(channel: str, sender: str) -> list[dict[str, object]]:
    rows = await OutboxItem.filter(kind="message", channel=channel).order_by("id")
    return [row.payload for row in rows if row.payload.get("recipient_id") == sender]


async def press(room: LifecycleRoom, channel: str, sender: str, message_id: str, choice: str) -> list[str]:
    inbound = Inbound(channel=channel, sender_id=sender, message_id=message_id, received_at=datetime.now(UTC),
                      choice=choice)
    result = await room.intake.handle(inbound)
    await room.deliver()
    return [reply.text for reply in result.replies]


async def two_complaints(room: LifecycleRoom, second_product: str = "kettle") -> tuple[str, str]:
    """Ada complains on Telegram, then a day later in the web chat with the same phone number."""
    first = await room.file_case("My kettle from order KT-55501234 leaks at the base", channel="telegram",
                                 sender="7001", phone=PHONE, product="kettle")
    room.clock.advance(days=1)
    second = await room.file_case("Order KT-55501234 again: water all over the counter", channel="web",
                                  sender="web-ada", phone="+442079460958", product=second_product)
    return first, second


async def test_the_same_customer_on_two_channels_is_asked_and_yes_links_the_cases(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    first, second = await two_complaints(room)
    # The customer is asked on the channel they are using now, with two buttons.
    [question] = [m for m in await messages_to("web", "web-ada") if "Is this about case" in str(m["text"])]
    assert first in str(question["text"])
    assert [b[0] for b in question["buttons"]] == [f"dup:{second}:yes", f"dup:{second}:no"]  # type: ignore[union-attr]
    # The team sees the possible duplicate with Link / Not a duplicate buttons in the new case's thread.
    [possible] = [p for p in thread_posts(slack) if "Possible duplicate" in str(p["text"])]
    assert first in str(possible["text"]) and "same order number" in str(possible["text"])
    blocks = possible["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert [e["action_id"] for e in blocks[1]["elements"]] == ["duplicate_link", "duplicate_not"]

    replies = await press(room, "web", "web-ada", "dup-1", f"dup:{second}:yes")
    assert any(f"added this to case {first}" in text for text in replies)

    link = await CaseLink.get(case__number=second)
    assert (link.status, link.decided_by) == ("linked", "customer")
    assert "same_order" in link.reasons
    # The new information is on the earlier case: its transcript and its thread.
    earlier = await Case.get(number=first)
    words = await TranscriptMessage.filter(case_id=earlier.id, direction="in").values_list("text", flat=True)
    assert "Order KT-55501234 again: water all over the counter" in words
    assert any(second in str(p["text"]) and "water all over the counter" in str(p["text"])
               for p in thread_posts(slack))
    # The repeat is resolved as a duplicate, and not surveyed.
    repeat = await Case.get(number=second)
    assert (repeat.status, repeat.resolution_code) == ("resolved", "duplicate")
    await room.run_until(room.clock.now() + timedelta(minutes=5))
    assert not await CsatSurvey.filter(case_id=repeat.id).exists()
    # Both cases record the link and show each other.
    links = TortoiseCaseLinks()
    assert await links.linked_numbers(first) == [second]
    assert await links.linked_numbers(second) == [first]
    assert await CaseEvent.filter(case_id=earlier.id, kind="duplicate_linked").exists()
    # In Slack (the case messages) and in the console's case record.
    assert (await TortoiseCaseRepository().get(first)).linked_cases == (second,)
    updated = [json.dumps(call.params.get("blocks")) for call in slack.calls_to("chat.update", TEAM_CHANNEL)]
    assert any("*Linked cases*" in blocks and second in blocks for blocks in updated)
    # A second answer changes nothing and says so.
    again = await press(room, "web", "web-ada", "dup-2", f"dup:{second}:no")
    assert any("already linked" in text for text in again)
    assert (await CaseLink.get(case__number=second)).status == "linked"


async def test_an_agent_keeps_it_apart_and_the_customer_s_late_yes_is_refused_politely(
    room: LifecycleRoom, slack: FakeSlackApi
) -> None:
    first, second = await two_complaints(room)
    decision = await room.duplicates.agent_decides(second, False, AGENT)
    assert decision.applied
    await room.deliver()
    assert any("Not a duplicate" in str(p["text"]) for p in thread_posts(slack))
    # The customer types "yes" afterwards (no button): the decision stands, they are told so.
    inbound = Inbound(channel="web", sender_id="web-ada", message_id="late-yes", received_at=datetime.now(UTC),
                      text="yes")
    replies = [reply.text for reply in (await room.intake.handle(inbound)).replies]
    assert not any("already" in text for text in replies)  # no open question: not a duplicate answer at all
    assert (await CaseLink.get(case__number=second)).status == "not_duplicate"
    assert (await Case.get(number=second)).status != "resolved"
    # A second decision by another agent is refused.
    later = await room.duplicates.agent_decides(second, True, "UOTHER0001")
    assert not later.applied and "separate case" in later.message
    assert first != second


async def test_an_agent_links_and_the_customer_is_told(room: LifecycleRoom, slack: FakeSlackApi) -> None:
    first, second = await two_complaints(room)
    decision = await room.duplicates.agent_decides(second, True, AGENT)
    assert decision.applied
    await room.deliver()
    texts = [str(m["text"]) for m in await messages_to("web", "web-ada")]
    assert any(f"added this to case {first}" in text for text in texts)
    assert (await Case.get(number=second)).resolution_code == "duplicate"
    # Pressing the customer's button now is answered, not applied twice.
    replies = await press(room, "web", "web-ada", "dup-3", f"dup:{second}:yes")
    assert any("already linked" in text for text in replies)
    assert await CaseEvent.filter(case__number=first, kind="duplicate_linked").count() == 1


async def test_a_different_product_is_not_a_duplicate(room: LifecycleRoom, slack: FakeSlackApi) -> None:
    _, second = await two_complaints(room, second_product="toaster")
    assert not await CaseLink.filter(case__number=second).exists()
    assert not any("Is this about case" in str(m["text"]) for m in await messages_to("web", "web-ada"))
    assert not any("Possible duplicate" in str(p["text"]) for p in thread_posts(slack))


async def test_a_forged_button_for_someone_else_s_case_is_not_an_answer(room: LifecycleRoom) -> None:
    _, second = await two_complaints(room)
    replies = await press(room, "web", "web-mallory", "forged", f"dup:{second}:yes")
    assert not any("added this" in text for text in replies)
    assert (await CaseLink.get(case__number=second)).status == "suggested"


async def test_chinese_same_product_in_similar_words_is_asked_in_chinese(room: LifecycleRoom) -> None:
    first = await room.file_case("电水壶底部漏水，桌子都湿了", lang="zh", channel="telegram", sender="8001",
                                 phone="138 1234 5678", product="kettle")
    room.clock.advance(hours=3)
    second = await room.file_case("电水壶还是漏水，底部一直滴水", lang="zh", channel="web", sender="web-wang",
                                  phone="13812345678", product="kettle")
    [question] = [m for m in await messages_to("web", "web-wang") if first in str(m["text"])]
    assert "这是关于投诉" in str(question["text"])
    assert [b[1] for b in question["buttons"]] == ["是，同一个问题", "不是，新问题"]  # type: ignore[union-attr]
    replies = await press(room, "web", "web-wang", "zh-no", f"dup:{second}:no")
    assert any("单独的投诉" in text for text in replies)
