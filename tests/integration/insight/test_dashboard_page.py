"""The dashboard page as the server renders it: the drop-off funnel from real turns, roles, both languages."""

from __future__ import annotations

import re

import pytest

from bot.app import APPLICATION_KEY
from tests.integration.admin.conftest import admin
from tests.integration.admin.harness import AdminHarness
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
