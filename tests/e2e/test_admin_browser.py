"""The console in a real browser (chromium through Playwright) on laptop and tablet screens: an editor edits,
breaks and fixes the flow, previews it as WeChat and publishes; a viewer sees masked contacts and cannot
publish; a supervisor resolves a case and Slack's message is updated."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.config import Settings
from storage.models import CasePriority
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import Say, WebCustomer, complete_flow
from tests.integration.admin.harness import (
    LAPTOP,
    AdminHarness,
    provision,
    running_console,
    sign_in,
)
from tests.integration.slack.conftest import slack_api, start_plaint  # noqa: F401 (fixtures)
from tests.integration.slack.harness import (
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    block_texts,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually

# Pages and contracts, not storage: one database is enough (storage is tested on every one elsewhere).
pytestmark = pytest.mark.one_database("sqlite")

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser

TABLET = {"width": 820, "height": 1180}


@pytest_asyncio.fixture
async def console(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[AdminHarness]:
    async with running_console(settings, analyzer) as harness:
        yield harness


async def test_an_editor_changes_breaks_fixes_previews_and_publishes_the_greeting(
    browser: Browser, console: AdminHarness
) -> None:
    base = str(console.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "editor", LAPTOP)
    await page.click("text=complaint")
    await page.wait_for_selector("svg.flow-graph")
    await page.fill("textarea[name='greeting.en']", "Welcome to the new complaint desk.")
    await page.fill("textarea[name='greeting.zh']", "欢迎来到新的投诉台。")
    # Break a branch: compare the contact method with a value it never has.
    await page.fill("input[name='step.contact_method.next.0.equals']", "fax")
    problems = page.locator("#problems-step-contact_method")
    await problems.get_by_text("which is not one of its options").wait_for()
    assert await page.locator("#problems-step-name li").count() == 0
    await page.click("button[name=save]")
    assert "which is not one of its options" in await page.locator("#problems-step-contact_method").inner_text()
    await page.fill("input[name='step.contact_method.next.0.equals']", "email")
    await page.locator("#problems-step-contact_method li").first.wait_for(state="detached")
    await page.click("button[name=save]")
    await page.get_by_text("Draft saved.").wait_for()

    await page.select_option("select[name=channel]", "wechat")
    await page.fill("textarea[name=messages]", "hi\nAda Lovelace")
    await page.click("#preview-send")
    preview = page.locator("#preview")
    await preview.get_by_text("Welcome to the new complaint desk.").wait_for()
    assert "1. Phone" in await preview.inner_text()  # WeChat has no buttons: numbered options

    await page.click("#publish")
    await page.get_by_text("Published version 2.").wait_for()
    await page.close()

    customer = WebCustomer(console.client, "zh-CN")
    await customer.post(Say("你好"))
    assert "欢迎来到新的投诉台。" in customer.text()
    english = WebCustomer(console.client, "en-GB")
    await english.post(Say("hello"))
    assert "Welcome to the new complaint desk." in english.text()


async def test_a_viewer_sees_masked_contacts_and_no_publish_button(browser: Browser, console: AdminHarness) -> None:
    customer = WebCustomer(console.client, "en-GB")
    number = await complete_flow(customer, ENGLISH, "hello")
    base = str(console.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "viewer", TABLET)
    await page.goto(f"{base}/admin/cases")
    listing = await page.locator("table.cases").inner_text()
    assert number in listing and "Ada Lovelace" not in listing
    await page.click(f"text={number}")
    assert "***" in await page.locator("#case-name").inner_text()
    assert "ada@example.com" not in await page.content()
    assert "Contact details are masked" in await page.content()
    assert await page.locator("#action-resolve").count() == 0
    await page.goto(f"{base}/admin/flows/complaint")
    await page.wait_for_selector("svg.flow-graph")
    assert await page.locator("#publish").count() == 0
    assert await page.locator("button[name=save]").count() == 0


async def test_a_supervisor_resolves_a_case_and_slack_is_updated(
    browser: Browser, start_plaint: HarnessFactory  # noqa: F811
) -> None:
    plaint = await start_plaint()
    await provision(AdminHarness(plaint.client))
    number = await file_web_case(plaint, uuid.uuid4().hex)
    await posted_case_message(plaint, number)
    base = str(plaint.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "supervisor", LAPTOP)
    await page.goto(f"{base}/admin/cases/{number}")
    # The priority the rules gave the case is shown with it.
    priority = await CasePriority.get(case__number=number)
    assert (await page.locator("#case-priority").inner_text()).strip() == priority.priority
    await page.click("#action-acknowledge")
    await page.locator("p.notice").get_by_text("Done.").wait_for()
    assert (await page.locator("#case-status").inner_text()).strip() == "acknowledged"
    await page.fill("input[name=summary]", "Refund issued to the original card")
    await page.fill("input[name=code]", "refunded")
    await page.click("#action-resolve")
    await page.wait_for_function("document.querySelector('#case-status').textContent.trim() === 'resolved'")

    async def slack_updated() -> bool:
        updates = plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL)
        return bool(updates) and "Refund issued to the original card" in block_texts(updates[-1])

    await eventually(slack_updated, what="Slack's case message updated in place")
