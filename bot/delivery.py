"""What a platform's refusal means to the outbox: the small delivery-error taxonomy. Channels and the
agent desk's notifier raise these; exactly one consumer, the outbox worker, interprets them."""

from __future__ import annotations

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
