"""What a platform's refusal means to the outbox: the small delivery-error taxonomy. Channels and the
agent desk's notifier raise these; exactly one consumer, the outbox worker, interprets them."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from bot.errors import PlaintError


class DeliveryError(PlaintError):
    """Root of what a channel raises when a platform refuses a message."""


class RetryLater(DeliveryError):
    """Rate limited or the platform is down: the outbox tries again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RecipientUnreachable(DeliveryError):
    """The customer blocked the bot or left: stop sending, keep the case."""


class PermanentDeliveryError(DeliveryError):
    """The platform will never accept this message (bad request): retrying cannot help."""


@runtime_checkable
class HoldingHandler(Protocol):
    """An outbox handler that may hold an entry back before it is tried: ChannelDelivery, and every wrapper
    around a handler (metrics, the desk's delivery watch) passes the question on to what it wraps."""

    # The entry is the outbox's OutboxEntry; named loosely because channels import this module and may not
    # import storage.
    def hold_seconds(self, entry: Any) -> float: ...


def hold_seconds_of(handler: object, entry: Any) -> float:
    return handler.hold_seconds(entry) if isinstance(handler, HoldingHandler) else 0.0
