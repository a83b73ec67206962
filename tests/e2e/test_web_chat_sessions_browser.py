"""The web chat session in a real browser: the page runs under its Content-Security-Policy, scripts cannot
read the session cookie, a reload resumes the conversation, another browser starts empty and continues it
only by opening the one-time link."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings
from tests.serving import serving

pytestmark = pytest.mark.one_database("sqlite")

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Page

PHONE = {"width": 390, "height": 844}


@pytest_asyncio.fixture
async def chat_url(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[str]:
    async with serving(build_app(settings, analyzer)) as url:
        yield url


async def answer(page: Page, text: str) -> None:
    before = await page.locator(".msg.bot").count()
    await page.fill("#text", text)
    await page.click("#send")
    # A locator, not wait_for_function: the page's CSP forbids the eval that a string predicate needs.
    await page.locator(".msg.bot").nth(before).wait_for()


async def test_the_session_stays_with_the_browser_and_moves_only_by_link(browser: Browser, chat_url: str) -> None:
    laptop = await browser.new_context(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    page = await laptop.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    await page.goto(f"{chat_url}/chat")
    await page.locator(".msg.bot").first.wait_for()
    await answer(page, "Grace Hopper")
    assert violations == []
    # HttpOnly: the page's scripts (and anything injected into them) cannot read the session.
    assert "plaint_chat" not in await page.evaluate("document.cookie")
    cookies = await laptop.cookies()
    assert [cookie["httpOnly"] for cookie in cookies if cookie["name"] == "plaint_chat"] == [True]

    # A reload in the same browser shows the same conversation.
    await page.reload()
    await page.get_by_text("Grace Hopper").wait_for()

    # Another browser starts empty ...
    phone = await browser.new_context(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    other = await phone.new_page()
    await other.goto(f"{chat_url}/chat")
    await other.locator(".msg.bot").first.wait_for()
    assert await other.get_by_text("Grace Hopper").count() == 0

    # ... and continues the conversation by opening the one-time link the first one was given.
    link = await page.evaluate("fetch('chat/api/link', {method: 'POST'}).then(r => r.json()).then(d => d.url)")
    await other.goto(link)
    await other.get_by_text("Grace Hopper").wait_for()
    assert other.url == f"{chat_url}/chat"
    # The link is spent: a third browser gets the "used or expired" answer.
    third = await (await browser.new_context()).new_page()
    response = await third.goto(link)
    assert response is not None and response.status == 410
    assert "already been used" in await third.inner_text("body")
    await laptop.close()
    await phone.close()
