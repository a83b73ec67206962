"""A kettle complaint to a business that sells no kettles, in a real browser on a phone: the web chat asks an
open product question with the catalog's products as buttons, never "Is this about ...?" with a Yes."""

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

    from playwright.async_api import Browser, Page

PHONE = {"width": 390, "height": 844}
PRODUCTS = [
    ("washer", "Washing machine", "洗衣机"),
    ("dryer", "Tumble dryer", "干衣机"),
    ("blender", "Blender", "搅拌机"),
    ("toaster", "Toaster", "烤面包机"),
    ("router", "Wi-Fi router", "无线路由器"),
    ("vacuum", "Vacuum cleaner", "吸尘器"),
    ("monitor", "Computer monitor", "显示器"),
]


@pytest_asyncio.fixture
async def kettle_free_chat(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "products:\n" + "".join(
            f"  - id: {pid}\n    label: {{en: {en}, zh: {zh}}}\n    names: {{en: [{en.lower()}], zh: [{zh}]}}\n"
            for pid, en, zh in PRODUCTS
        ),
        encoding="utf-8",
    )
    # No analyzer passed: the composition root loads the shipped models with the settings' catalog.
    app = build_app(settings.model_copy(update={"catalog_path": catalog}))
    async with serving(app) as url:
        yield url


async def answer(page: Page, text: str) -> None:
    """Type an answer and wait for the bot to say something after it."""
    before = await page.locator(".msg.bot").count()
    await page.fill("#text", text)
    await page.click("#send")
    # A locator, not wait_for_function: the page's CSP forbids the eval that a string predicate needs.
    await page.locator(".msg.bot").nth(before).wait_for()


async def test_a_kettle_gets_the_open_question_with_the_catalog_as_buttons(
    browser: Browser, kettle_free_chat: str
) -> None:
    page = await browser.new_page(viewport=PHONE, locale="en-GB")  # type: ignore[arg-type]
    await page.goto(f"{kettle_free_chat}/chat")
    await page.locator(".msg.bot").first.wait_for()
    for text in ("Ada Lovelace", "email", "ada@example.com", "The electric kettle I bought leaks",
                 "yesterday 3pm"):
        await answer(page, text)
    await page.fill("#text", "Oxford Street store, London")
    await page.click("#send")

    await page.get_by_text("Which product or service is this about?").wait_for()
    question = page.locator(".msg.bot").last
    assert "Which product or service is this about?" in await question.inner_text()
    buttons = question.locator(".buttons button")
    labels = [label.strip() for label in await buttons.all_inner_texts()]
    assert labels[:6] == [en for _, en, _ in PRODUCTS[:6]]
    assert "Computer monitor" not in labels
    assert await question.locator("button[data-role=yes]").count() == 0
    assert "Is this about" not in await page.locator("#log").inner_text()
    # Free text stays possible: the input is there and enabled.
    assert await page.locator("#text").is_enabled()

    # A tap stores the catalog's product and the flow moves on to the category.
    before = await page.locator(".msg.bot").count()
    await question.locator(".buttons button", has_text="Blender").click()
    # A locator, not wait_for_function: the page's CSP forbids the eval that a string predicate needs.
    await page.locator(".msg.bot").nth(before).wait_for()
    assert "problem" in await page.locator(".msg.bot").last.inner_text()
    await page.close()
