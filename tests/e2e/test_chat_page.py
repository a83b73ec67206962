"""What the web chat page (bot/web/chat.html) relies on from the server, checked without a browser.

The page is a view of the transcript: it redraws a reload from GET /chat/api/messages, shows a tapped
choice by the label of the button that offered it, and switches the conversation's language by sending
/en or /zh. If any of that changes on the server, the page breaks quietly; these tests say so loudly."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.e2e.web_chat_driver import Press, Say, WebCustomer

# Pages and contracts, not storage: one database is enough (storage is tested on every one elsewhere).
pytestmark = pytest.mark.one_database("sqlite")


async def transcript(customer: WebCustomer, after: int = 0) -> list[dict[str, Any]]:
    return await customer.transcript(after)


async def test_the_page_loads_nothing_from_elsewhere_and_fits_a_phone(web_client: TestClient[Any, Any]) -> None:
    response = await web_client.get("/chat")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert 'name="viewport"' in page and "width=device-width" in page
    # No CDN, font or analytics: every src/href/url() stays on this server (or is inline data).
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?!data:|#)([^"']+)|url\((?!data:)([^)]+)\)""", page)
    assert [link for pair in external for link in pair if link] == []
    assert "http://" not in page and "https://" not in page
    # The endpoints the page calls exist.
    for path in re.findall(r'"(chat/api/[a-z]+)', page):
        assert (await web_client.get("/" + path)).status != 404, path


async def test_a_reload_can_show_every_choice_by_its_button_label(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    await customer.post(Say("Ada Lovelace"))
    offered = {button["value"]: button["label"] for reply in customer.replies for button in reply["buttons"]}
    await customer.post(Press("email"))

    entries = await transcript(customer)
    assert [entry["direction"] for entry in entries] == ["in", "out", "out", "in", "out", "in", "out"]
    ids = [entry["id"] for entry in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    choice = entries[5]
    # The page maps the stored choice value back to the label of the latest buttons before it.
    assert choice["text"] == "email"
    assert offered[choice["text"]] == "Email"
    assert {b["value"]: b["label"] for b in entries[4]["buttons"]} == offered
    # Asking for what came after an id returns only the newer entries (the page polls this way).
    assert [entry["id"] for entry in await transcript(customer, after=ids[4])] == ids[5:]


async def test_the_language_switch_mid_conversation_asks_the_same_question_in_chinese(
    web_client: TestClient[Any, Any],
) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    await customer.post(Say("Grace Hopper"))
    assert await customer.step() == "contact_method"
    customer.locale = "zh"  # the page sends its current language with every message
    await customer.post(Say("/zh"))
    assert await customer.step() == "contact_method"
    assert re.search(r"[\u4e00-\u9fff]", customer.text())
    assert customer.buttons() == ["phone", "email", "both"]
    assert "电话" in [button["label"] for reply in customer.replies for button in reply["buttons"]]
    # The next answer is understood and answered in Chinese.
    await customer.post(Press("phone"))
    assert await customer.step() == "phone"
    assert re.search(r"[\u4e00-\u9fff]", customer.text())


async def test_a_reload_shows_uploads_by_their_file_names(web_client: TestClient[Any, Any]) -> None:
    from tests.e2e.test_web_chat import ENGLISH
    from tests.e2e.web_chat_driver import EVIDENCE, complete_flow

    customer = WebCustomer(web_client, locale="en")
    await complete_flow(customer, ENGLISH, first="Hello")
    uploads = [entry for entry in await transcript(customer) if entry["files"]]
    assert [sorted(entry["files"]) for entry in uploads] == [sorted(EVIDENCE)]
