"""Signed webhooks as an operator sets them up and a receiver sees them: subscriptions from the CLI, a case
filed on the web chat and resolved by an agent, every request verified with README's snippet, retries on
503/429, a 4xx not retried, and a replay the receiver can tell apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings
from bot.desk.routing import SHIPPED_ROUTING_FILE, load_routing
from bot.desk.service import DeskOutcomeKind, DeskService
from storage.desk import TortoiseDeskStore
from storage.models import OutboxItem, WebhookDelivery
from tests.e2e.test_processes import plaint
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import WebCustomer, complete_flow
from tests.fakes.webhook_receiver import Answer, FakeWebhookReceiver, readme_verifier
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
CRM_SECRET = "crm-secret-0123456789abcdef"
INTERNAL_SECRET = "internal-secret-0123456789"
STRICT_SECRET = "strict-secret-0123456789ab"


def types(deliveries: list[Any]) -> list[str]:
    return [item.document["type"] for item in deliveries]


async def test_a_case_reaches_subscribers_signed_in_order_and_a_replay_is_marked(
    settings: Settings, analyzer: ThreadedAnalyzer
) -> None:
    receiver = FakeWebhookReceiver({"/crm": CRM_SECRET, "/internal": INTERNAL_SECRET, "/strict": STRICT_SECRET})
    async with receiver.serving() as base:
        added = await plaint(
            settings, "webhooks", "add", f"{base}/crm", "--event", "case.filed", "--event",
            "case.status_changed", "--event", "case.resolved", "--secret", CRM_SECRET,
        )
        assert "webhook 1 added" in added
        await plaint(settings, "webhooks", "add", f"{base}/internal", "--event", "case.filed",
                     "--secret", INTERNAL_SECRET, "--personal-data")
        await plaint(settings, "webhooks", "add", f"{base}/strict", "--event", "case.filed",
                     "--secret", STRICT_SECRET)
        listing = await plaint(settings, "webhooks", "list")
        assert CRM_SECRET not in listing and "personal data" in listing and "masked" in listing
        # The CRM is down, then rate-limits us; the strict receiver refuses the payload for good.
        receiver.answer_next("/crm", Answer(503), Answer(429, retry_after="1"))
        receiver.answer_next("/strict", Answer(400))

        async with TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1")) as client:
            number = await complete_flow(WebCustomer(client, "en"), ENGLISH, "Hello")
            await eventually(
                lambda: len(receiver.accepted("/crm")) == 1 and len(receiver.accepted("/internal")) == 1,
                "case.filed at both receivers",
            )
            desk = DeskService(TortoiseDeskStore(), load_routing(SHIPPED_ROUTING_FILE))
            outcome = await desk.resolve(number, "Replaced the phone", "replaced", "U0AGENT", "test-resolve-1")
            assert outcome.kind is DeskOutcomeKind.APPLIED
            await eventually(lambda: len(receiver.accepted("/crm")) == 3, "the resolution at the CRM")

            [strict] = [item for item in receiver.received if item.path == "/strict"]
            assert strict.answered == 400

            # Every request, retries included, carries a signature README's snippet accepts.
            assert receiver.received and all(item.verified for item in receiver.received)
            crm = [item for item in receiver.received if item.path == "/crm"]
            assert [item.answered for item in crm] == [503, 429, 200, 200, 200]
            assert types(receiver.accepted("/crm")) == ["case.filed", "case.status_changed", "case.resolved"]
            filed, changed, resolved = (item.document for item in receiver.accepted("/crm"))
            assert filed["version"] == 1 and filed["case"]["number"] == number
            assert filed["delivery"]["attempt"] == 3 and filed["delivery"]["replay_of"] is None
            assert changed["change"] == {"action": "resolve", "from": "new", "to": "resolved", "actor": "U0AGENT"}
            assert resolved["id"] != changed["id"] and resolved["case"]["resolution_code"] == "replaced"
            # Masked for the CRM, whole for the internal receiver allowed to see personal data.
            assert filed["case"]["customer"] == {"name": "A***", "phone": "***58", "email": "a***@example.com"}
            assert filed["case"]["description"] is None and filed["case"]["personal_data"] == "masked"
            [internal] = receiver.accepted("/internal")
            assert internal.document["case"]["customer"]["email"] == "ada@example.com"
            assert internal.document["case"]["description"] == ENGLISH_DESCRIPTION
            assert internal.document["id"] == filed["id"]  # one event, one id, whoever receives it
            assert len(filed["case"]["evidence"]) == 2 and "/evidence/" in filed["case"]["evidence"][0]["url"]

            delivered = await WebhookDelivery.get(event_type="case.filed", subscription_id=1)
            assert delivered.status == "delivered" and delivered.attempts == 3
            refused = await WebhookDelivery.get(subscription_id=3)
            assert refused.status == "failed" and refused.last_status_code == 400 and refused.attempts == 1
            log = await plaint(settings, "webhooks", "deliveries", "--status", "failed")
            assert f"{refused.id}" in log and "HTTP 400" in log

            await plaint(settings, "webhooks", "replay", str(delivered.id))
            await eventually(lambda: len(receiver.accepted("/crm")) == 4, "the replay")
            replay = receiver.accepted("/crm")[-1]
            assert replay.verified
            assert replay.document["id"] == filed["id"] and replay.document["type"] == "case.filed"
            assert replay.document["delivery"]["replay_of"] == delivered.id
            assert replay.document["delivery"]["id"] != delivered.id
            assert replay.headers["Plaint-Delivery"] == str(replay.document["delivery"]["id"])

            # Nothing left behind: every webhook item left the outbox, the refused one as a dead letter.
            webhook_items = await OutboxItem.filter(kind="webhook")
            assert sorted(item.status for item in webhook_items) == ["dead", "sent", "sent", "sent", "sent", "sent"]
    # The first delivery was not sent again after its success (the replay is a new delivery).
    assert len([item for item in receiver.received if item.path == "/crm" and item.answered == 200]) == 4


ENGLISH_DESCRIPTION = (
    "The screen of my new phone cracked two days after I bought it and the shop refused to replace it."
)


def test_the_readme_snippet_rejects_tampering_and_old_timestamps() -> None:
    from bot.operations.webhooks import signature

    verify = readme_verifier()
    body = b'{"version":1}'
    now = 1_800_000_000
    header = signature("s3cret-s3cret-s3cret", now, body)
    assert verify("s3cret-s3cret-s3cret", str(now), header, body, now + 10)
    assert not verify("s3cret-s3cret-s3cret", str(now), header, body + b" ", now + 10)
    assert not verify("another-secret-abc", str(now), header, body, now + 10)
    assert not verify("s3cret-s3cret-s3cret", str(now), header, body, now + 301)
    assert not verify("s3cret-s3cret-s3cret", "soon", header, body, now)
