"""The insight dashboard in a real browser: a supervisor filters to one product, clicks a heat-map cell, lands on
the case list filtered to it, exports it as CSV, and the CSV's rows are the list's rows. In Chinese too."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from bot.app import APPLICATION_KEY
from storage.insight_rollup import TortoiseInsightRollup
from storage.synthetic import insert_synthetic_cases
from tests.browser import browser
from tests.integration.admin.conftest import admin
from tests.integration.admin.harness import AdminHarness, sign_in
from tests.integration.insight.test_insight import T0, case

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

__all__ = ["admin", "browser"]  # fixtures

pytestmark = pytest.mark.one_database("sqlite")

LAPTOP = {"width": 1366, "height": 900}

CASES = [
    case("Ann", product="kettle", category="product_quality", status="resolved",
         events=(("agent_reply", timedelta(hours=1)), ("resolve", timedelta(hours=3)))),
    case("Bob", product="kettle", category="product_quality", created_at=T0 + timedelta(days=1)),
    case("Cat", product="kettle", category="delivery_logistics", channel="telegram", created_at=T0 + timedelta(days=1)),
    case("李娜", product="washing_machine", category="product_quality", channel="wechat", lang="zh",
         created_at=T0 + timedelta(days=2)),
]


async def click_heat_cell(page: Page, product: str, category: str) -> None:
    """Where a person would click: the cell's centre on the chart, found through the chart's own axes."""
    await page.wait_for_selector("#chart-heatmap canvas")
    x, y = await page.evaluate(
        """([product, category]) => echarts.getInstanceByDom(document.getElementById('chart-heatmap'))
              .convertToPixel({gridIndex: 0}, [category, product])""",
        [product, category],
    )
    await page.locator("#chart-heatmap").scroll_into_view_if_needed()
    box = await page.locator("#chart-heatmap").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + x, box["y"] + y)


async def test_a_supervisor_drills_from_the_heat_map_to_the_cases_and_exports_them(
    browser: Browser, admin: AdminHarness, tmp_path: Path
) -> None:
    assert await insert_synthetic_cases(CASES) == 4
    # The daily rollup the dashboard reads, brought up to date as the worker's timer does every minute.
    timezone = ZoneInfo(admin.client.server.app[APPLICATION_KEY].settings.timezone)
    assert await TortoiseInsightRollup(timezone).refresh(datetime.now(UTC))
    base = str(admin.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "supervisor", LAPTOP, landing="/admin/insight", accept_downloads=True)
    assert "daily rollup" in await page.locator("#percentile-method").inner_text()
    assert "4 cases match" in await page.locator("#insight-total").inner_text()
    await page.wait_for_selector("#chart-volume canvas")
    # Every card says what it counts.
    assert "Counts CASES" in await page.locator("#card-timings").inner_text()
    assert "3.0 h" in await page.locator("#figure-resolution").inner_text()

    await page.fill("#insight-filters input[name=product]", "kettle")
    await page.click("#insight-filters button[type=submit]")
    await page.wait_for_url("**/admin/insight?**product=kettle**")
    assert "3 cases match" in await page.locator("#insight-total").inner_text()
    heat_rows = await page.locator("#heat-table tbody tr").all_text_contents()  # a closed <details>
    assert len(heat_rows) == 2 and all("kettle" in row for row in heat_rows)

    await click_heat_cell(page, "kettle", "product_quality")
    await page.wait_for_url("**/admin/cases?**")
    assert "product=kettle" in page.url and "category=product_quality" in page.url
    listed = await page.locator("table.cases tbody tr td:first-child").all_inner_texts()
    assert len(listed) == 2
    names = await page.locator("table.cases tbody tr td.contact").all_inner_texts()
    assert sorted(names) == ["Ann", "Bob"]

    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    saved = tmp_path / "cases.csv"
    await download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert sorted(row["number"] for row in rows) == sorted(listed)
    assert {(row["product"], row["category"]) for row in rows} == {("kettle", "product_quality")}

    # The same dashboard in Chinese.
    await page.goto(f"{base}/admin/lang/zh?next=/admin/insight")
    await page.wait_for_selector("#chart-heatmap canvas")
    assert await page.locator("h1").inner_text() == "数据洞察"
    assert "符合筛选条件的案件共 4 件" in await page.locator("#insight-total").inner_text()


async def test_a_wrong_date_is_named_on_its_field(browser: Browser, admin: AdminHarness) -> None:
    base = str(admin.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "viewer", LAPTOP, landing="/admin/insight", accept_downloads=True)
    response = await page.goto(f"{base}/admin/insight?from=2026-13-01")
    assert response is not None and response.status == 422
    assert "YYYY-MM-DD" in await page.locator("label:has(input[name=from])").inner_text()
