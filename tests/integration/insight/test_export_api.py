"""GET /api/v1/cases/export on the real server: the list's filters, roles and masking, every format, refusals on
the field that is wrong, an audit entry per export, and its place in the OpenAPI document."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest

from bot.insight.export import COLUMNS
from storage.audit import AuditFilter, TortoiseAuditLog
from storage.synthetic import insert_synthetic_cases
from tests.integration.admin.conftest import admin
from tests.integration.admin.harness import AdminHarness
from tests.integration.insight.test_insight import T0, case

__all__ = ["admin"]  # the fixture: Plaint's real server with a user and a token per role

pytestmark = pytest.mark.one_database("sqlite")

CASES = [
    case("Ann", product="kettle", events=(("agent_reply", timedelta(hours=1)), ("resolve", timedelta(hours=2)))),
    case("Bob", channel="telegram", product="kettle", category="delivery_logistics",
         created_at=T0 + timedelta(days=1)),
    case("李娜", channel="wechat", lang="zh", product="washing_machine", created_at=T0 + timedelta(days=2)),
]


async def export(admin: AdminHarness, role: str | None, query: str) -> tuple[int, str, bytes]:
    headers = admin.auth(role) if role else {}
    response = await admin.client.get(f"/api/v1/cases/export?{query}", headers=headers)
    return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_exports_follow_the_list_filters_roles_and_formats(admin: AdminHarness) -> None:
    assert await insert_synthetic_cases(CASES) == 3

    status, media, body = await export(admin, "supervisor", "format=csv&product=kettle")
    assert (status, media.split(";")[0]) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row["name"] for row in rows] == ["Ann", "Bob"]
    assert tuple(rows[0]) == COLUMNS and rows[0]["resolution_seconds"] == "7200.0"
    # The same filters as GET /api/v1/cases give the same cases.
    _, listed = await admin.api("GET", "/cases?product=kettle", "supervisor")
    assert sorted(item["number"] for item in listed["cases"]) == sorted(row["number"] for row in rows)

    since = (T0 + timedelta(hours=12)).isoformat()
    status, _, body = await export(admin, "viewer", f"format=jsonl&since={since.replace('+', '%2B')}")
    documents = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert documents[0]["number"] == rows[1]["number"] and documents[0]["schema_version"] == 2
    assert [document["name"] for document in documents] == ["B***", "李***"]  # the viewer sees masked contacts
    assert "example.com" in documents[0]["email"] and not documents[0]["email"].startswith("bob")

    status, media, body = await export(admin, "admin", "format=xlsx&language=zh")
    assert (status, media) == (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True)["cases"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert tuple(values[0]) == COLUMNS and [row[COLUMNS.index("name")] for row in values[1:]] == ["李娜"]

    audit = await TortoiseAuditLog().page(AuditFilter(None, "cases", None, None, None), 10, None)
    exports = [entry for entry in audit.entries if entry.action == "export"]
    assert sorted(entry.object_id for entry in exports) == ["csv", "jsonl", "xlsx"]
    assert any(entry.after == {"format": "csv", "product": "kettle", "masked": False} for entry in exports)


async def test_exports_refuse_clearly(admin: AdminHarness) -> None:
    status, _, body = await export(admin, None, "format=csv")
    assert status == 401 and json.loads(body)["errors"][0]["message"].startswith("authentication required")
    status, _, body = await export(admin, "editor", "format=csv")
    assert status == 403 and "cases:read" in json.loads(body)["errors"][0]["message"]
    status, _, body = await export(admin, "supervisor", "format=pdf")
    assert status == 422 and json.loads(body)["errors"][0]["field"] == "format"
    status, _, body = await export(admin, "supervisor", "since=yesterday")
    assert status == 422 and json.loads(body)["errors"][0]["field"] == "since"
    status, _, body = await export(admin, "supervisor", "product=ket%00tle")
    assert status == 422 and json.loads(body)["errors"][0]["field"] == "product"
    status, _, body = await export(admin, "supervisor", "text=kettle")
    assert status == 422 and json.loads(body)["errors"][0]["field"] == "text"
    # /cases/export is the export, not a case numbered "export".
    status, _, body = await export(admin, "supervisor", "")
    assert status == 200 and body.decode("utf-8-sig").startswith("number,channel")

    response = await admin.client.get("/api/v1/openapi.json")
    document = await response.json()
    operation = document["paths"]["/api/v1/cases/export"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"format", "product", "since", "until"}
    assert "text/csv; charset=utf-8" in operation["responses"]["200"]["content"]
