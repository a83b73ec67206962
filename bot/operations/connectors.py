"""Helpdesk connectors: one ticket per case in Zendesk (Tickets API) or Freshdesk (Tickets API v2), created
once and updated as the case moves. The case number is the ticket's external id (Zendesk `external_id`, a
Freshdesk tag), so a ticket created just before a crash is found again rather than created twice. Failures
map like the chat platforms': 429 and 5xx and timeouts are retried (Retry-After honoured), 401/403/422 and
other 4xx are dead letters that name the problem."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import aiohttp

from bot.case_events import WebhookEvent
from bot.channels.base import PermanentDeliveryError, RetryLater
from bot.config import Settings
from bot.operations.logs import pseudonym
from storage.cases import CaseDetails
from storage.connectors import TortoiseExternalTickets, queue_ticket_sync
from storage.outbox import OutboxEntry

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=15)
HttpFactory = Callable[[], aiohttp.ClientSession]
JsonObject = dict[str, Any]

_TAG_UNSAFE = re.compile(r"[^a-z0-9_\-]+")


class CaseReader(Protocol):
    async def get(self, number: str) -> CaseDetails: ...


class TicketConnector(Protocol):
    name: str

    async def find(self, http: aiohttp.ClientSession, case: CaseDetails) -> str | None:
        """The ticket already made for this case (by its external id), if any."""

    async def create(self, http: aiohttp.ClientSession, case: CaseDetails, links: Sequence[str]) -> str: ...

    async def update(
        self, http: aiohttp.ClientSession, ticket_id: str, case: CaseDetails, event: str, links: Sequence[str]
    ) -> None: ...


def tag(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value.strip().lower()).strip("_")[:80]


def case_tags(case: CaseDetails) -> list[str]:
    tags = ["plaint", tag(f"plaint-{case.number}"), tag(f"channel-{case.channel}")]
    tags += [tag(value) for value in (case.category, case.product) if value]
    return [value for value in dict.fromkeys(tags) if value]


def description(case: CaseDetails, links: Sequence[str]) -> str:
    lines = [
        f"Plaint case {case.number} ({case.channel}, {case.lang})",
        f"Product: {case.product or '-'}",
        f"Category: {case.category or '-'}",
        f"When: {case.occurred_at or '-'}",
        f"Where: {case.occurred_where or '-'}",
        f"Expected resolution: {case.expected_resolution or '-'}",
        "",
        case.description or "",
    ]
    if links:
        lines += ["", "Evidence:", *(f"- {link}" for link in links)]
    return "\n".join(lines)


def subject(case: CaseDetails) -> str:
    about = " / ".join(value for value in (case.product, case.category) if value) or "complaint"
    return f"[{case.number}] {about}"[:250]


def event_note(case: CaseDetails, event: str) -> str:
    if event == WebhookEvent.CASE_RESOLVED and case.resolution_summary:
        return f"Plaint: case {case.number} resolved ({case.resolution_code}): {case.resolution_summary}"
    return f"Plaint: {event} - case {case.number} is now {case.status}"


def priority_name(case: CaseDetails) -> str:
    # Plaint keeps an optional priority in the case's extra fields; most cases have none and are "normal".
    value = str(case.extra.get("priority", "normal")).lower()
    return value if value in ("low", "normal", "high", "urgent") else "normal"


async def answer_or_raise(response: aiohttp.ClientResponse, target: str) -> JsonObject:
    """The JSON body of a 2xx; otherwise the error the outbox worker understands."""
    text = await response.text()
    if response.status in (429,) or response.status >= 500:
        retry_after = response.headers.get("Retry-After")
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise RetryLater(f"{target} answered HTTP {response.status}", retry_after=delay)
    if response.status in (401, 403):
        raise PermanentDeliveryError(f"{target} refused the credentials (HTTP {response.status}): {text[:300]}")
    if response.status >= 400:
        raise PermanentDeliveryError(f"{target} rejected the ticket (HTTP {response.status}): {text[:500]}")
    if not text:
        return {}
    try:
        loaded = await response.json(content_type=None)
    except ValueError as error:
        raise RetryLater(f"{target} answered something that is not JSON") from error
    return loaded if isinstance(loaded, dict) else {"items": loaded}


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, target: str, headers: Mapping[str, str],
    body: JsonObject | None = None,
) -> JsonObject:
    try:
        async with http.request(method, url, json=body, headers=dict(headers), timeout=REQUEST_TIMEOUT) as response:
            return await answer_or_raise(response, target)
    except (aiohttp.ClientConnectionError, TimeoutError) as error:
        raise RetryLater(f"{target} unreachable: {type(error).__name__}") from error


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


class ZendeskConnector:
    """Zendesk Support Tickets API: POST/PUT /api/v2/tickets, lookup by external_id."""

    name = "zendesk"
    STATUS: ClassVar[Mapping[str, str]] = {
        "new": "new", "acknowledged": "open", "in_progress": "open", "waiting_for_customer": "pending",
        "resolved": "solved", "closed": "closed",
    }

    def __init__(self, base_url: str, email: str, api_token: str) -> None:
        self._base = base_url.rstrip("/")
        # Zendesk API tokens authenticate as "{email}/token:{token}".
        self._headers = _basic(f"{email}/token", api_token)

    async def find(self, http: aiohttp.ClientSession, case: CaseDetails) -> str | None:
        url = f"{self._base}/api/v2/tickets.json?external_id={case.number}"
        found = await _call(http, "GET", url, self.name, self._headers)
        tickets = found.get("tickets") or []
        return str(tickets[0]["id"]) if tickets else None

    async def create(self, http: aiohttp.ClientSession, case: CaseDetails, links: Sequence[str]) -> str:
        requester: JsonObject = {"name": case.name or f"Plaint customer {case.number}"}
        if case.email:
            requester["email"] = case.email
        ticket = {
            "subject": subject(case),
            "comment": {"body": description(case, links), "public": False},
            "requester": requester,
            "external_id": case.number,
            "status": self.STATUS.get(case.status, "open"),
            "priority": priority_name(case),
            "type": "problem",
            "tags": case_tags(case),
        }
        answer = await _call(http, "POST", f"{self._base}/api/v2/tickets.json", self.name, self._headers,
                             {"ticket": ticket})
        return str(answer["ticket"]["id"])

    async def update(
        self, http: aiohttp.ClientSession, ticket_id: str, case: CaseDetails, event: str, links: Sequence[str]
    ) -> None:
        ticket = {
            "status": self.STATUS.get(case.status, "open"),
            "priority": priority_name(case),
            "tags": case_tags(case),
            "comment": {"body": event_note(case, event), "public": False},
        }
        await _call(http, "PUT", f"{self._base}/api/v2/tickets/{ticket_id}.json", self.name, self._headers,
                    {"ticket": ticket})


class FreshdeskConnector:
    """Freshdesk Tickets API v2: POST/PUT /api/v2/tickets, notes, lookup by the case-number tag."""

    name = "freshdesk"
    STATUS: ClassVar[Mapping[str, int]] = {
        "new": 2, "acknowledged": 2, "in_progress": 2, "waiting_for_customer": 3, "resolved": 4, "closed": 5,
    }
    PRIORITY: ClassVar[Mapping[str, int]] = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
    SOURCE_CHAT = 7

    def __init__(self, base_url: str, api_key: str) -> None:
        self._base = base_url.rstrip("/")
        # Freshdesk: the API key as the user name, any password.
        self._headers = _basic(api_key, "X")

    async def find(self, http: aiohttp.ClientSession, case: CaseDetails) -> str | None:
        query = f"\"tag:'{tag(f'plaint-{case.number}')}'\""
        url = f"{self._base}/api/v2/search/tickets"
        try:
            async with http.get(url, params={"query": query}, headers=self._headers,
                                timeout=REQUEST_TIMEOUT) as response:
                found = await answer_or_raise(response, self.name)
        except (aiohttp.ClientConnectionError, TimeoutError) as error:
            raise RetryLater(f"{self.name} unreachable: {type(error).__name__}") from error
        results = found.get("results") or []
        return str(results[0]["id"]) if results else None

    async def create(self, http: aiohttp.ClientSession, case: CaseDetails, links: Sequence[str]) -> str:
        ticket: JsonObject = {
            "subject": subject(case),
            "description": description(case, links).replace("\n", "<br>"),
            "status": self.STATUS.get(case.status, 2),
            "priority": self.PRIORITY[priority_name(case)],
            "source": self.SOURCE_CHAT,
            "tags": case_tags(case),
            "name": case.name or f"Plaint customer {case.number}",
        }
        # Freshdesk needs a requester: the email, else the phone, else a stable id for this chat customer.
        if case.email:
            ticket["email"] = case.email
        elif case.phone:
            ticket["phone"] = case.phone
        else:
            ticket["unique_external_id"] = f"plaint-{case.channel}-{pseudonym(case.sender_id)}"
        answer = await _call(http, "POST", f"{self._base}/api/v2/tickets", self.name, self._headers, ticket)
        return str(answer["id"])

    async def update(
        self, http: aiohttp.ClientSession, ticket_id: str, case: CaseDetails, event: str, links: Sequence[str]
    ) -> None:
        body = {"status": self.STATUS.get(case.status, 2), "priority": self.PRIORITY[priority_name(case)],
                "tags": case_tags(case)}
        await _call(http, "PUT", f"{self._base}/api/v2/tickets/{ticket_id}", self.name, self._headers, body)
        await _call(http, "POST", f"{self._base}/api/v2/tickets/{ticket_id}/notes", self.name, self._headers,
                    {"body": event_note(case, event), "private": True})


def helpdesk_connectors(settings: Settings) -> list[TicketConnector]:
    connectors: list[TicketConnector] = []
    token = settings.zendesk_api_token.get_secret_value() if settings.zendesk_api_token else ""
    if settings.zendesk_url and settings.zendesk_email and token:
        connectors.append(ZendeskConnector(settings.zendesk_url, settings.zendesk_email, token))
    key = settings.freshdesk_api_key.get_secret_value() if settings.freshdesk_api_key else ""
    if settings.freshdesk_url and key:
        connectors.append(FreshdeskConnector(settings.freshdesk_url, key))
    return connectors


class TicketQueue:
    """What the case-event fan-out tells: this case changed, bring the connector's ticket up to date."""

    def __init__(self, name: str) -> None:
        self._name = name

    async def case_changed(self, case_number: str, event: WebhookEvent) -> None:
        await queue_ticket_sync(self._name, case_number, event.value)


class TicketSync:
    """Outbox kind "connector": create the case's ticket once, then update it, in the order things happened."""

    def __init__(
        self,
        connectors: Sequence[TicketConnector],
        cases: CaseReader,
        evidence_url: Callable[[int], str],
        http: HttpFactory,
        tickets: TortoiseExternalTickets | None = None,
    ) -> None:
        self._connectors = {connector.name: connector for connector in connectors}
        self._cases = cases
        self._evidence_url = evidence_url
        self._http = http
        self._tickets = tickets or TortoiseExternalTickets()

    async def handle(self, entry: OutboxEntry) -> None:
        name = str(entry.payload.get("connector", ""))
        connector = self._connectors.get(name)
        if connector is None:
            raise RetryLater(f"connector {name} is not configured on this worker", retry_after=60)
        number = str(entry.payload["case_number"])
        event = str(entry.payload["event"])
        case = await self._cases.get(number)
        links = [self._evidence_url(item.id) for item in case.evidence]
        http = self._http()
        ticket_id = await self._tickets.ticket_id(number, name)
        if ticket_id is None:
            ticket_id = await connector.find(http, case)
            if ticket_id is None:
                ticket_id = await connector.create(http, case, links)
                log.info("%s ticket %s created for case %s", name, ticket_id, number)
                await self._tickets.remember(number, name, ticket_id, case.status)
                if event == WebhookEvent.CASE_FILED:
                    return  # the new ticket carries the case as it is now
            await self._tickets.remember(number, name, ticket_id, case.status)
        await connector.update(http, ticket_id, case, event, links)
        await self._tickets.remember(number, name, ticket_id, case.status)
