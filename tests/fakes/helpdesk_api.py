"""Fake Zendesk (Tickets API) and Freshdesk (Tickets API v2) servers on 127.0.0.1. They check credentials
and the fields the real APIs require, answer with the real error shapes (Zendesk 401/422 `RecordInvalid`,
Freshdesk 401 `invalid_credentials` / 400 `Validation failed`), fail on demand (503, 429 with Retry-After)
and record every request."""

from __future__ import annotations

import base64
import itertools
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.serving import serving as serving_app


@dataclass(frozen=True)
class HelpdeskCall:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    answered: int


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: str | None = None


@dataclass
class _FakeHelpdesk:
    user: str
    password: str
    calls: list[HelpdeskCall] = field(default_factory=list)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    failures: deque[Failure] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        self.failures.extend(Failure(status, retry_after) for _ in range(count))

    def succeeded(self, method: str) -> list[HelpdeskCall]:
        return [call for call in self.calls if call.method == method and call.answered < 300]

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        if self.failures:
            failure = self.failures.popleft()
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            response = web.json_response({"error": "unavailable"}, status=failure.status, headers=headers)
        elif not self._authorised(request):
            response = self._unauthorised()
        else:
            response = self._route(request, body)
        self.calls.append(HelpdeskCall(request.method, request.path, dict(request.query), body, response.status))
        return response

    def _unauthorised(self) -> web.Response:
        raise NotImplementedError

    def _route(self, request: web.Request, body: Any) -> web.Response:
        raise NotImplementedError

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app


@dataclass
class FakeZendesk(_FakeHelpdesk):
    STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
    PRIORITIES = ("low", "normal", "high", "urgent")

    def _unauthorised(self) -> web.Response:
        return web.json_response({"error": "Couldn't authenticate you"}, status=401)

    def _invalid(self, field_name: str, message: str) -> web.Response:
        return web.json_response(
            {"error": "RecordInvalid", "description": "Record validation errors",
             "details": {field_name: [{"description": message, "error": "InvalidValue"}]}},
            status=422,
        )

    def _route(self, request: web.Request, body: Any) -> web.Response:
        path = request.path
        if path == "/api/v2/tickets.json" and request.method == "GET":
            external_id = request.query.get("external_id")
            found = [ticket for ticket in self.tickets.values() if ticket.get("external_id") == external_id]
            return web.json_response({"tickets": found, "count": len(found)})
        if path == "/api/v2/tickets.json" and request.method == "POST":
            ticket = (body or {}).get("ticket")
            if not isinstance(ticket, dict):
                return web.json_response({"error": "InvalidEndpoint", "description": "ticket is required"}, status=400)
            problem = self._check(ticket, creating=True)
            if problem is not None:
                return problem
            ticket_id = next(self._ids)
            comment = ticket.pop("comment")
            stored = {**ticket, "id": ticket_id, "description": comment["body"]}
            self.tickets[ticket_id] = stored
            self.notes[ticket_id] = [comment]
            return web.json_response({"ticket": stored}, status=201)
        match = re.fullmatch(r"/api/v2/tickets/(\d+)\.json", path)
        if match and request.method == "PUT":
            ticket_id = int(match.group(1))
            if ticket_id not in self.tickets:
                return web.json_response({"error": "RecordNotFound", "description": "Not found"}, status=404)
            ticket = dict((body or {}).get("ticket") or {})
            problem = self._check(ticket, creating=False)
            if problem is not None:
                return problem
            comment = ticket.pop("comment", None)
            if comment is not None:
                self.notes[ticket_id].append(comment)
            self.tickets[ticket_id].update(ticket)
            return web.json_response({"ticket": self.tickets[ticket_id]})
        return web.json_response({"error": "InvalidEndpoint", "description": "Not found"}, status=404)

    def _check(self, ticket: dict[str, Any], creating: bool) -> web.Response | None:
        if creating and not str((ticket.get("comment") or {}).get("body", "")).strip():
            return self._invalid("description", "Description: cannot be blank")
        if creating and not (ticket.get("requester") or {}).get("name"):
            return self._invalid("requester", "Requester: Name is required")
        if "status" in ticket and ticket["status"] not in self.STATUSES:
            return self._invalid("status", f"Status: {ticket['status']} is not valid")
        if "priority" in ticket and ticket["priority"] not in self.PRIORITIES:
            return self._invalid("priority", f"Priority: {ticket['priority']} is not valid")
        if any(" " in tag for tag in ticket.get("tags", [])):
            return self._invalid("tags", "Tags: may not contain spaces")
        return None


@dataclass
class FakeFreshdesk(_FakeHelpdesk):
    REQUESTER_FIELDS = ("email", "phone", "mobile", "requester_id", "twitter_id", "facebook_id", "unique_external_id")

    def _unauthorised(self) -> web.Response:
        return web.json_response(
            {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."},
            status=401,
        )

    def _validation(self, errors: list[dict[str, str]]) -> web.Response:
        return web.json_response({"description": "Validation failed", "errors": errors}, status=400)

    def _route(self, request: web.Request, body: Any) -> web.Response:
        path = request.path
        if path == "/api/v2/search/tickets" and request.method == "GET":
            match = re.fullmatch(r"\"tag:'([^']+)'\"", request.query.get("query", ""))
            if match is None:
                return self._validation([{"field": "query", "message": "Invalid query", "code": "invalid_value"}])
            found = [t for t in self.tickets.values() if match.group(1) in t.get("tags", [])]
            return web.json_response({"results": found, "total": len(found)})
        if path == "/api/v2/tickets" and request.method == "POST":
            ticket = body if isinstance(body, dict) else {}
            errors = self._check(ticket, creating=True)
            if errors:
                return self._validation(errors)
            ticket_id = next(self._ids)
            self.tickets[ticket_id] = {**ticket, "id": ticket_id}
            self.notes[ticket_id] = []
            return web.json_response(self.tickets[ticket_id], status=201)
        match = re.fullmatch(r"/api/v2/tickets/(\d+)(/notes)?", path)
        if match is None or int(match.group(1)) not in self.tickets:
            return web.json_response({"code": "access_denied", "message": "Not found"}, status=404)
        ticket_id = int(match.group(1))
        if match.group(2) and request.method == "POST":
            if not str((body or {}).get("body", "")).strip():
                blank = {"field": "body", "message": "It should not be blank", "code": "missing_field"}
                return self._validation([blank])
            self.notes[ticket_id].append(body)
            return web.json_response({"id": len(self.notes[ticket_id]), **body}, status=201)
        if not match.group(2) and request.method == "PUT":
            errors = self._check(body or {}, creating=False)
            if errors:
                return self._validation(errors)
            self.tickets[ticket_id].update(body or {})
            return web.json_response(self.tickets[ticket_id])
        return web.json_response({"code": "invalid_method", "message": "Method not allowed"}, status=405)

    def _check(self, ticket: dict[str, Any], creating: bool) -> list[dict[str, str]]:
        errors = []
        if creating:
            for name in ("subject", "description"):
                if not str(ticket.get(name, "")).strip():
                    errors.append({"field": name, "message": "It should not be blank", "code": "missing_field"})
            if not any(ticket.get(name) for name in self.REQUESTER_FIELDS):
                errors.append({"field": "requester_id", "code": "missing_field", "message":
                               "Please fill at least 1 of email, mobile, phone, requester_id, twitter_id, "
                               "facebook_id, unique_external_id fields"})
        if "status" in ticket and ticket["status"] not in (2, 3, 4, 5):
            errors.append({"field": "status", "message": "It should be one of these values: '2,3,4,5'",
                           "code": "invalid_value"})
        if "priority" in ticket and ticket["priority"] not in (1, 2, 3, 4):
            errors.append({"field": "priority", "message": "It should be one of these values: '1,2,3,4'",
                           "code": "invalid_value"})
        return errors


@asynccontextmanager
async def serving(fake: _FakeHelpdesk) -> AsyncIterator[str]:
    async with serving_app(fake.make_app()) as base_url:
        yield base_url
