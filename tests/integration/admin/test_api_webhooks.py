"""Webhook subscriptions and saved case views through the API: add (the secret shown once), list without
secrets, rotate, disable (queued deliveries cancelled), the delivery log and replay; views saved by name."""

from __future__ import annotations

import pytest

from storage.webhooks import DeliveryRequest, TortoiseWebhookStore
from tests.integration.admin.harness import AdminHarness

pytestmark = pytest.mark.one_database("postgres")


async def test_an_admin_manages_a_webhook_subscription_and_its_deliveries(admin: AdminHarness) -> None:
    status, body = await admin.api("POST", "/webhooks", "admin", json={
        "url": "https://user:pw@hooks.example/plaint", "events": ["case.filed", "case.exploded"], "secret": "short"})
    assert status == 422
    assert [error["field"] for error in body["errors"]] == ["url", "events.1", "secret"]

    status, body = await admin.api("POST", "/webhooks", "admin", json={
        "url": "https://hooks.example/plaint", "events": ["case.filed", "case.resolved"]})
    assert status == 200, body
    first_secret, webhook_id = body["secret"], body["webhook"]["id"]
    assert first_secret.startswith("whsec_") and len(first_secret) > 30
    assert body["webhook"] == {"id": webhook_id, "url": "https://hooks.example/plaint",
                               "events": ["case.filed", "case.resolved"], "personal_data": False, "active": True,
                               "created_at": body["webhook"]["created_at"]}
    status, body = await admin.api("GET", "/webhooks", "admin")
    assert [item["id"] for item in body["webhooks"]] == [webhook_id]
    assert first_secret not in str(body)

    status, body = await admin.api("POST", f"/webhooks/{webhook_id}/rotate-secret", "admin")
    assert status == 200
    store = TortoiseWebhookStore()
    assert (await store.subscription(webhook_id)).secret == body["secret"] != first_secret

    delivery_id = await store.queue_delivery(DeliveryRequest(
        webhook_id, "case.filed:PL-1", "evt-1", "case.filed", "PL-000001", {"event": "case.filed"}))
    assert delivery_id is not None
    status, body = await admin.api("GET", f"/webhooks/{webhook_id}/deliveries", "admin")
    assert [(d["id"], d["event"], d["status"]) for d in body["deliveries"]] == [(delivery_id, "case.filed", "pending")]

    status, body = await admin.api("POST", f"/webhook-deliveries/{delivery_id}/replay", "admin")
    assert (status, body["replay_of"], body["status"]) == (200, delivery_id, "pending")
    status, body = await admin.api("POST", f"/webhook-deliveries/{delivery_id + 999}/replay", "admin")
    assert status == 404

    status, body = await admin.api("POST", f"/webhooks/{webhook_id}/disable", "admin")
    assert (status, body["active"]) == (200, False)
    # Disabled: no new events, and what was queued is cancelled (still in the log).
    assert await store.subscriptions_for("case.filed") == []
    status, body = await admin.api("GET", f"/webhooks/{webhook_id}/deliveries?status=cancelled", "admin")
    assert len(body["deliveries"]) == 2
    status, body = await admin.api("POST", f"/webhooks/{webhook_id}/enable", "admin")
    assert body["active"] is True
    assert [s.id for s in await store.subscriptions_for("case.filed")] == [webhook_id]

    status, body = await admin.api("DELETE", f"/webhooks/{webhook_id}", "admin")
    assert (status, body) == (200, {"removed": webhook_id})
    assert (await admin.api("POST", f"/webhooks/{webhook_id}/disable", "admin"))[0] == 404

    status, body = await admin.api("GET", "/audit?object=webhook", "admin")
    assert [entry["action"] for entry in body["entries"]] == ["remove", "enable", "disable", "rotate-secret", "add"]
    assert first_secret not in str(body)


async def test_supervisors_save_case_views_everyone_who_reads_cases_sees_them(admin: AdminHarness) -> None:
    status, body = await admin.api("POST", "/case-views", "supervisor", json={
        "name": "Open kettles", "filters": {"status": "new", "product": "kettle", "colour": "red"}})
    assert status == 422
    assert body["errors"][0]["field"] == "filters"
    status, body = await admin.api("POST", "/case-views", "supervisor", json={
        "name": "Open kettles", "filters": {"status": "new", "product": "kettle", "text": " "}})
    assert status == 200, body
    view_id = body["id"]
    assert body["filters"] == {"status": "new", "product": "kettle"}
    status, body = await admin.api("POST", "/case-views", "admin", json={"name": "Open kettles", "filters": {}})
    assert (status, body["errors"][0]["field"]) == (409, "name")
    status, body = await admin.api("GET", "/case-views", "viewer")
    assert [(v["name"], v["created_by"]) for v in body["views"]] == [("Open kettles", "token:supervisor-token")]
    assert (await admin.api("DELETE", f"/case-views/{view_id}", "viewer"))[0] == 403
    assert (await admin.api("DELETE", f"/case-views/{view_id}", "supervisor"))[1] == {"removed": view_id}
    assert (await admin.api("GET", "/case-views", "viewer"))[1] == {"views": []}
