"""The insight dashboard in a real browser: a supervisor filters to one product, clicks a heat-map cell, lands on
the case list filtered to it, exports it as CSV, and the CSV's rows are the list's rows. In Chinese too. The
charts and tables name products and categories by their labels, and the heat map shows a label for every row of
the whole catalog."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import APPLICATION_KEY
from storage.insight_rollup import TortoiseInsightRollup
from storage.synthetic import insert_synthetic_cases
from tests.browser import artefacts, browser
from tests.integration.admin.conftest import admin
from tests.integration.admin.harness import AdminHarness, sign_in
from tests.integration.insight.test_insight import T0, case

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

__all__ = ["admin", "artefacts", "browser"]  # fixtures

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
    """Where a person would click: the cell's centre on the chart, found through the chart's own axes (the
    labels they show)."""
    await page.wait_for_selector("#chart-heatmap canvas")
    x, y = await page.evaluate(
        """([product, category]) => echarts.getInstanceByDom(document.getElementById('chart-heatmap'))
              .convertToPixel({gridIndex: 0}, [category, product])""",
        [product, category],
    )
    # The chart can be taller than the window (a row per product): the cell itself is brought into view.
    await page.evaluate(
        """(y) => window.scrollBy(0, document.getElementById('chart-heatmap').getBoundingClientRect().top + y
                                     - window.innerHeight / 2)""",
        y,
    )
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
    assert len(heat_rows) == 2 and all("Electric kettle" in row for row in heat_rows)

    # The axes read as the catalog and the taxonomy label them; the cell leads to the cases by id.
    await click_heat_cell(page, "Electric kettle", "Product quality")
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


# What the heat map draws: every text element ECharts painted (a label it skipped is not painted), with its box
# on the chart, and the colour scale's box.
DRAWN_HEAT_MAP = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById('chart-heatmap'));
  const box = (element) => {
    const rect = element.getBoundingRect().clone();
    if (element.transform) { rect.applyTransform(element.transform); }
    return {x: rect.x, y: rect.y, width: rect.width, height: rect.height};
  };
  const texts = chart.getZr().storage.getDisplayList(true)
    .filter((element) => element.style && typeof element.style.text === 'string' && !element.ignore)
    .map((element) => ({text: element.style.text, ...box(element)}));
  const visualMap = chart.getViewOfComponentModel(chart.getModel().getComponent('visualMap')).group;
  const option = chart.getOption();
  return {texts, visualMap: box(visualMap), products: option.yAxis[0].data, categories: option.xAxis[0].data,
          height: chart.getHeight()};
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def assert_every_row_labelled(drawn: dict[str, Any], products: list[str], categories: list[str]) -> None:
    assert sorted(drawn["products"]) == sorted(products) and sorted(drawn["categories"]) == sorted(categories)
    boxes = {text["text"]: text for text in drawn["texts"]}
    missing = [label for label in products + categories if label not in boxes]
    assert not missing, f"labels not drawn: {missing}"
    rows = sorted((boxes[label] for label in products), key=lambda row: row["y"])
    for above, below in itertools.pairwise(rows):
        assert above["y"] + above["height"] <= below["y"], (above, below)
    for label in categories:
        assert not overlap(drawn["visualMap"], boxes[label]), (drawn["visualMap"], boxes[label])
    assert not any(overlap(drawn["visualMap"], boxes[label]) for label in products)
    assert all(text["y"] + text["height"] <= drawn["height"] for text in drawn["texts"])


async def test_the_heat_map_of_the_whole_catalog_labels_every_row_in_both_languages(
    browser: Browser, admin: AdminHarness, artefacts: Path
) -> None:
    status, body = await admin.api("GET", "/catalog", "viewer")
    assert status == 200
    catalog = body["document"]["products"]
    assert len(catalog) >= 40
    categories = ["product_quality", "delivery_logistics", "billing_refund", "service_attitude", "booking_account",
                  "other"]
    cases = [case(f"c{index}", product=product["id"], category=categories[index % len(categories)],
                  created_at=T0 + timedelta(hours=index)) for index, product in enumerate(catalog)]
    assert await insert_synthetic_cases(cases) == len(catalog)
    timezone = ZoneInfo(admin.client.server.app[APPLICATION_KEY].settings.timezone)
    assert await TortoiseInsightRollup(timezone).refresh(datetime.now(UTC))
    status, body = await admin.api("GET", "/taxonomy", "viewer")
    category_labels = {category["id"]: category["label"] for category in body["document"]["categories"]}

    base = str(admin.client.make_url("")).rstrip("/")
    page = await sign_in(browser, base, "supervisor", LAPTOP, landing="/admin/insight")
    await page.wait_for_selector("#chart-heatmap canvas")
    for lang in ("en", "zh"):
        if lang == "zh":
            await page.goto(f"{base}/admin/lang/zh?next=/admin/insight")
            await page.wait_for_selector("#chart-heatmap canvas")
        await page.locator("#card-heatmap").screenshot(path=str(artefacts / f"heat-map-{lang}.png"))
        products = [product["label"][lang] for product in catalog]
        labels = [category_labels[category][lang] for category in categories]
        assert_every_row_labelled(await page.evaluate(DRAWN_HEAT_MAP), products, labels)
        shown = await page.locator("#nlp-product tbody td:first-child").all_inner_texts()
        assert sorted(shown) == sorted(products)
        assert ("Air conditioner" if lang == "en" else "空调") in shown
        assert ("Billing / refund" if lang == "en" else "账单退款") in await page.locator(
            "#nlp-category tbody td:first-child").all_inner_texts()

    # A cell far down the tall chart still opens its cases, by id.
    index = next(index for index, product in enumerate(catalog) if product["id"] == "air_conditioner")
    await click_heat_cell(page, "空调", category_labels[categories[index % len(categories)]]["zh"])
    await page.wait_for_url("**/admin/cases?**")
    assert "product=air_conditioner" in page.url
    assert f"category={categories[index % len(categories)]}" in page.url
    assert len(await page.locator("table.cases tbody tr").all()) == 1
