"""Settings edited in the console reach the desk without a restart: a relabelled product is what the next case
message in Slack reads (the same settings version that changes the customer's NLP)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.models import Timer
from tests.integration.admin.harness import AdminHarness, provision
from tests.integration.slack.harness import (
    AGENT_ONE,
    HarnessFactory,
    block_texts,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually

pytestmark = pytest.mark.one_database("postgres")

APPLIANCES_CHANNEL = "C0APPLIANCE"


async def test_a_relabelled_product_shows_in_the_next_case_message(start_plaint: HarnessFactory) -> None:
    plaint = await start_plaint()
    console = AdminHarness(plaint.client)
    await provision(console)
    # The desk has built its labels already (a first case), so the edit must replace them, not fill them.
    first = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    assert "Electric kettle" in block_texts(await posted_case_message(plaint, first))

    status, body = await console.api("GET", "/catalog", "viewer")
    assert status == 200, body
    catalog: dict[str, Any] = body["document"]
    kettle = next(product for product in catalog["products"] if product["id"] == "kettle")
    kettle["label"] = {"en": "Travel kettle", "zh": "旅行水壶"}
    status, body = await console.api("PUT", "/catalog", "editor", json=catalog)
    assert status == 200, body

    number = await file_web_case(plaint, f"web-{uuid.uuid4().hex[:12]}")
    shown = block_texts(await posted_case_message(plaint, number))
    assert "Travel kettle" in shown and "Electric kettle" not in shown, shown
    assert plaint.application.desk.vocabulary.product("kettle", "zh") == "旅行水壶"


async def test_a_team_added_in_the_console_gets_its_daily_digest_without_a_restart(
    start_plaint: HarnessFactory,
) -> None:
    plaint = await start_plaint()
    console = AdminHarness(plaint.client)
    await provision(console)
    assert not await Timer.filter(kind="digest", key="digest:appliances").exists()

    status, body = await console.api("GET", "/routing", "viewer")
    routing: dict[str, Any] = body["document"]
    routing["teams"].append({"name": "appliances", "slack_channel": APPLIANCES_CHANNEL, "members": [AGENT_ONE]})
    status, body = await console.api("PUT", "/routing", "editor", json=routing)
    assert status == 200, body

    # Its digest is pending for its next morning, once (saving the same teams again adds none).
    [pending] = await Timer.filter(kind="digest", key="digest:appliances", status="pending")
    assert pending.due_at > datetime.now(UTC)
    status, body = await console.api("PUT", "/routing", "editor", json=routing)
    assert status == 200, body
    assert await Timer.filter(kind="digest", key="digest:appliances", status="pending").count() == 1

    # Morning comes (the timer made due now): the new team's channel gets its digest.
    await Timer.filter(id=pending.id).update(due_at=datetime.now(UTC) - timedelta(seconds=1))

    async def digest_posted() -> bool:
        return any(call.params.get("thread_ts") is None and "*appliances*" in str(call.params.get("text"))
                   for call in plaint.api.calls_to("chat.postMessage", APPLIANCES_CHANNEL))

    await eventually(digest_posted, what="the new team's digest in its channel")
    # And the chain goes on: the next morning's digest is pending.
    await eventually(lambda: Timer.filter(kind="digest", key="digest:appliances", status="pending").exists(),
                     what="the next digest scheduled")
