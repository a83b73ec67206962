"""The privacy pages in a real browser: an admin reads the retention policy with what is due now, applies it,
checks the data, and erases the person behind a "delete my data" request from the chat; a supervisor sees a
case's contacts masked until they ask to see them, which the audit log records; a viewer may do none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.analysis import ThreadedAnalyzer
from bot.config import Settings
from flows.engine import DATA_ERASURE_CATEGORY
from storage.models import AuditEntry, Case, Customer
from tests.browser import browser  # noqa: F401  (the fixture)
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import Say, WebCustomer, complete_flow
from tests.integration.admin.harness import AdminHarness, running_console, sign_in

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.one_database("sqlite")


@pytest_asyncio.fixture
async def console(settings: Settings, analyzer: ThreadedAnalyzer, tmp_path: Path) -> AsyncIterator[AdminHarness]:
    policy = tmp_path / "retention.yaml"
    policy.write_text("closed_cases: {after_days: 365, action: anonymise}\n", encoding="utf-8")
    async with running_console(settings.model_copy(update={"retention_file": policy}), analyzer) as harness:
        yield harness

DESKTOP = {"width": 1280, "height": 800}


async def test_admin_applies_retention_and_erases_a_chat_request_supervisor_unmasks(
    browser: Browser, console: AdminHarness  # noqa: F811
) -> None:
    english = WebCustomer(console.client, "en-GB")
    number = await complete_flow(english, ENGLISH, "hello")
    asking = WebCustomer(console.client, "zh-CN")
    await asking.post(Say("删除我的数据"))
    request_number = asking.case_number
    assert request_number is not None
    customer = await Customer.create(display_name="Old Customer", lang="en")
    old = await Case.create(number="PL-OLD777", status="closed", customer=customer, channel="web",
                            sender_id="session-old", lang="en", name="Old Customer", product="kettle")
    await Case.filter(id=old.id).update(updated_at=datetime.now(UTC) - timedelta(days=400))
    base = str(console.client.make_url("")).rstrip("/")

    admin = await sign_in(browser, base, "admin", DESKTOP)
    await admin.click("a[href='/admin/privacy']")
    closed_row = await admin.locator("#class-closed_cases").inner_text()
    assert "365 days" in closed_row and "anonymised" in closed_row and "1 rows" in closed_row
    assert "PL-OLD777" in closed_row
    assert "for ever" in await admin.locator("#class-evidence").inner_text()
    # The policy is edited here too: a wrong value is named with its line, a right one applies at once.
    await admin.click("details summary")
    await admin.fill("textarea[name=policy]",
                     "evidence: {after_days: 400}\nclosed_cases: {after_days: 365, action: shred}\n")
    await admin.click("#save-policy")
    assert "line 2: closed_cases.action" in await admin.locator("#draft-error").inner_text()
    await admin.fill("textarea[name=policy]", "evidence: {after_days: 400}\nclosed_cases: {after_days: 365}\n")
    await admin.click("#save-policy")
    await admin.locator("p.notice").get_by_text("Policy saved.").wait_for()
    assert "400 days" in await admin.locator("#class-evidence").inner_text()
    assert (await admin.locator("#policy-source").text_content() or "").strip() == "console"
    assert await AuditEntry.filter(action="retention.policy_changed").count() == 1
    await admin.click("#run-retention")
    await admin.locator("p.notice").get_by_text("Retention applied: 1 rows.").wait_for()
    assert "admin@plaint.example" in await admin.locator("#last-run").inner_text()
    assert (await Case.get(id=old.id)).name is None
    await admin.click("#run-check")
    await admin.locator("p.notice").get_by_text("Data checked.").wait_for()
    assert "cases" in await admin.locator("#last-check").inner_text()

    await admin.click("a[href='/admin/privacy/requests']")
    assert request_number in await admin.locator("#chat-requests").inner_text()
    request = await Case.get(number=request_number)
    assert request.category == DATA_ERASURE_CATEGORY
    form = admin.locator("#erase-form")
    await form.locator("select[name=kind]").select_option("customer")
    await form.locator("input[name=value]").fill(f"web:{request.sender_id}")
    await admin.click("#erase-button")
    await admin.get_by_role("alert").get_by_text("Tick the confirmation box").wait_for()
    form = admin.locator("#erase-form")
    await form.locator("input[name=value]").fill(f"web:{request.sender_id}")
    await form.locator("input[name=confirm]").check()
    await admin.click("#erase-button")
    await admin.locator("p.notice").get_by_text("Erased: 1 cases anonymised").wait_for()
    erased = await Case.get(number=request_number)
    assert (erased.category, erased.description) == (DATA_ERASURE_CATEGORY, None)
    assert await AuditEntry.filter(action="privacy.erased", actor="admin@plaint.example").count() == 1
    await admin.close()

    supervisor = await sign_in(browser, base, "supervisor", DESKTOP)
    await supervisor.goto(f"{base}/admin/cases/{number}")
    assert "***" in await supervisor.locator("#case-phone").inner_text()
    assert "ada@example.com" not in await supervisor.content()
    assert await AuditEntry.filter(action="contacts.unmasked").count() == 0
    masked_transcript = await supervisor.locator("div.chat").inner_text()
    assert "Ada Lovelace" not in masked_transcript and "7946 0958" not in masked_transcript
    await supervisor.click("#show-contacts")
    assert (await supervisor.locator("#contact-name").inner_text()).strip() == "Ada Lovelace"
    assert (await supervisor.locator("#contact-email").inner_text()).strip() == "ada@example.com"
    # The transcript shows what the customer wrote, unmasked, on the same audited page.
    transcript = await supervisor.locator("#transcript-unmasked").inner_text()
    assert all(said in transcript for said in ("Ada Lovelace", "+44 20 7946 0958", "ada@example.com"))
    unmasked = await AuditEntry.get(action="contacts.unmasked")  # one entry for contacts and transcript
    assert (unmasked.actor, unmasked.object_id) == ("supervisor@plaint.example", number)
    assert unmasked.after is not None and unmasked.after["transcript"] > 0
    await supervisor.close()

    viewer = await sign_in(browser, base, "viewer", DESKTOP)
    await viewer.goto(f"{base}/admin/cases/{number}")
    assert await viewer.locator("#show-contacts").count() == 0
    response = await viewer.goto(f"{base}/admin/privacy")
    assert response is not None and response.status == 403
    await viewer.close()
    # Without the session's CSRF token no form acts, whatever the role.
    csrf = await console.login("admin")
    refused = await console.client.post("/admin/privacy/retention", data={"csrf_token": csrf + "x"})
    assert refused.status == 403
    # A malformed address is answered on the form, never with a server error.
    malformed = await console.client.post("/admin/privacy/requests/erase", data={
        "csrf_token": csrf, "kind": "customer", "value": "no-colon-here", "confirm": "yes"})
    assert malformed.status == 422 and "CHANNEL:ID" in await malformed.text()
