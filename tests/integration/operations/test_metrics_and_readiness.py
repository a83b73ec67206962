"""/metrics scraped during a real conversation, parsed with Prometheus' own text parser; /readyz and its
checks; JSON logs with a correlation id."""

from __future__ import annotations

import io
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from tortoise import connections

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings
from bot.operations.logs import JsonLogFormatter, correlation_scope
from bot.operations.runtime import OPERATIONS_KEY
from storage.models import InboundReceipt
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import Say, WebCustomer, complete_flow


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_what_the_customers_did(settings: Settings, analyzer: ThreadedAnalyzer) -> None:
    # No shared cookie jar: each WebCustomer carries its own session cookie.
    async with TestClient(
        TestServer(build_app(settings, analyzer), host="127.0.0.1"), cookie_jar=DummyCookieJar()
    ) as client:
        customer = WebCustomer(client, "en")
        number = await complete_flow(customer, ENGLISH, "Hello")
        # A retry of a message already handled: received again, not a new turn.
        other = WebCustomer(client, "en")
        await other.post(Say("Hello"), message_id="retried-once")
        await other.post(Say("Hello"), message_id="retried-once")
        turns = await InboundReceipt.filter(channel="web").count()

        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    found = samples(text)
    web = (("channel", "web"),)
    assert number
    assert found[("plaint_inbound_messages_total", web)] == turns + 1
    assert found[("plaint_turns_total", web)] == turns
    assert found[("plaint_turn_duration_seconds_count", web)] == turns
    assert found[("plaint_turn_duration_seconds_bucket", (*web, ("le", "+Inf")))] == turns
    assert found[("plaint_cases_filed_total", web)] == 1
    assert found[("plaint_nlp_duration_seconds_count", ())] >= 1
    # Every reply went through the outbox and was counted per kind and target.
    sent = found[("plaint_outbox_deliveries_total", (("kind", "message"), ("result", "sent"), ("target", "web")))]
    assert sent >= turns
    # Timer lag: nothing was due that no worker fired (the lifecycle room's timers are all in the future).
    assert found[("plaint_timer_overdue_seconds", ())] == 0
    assert "sender" not in text and customer.session not in text and other.session not in text


ROOT = Path(__file__).resolve().parents[3]


async def test_readyz_reports_each_check(settings: Settings, analyzer: ThreadedAnalyzer) -> None:
    app = build_app(settings, analyzer)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        ready = await _wait_ready(client)
        assert ready["status"] == "ready"
        assert set(ready["checks"]) == {"database", "migrations", "worker", "nlp"}
        assert ready["checks"]["nlp"] == {"ok": True, "detail": "models loaded"}
        assert (await (await client.get("/healthz")).json()) == {"status": "ok"}

        # A platform whose last call failed makes the worker not ready, and says why.
        app[OPERATIONS_KEY].health.record("telegram", "HTTP 502 from api.telegram.org")
        app[OPERATIONS_KEY].readiness._platforms = ("telegram",)
        response = await client.get("/readyz")
        assert response.status == 503
        body = await response.json()
        assert body["checks"]["platform:telegram"] == {"ok": False, "detail": "HTTP 502 from api.telegram.org"}
        app[OPERATIONS_KEY].health.record("telegram", None)
        assert (await client.get("/readyz")).status == 200

        # A database behind the code's migrations is not ready.
        latest = sorted(path.stem for path in (ROOT / "storage" / "migrations").glob("0*.py"))[-1]
        await connections.get("default").execute_query(
            "DELETE FROM tortoise_migrations WHERE name = ?" if settings.database_url.startswith("sqlite")
            else "DELETE FROM tortoise_migrations WHERE name = $1", [latest]
        )
        response = await client.get("/readyz")
        assert response.status == 503
        assert (await response.json())["checks"]["migrations"]["detail"] == f"not applied: {latest}"


async def _wait_ready(client: TestClient[Any, Any]) -> dict[str, Any]:
    import asyncio

    for _ in range(1200):  # the NLP models load in the background: up to a minute on a busy machine
        response = await client.get("/readyz")
        if response.status == 200:
            body: dict[str, Any] = await response.json()
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(await response.text())


def test_json_logs_carry_the_correlation_id_and_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger(f"test.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    with correlation_scope(request_id="req-1", conversation="c0ffee"):
        logger.warning("delivery %s failed", 7, extra={"outbox_kind": "webhook"})
    logger.warning("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "delivery 7 failed" and first["level"] == "WARNING"
    assert first["request_id"] == "req-1" and first["conversation"] == "c0ffee"
    assert first["outbox_kind"] == "webhook"
    assert "request_id" not in second
