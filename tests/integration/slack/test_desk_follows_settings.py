"""Settings edited in the console reach the desk without a restart: a relabelled product is what the next case
message in Slack reads (the same settings version that changes the customer's NLP)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.admin.harness import AdminHarness, provision
from tests.integration.slack.harness import HarnessFactory, block_texts, file_web_case, posted_case_message

pytestmark = pytest.mark.one_database("postgres")


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
