"""The generic HTTP connector with the shipped worked example (docs/connectors.example.yaml) against a fake
PingCode/Worktile-style work-item API: one work item per case with the mapped fields, moved to done when the
agent resolves the case; templates stay in the sandbox."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.channels.base import PermanentDeliveryError
from bot.config import Settings
from bot.desk.routing import SHIPPED_ROUTING_FILE, load_routing
from bot.desk.service import DeskOutcomeKind, DeskService
from bot.operations.http_connector import (
    ConnectorConfigError,
    HttpConnector,
    HttpConnectorConfig,
    RequestTemplate,
    load_connectors_file,
)
from storage.desk import TortoiseDeskStore
from storage.models import ExternalTicket
from tests.e2e.test_web_chat import ENGLISH
from tests.e2e.web_chat_driver import WebCustomer, complete_flow

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "docs" / "connectors.example.yaml"
TOKEN = "tracker-token-789"


class FakeTracker:
    """Work items: POST needs project_id, title, description and a known priority; PATCH changes state."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/project/work_items", self.create)
        app.router.add_patch("/v1/project/work_items/{item_id}", self.update)
        return app

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def create(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        if not self._authorised(request):
            return web.json_response({"code": 401, "message": "invalid token"}, status=401)
        body = await request.json()
        missing = [name for name in ("project_id", "title", "description") if not body.get(name)]
        if missing or body.get("priority") not in ("highest", "high", "medium", "low"):
            return web.json_response({"code": 422, "message": f"invalid: {missing or 'priority'}"}, status=422)
        item_id = f"wi-{next(self._ids)}"
        self.items[item_id] = {**body, "id": item_id, "state": "new"}
        self.comments[item_id] = []
        return web.json_response({"code": 0, "data": self.items[item_id]}, status=201)

    async def update(self, request: web.Request) -> web.Response:
        self.requests.append(("PATCH", request.path))
        item_id = request.match_info["item_id"]
        if not self._authorised(request) or item_id not in self.items:
            return web.json_response({"code": 404, "message": "not found"}, status=404)
        body = await request.json()
        self.comments[item_id].append(body.pop("comment"))
        self.items[item_id].update(body)
        return web.json_response({"code": 0, "data": self.items[item_id]})


async def test_the_worked_example_files_and_closes_a_work_item(
    settings: Settings, analyzer: ThreadedAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = FakeTracker()
    server = TestServer(tracker.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        monkeypatch.setenv("PLAINT_CONNECTOR_TRACKER_URL", str(server.make_url("")).rstrip("/"))
        monkeypatch.setenv("PLAINT_CONNECTOR_TRACKER_TOKEN", TOKEN)
        monkeypatch.setenv("PLAINT_CONNECTOR_TRACKER_PROJECT", "PRJ-1")
        monkeypatch.setenv("PLAINT_CONNECTOR_PLAINT_URL", "https://plaint.example.com")
        configured = settings.model_copy(update={"connectors_file": EXAMPLE})
        async with TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1")) as client:
            number = await complete_flow(WebCustomer(client, "en"), ENGLISH, "Hello")
            for _ in range(600):
                if tracker.items:
                    break
                await asyncio.sleep(0.05)
            desk = DeskService(TortoiseDeskStore(), load_routing(SHIPPED_ROUTING_FILE))
            outcome = await desk.resolve(number, "Replaced the phone", "replaced", "U0AGENT", "tracker-resolve")
            assert outcome.kind is DeskOutcomeKind.APPLIED
            for _ in range(600):
                if any(item["state"] == "done" for item in tracker.items.values()):
                    break
                await asyncio.sleep(0.05)
            stored = await ExternalTicket.get(case__number=number, connector="tracker")
    finally:
        await server.close()
    [item] = tracker.items.values()
    assert stored.ticket_id == item["id"]
    assert item["project_id"] == "PRJ-1" and item["type"] == "bug" and item["priority"] == "medium"
    assert item["title"].startswith(f"[{number}] ")
    assert "The screen of my new phone cracked" in item["description"]
    assert item["description"].count("/evidence/") == 2
    assert item["links"] == [{"title": f"Plaint case {number}", "url": f"https://plaint.example.com/admin/cases/{number}"}]
    assert item["state"] == "done"
    assert tracker.comments[item["id"]] == ["Plaint: case.resolved - Replaced the phone"]
    assert [method for method, _ in tracker.requests] == ["POST", "PATCH"]


def test_templates_cannot_reach_python_internals() -> None:
    hostile = HttpConnectorConfig(
        name="evil",
        create=RequestTemplate(url="https://x.example/{{ ''.__class__.__mro__[1].__subclasses__() }}", ticket_id="id"),
    )
    with pytest.raises(PermanentDeliveryError, match="template failed"):
        HttpConnector(hostile, environ={}).render(hostile.create, {"case": {}, "event": None})


def test_environment_is_limited_to_connector_variables() -> None:
    config = HttpConnectorConfig(
        name="probe", create=RequestTemplate(url="https://x.example/{{ env.TOKEN }}/{{ env | length }}", ticket_id="id")
    )
    connector = HttpConnector(config, environ={"PLAINT_CONNECTOR_TOKEN": "t0k", "PLAINT_DATABASE_URL": "secret"})
    url, _, _ = connector.render(config.create, {"case": {}, "event": None})
    assert url == "https://x.example/t0k/1"


def test_a_broken_file_names_the_connector_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "connectors.yaml"
    broken.write_text("connectors:\n  - name: tracker\n    create:\n      url: '{{ case.number'\n", encoding="utf-8")
    with pytest.raises(ConnectorConfigError, match=r"connectors\.yaml"):
        load_connectors_file(broken)
    no_id = tmp_path / "no-id.yaml"
    no_id.write_text("connectors:\n  - name: tracker\n    create:\n      url: https://x.example\n", encoding="utf-8")
    with pytest.raises(ConnectorConfigError, match="ticket_id"):
        load_connectors_file(no_id)
    assert [connector.name for connector in load_connectors_file(EXAMPLE)] == ["tracker"]
