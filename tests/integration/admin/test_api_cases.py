"""Cases through the API: search with cursor pagination, every field with contacts masked for viewers, and
actions through the desk service Slack uses, so the case's Slack message is updated in place."""

from __future__ import annotations

import uuid

from tests.integration.admin.harness import AdminHarness, provision
from tests.integration.slack.conftest import slack_api, start_plaint  # noqa: F401 (fixtures)
from tests.integration.slack.harness import (
    WEB_TEAM_CHANNEL,
    HarnessFactory,
    block_texts,
    file_web_case,
    posted_case_message,
)
from tests.waiting import eventually


async def test_cases_are_found_read_and_worked_through_the_desk(start_plaint: HarnessFactory) -> None:  # noqa: F811
    plaint = await start_plaint()
    admin = AdminHarness(plaint.client)
    await provision(admin)
    first = await file_web_case(plaint, uuid.uuid4().hex)
    second = await file_web_case(plaint, uuid.uuid4().hex)
    await posted_case_message(plaint, second)

    status, body = await admin.api("GET", "/cases?limit=1", "supervisor")
    assert status == 200
    assert [case["number"] for case in body["cases"]] == [second]
    status, body = await admin.api("GET", f"/cases?limit=1&cursor={body['next_cursor']}", "supervisor")
    assert [case["number"] for case in body["cases"]] == [first] and body["next_cursor"] is None
    status, body = await admin.api("GET", "/cases?channel=telegram", "supervisor")
    assert body["cases"] == []
    status, body = await admin.api("GET", "/cases?cursor=garbage", "supervisor")
    assert status == 422 and body["errors"][0]["field"] == "cursor"

    status, full = await admin.api("GET", f"/cases/{second}", "supervisor")
    assert status == 200
    assert full["contacts_masked"] is False and full["name"] and "@" in (full["email"] or "@")
    assert full["flow_version"] == 1 and full["transcript"] and full["events"][0]["kind"] == "filed"
    status, masked = await admin.api("GET", f"/cases/{second}", "viewer")
    assert masked["contacts_masked"] is True
    assert masked["name"] != full["name"] and "***" in masked["name"]
    assert all(full["name"] not in entry["text"] for entry in masked["transcript"])
    status, listed = await admin.api("GET", "/cases", "viewer")
    assert full["name"] not in str(listed)

    updates_before = len(plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL))
    status, body = await admin.api("POST", f"/cases/{second}/actions", "supervisor", json={"action": "acknowledge"})
    assert (status, body["outcome"], body["status"]) == (200, "applied", "acknowledged")
    status, body = await admin.api("POST", f"/cases/{second}/actions", "supervisor", json={"action": "resolve"})
    assert status == 422 and "summary and code" in body["errors"][0]["message"]
    resolve = {"action": "resolve", "summary": "Replacement sent by courier", "code": "replaced"}
    status, body = await admin.api("POST", f"/cases/{second}/actions", "supervisor", json=resolve,
                                   headers={"Idempotency-Key": "resolve-1"})
    assert (status, body["status"]) == (200, "resolved")
    status, body = await admin.api("POST", f"/cases/{second}/actions", "supervisor", json=resolve,
                                   headers={"Idempotency-Key": "resolve-1"})
    assert (status, body["outcome"]) == (200, "duplicate")
    status, body = await admin.api("POST", f"/cases/{second}/actions", "supervisor", json={"action": "acknowledge"})
    assert status == 409

    async def slack_updated() -> bool:
        updates = plaint.api.calls_to("chat.update", WEB_TEAM_CHANNEL)
        return len(updates) > updates_before and "Replacement sent by courier" in block_texts(updates[-1])

    await eventually(slack_updated, what="the case message updated in Slack")
    status, body = await admin.api("POST", "/cases/PL-NOSUCH/actions", "supervisor", json={"action": "close"})
    assert status == 404

    status, body = await admin.api("GET", "/audit?object=case", "admin")
    # The supervisor's unmasked read is there too (tests/integration/privacy/test_unmasked_reads.py).
    actions = [entry for entry in body["entries"] if entry["action"] != "contacts.unmasked"]
    assert [entry["action"] for entry in actions] == ["case.resolve", "case.acknowledge"]
    assert actions[0]["actor"] == "token:supervisor-token"
    assert "status: 'acknowledged' -> 'resolved'" in actions[0]["changes"]


async def test_a_case_whose_team_was_removed_from_the_routing_can_still_be_worked(
    start_plaint: HarnessFactory,  # noqa: F811
) -> None:
    plaint = await start_plaint()
    admin = AdminHarness(plaint.client)
    await provision(admin)
    number = await file_web_case(plaint, uuid.uuid4().hex)
    await posted_case_message(plaint, number)
    _, case = await admin.api("GET", f"/cases/{number}", "supervisor")
    _, routing = await admin.api("GET", "/routing", "editor")
    document = routing["document"]
    others = [team for team in document["teams"] if team["name"] != case["team"]]
    assert others, "the harness routes to more than one team"
    edited = {**document, "teams": others, "default_team": others[0]["name"],
              "rules": [rule for rule in document.get("rules", []) if rule["team"] != case["team"]]}
    status, body = await admin.api("PUT", "/routing", "editor", json=edited)
    assert status == 200, body
    resolve = {"action": "resolve", "summary": "Refund sent", "code": "refunded"}
    status, body = await admin.api("POST", f"/cases/{number}/actions", "supervisor", json=resolve)
    assert (status, body["status"]) == (200, "resolved")
