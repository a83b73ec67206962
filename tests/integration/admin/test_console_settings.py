"""The settings pages as a browser submits them: sessions, roles and CSRF on every form; problems shown on
the row they concern; the catalog's CSV out and in; webhooks and saved views through their forms."""

from __future__ import annotations

import re

import pytest
import yaml
from aiohttp import FormData

from tests.integration.admin.harness import AdminHarness, csrf_from
from tests.integration.admin.test_api_settings import products_proposed

pytestmark = pytest.mark.one_database("sqlite")

SETTINGS_PAGES = ("/admin/catalog", "/admin/categories", "/admin/routing", "/admin/sla")


async def test_settings_pages_check_sessions_roles_and_csrf(admin: AdminHarness) -> None:
    for path in (*SETTINGS_PAGES, "/admin/webhooks"):
        response = await admin.client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"].startswith("/admin/login")) == (303, True), path
    csrf = await admin.login("viewer")
    for path in SETTINGS_PAGES:
        response = await admin.client.get(path)
        html = await response.text()
        assert response.status == 200 and 'id="save"' not in html, path
        response = await admin.client.post(path, data={"csrf_token": csrf})
        assert response.status == 403, path
    assert (await admin.client.get("/admin/webhooks")).status == 403
    csrf = await admin.login("editor")
    for path in SETTINGS_PAGES:
        response = await admin.client.post(path, data={})
        assert (response.status, "expired" in await response.text()) == (403, True), path
    assert (await admin.client.get("/admin/webhooks")).status == 403  # webhooks carry secrets: admins only


async def test_an_editor_edits_categories_and_sees_problems_on_their_row(admin: AdminHarness) -> None:
    csrf = await admin.login("editor")
    html = await (await admin.client.get("/admin/categories")).text()
    rows = dict(re.findall(r'name="(categories\.\d+\.(?!remove)\w+)" value="([^"]*)"', html))
    assert rows["categories.0.id"] == "product_quality" and rows["categories.0.label_zh"] == "产品质量"
    count = sum(1 for key in rows if key.endswith(".id") and rows[key])
    form = {**rows, "csrf_token": csrf, f"categories.{count}.id": "safety",
            f"categories.{count}.label_en": "Safety", f"categories.{count}.label_zh": ""}
    response = await admin.client.post("/admin/categories", data=form)
    html = await response.text()
    assert response.status == 422
    row = re.search(rf'<tr class="settings-row has-problem" data-row="categories\.{count}">(.*?)</tr>', html, re.S)
    assert row is not None and "label.zh" in row.group(1), html[html.find("<table"):][:3000]
    assert f'name="categories.{count}.label_zh" value="" class="invalid"' in html
    form[f"categories.{count}.label_zh"] = "安全"
    response = await admin.client.post("/admin/categories", data=form)
    html = await response.text()
    assert response.status == 200 and "version 1" in html
    _, body = await admin.api("GET", "/taxonomy", "viewer")
    assert body["document"]["categories"][-1] == {"id": "safety", "label": {"en": "Safety", "zh": "安全"}}


async def test_the_catalog_goes_out_and_comes_back_as_csv(admin: AdminHarness) -> None:
    csrf = await admin.login("editor")
    response = await admin.client.get("/admin/catalog.csv")
    exported = await response.text()
    assert response.status == 200 and response.content_type == "text/csv"
    assert exported.splitlines()[0].startswith("id,label_en,label_zh,names_en")
    edited = exported.replace("Electric kettle,电水壶", "Kettle (any),电热水壶", 1)
    data = FormData()
    data.add_field("csrf_token", csrf)
    data.add_field("file", edited.encode(), filename="catalog.csv", content_type="text/csv")
    response = await admin.client.post("/admin/catalog/import", data=data)
    assert response.status == 200, await response.text()
    _, body = await admin.api("GET", "/catalog", "viewer")
    kettle = next(p for p in body["document"]["products"] if p["id"] == "kettle")
    assert kettle["label"] == {"en": "Kettle (any)", "zh": "电热水壶"}
    _, body = await admin.api("GET", "/audit?object=catalog", "admin")
    assert body["entries"][0]["changes"] == ["product kettle: label.en, label.zh changed"]


async def test_routing_and_sla_forms(admin: AdminHarness) -> None:
    csrf = await admin.login("editor")
    html = await (await admin.client.get("/admin/routing")).text()
    form = dict(re.findall(r'name="((?:teams|rules)\.\d+\.(?!remove)\w+)" value="([^"]*)"', html))
    form |= {f"rules.{i}.team": team for i, team in enumerate(re.findall(
        r'name="rules\.\d+\.team">.*?<option selected>([^<]+)</option>', html))}
    form |= {"csrf_token": csrf, "default_team": "general", "rules.1.category": "product_defect, safety"}
    response = await admin.client.post("/admin/routing", data=form)
    html = await response.text()
    # The shipped routing names categories the taxonomy does not have: the console says so, on the rule.
    assert response.status == 422
    assert "&#39;product_defect&#39; is not a category of the taxonomy" in html, html[html.find("<main"):][:3000]
    form |= {"rules.1.category": "product_quality", "rules.2.category": "delivery_logistics"}
    response = await admin.client.post("/admin/routing", data=form)
    assert response.status == 200, await response.text()
    # YAML out of the console, back in through the API: a new version of the same document.
    exported = await (await admin.client.get("/admin/routing.yaml")).text()
    assert yaml.safe_load(exported)["rules"][1]["when"] == {"category": ["product_quality"]}
    status, body = await admin.api("PUT", "/routing", "editor", data=exported.encode(),
                                   headers={"Content-Type": "application/yaml"})
    assert (status, body) == (200, {"kind": "routing", "version": 2})

    html = await (await admin.client.get("/admin/sla")).text()
    source = re.search(r'<textarea name="source"[^>]*>(.*?)</textarea>', html, re.S)
    assert source is not None and "calendars:" in source.group(1) and "policies:" not in source.group(1)
    text = source.group(1).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    policies = dict(re.findall(r'name="(policies\.\d+\.(?!remove)\w+)" value="([^"]*)"', html))
    assert (policies["policies.0.name"], policies["policies.0.priority"]) == ("urgent", "urgent")
    form = {**policies, "csrf_token": csrf, "source": text, "policies.2.first_response": "4 hours"}
    response = await admin.client.post("/admin/sla", data=form)
    html = await response.text()
    assert response.status == 422 and 'data-row="policies.2"' in html and "policies.2.first_response" in html
    form |= {"policies.2.first_response": "3h", "policies.1.category": "product_quality"}
    response = await admin.client.post("/admin/sla", data=form)
    assert response.status == 200, await response.text()
    _, body = await admin.api("GET", "/sla-policies", "viewer")
    saved = body["document"]["policies"]
    assert (saved[2]["first_response"], saved[1]["when"]) == ("3h", {"priority": ["high"],
                                                                     "category": ["product_quality"]})
    assert saved[0]["escalation"] == {"warn_at": 0.5, "mention_lead": True}  # not in the form: kept
    assert body["document"]["calendars"]["china-office"]["timezone"] == "Asia/Shanghai"


async def test_webhooks_and_saved_views_through_their_forms(admin: AdminHarness) -> None:
    csrf = await admin.login("admin")
    response = await admin.client.post("/admin/webhooks", data={"csrf_token": csrf, "url": "ftp://x"})
    assert response.status == 422
    response = await admin.client.post("/admin/webhooks", data=[
        ("csrf_token", csrf), ("url", "https://hooks.example/in"), ("events", "case.filed"),
        ("events", "csat.received")])
    html = await response.text()
    secret = re.search(r'<code id="secret">([^<]+)</code>', html)
    assert response.status == 200 and secret is not None
    assert "case.filed, csat.received" in html
    webhook_id = re.search(r'data-webhook="(\d+)"', html)
    assert webhook_id is not None
    response = await admin.client.post(f"/admin/webhooks/{webhook_id.group(1)}/disable", data={"csrf_token": csrf})
    assert "Disabled" in await response.text()
    assert secret.group(1) not in await (await admin.client.get("/admin/webhooks")).text()

    response = await admin.client.post("/admin/case-views", data={
        "csrf_token": csrf, "view_name": "Chinese kettles", "product": "kettle", "language": "zh"})
    html = await response.text()
    assert response.status == 200 and 'data-view="Chinese kettles"' in html
    assert 'href="/admin/cases?product=kettle&amp;language=zh"' in html
    assert csrf_from(html)


async def test_an_editor_draws_the_catalogs_line_for_services(admin: AdminHarness) -> None:
    """The catalog page's "services count as the product" box: unticked, a complaint about a product's repair
    visit gets no product proposed (the product's own faults still do); a CSV import keeps the line; the audit
    log says it changed."""
    repair_visit, fault = "The engineer booked to repair my dryer never turned up.", "The tumble dryer stopped heating."
    assert await products_proposed(admin, repair_visit, "en") == ["dryer"]
    csrf = await admin.login("editor")
    html = await (await admin.client.get("/admin/catalog")).text()
    assert re.search(r'name="services_under_product" value="1" id="services-under-product"\s+checked', html)
    rows = dict(re.findall(r'name="(products\.\d+\.(?!remove)\w+)" value="([^"]*)"', html))
    response = await admin.client.post("/admin/catalog", data={**rows, "csrf_token": csrf})
    assert response.status == 200 and "version 1" in await response.text()
    _, body = await admin.api("GET", "/catalog", "viewer")
    assert body["document"]["services_under_product"] is False
    assert await products_proposed(admin, repair_visit, "en") == []
    assert await products_proposed(admin, fault, "en") == ["dryer"]
    html = await (await admin.client.get("/admin/catalog")).text()
    assert re.search(r'id="services-under-product"\s+>', html)  # shown unticked
    _, body = await admin.api("GET", "/audit?object=catalog", "admin")
    assert body["entries"][0]["changes"] == ["services_under_product changed"]

    data = FormData()
    data.add_field("csrf_token", csrf)
    exported = await (await admin.client.get("/admin/catalog.csv")).text()
    data.add_field("file", exported.encode(), filename="catalog.csv", content_type="text/csv")
    assert (await admin.client.post("/admin/catalog/import", data=data)).status == 200
    _, body = await admin.api("GET", "/catalog", "viewer")
    assert (body["version"], body["document"]["services_under_product"]) == (2, False)
    assert await products_proposed(admin, repair_visit, "en") == []
    # Through the API, a document without the setting takes the default: the audit names that change only.
    document = {key: value for key, value in body["document"].items() if key != "services_under_product"}
    assert (await admin.api("PUT", "/catalog", "editor", json=document))[0] == 200
    assert await products_proposed(admin, repair_visit, "en") == ["dryer"]
    _, body = await admin.api("GET", "/audit?object=catalog", "admin")
    assert body["entries"][0]["changes"] == ["services_under_product changed"]
