"""Outbound webhooks: the versioned event document, its signature, the fan-out of a case event to the
subscriptions that want it, and the delivery of one signed request (retried by the outbox worker).

Payload version 1 (README, "Webhooks"): {"version": 1, "id", "type", "occurred_at", "case": {...},
"change": {"action", "from", "to", "actor"}, "delivery": {"id", "attempt", "replay_of"}}. Personal data
(name, phone, email, the customer's own words) is masked unless the subscription may see it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import aiohttp

from bot.case_events import CaseChange, WebhookEvent, events_for
from bot.channels.base import PermanentDeliveryError, RetryLater
from storage.cases import CaseDetails
from storage.outbox import OutboxEntry
from storage.webhooks import DeliveryNotFound, DeliveryRequest, TortoiseWebhookStore

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
# Receivers answer quickly or not at all; a slow one is retried rather than holding a worker.
REQUEST_TIMEOUT_SECONDS = 10.0
# After this many attempts a delivery is a dead letter (replay it with `plaint webhooks replay ID`).
MAX_DELIVERY_ATTEMPTS = 10
RETRYABLE_STATUSES = frozenset({408, 429})
# Event ids are derived from the outbox item, so a fan-out that runs twice produces the same ids.
_EVENT_NAMESPACE = uuid.UUID("6f1c1f4e-7a43-4a5e-9b7e-3d1f0e1c2a15")


class WebhookResults(Protocol):
    """Where delivery outcomes are counted (the metrics)."""

    def webhook_result(self, result: str) -> None: ...


class CaseReader(Protocol):
    async def get(self, number: str) -> CaseDetails: ...


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`Plaint-Signature`: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def _mask_name(value: str | None) -> str | None:
    return None if not value else value[:1] + "***"


def _mask_phone(value: str | None) -> str | None:
    return None if not value else "***" + value[-2:]


def _mask_email(value: str | None) -> str | None:
    if not value:
        return None
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def _iso(value: datetime) -> str:
    return value.isoformat()


def case_document(case: CaseDetails, *, personal: bool, evidence_url: Callable[[int], str]) -> dict[str, Any]:
    return {
        "number": case.number,
        "status": case.status,
        "channel": case.channel,
        "lang": case.lang,
        "product": case.product,
        "category": case.category,
        "team": case.team,
        "assignee": case.assignee,
        "resolution_code": case.resolution_code,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "personal_data": "included" if personal else "masked",
        "customer": {
            "name": case.name if personal else _mask_name(case.name),
            "phone": case.phone if personal else _mask_phone(case.phone),
            "email": case.email if personal else _mask_email(case.email),
        },
        # The customer's own words may name people, places and numbers: only for trusted receivers.
        "description": case.description if personal else None,
        "occurred_at": case.occurred_at if personal else None,
        "occurred_where": case.occurred_where if personal else None,
        "expected_resolution": case.expected_resolution if personal else None,
        "resolution_summary": case.resolution_summary if personal else None,
        "evidence": [
            {"id": item.id, "file_name": item.file_name, "media_type": item.media_type, "size": item.size,
             "sha256": item.sha256, "url": evidence_url(item.id)}
            for item in case.evidence
        ],
    }


def event_document(
    event: WebhookEvent, event_id: str, change: CaseChange, case: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": PAYLOAD_VERSION,
        "id": event_id,
        "type": event.value,
        "occurred_at": change.occurred_at,
        "case": case,
        "change": {"action": change.action, "from": change.source, "to": change.target, "actor": change.actor},
    }


class ConnectorQueue(Protocol):
    """Connectors that mirror cases elsewhere (Zendesk, Freshdesk, a tracker): told a case changed."""

    async def case_changed(self, case_number: str, event: WebhookEvent) -> None: ...


class CaseEventFanOut:
    """Outbox kind "case_event": one change of a case becomes a delivery per interested subscription."""

    def __init__(
        self,
        store: TortoiseWebhookStore,
        cases: CaseReader,
        evidence_url: Callable[[int], str],
        connectors: Sequence[ConnectorQueue] = (),
    ) -> None:
        self._store = store
        self._cases = cases
        self._evidence_url = evidence_url
        self._connectors = connectors

    async def handle(self, entry: OutboxEntry) -> None:
        try:
            change = CaseChange.from_payload(dict(entry.payload))
        except (KeyError, ValueError) as error:
            raise PermanentDeliveryError(f"malformed case event: {error}") from error
        explicit = entry.payload.get("event")
        events = events_for(change, None if explicit is None else str(explicit))
        subscribed = await self._store.subscribed_to([event.value for event in events])
        if not self._connectors and not any(subscribed.values()):
            return  # nobody to tell: the case (its row, transcript, evidence and events) is not read
        case = await self._cases.get(change.case_number)
        for event in events:
            event_id = str(uuid.uuid5(_EVENT_NAMESPACE, f"{entry.id}:{event.value}"))
            for subscription in subscribed[event.value]:
                body = event_document(
                    event,
                    event_id,
                    change,
                    case_document(case, personal=subscription.may_see_personal_data, evidence_url=self._evidence_url),
                )
                if isinstance(entry.payload.get("spike"), dict):
                    body["spike"] = entry.payload["spike"]  # spike.detected: the numbers behind the alert
                await self._store.queue_delivery(
                    DeliveryRequest(
                        subscription_id=subscription.id,
                        dedupe_key=f"{entry.id}:{event.value}:{subscription.id}",
                        event_id=event_id,
                        event_type=event.value,
                        case_number=case.number,
                        body=body,
                    )
                )
        # One ticket update per change, named by its most specific event (resolved rather than status_changed).
        for connector in self._connectors:
            await connector.case_changed(case.number, events[-1])


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookSender:
    """Outbox kind "webhook": one signed POST of one delivery. 2xx delivers; 5xx, 408, 429, timeouts and
    connection errors are retried with backoff; any other answer fails it for good (replay it by hand)."""

    def __init__(
        self,
        store: TortoiseWebhookStore,
        http: Callable[[], aiohttp.ClientSession],
        results: WebhookResults | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self._store = store
        self._http = http
        self._results = results
        self._timeout = timeout

    def _count(self, result: str) -> None:
        if self._results is not None:
            self._results.webhook_result(result)

    async def handle(self, entry: OutboxEntry) -> None:
        try:
            delivery, subscription = await self._store.delivery(int(entry.payload["delivery_id"]))
        except (DeliveryNotFound, KeyError, ValueError, TypeError) as error:
            raise PermanentDeliveryError(f"webhook delivery gone: {error}") from error
        if delivery.status != "pending":
            return  # delivered (never twice), failed, dead or cancelled: nothing to send
        if subscription is None or not subscription.active:
            await self._store.mark(delivery.id, "cancelled")
            return
        document = {
            **delivery.body,
            "delivery": {"id": delivery.id, "attempt": delivery.attempts + 1, "replay_of": delivery.replay_of},
        }
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Plaint-Webhooks/1",
            "Plaint-Timestamp": str(timestamp),
            "Plaint-Signature": signature(subscription.secret, timestamp, body),
            "Plaint-Event": delivery.event_type,
            "Plaint-Delivery": str(delivery.id),
        }
        last_try = entry.attempts >= MAX_DELIVERY_ATTEMPTS
        try:
            async with self._http().post(
                subscription.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as error:
            reason = f"{type(error).__name__}: {error}"
            await self._retry_or_bury(delivery.id, None, reason, None, last_try)
            return
        if 200 <= status < 300:
            await self._store.record_attempt(delivery.id, "delivered", status, None)
            self._count("delivered")
            return
        reason = f"receiver answered HTTP {status}"
        if status in RETRYABLE_STATUSES or status >= 500:
            await self._retry_or_bury(delivery.id, status, reason, retry_after, last_try)
            return
        await self._store.record_attempt(delivery.id, "failed", status, reason)
        self._count("failed")
        raise PermanentDeliveryError(reason)

    async def _retry_or_bury(
        self, delivery_id: int, status: int | None, reason: str, retry_after: float | None, last_try: bool
    ) -> None:
        if last_try:
            await self._store.record_attempt(delivery_id, "dead", status, reason)
            self._count("dead")
            raise PermanentDeliveryError(f"dead letter after {MAX_DELIVERY_ATTEMPTS} attempts: {reason}")
        await self._store.record_attempt(delivery_id, "pending", status, reason)
        self._count("retried")
        raise RetryLater(reason, retry_after=retry_after)
