"""Zendesk and Freshdesk tickets that follow a case: one ticket per case with the case's fields, updated when an
agent resolves it; Zendesk down at filing time and back later gives one ticket and the updates in order;
credentials and validation errors are dead letters that say why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.channels.base import PermanentDeliveryError, RetryLater
from bot.config import Settings
from bot.desk.routing import SHIPPED_ROUTING_FILE, load_routing
from bot.desk.service import DeskOutcomeKind, DeskService
from bot.operations.connectors import FreshdeskConnector, ZendeskConnector
from storage.cases import TortoiseCaseRepository
from storage.desk import TortoiseDeskStore
from storage.models import ExternalTicket, OutboxItem
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import WebCustomer, complete_flow
from tests.fakes.helpdesk_api import FakeFreshdesk, FakeZendesk, serving
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
ZENDESK_EMAIL = "agent@example.com"
ZENDESK_TOKEN = "zd-token-123"
FRESHDESK_KEY = "fd-key-456"


async def test_tickets_follow_a_case_through_an_outage(settings: Settings, analyzer: ThreadedAnalyzer) -> None:
    zendesk = FakeZendesk(f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
    freshdesk = FakeFreshdesk(FRESHDESK_KEY, "X")
    async with serving(zendesk) as zendesk_url, serving(freshdesk) as freshdesk_url:
        configured = settings.model_copy(update={
            "zendesk_url": zendesk_url, "zendesk_email": ZENDESK_EMAIL, "zendesk_api_token": ZENDESK_TOKEN,
            "freshdesk_url": freshdesk_url, "freshdesk_api_key": FRESHDESK_KEY,
            "public_url": "https://plaint.example.com",
        })
        configured = Settings(**{**configured.model_dump(), "zendesk_api_token": ZENDESK_TOKEN,
                                 "freshdesk_api_key": FRESHDESK_KEY})
        # Zendesk is down when the case is filed (and stays down past the resolution); Freshdesk rate-limits once.
        zendesk.fail_next(4, 503)
        freshdesk.fail_next(1, 429, retry_after="1")
        async with TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1")) as client:
            number = await complete_flow(WebCustomer(client, "en"), ENGLISH, "Hello")
            await eventually(lambda: len(freshdesk.succeeded("POST")) == 1, "the Freshdesk ticket")
            desk = DeskService(TortoiseDeskStore(), load_routing(SHIPPED_ROUTING_FILE))
            outcome = await desk.resolve(number, "Replaced the phone", "replaced", "U0AGENT", "connector-resolve")
            assert outcome.kind is DeskOutcomeKind.APPLIED
            await eventually(lambda: len(zendesk.succeeded("PUT")) == 1, "the Zendesk update", within=90)
            await eventually(lambda: len(freshdesk.succeeded("PUT")) == 1, "the Freshdesk update")
            await eventually(lambda: len(freshdesk.notes.get(9001, [])) == 1, "the Freshdesk note")
            tickets = {row.connector: row.ticket_id for row in await ExternalTicket.filter(case__number=number)}
            # The last call answered, its outbox row is settled a moment later (or stays: what this checks).
            for _ in range(200):
                stuck = await OutboxItem.filter(kind="connector", status__in=("pending", "sending", "dead")).count()
                if stuck == 0:
                    break
                await asyncio.sleep(0.05)

    # Zendesk: five tries at creating (four 503s), ONE ticket, then the update, in that order.
    writes = [(call.method, call.answered) for call in zendesk.calls if call.method in ("POST", "PUT")]
    assert writes == [("POST", 201), ("PUT", 200)]
    assert [call.answered for call in zendesk.calls if call.answered == 503] == [503] * 4
    assert len(zendesk.tickets) == 1 and len(freshdesk.tickets) == 1
    [ticket] = zendesk.tickets.values()
    assert tickets == {"zendesk": str(ticket["id"]), "freshdesk": "9001"}
    assert ticket["external_id"] == number and ticket["subject"].startswith(f"[{number}]")
    assert ticket["requester"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert ticket["status"] == "solved" and ticket["priority"] == "normal" and ticket["type"] == "problem"
    assert f"plaint-{number.lower()}" in ticket["tags"] and "channel-web" in ticket["tags"]
    created, resolved = (note["body"] for note in zendesk.notes[ticket["id"]])
    assert "The screen of my new phone cracked" in created
    assert created.count("https://plaint.example.com/evidence/") == 2
    assert "resolved (replaced): Replaced the phone" in resolved
    # Freshdesk: the rate limit honoured, one ticket with the requester, status Resolved (4), a private note.
    [fresh] = freshdesk.tickets.values()
    assert fresh["email"] == "ada@example.com" and fresh["status"] == 4 and fresh["priority"] == 2
    assert fresh["source"] == 7 and "Oxford Street" in fresh["description"]
    assert freshdesk.notes[9001] == [
        {"body": f"Plaint: case {number} resolved (replaced): Replaced the phone", "private": True}
    ]
    assert stuck == 0


async def test_refusals_say_why_and_outages_retry(settings: Settings, analyzer: ThreadedAnalyzer) -> None:
    zendesk = FakeZendesk(f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
    freshdesk = FakeFreshdesk(FRESHDESK_KEY, "X")
    async with serving(zendesk) as zendesk_url, serving(freshdesk) as freshdesk_url:
        async with TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1")) as client:
            number = await complete_flow(WebCustomer(client, "en"), ENGLISH, "Hello")
            case = await TortoiseCaseRepository().get(number)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(PermanentDeliveryError, match=r"refused the credentials.*invalid_credentials"):
                await FreshdeskConnector(freshdesk_url, "wrong-key").create(http, case, [])
            with pytest.raises(PermanentDeliveryError, match=r"refused the credentials.*authenticate"):
                await ZendeskConnector(zendesk_url, ZENDESK_EMAIL, "wrong").create(http, case, [])
            zendesk.fail_next(1, 429, retry_after="7")
            with pytest.raises(RetryLater) as limited:
                await ZendeskConnector(zendesk_url, ZENDESK_EMAIL, ZENDESK_TOKEN).create(http, case, [])
            assert limited.value.retry_after == 7
            zendesk.fail_next(1, 422)
            with pytest.raises(PermanentDeliveryError, match="rejected the ticket \\(HTTP 422\\)"):
                await ZendeskConnector(zendesk_url, ZENDESK_EMAIL, ZENDESK_TOKEN).create(http, case, [])
            # A ticket made before a crash is found by the case number, not made again.
            connector = ZendeskConnector(zendesk_url, ZENDESK_EMAIL, ZENDESK_TOKEN)
            made = await connector.create(http, case, [])
            assert await connector.find(http, case) == made
            fresh = FreshdeskConnector(freshdesk_url, FRESHDESK_KEY)
            made = await fresh.create(http, case, [])
            assert await fresh.find(http, case) == made
