"""The agent hears when the customer never got their words. Wraps the outbox's "message" handler: a reply or a
resolution sent from the desk that the platform refuses for good (the customer blocked the bot, left, or the
message is rejected) queues a DeliveryFailed desk event, posted in the case thread, before the error goes on
to the outbox worker as before. Temporary failures are not told: the outbox retries them."""

from __future__ import annotations

from typing import Protocol

from bot.delivery import PermanentDeliveryError, RecipientUnreachable, hold_seconds_of
from bot.desk.events import DeliveryFailed
from bot.desk.service import DeskService
from storage.outbox import OutboxEntry

# Outbound kinds the desk sends on an agent's behalf (bot.messages.Outbound.kind).
_DESK_KINDS = {"agent_reply", "status_update"}


class _Handler(Protocol):
    # bot.outbox.OutboxHandler, restated: the desk does not import the outbox (it imports the channels).
    async def handle(self, entry: OutboxEntry) -> None: ...


class DeskDeliveryWatch:
    def __init__(self, inner: _Handler, desk: DeskService) -> None:
        self._inner = inner
        self._desk = desk

    def hold_seconds(self, entry: OutboxEntry) -> float:
        return hold_seconds_of(self._inner, entry)

    async def handle(self, entry: OutboxEntry) -> None:
        try:
            await self._inner.handle(entry)
        except RecipientUnreachable:
            await self._tell(entry, "unreachable")
            raise
        except PermanentDeliveryError:
            await self._tell(entry, "refused")
            raise

    async def _tell(self, entry: OutboxEntry, reason: str) -> None:
        if entry.payload.get("kind") not in _DESK_KINDS:
            return
        metadata = {str(pair[0]): str(pair[1]) for pair in entry.payload.get("metadata") or [] if len(pair) == 2}
        number = metadata.get("case_number")
        if number:
            await self._desk.tell_desk(DeliveryFailed(number, reason, metadata.get("agent", "")))
