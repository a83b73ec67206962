"""Every read of unmasked personal data through the API is in the audit log, like the console's "Show contact
details": who read it, which case (or which cases), through which endpoint and, when the caller says, why. A
role that sees contacts masked leaves no such entry."""

from __future__ import annotations

import pytest

from storage.models import AuditEntry, Case
from storage.synthetic import insert_synthetic_cases
from tests.integration.admin.conftest import admin
from tests.integration.admin.harness import AdminHarness
from tests.integration.insight.test_insight import case

__all__ = ["admin"]  # the fixture: Plaint's real server with a user and a token per role

pytestmark = pytest.mark.one_database("sqlite")


async def unmasked() -> list[AuditEntry]:
    return list(await AuditEntry.filter(action="contacts.unmasked").order_by("id"))


async def test_api_reads_of_unmasked_contacts_are_audited(admin: AdminHarness) -> None:
    assert await insert_synthetic_cases([case("Ann"), case("Bob", channel="telegram")]) == 2
    _, listed = await admin.api("GET", "/cases", "viewer")
    numbers = [item["number"] for item in listed["cases"]]
    assert "Ann" not in str(listed)

    # A viewer reads masked contacts: nothing to record.
    status, body = await admin.api("GET", f"/cases/{numbers[0]}", "viewer")
    assert status == 200 and body["contacts_masked"] is True
    assert await unmasked() == []

    # A supervisor reads them unmasked: one entry per read, naming the case and the endpoint.
    reason = "ticket 4711, callback requested " + "x" * 300
    status, body = await admin.api("GET", f"/cases/{numbers[0]}", "supervisor", headers={"X-Plaint-Reason": reason})
    assert status == 200 and body["contacts_masked"] is False and body["name"] in ("Ann", "Bob")
    [entry] = await unmasked()
    assert (entry.actor, entry.via, entry.object_type, entry.object_id) == (
        "token:supervisor-token", "api", "case", numbers[0])
    assert entry.after == {"endpoint": "GET /api/v1/cases/{number}", "reason": reason[:200]}  # at most 200

    # A list with names unmasked names its cases; an empty page reads nobody's data.
    await admin.api("GET", "/cases", "supervisor")
    listing = (await unmasked())[-1]
    assert (listing.object_type, listing.object_id) == ("cases", "list")
    assert listing.after == {"endpoint": "GET /api/v1/cases", "reason": None, "cases": numbers}
    await admin.api("GET", "/cases?channel=wechat", "supervisor")
    assert len(await unmasked()) == 2

    # An export with contacts unmasked too; the viewer's masked export is only the export entry it always was.
    response = await admin.client.get("/api/v1/cases/export?format=csv&channel=telegram", headers=admin.auth("admin"))
    assert response.status == 200 and "Bob" in (await response.read()).decode("utf-8-sig")
    exported = (await unmasked())[-1]
    assert (exported.actor, exported.object_type, exported.object_id) == ("token:admin-token", "cases", "export")
    assert exported.after == {"endpoint": "GET /api/v1/cases/export", "reason": None, "format": "csv",
                              "filters": {"format": "csv", "channel": "telegram"}}
    response = await admin.client.get("/api/v1/cases/export?format=csv", headers=admin.auth("viewer"))
    assert response.status == 200 and "Bob" not in (await response.read()).decode("utf-8-sig")
    assert len(await unmasked()) == 3

    # The audit log shows them to whoever may read it.
    status, body = await admin.api("GET", "/audit?object=case", "admin")
    assert [item["action"] for item in body["entries"]] == ["contacts.unmasked"]


async def test_console_case_list_with_names_unmasked_is_audited(admin: AdminHarness) -> None:
    """The console's case list shows names to a role that may see contacts: each page view is an entry naming
    the cases on it, as for the API's list; a viewer's masked list and an empty page leave none."""
    assert await insert_synthetic_cases([case("Ann"), case("Bob", channel="telegram")]) == 2
    await admin.login("viewer")
    page = await admin.client.get("/admin/cases")
    html = await page.text()
    assert page.status == 200 and "Ann" not in html and "Bob" not in html
    assert await unmasked() == []

    await admin.login("supervisor")
    page = await admin.client.get("/admin/cases", headers={"X-Plaint-Reason": "weekly review"})
    html = await page.text()
    assert page.status == 200 and "Ann" in html and "Bob" in html
    [entry] = await unmasked()
    numbers = sorted(str(number) for number in await Case.all().values_list("number", flat=True))
    assert (entry.actor, entry.via, entry.object_type, entry.object_id) == (
        "supervisor@plaint.example", "console", "cases", "list")
    assert entry.after is not None and sorted(entry.after["cases"]) == numbers
    assert (entry.after["endpoint"], entry.after["reason"]) == ("GET /admin/cases", "weekly review")
    # The names of what the page lists, nobody else's: a filtered page names only its case.
    page = await admin.client.get("/admin/cases?channel=telegram")
    assert page.status == 200 and "Bob" in await page.text()
    telegram = await Case.get(channel="telegram")
    assert (await unmasked())[-1].after["cases"] == [telegram.number]  # type: ignore[index]
    # A page with no case reads nobody's data.
    page = await admin.client.get("/admin/cases?channel=wechat")
    assert page.status == 200 and len(await unmasked()) == 2
