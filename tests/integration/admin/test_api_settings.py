"""The desk settings through the API: the catalog, the categories, routing and SLA policies, each validated in
full (every problem names its field) and against the others, audited, and in force at once in this worker
and within seconds in every other one (the customer's NLP, the desk's routing, the SLA of new cases)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.analysis import ThreadedAnalyzer
from bot.app import APPLICATION_KEY
from bot.composition import Application
from bot.desk.routing import CaseFacts, route
from storage.settings_versions import TortoiseSettingsVersions
from tests.integration.admin.harness import AdminHarness
from tests.waiting import eventually

pytestmark = pytest.mark.one_database("postgres")

SEWING = {
    "id": "sewing_machine",
    "label": {"en": "Sewing machine", "zh": "缝纫机"},
    "names": {"en": ["sewing machine"], "zh": ["缝纫机"]},
    "aliases": [], "skus": ["EM-100"], "model_prefixes": [], "related": {"en": [], "zh": []},
}


def application(admin: AdminHarness) -> Application:
    return admin.client.app[APPLICATION_KEY]


async def document(admin: AdminHarness, path: str) -> dict[str, Any]:
    status, body = await admin.api("GET", path, "viewer")
    assert status == 200, body
    found: dict[str, Any] = body["document"]
    return found


def fields_of(body: dict[str, Any]) -> list[str | None]:
    return [error["field"] for error in body["errors"]]


async def products_proposed(admin: AdminHarness, text: str, lang: str) -> list[str]:
    proposals = await application(admin).intake.analyzer.propose(text, lang)
    return [p.value for p in proposals if p.field == "product"]


async def test_an_edited_catalog_is_what_the_nlp_proposes_at_once(
    admin: AdminHarness, analyzer: ThreadedAnalyzer
) -> None:
    status, body = await admin.api("GET", "/catalog", "viewer")
    assert (status, body["version"], body["saved_by"]) == (200, 0, None)
    catalog = body["document"]
    assert catalog["products"][0]["label"] == {"en": "Washing machine", "zh": "洗衣机"}
    assert await products_proposed(admin, "my new sewing machine jams", "en") == []

    broken = copy.deepcopy(catalog)
    broken["products"].append({**SEWING, "label": {"en": "Sewing machine", "zh": ""}})
    broken["products"].append({**SEWING, "id": "Sewing Machine!"})
    status, body = await admin.api("PUT", "/catalog", "editor", json=broken)
    assert status == 422
    count = len(catalog["products"])
    assert fields_of(body) == [f"products.{count}.label.zh", f"products.{count + 1}.id"]

    twice = copy.deepcopy(catalog)
    twice["products"] += [SEWING, SEWING]
    status, body = await admin.api("PUT", "/catalog", "editor", json=twice)
    assert status == 422
    assert body["errors"] == [{"step": None, "field": f"products.{count + 1}.id",
                               "message": "'sewing_machine' is listed twice"}]

    edited = copy.deepcopy(catalog)
    edited["products"].insert(0, SEWING)
    status, body = await admin.api("PUT", "/catalog", "editor", json=edited)
    assert (status, body) == (200, {"kind": "catalog", "version": 1})

    # This application's NLP uses the new catalog at once, in both languages, and offers it first as a button.
    assert await products_proposed(admin, "my new sewing machine jams", "en") == ["sewing_machine"]
    assert await products_proposed(admin, "我的缝纫机卡线了", "zh") == ["sewing_machine"]
    assert application(admin).intake.analyzer.catalog_choices("zh")[0].label == "缝纫机"
    # The editor's preview offers the catalog's buttons when the customer named no product, the new one first.
    # (In Chinese: the conversation follows the customer's language, and its buttons with it.)
    messages = ["你好", "李娜", "邮箱", "ada@example.com", "它坏了，打电话也没有人接。", "昨天", "在家里"]
    status, body = await admin.api("POST", "/flows/complaint/simulate", "editor",
                                   json={"source": 1, "lang": "zh", "channel": "telegram", "messages": messages})
    assert status == 200, body
    last = body["turns"][-1]
    assert last["step"] == "product"
    assert last["replies"][-1]["buttons"][0] == {"value": "sewing_machine", "label": "缝纫机"}
    # The session's shared analyzer (another application) is untouched.
    assert [p.value for p in await analyzer.propose("my new sewing machine jams", "en")
            if p.field == "product"] == []

    status, body = await admin.api("GET", "/catalog", "supervisor")
    assert (body["version"], body["saved_by"], body["document"]["products"][0]["id"]) == (
        1, "token:editor-token", "sewing_machine")
    status, body = await admin.api("GET", "/audit?object=catalog", "admin")
    entry = body["entries"][0]
    assert (entry["actor"], entry["action"], entry["object_id"]) == ("token:editor-token", "save", "version 1")
    assert "product sewing_machine added" in entry["changes"]

    # CSV in (the columns PLAINT_CATALOG_PATH=....csv reads): a bad row is named by its field.
    csv_text = ("id,label_en,label_zh,names_en,names_zh,aliases,skus\n"
                "kettle,Electric kettle,电水壶,kettle|electric kettle,电水壶,,KT-200\n"
                "toaster,Toaster,,toaster,烤面包机,,\n")
    status, body = await admin.api("PUT", "/catalog", "editor", data=csv_text.encode(),
                                   headers={"Content-Type": "text/csv"})
    assert status == 422
    assert fields_of(body) == ["products.1.label.zh"]
    status, body = await admin.api("PUT", "/catalog", "editor", data=csv_text.replace(",,toaster", ",烤面包机,toaster")
                                   .encode(), headers={"Content-Type": "text/csv"})
    assert (status, body["version"]) == (200, 2), body
    assert await products_proposed(admin, "the toaster burns everything", "en") == ["toaster"]
    assert await products_proposed(admin, "my new sewing machine jams", "en") == []


async def test_routing_and_sla_are_checked_against_each_other_and_route_new_cases(admin: AdminHarness) -> None:
    routing = await document(admin, "/routing")
    broken = copy.deepcopy(routing)
    broken["rules"] = [
        {"team": "nobody", "when": {"category": ["nonsense"]}},
        {"team": "quality", "when": {"product": ["spaceship"], "channel": ["fax"]}},
    ]
    status, body = await admin.api("PUT", "/routing", "editor", json=broken)
    assert status == 422
    assert fields_of(body) == ["rules.0.team"]  # an unknown team first: the rest cannot be read without teams
    broken["rules"][0]["team"] = "quality"
    status, body = await admin.api("PUT", "/routing", "editor", json=broken)
    assert status == 422
    assert body["errors"] == [
        {"step": None, "field": "rules.0.when.category", "message": "'nonsense' is not a category of the taxonomy"},
        {"step": None, "field": "rules.1.when.product", "message": "'spaceship' is not a product of the catalog"},
        {"step": None, "field": "rules.1.when.channel",
         "message": "'fax' is not a channel (web, telegram, slack, wechat)"},
    ]

    edited = copy.deepcopy(routing)
    edited["teams"].append({"name": "appliances", "slack_channel": "C0APPLIANCE", "members": ["U0ANNA"]})
    edited["rules"] = [{"team": "appliances", "when": {"category": ["product_quality"], "product": ["kettle"]}}]
    status, body = await admin.api("PUT", "/routing", "editor", json=edited)
    assert (status, body["version"]) == (200, 1), body
    desk = application(admin).desk
    assert route(desk.routing, CaseFacts("product_quality", "kettle", "web", "en")).name == "appliances"
    assert desk.routing.team("appliances").slack_channel == "C0APPLIANCE"

    # The taxonomy may not drop a category routing names; a new bilingual category is fine.
    taxonomy = await document(admin, "/taxonomy")
    status, body = await admin.api("PUT", "/taxonomy", "editor",
                                   json={"categories": [c for c in taxonomy["categories"]
                                                        if c["id"] != "product_quality"]})
    assert status == 422
    assert body["errors"][0]["message"] == "category 'product_quality' is named by a routing rule: change that first"
    status, body = await admin.api("PUT", "/taxonomy", "editor", json={"categories": [
        *taxonomy["categories"], {"id": "safety", "label": {"en": "Safety", "zh": ""}}]})
    assert fields_of(body) == [f"categories.{len(taxonomy['categories'])}.label.zh"]
    status, body = await admin.api("PUT", "/taxonomy", "editor", json={"categories": [
        *taxonomy["categories"], {"id": "safety", "label": {"en": "Safety", "zh": "安全"}}]})
    assert status == 200, body

    sla = await document(admin, "/sla-policies")
    broken_sla = copy.deepcopy(sla)
    broken_sla["teams"]["ghosts"] = {"calendar": "office"}
    broken_sla["policies"][0]["first_response"] = "soon"
    status, body = await admin.api("PUT", "/sla-policies", "editor", json=broken_sla)
    assert status == 422
    assert fields_of(body) == ["policies.0.first_response"]
    broken_sla["policies"][0]["first_response"] = "30m"
    status, body = await admin.api("PUT", "/sla-policies", "editor", json=broken_sla)
    assert body["errors"] == [
        {"step": None, "field": "teams.ghosts", "message": "'ghosts' is not a team of the routing"}
    ]
    del broken_sla["teams"]["ghosts"]
    broken_sla["policies"][0]["when"]["category"] = ["safety"]
    status, body = await admin.api("PUT", "/sla-policies", "editor",
                                   data=__import__("yaml").safe_dump(broken_sla).encode(),
                                   headers={"Content-Type": "application/yaml"})
    assert (status, body["version"]) == (200, 1), body
    in_force = application(admin).sla_policies()
    assert (in_force.policies[0].first_response, in_force.policies[0].when.category) == (1800, ["safety"])  # type: ignore[union-attr]


async def test_another_workers_edit_is_in_force_here_within_seconds(admin: AdminHarness) -> None:
    routing = await document(admin, "/routing")
    routing["default_team"] = "logistics"
    # What another `plaint serve` process does when an admin saves there: a new version in the database.
    await TortoiseSettingsVersions().save("routing", routing, "editor@elsewhere")
    desk = application(admin).desk
    await eventually(lambda: desk.routing.default_team == "logistics", "the other worker's routing in force here")
    assert route(desk.routing, CaseFacts("billing_refund", None, "web", "en")).name == "logistics"
    _, body = await admin.api("GET", "/routing", "viewer")
    assert (body["version"], body["saved_by"]) == (1, "editor@elsewhere")
