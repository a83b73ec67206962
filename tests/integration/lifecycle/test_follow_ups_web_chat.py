"""Follow-ups on the web chat, over its HTTP endpoint on a running Plaint application: what the customer types
after filing joins the case (transcript, one acknowledgement with a New complaint button); the button starts a
new complaint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings
from storage.models import Case, TranscriptMessage
from tests.e2e.web_chat_driver import Action, Policy, Press, Say, WebCustomer, accept_proposal_or, complete_flow

ANSWERS: dict[str, Action | Policy] = {
    "name": Say("Ada Lovelace"),
    "contact_method": Press("email"),
    "email": Say("ada@example.com"),
    "description": Say("The kettle I bought last week leaks from the base."),
    "occurred_at": Say("yesterday 3pm"),
    "occurred_where": Say("Oxford Street store, London"),
    "product": accept_proposal_or(Say("kettle")),
    "category": accept_proposal_or(Press("product_quality")),
    "expected_resolution": Press("replacement"),
    "confirm": Press("_confirm"),
}


@pytest_asyncio.fixture
async def web_client(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1"),
                          cookie_jar=DummyCookieJar()) as client:
        yield client


async def test_words_after_filing_join_the_case_and_the_button_starts_a_new_complaint(
    web_client: TestClient[Any, Any],
) -> None:
    customer = WebCustomer(web_client, locale="en-GB")
    number = await complete_flow(customer, ANSWERS, first="Hello")
    await customer.post(Say("The box was <damaged> too"))
    assert customer.text().startswith(f"Added to your case {number}."), customer.text()
    assert customer.buttons() == ["_new"]
    assert await customer.step() is None  # no new complaint was started
    case = await Case.get(number=number)
    words = await TranscriptMessage.filter(case_id=case.id, direction="in").values_list("text", flat=True)
    assert "The box was <damaged> too" in words
    # The page's mailbox shows the acknowledgement like any reply.
    assert any(str(message.get("text", "")).startswith(f"Added to your case {number}.")
               for message in await customer.transcript())
    await customer.post(Press("_new"))
    assert "Added to your case" not in customer.text()
    assert await customer.step() is not None
