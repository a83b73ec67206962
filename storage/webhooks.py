"""Webhook subscriptions and their delivery log: each delivery is a row here plus an outbox item that
carries it, written together, so a delivery is retried by the outbox worker and never lost."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.errors import StorageError
from storage.models import WebhookDelivery, WebhookSubscription
from storage.outbox import add_outbox_item

WEBHOOK_OUTBOX_KIND = "webhook"


class SubscriptionNotFound(StorageError):
    def __init__(self, subscription_id: int) -> None:
        super().__init__(f"no webhook subscription {subscription_id}")
        self.subscription_id = subscription_id


class DeliveryNotFound(StorageError):
    def __init__(self, delivery_id: int) -> None:
        super().__init__(f"no webhook delivery {delivery_id}")
        self.delivery_id = delivery_id


@dataclass(frozen=True)
class SubscriptionRecord:
    id: int
    url: str
    events: tuple[str, ...]
    secret: str
    may_see_personal_data: bool
    created_at: datetime
    active: bool = True


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    subscription_id: int | None
    event_id: str
    event_type: str
    case_number: str
    body: Mapping[str, Any]
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    replay_of: int | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryRequest:
    """One event document for one subscription, as the fan-out prepared it."""

    subscription_id: int
    dedupe_key: str
    event_id: str
    event_type: str
    case_number: str
    body: Mapping[str, Any]


def _subscription(row: WebhookSubscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        row.id, row.url, tuple(row.events), row.secret, row.may_see_personal_data, row.created_at, row.active
    )


def _delivery(row: WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        row.id,
        row.subscription_id,
        row.event_id,
        row.event_type,
        row.case_number,
        row.body,
        row.status,
        row.attempts,
        row.last_status_code,
        row.last_error,
        row.replay_of_id,
        row.created_at,
        row.delivered_at,
    )


async def _enqueue(row: WebhookDelivery) -> None:
    # Per subscription and case: one slow receiver never holds back another, and a case's events stay in order.
    await add_outbox_item(
        kind=WEBHOOK_OUTBOX_KIND,
        channel="webhook",
        ordering_key=f"webhook:{row.subscription_id}:{row.case_number}",
        payload={"delivery_id": row.id},
    )


class TortoiseWebhookStore:
    async def add_subscription(
        self, url: str, events: Collection[str], secret: str, may_see_personal_data: bool
    ) -> SubscriptionRecord:
        row = await WebhookSubscription.create(
            url=url, events=sorted(set(events)), secret=secret, may_see_personal_data=may_see_personal_data
        )
        return _subscription(row)

    async def subscriptions(self) -> list[SubscriptionRecord]:
        return [_subscription(row) for row in await WebhookSubscription.all().order_by("id")]

    async def subscriptions_for(self, event_type: str) -> list[SubscriptionRecord]:
        return (await self.subscribed_to([event_type]))[event_type]

    async def subscribed_to(self, event_types: Sequence[str]) -> dict[str, list[SubscriptionRecord]]:
        """The active subscriptions of each event type, from one read."""
        # A handful of subscriptions at most: filtering the JSON list here works on every database.
        active = [record for record in await self.subscriptions() if record.active]
        return {event_type: [record for record in active if event_type in record.events] for event_type in event_types}

    async def subscription(self, subscription_id: int) -> SubscriptionRecord:
        row = await WebhookSubscription.get_or_none(id=subscription_id)
        if row is None:
            raise SubscriptionNotFound(subscription_id)
        return _subscription(row)

    async def update_subscription(
        self, subscription_id: int, *, secret: str | None = None, active: bool | None = None
    ) -> SubscriptionRecord:
        """A new secret (deliveries not yet sent are signed with it) or enabled/disabled."""
        changes: dict[str, Any] = {}
        if secret is not None:
            changes["secret"] = secret
        if active is not None:
            changes["active"] = active
        async with in_transaction():
            if changes and not await WebhookSubscription.filter(id=subscription_id).update(**changes):
                raise SubscriptionNotFound(subscription_id)
            if active is False:
                # Disabled means no more deliveries, queued ones included (they stay in the log, cancelled).
                await WebhookDelivery.filter(subscription_id=subscription_id, status="pending").update(
                    status="cancelled"
                )
        return await self.subscription(subscription_id)

    async def remove_subscription(self, subscription_id: int) -> None:
        async with in_transaction():
            removed = await WebhookSubscription.filter(id=subscription_id).delete()
            if not removed:
                raise SubscriptionNotFound(subscription_id)
            await WebhookDelivery.filter(subscription_id=None, status="pending").update(status="cancelled")

    async def queue_delivery(self, request: DeliveryRequest) -> int | None:
        """None when this delivery was queued before (the fan-out ran again after a crash)."""
        try:
            async with in_transaction():
                row = await WebhookDelivery.create(
                    subscription_id=request.subscription_id,
                    dedupe_key=request.dedupe_key,
                    event_id=request.event_id,
                    event_type=request.event_type,
                    case_number=request.case_number,
                    body=dict(request.body),
                    status="pending",
                )
                await _enqueue(row)
        except IntegrityError:
            return None
        return row.id

    async def replay(self, delivery_id: int) -> DeliveryRecord:
        """A new delivery of the same event document to the same subscription, marked as a replay."""
        async with in_transaction():
            original = await WebhookDelivery.get_or_none(id=delivery_id)
            if original is None:
                raise DeliveryNotFound(delivery_id)
            if original.subscription_id is None:
                raise SubscriptionNotFound(0)
            replays = await WebhookDelivery.filter(replay_of_id=original.id).count()
            row = await WebhookDelivery.create(
                subscription_id=original.subscription_id,
                dedupe_key=f"replay:{original.id}:{replays + 1}",
                event_id=original.event_id,
                event_type=original.event_type,
                case_number=original.case_number,
                body=original.body,
                status="pending",
                replay_of_id=original.id,
            )
            await _enqueue(row)
        return _delivery(row)

    async def delivery(self, delivery_id: int) -> tuple[DeliveryRecord, SubscriptionRecord | None]:
        row = await WebhookDelivery.get_or_none(id=delivery_id).prefetch_related("subscription")
        if row is None:
            raise DeliveryNotFound(delivery_id)
        subscription = row.subscription
        return _delivery(row), (None if subscription is None else _subscription(subscription))

    async def deliveries(
        self, status: str | None = None, limit: int = 50, subscription_id: int | None = None
    ) -> list[DeliveryRecord]:
        query = WebhookDelivery.all().order_by("-id").limit(limit)
        if status:
            query = query.filter(status=status)
        if subscription_id is not None:
            query = query.filter(subscription_id=subscription_id)
        return [_delivery(row) for row in await query]

    async def record_attempt(self, delivery_id: int, status: str, status_code: int | None, error: str | None) -> None:
        delivered_at = datetime.now(UTC) if status == "delivered" else None
        row = await WebhookDelivery.get(id=delivery_id)
        rows = WebhookDelivery.filter(id=delivery_id)
        if status != "delivered":
            # The subscription was disabled while this attempt was in flight: it stays cancelled (a retry
            # would send to a disabled subscription). What did arrive is recorded as delivered.
            rows = rows.exclude(status="cancelled")
        await rows.update(
            status=status,
            attempts=row.attempts + 1,
            last_status_code=status_code,
            last_error=None if error is None else error[:2000],
            delivered_at=delivered_at,
        )

    async def mark(self, delivery_id: int, status: str) -> None:
        await WebhookDelivery.filter(id=delivery_id).update(status=status)
