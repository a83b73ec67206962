"""The web chat in a real browser on a phone, in English and Chinese: the bot greets first (nothing is said for
the customer), a story told all at once is not asked again, the summary is compact with one Edit, Cancel asks
first, answered buttons stay readable, the case number never wraps, and status answers after filing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.app import build_app
from bot.config import Settings
from tests.serving import serving

# A page, not storage: one database is enough.
pytestmark = pytest.mark.one_database("sqlite")

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Locator, Page

PHONE = {"width": 390, "height": 844}


@pytest_asyncio.fixture
async def chat(settings: Settings) -> AsyncIterator[str]:
    async with serving(build_app(settings)) as url:
        yield url


async def send(page: Page, text: str) -> Locator:
    """Type a message; the bot's last bubble once it answered."""
    before = await page.locator(".msg.bot").count()
    await page.fill("#text", text)
    await page.click("#send")
    # A locator wait, not wait_for_function: the chat page's CSP forbids eval.
    await page.locator(".msg.bot").nth(before).wait_for()
    return page.locator(".msg.bot").last


async def tap(page: Page, button: Locator) -> Locator:
    before = await page.locator(".msg.bot").count()
    await button.click()
    # A locator wait, not wait_for_function: the chat page's CSP forbids eval.
    await page.locator(".msg.bot").nth(before).wait_for()
    return page.locator(".msg.bot").last


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        channels = [int(part) / 255 for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def visible_labels(message: Locator) -> list[str]:
    return [text.strip() for text in await message.locator(".buttons button:visible").all_inner_texts()]


async def test_a_complaint_told_at_once_on_a_phone_in_english(browser: Browser, chat: str, tmp_path: Path) -> None:
    page = await browser.new_page(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    await page.goto(f"{chat}/chat")
    await page.get_by_text("First, what's your name?").wait_for()
    # The bot spoke first; nothing was sent as the customer, on the page or in the transcript.
    assert await page.locator(".msg.me").count() == 0
    # The page's own session: its cookie goes with the context's requests.
    transcript = await (await page.request.get(f"{chat}/chat/api/messages?after=0")).json()
    assert [entry["direction"] for entry in transcript["messages"]] == ["out", "out"]

    reply = await send(page, "Hi, I'm Maria Lopez. My dryer stopped heating yesterday at 3pm, order 55-1029, "
                             "call me on +1 201 555 0123")
    log = await page.locator("#log").inner_text()
    # Asked for a name, told everything: the name is the answer, the rest is noted in one line.
    assert "I noted contact preference: Phone; phone: +1 201-555-0123; when: " in log
    assert "problem" in await reply.inner_text()  # the category: proposed or asked
    reply = await tap(page, reply.locator(".buttons button", has_text="product quality"))
    reply = await tap(page, reply.locator("[data-role=skip]"))
    reply = await tap(page, reply.locator(".buttons button", has_text="Repair"))

    # The summary: Confirm, one Edit and Cancel; the fields open from Edit.
    assert "Here's your complaint" in await reply.inner_text()
    assert await visible_labels(reply) == ["Confirm and submit", "Edit…", "Cancel"]
    await reply.locator("[data-role=edit-menu]").click()
    opened = await visible_labels(reply)
    assert "Edit name" in opened and "Edit when" in opened and len(opened) > 8
    await reply.locator("[data-role=edit-menu]").click()
    assert await visible_labels(reply) == ["Confirm and submit", "Edit…", "Cancel"]
    # Cancel asks first; "No" keeps everything.
    await reply.locator("[data-role=cancel]").click()
    assert "Cancel this complaint?" in await reply.inner_text()
    await reply.get_by_role("button", name="No, keep going").click()
    assert "Cancel this complaint?" not in await reply.inner_text()
    assert await visible_labels(reply) == ["Confirm and submit", "Edit…", "Cancel"]
    await page.screenshot(path=str(tmp_path / "summary-en.png"), full_page=True)

    filed = await tap(page, reply.locator("[data-role=confirm]"))
    number = (await page.evaluate("localStorage.getItem('plaint.case')")) or ""
    assert number.startswith("PL-")
    in_text = filed.locator(".nowrap", has_text=number)
    assert await in_text.evaluate("node => getComputedStyle(node).whiteSpace") == "nowrap"
    # Answered buttons are readable: WCAG AA (4.5:1) for their text.
    answered = page.locator(".buttons button:disabled:not(.chosen)").first
    style = await answered.evaluate("node => [getComputedStyle(node).color, getComputedStyle(node).backgroundColor]")
    assert contrast(*style) >= 4.5

    status = await send(page, "status")
    text = await page.locator(".msg.bot").nth(-2).inner_text()
    assert f"{number} — received (filed " in text and "About: Tumble dryer, Product quality" in text
    assert "Next: our team will look at it soon" in text
    assert await status.locator("[data-role=new_complaint]").count() == 1
    await page.screenshot(path=str(tmp_path / "status-en.png"), full_page=True)
    await page.close()


async def test_the_chinese_summary_and_a_confirmed_cancel(browser: Browser, chat: str, tmp_path: Path) -> None:
    page = await browser.new_page(viewport=PHONE, locale="zh-CN")  # type: ignore[arg-type]
    await page.goto(f"{chat}/chat")
    await page.get_by_text("首先，请问怎么称呼你？").wait_for()
    assert await page.locator(".msg.me").count() == 0
    reply = await send(page, "我叫李娜，手机13800138000，昨天下午三点微波炉坏了，完全不能加热")
    assert "我记下了联系方式：电话；电话：+86 138 0013 8000" in await page.locator("#log").inner_text()
    for _ in range(3):  # category (asked or taken), evidence, what they want
        body = await reply.inner_text()
        if "以下是你的投诉内容" in body:
            break
        if "哪一类问题" in body or "对吗" in body:
            reply = await tap(page, reply.locator(".buttons button").first)
        elif "照片" in body:
            reply = await tap(page, reply.locator("[data-role=skip]"))
        else:
            reply = await tap(page, reply.locator(".buttons button", has_text="维修"))
    if "以下是你的投诉内容" not in await reply.inner_text():
        reply = await tap(page, reply.locator(".buttons button", has_text="维修"))
    assert await visible_labels(reply) == ["确认提交", "修改…", "取消"]
    await reply.locator("[data-role=cancel]").click()
    assert "确定取消这次投诉吗？" in await reply.inner_text()
    await page.screenshot(path=str(tmp_path / "cancel-zh.png"), full_page=True)
    cancelled = await tap(page, reply.get_by_role("button", name="确定取消"))
    assert "取消" in await cancelled.inner_text()
    assert await page.evaluate("localStorage.getItem('plaint.case')") is None
    await page.close()
