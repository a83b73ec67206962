"""The settings pages in a real browser (chromium through Playwright): an editor adds a product on a tablet,
sees the missing translation on its row, fixes it, and the flow preview's NLP finds the new product at once; an
admin adds a webhook (the secret shown once), disables it, and saves a case view."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.config import Settings
from tests.e2e.test_admin_browser import LAPTOP, TABLET, sign_in
from tests.integration.admin.harness import AdminHarness, running_console

pytestmark = pytest.mark.one_database("sqlite")

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Page


@pytest_asyncio.fixture
async def console(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[AdminHarness]:
    async with running_console(settings, analyzer) as harness:
        yield harness

PREVIEW_MESSAGES = "\n".join(["hi", "Ada", "email", "ada@example.com", "My espresso machine stopped working.",
                              "yesterday", "at home"])


async def test_an_editor_adds_a_product_and_the_preview_finds_it(browser: Browser, console: AdminHarness) -> None:
    base = str(console.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "editor", TABLET)
    await page.click("header nav >> text=Catalog")
    await page.wait_for_selector("#settings-form")
    row = page.locator("fieldset.settings-row", has=page.locator("legend", has_text="new")).first
    new = await row.get_attribute("data-row")
    await page.fill(f"input[name='{new}.id']", "espresso_machine")
    await page.fill(f"input[name='{new}.label_en']", "Espresso machine")
    await page.fill(f"input[name='{new}.names_en']", "espresso machine, coffee machine")
    await page.fill(f"input[name='{new}.names_zh']", "咖啡机，意式咖啡机")
    await page.click("#save")
    # Not saved: the missing Chinese label is marked on the new product's row, the rest of the form kept.
    problems = page.locator(f"fieldset[data-row='{new}'] ul.row-problems")
    await problems.get_by_text("label.zh").wait_for()
    assert await page.locator(f"input[name='{new}.label_zh'].invalid").count() == 1
    assert await page.input_value(f"input[name='{new}.names_zh']") == "咖啡机, 意式咖啡机"
    await page.fill(f"input[name='{new}.label_zh']", "咖啡机")
    await page.click("#save")
    await page.get_by_text("version 1 is in force").wait_for()

    await page.goto(f"{base}/admin/flows/complaint")
    await page.select_option("select[name=channel]", "telegram")
    await page.fill("textarea[name=messages]", PREVIEW_MESSAGES)
    await page.click("#preview-send")
    # The customer named the new product: the NLP proposes it from the edited catalog.
    await page.locator("#preview").get_by_text("Espresso machine").first.wait_for()
    await page.close()


REPAIR_VISIT_MESSAGES = "\n".join(["hi", "Ada", "email", "ada@example.com",
                                   "The engineer booked to repair my dryer never turned up.", "yesterday", "at home"])


async def _preview_repair_visit(page: Page, base: str) -> None:
    await page.goto(f"{base}/admin/flows/complaint")
    await page.select_option("select[name=channel]", "telegram")
    await page.fill("textarea[name=messages]", REPAIR_VISIT_MESSAGES)
    await page.click("#preview-send")


async def test_an_editor_unticks_services_under_the_product_and_the_preview_stops_proposing_it(
        browser: Browser, console: AdminHarness) -> None:
    """By default a complaint about a dryer's repair visit is put to the customer as the dryer; a business whose
    product teams should only get the products' own faults unticks the box, and the question turns open."""
    base = str(console.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "editor", LAPTOP)
    await _preview_repair_visit(page, base)
    await page.locator("#preview").get_by_text("Is this about Tumble dryer?").wait_for()
    await page.click("header nav >> text=Catalog")
    box = page.locator("#services-under-product")
    assert await box.is_checked()
    await box.uncheck()
    await page.click("#save")
    await page.get_by_text("version 1 is in force").wait_for()
    assert not await page.locator("#services-under-product").is_checked()
    await _preview_repair_visit(page, base)
    await page.locator("#preview").get_by_text("Which product or service is this about?").wait_for()
    assert await page.locator("#preview").get_by_text("Is this about Tumble dryer?").count() == 0
    await page.close()


async def test_an_admin_adds_and_disables_a_webhook_and_saves_a_case_view(
    browser: Browser, console: AdminHarness
) -> None:
    base = str(console.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "admin", LAPTOP)
    await page.click("header nav >> text=Webhooks")
    await page.fill("input[name=url]", "https://hooks.example/plaint")
    await page.check("input[value='case.filed']")
    await page.check("input[value='case.resolved']")
    await page.click("#add-webhook")
    secret = await page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")
    row = page.locator("tr[data-webhook]")
    assert "case.filed, case.resolved" in await row.inner_text()
    await row.locator("button[name=disable]").click()
    await page.locator("tr[data-webhook]").get_by_text("Disabled").wait_for()
    assert secret not in await page.content()

    await page.click("header nav >> text=Cases")
    await page.select_option("select[name=language]", "zh")
    await page.click("button:has-text('Filter')")
    await page.fill("input[name=view_name]", "Chinese cases")
    await page.click("#save-view")
    await page.locator("nav.views").get_by_text("Chinese cases").click()
    await page.wait_for_url("**/admin/cases?language=zh")
    await page.close()
