"""The admin's storage on every database: flow versions numbered once even when publishers race, one draft per
flow, the audit log's pages and retention, sessions that expire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio

from storage.accounts import TortoiseAccounts
from storage.audit import AuditFilter, TortoiseAuditLog, decode_cursor
from storage.database import open_database
from storage.flow_versions import TortoiseFlowVersions
from storage.models import AuditEntry


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[None]:
    async with open_database(database_url):
        yield


async def test_racing_publishers_get_distinct_version_numbers(database: None) -> None:
    store = TortoiseFlowVersions()
    assert await store.seed("complaint", 1, {"id": "complaint", "version": 1}, "seed")
    assert not await store.seed("complaint", 1, {"id": "complaint", "version": 1}, "seed")
    numbers = await asyncio.gather(*(store.publish("complaint", {"id": "complaint"}, f"editor{i}") for i in range(4)))
    assert sorted(numbers) == [2, 3, 4, 5]
    assert await store.latest_versions() == {"complaint": 5}
    assert (await store.get("complaint", 3)).definition["version"] == 3


async def test_one_draft_per_flow(database: None) -> None:
    store = TortoiseFlowVersions()
    await store.save_draft("complaint", {"a": 1}, "ada")
    await store.save_draft("complaint", {"a": 2}, "bob")
    draft = await store.draft("complaint")
    assert draft is not None and draft.definition == {"a": 2} and draft.updated_by == "bob"
    await store.delete_draft("complaint")
    assert await store.draft("complaint") is None


async def test_audit_pages_and_retention(database: None) -> None:
    log = TortoiseAuditLog()
    for index in range(5):
        await log.append(actor=f"user{index % 2}", via="api", source_ip="127.0.0.1", action="flow.published",
                         object_type="flow", object_id="complaint", before=None, after={"n": index}, changes=[])
    first = await log.page(AuditFilter(), 2)
    assert [entry.after["n"] for entry in first.entries] == [4, 3]
    assert first.next_cursor is not None
    second = await log.page(AuditFilter(), 2, decode_cursor(first.next_cursor))
    assert [entry.after["n"] for entry in second.entries] == [2, 1]
    assert [e.after["n"] for e in (await log.page(AuditFilter(actor="user1"), 10)).entries] == [3, 1]
    old = datetime.now(UTC) - timedelta(days=400)
    await AuditEntry.filter(id=first.entries[-1].id).update(created_at=old)
    assert await log.delete_older_than(datetime.now(UTC) - timedelta(days=365)) == 1
    assert len((await log.page(AuditFilter(), 10)).entries) == 4
    assert decode_cursor("not-a-cursor") is None


async def test_sessions_expire_and_tokens_are_stored_hashed(database: None) -> None:
    accounts = TortoiseAccounts()
    user = await accounts.create_user("ada@example.com", "viewer", "$argon2id$fake")
    now = datetime.now(UTC)
    await accounts.create_session(user.id, "session-secret", "csrf", now + timedelta(hours=1))
    assert (await accounts.session_for_secret("session-secret", now)) is not None
    assert (await accounts.session_for_secret("session-secret", now + timedelta(hours=2))) is None
    await accounts.create_token("ci", "viewer", "plt_secret_value")
    from storage.models import ApiToken

    row = await ApiToken.get(name="ci")
    assert "plt_secret_value" not in row.token_hash and len(row.token_hash) == 64


async def test_settings_versions_are_numbered_once_per_kind_and_the_newest_wins(database: None) -> None:
    from storage.settings_versions import TortoiseSettingsVersions

    store = TortoiseSettingsVersions()
    assert await store.latest_versions() == {}
    numbers = await asyncio.gather(*(store.save("routing", {"default_team": f"t{i}"}, f"e{i}") for i in range(3)))
    assert sorted(numbers) == [1, 2, 3]
    assert await store.save("catalog", {"products": [{"id": "kettle", "label": {"en": "Kettle", "zh": "电水壶"}}]},
                            "editor") == 1
    assert await store.latest_versions() == {"routing": 3, "catalog": 1}
    latest = await store.latest("catalog")
    assert latest is not None and latest.document["products"][0]["label"]["zh"] == "电水壶"


async def test_webhook_subscriptions_get_new_secrets_and_are_disabled(database: None) -> None:
    from storage.webhooks import DeliveryRequest, TortoiseWebhookStore

    store = TortoiseWebhookStore()
    record = await store.add_subscription("https://hooks.example/x", ["case.filed"], "s" * 20, False)
    assert record.active
    queued = await store.queue_delivery(DeliveryRequest(record.id, "k1", "e1", "case.filed", "PL-1", {"a": 1}))
    changed = await store.update_subscription(record.id, secret="t" * 20, active=False)
    assert (changed.secret, changed.active) == ("t" * 20, False)
    assert await store.subscriptions_for("case.filed") == []
    assert [(d.id, d.status) for d in await store.deliveries(subscription_id=record.id)] == [(queued, "cancelled")]
    assert (await store.update_subscription(record.id, active=True)).active
