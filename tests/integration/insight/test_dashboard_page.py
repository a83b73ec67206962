"""The dashboard page as the server renders it: the drop-off funnel from real turns, roles, both languages."""

from __future__ import annotations

import copy
import html as html_module
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import APPLICATION_KEY
from storage.insight_rollup import TortoiseInsightRollup
from storage.synthetic import insert_synthetic_cases
from tests.integration.admin.conftest import admin
from tests.integration.admin.harness import AdminHarness
from tests.integration.insight.test_insight import case
from tests.integration.intake.test_intake_service import Customer

__all__ = ["admin"]  # the fixture

pytestmark = pytest.mark.one_database("sqlite")


def funnel_rows(html: str) -> dict[str, list[str]]:
    table = html[html.index('id="funnel-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", table)
    return {cells[0]: cells[1:] for cells in (row.split("</td><td>") for row in rows)}


async def test_the_funnel_shows_real_turns_and_only_readers_of_cases_see_it(admin: AdminHarness) -> None:
    intake = admin.client.server.app[APPLICATION_KEY].intake
    ada = Customer(intake, "ada")
    for text, choice in (("Hello", None), ("Ada", None), (None, "email"), ("not an email address", None)):
        await ada.say(text, choice)

    await admin.login("supervisor")
    response = await admin.client.get("/admin/insight?channel=web")
    html = await response.text()
    assert response.status == 200
    assert "complaint@1" in html and "Counts CONVERSATIONS" in html
    # Every card says what it counts; the volume by team and the NLP quality cards are there.
    assert html.count('class="means"') >= 8 and "Volume by team" in html and "NLP quality" in html
    assert 'id="percentile-method"' in html
    rows = funnel_rows(html)
    # step: reached, answered, abandoned, re-ask rate, median time
    assert rows["name"][:3] == ["1", "1", "0"]
    assert rows["email"][:4] == ["1", "0", "0", "100.0%"]  # asked once, its one answer refused
    assert rows["evidence"][:2] == ["0", "0"]
    telegram = await (await admin.client.get("/admin/insight?channel=telegram")).text()
    assert funnel_rows(telegram)["name"][:2] == ["0", "0"]  # the channel filter applies to the funnel

    chinese = await admin.client.get("/admin/insight", headers={"Accept-Language": "zh-CN"})
    page = await chinese.text()
    assert "<h1>数据洞察</h1>" in page and "按对话统计" in page and "自然语言识别质量" in page

    await admin.login("editor")
    refused = await admin.client.get("/admin/insight")
    assert refused.status == 403


def page_data(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="insight-data">(.*?)</script>', html, re.S)
    assert block is not None
    data: dict[str, Any] = json.loads(block.group(1))
    return data


def nlp_rows(html: str, name: str) -> list[str]:
    """The first cell (the value shown) of each row of the NLP quality table `name` (product or category)."""
    table = html[html.index(f'id="nlp-{name}"'):]
    table = table[:table.index("</table>")]
    return [html_module.unescape(cell) for cell in re.findall(r"<tr><td[^>]*>(.*?)</td>", table)]


LABELLED = [
    case("Ann", product="air_conditioner", category="billing_refund"),
    case("Bob", product="air_conditioner", category="billing_refund"),
    case("Cat", product="kettle", category="product_quality"),
    # A product typed as free text and a category the taxonomy no longer holds: shown as stored.
    case("Dan", product="blender thing", category="retired_category", channel="wechat"),
]


async def test_the_dashboard_names_products_and_categories_by_their_labels_and_links_by_id(
    admin: AdminHarness,
) -> None:
    assert await insert_synthetic_cases(LABELLED) == 4
    # The daily rollup the dashboard reads, brought up to date as the worker's timer does every minute.
    timezone = ZoneInfo(admin.client.server.app[APPLICATION_KEY].settings.timezone)
    assert await TortoiseInsightRollup(timezone).refresh(datetime.now(UTC))
    await admin.login("supervisor")

    english = await (await admin.client.get("/admin/insight?by=product")).text()
    assert nlp_rows(english, "product") == ["Air conditioner", "Electric kettle", "blender thing"]
    assert nlp_rows(english, "category") == ["Billing / refund", "Product quality", "retired_category"]
    data = page_data(english)
    heat = data["heat"]
    assert heat["product_labels"] == ["Air conditioner", "Electric kettle", "blender thing"]
    assert heat["category_labels"] == ["Billing / refund", "Product quality", "retired_category"]
    # What a cell's click filters the case list by: the ids behind the labels, index for index.
    assert heat["products"] == ["air_conditioner", "kettle", "blender thing"]
    assert heat["categories"] == ["billing_refund", "product_quality", "retired_category"]
    assert [heat["product_labels"][y] + " × " + heat["category_labels"][x] + f": {n}" for x, y, n in
            sorted(heat["cells"], key=lambda cell: (cell[1], cell[0]))] == [
        "Air conditioner × Billing / refund: 2", "Electric kettle × Product quality: 1",
        "blender thing × retired_category: 1"]
    assert [(s["name"], s["value"]) for s in data["volume"]["series"]] == [
        ("Air conditioner", "air_conditioner"), ("Electric kettle", "kettle"), ("blender thing", "blender thing")]
    assert "Billing / refund" in english and "air_conditioner" in english  # the rows' ids stay as their titles
    # The filter form still takes ids, and suggests them by label.
    assert '<option value="air_conditioner">Air conditioner</option>' in english
    filtered = page_data(await (await admin.client.get("/admin/insight?product=air_conditioner")).text())
    assert filtered["heat"]["products"] == ["air_conditioner"]
    assert "product=air_conditioner" in filtered["drill"]

    chinese = await (await admin.client.get("/admin/insight", headers={"Accept-Language": "zh-CN"})).text()
    # Most cases first, then in the labels' order.
    assert nlp_rows(chinese, "product") == ["空调", "blender thing", "电水壶"]
    assert nlp_rows(chinese, "category") == ["账单退款", "retired_category", "产品质量"]
    heat = page_data(chinese)["heat"]
    assert heat["product_labels"] == ["blender thing", "电水壶", "空调"]  # in the labels' order
    assert heat["products"] == ["blender thing", "kettle", "air_conditioner"]
    assert [s["name"] for s in page_data(chinese)["volume"]["series"]] == ["retired_category", "产品质量", "账单退款"]

    # Channels have the desk's labels in the page's language; the links and filters keep the ids.
    by_channel = page_data(await (await admin.client.get("/admin/insight?by=channel")).text())
    assert [(s["name"], s["value"]) for s in by_channel["volume"]["series"]] == [("WeChat", "wechat"),
                                                                                ("Web chat", "web")]
    chinese_channels = await admin.client.get("/admin/insight?by=channel", headers={"Accept-Language": "zh-CN"})
    assert [s["name"] for s in page_data(await chinese_channels.text())["volume"]["series"]] == ["微信", "网页聊天"]

    # An edited catalog is the one shown, at once (the one the NLP proposes from).
    status, body = await admin.api("GET", "/catalog", "editor")
    assert status == 200
    catalog = copy.deepcopy(body["document"])
    for product in catalog["products"]:
        if product["id"] == "air_conditioner":
            product["label"] = {"en": "Aircon unit", "zh": "空调机"}
    status, _ = await admin.api("PUT", "/catalog", "editor", json=catalog)
    assert status == 200
    edited = await (await admin.client.get("/admin/insight")).text()
    assert nlp_rows(edited, "product")[0] == "Aircon unit"
    assert page_data(edited)["heat"]["product_labels"][0] == "Aircon unit"
