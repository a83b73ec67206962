"""Passive replies: answers that leave in a platform's HTTP response instead of through its API (WeChat
waits 5 s for one). Channel-neutral: the channel asks for a window and a claim; this service keeps the
outbox worker and the HTTP answer from both sending the same reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from bot.messages import ChannelName, IntakeResult, Outbound, outbound_from_payload
from storage.outbox import OutboxEntry, TortoiseOutbox

# How long apart a claim looks again for a reply the worker held for an instant.
_CLAIM_PAUSE_SECONDS = 0.02


class PassiveReplyService:
    """Customers whose HTTP request is still waiting for its passive answer, in this process, and the claim
    of their replies from the outbox."""

    def __init__(self, outbox: TortoiseOutbox) -> None:
        self._outbox = outbox
        self._deadlines: dict[str, list[float]] = {}

    @contextmanager
    def open_window(self, sender_id: str, deadline: float) -> Iterator[None]:
        """Meanwhile the outbox worker holds this customer's replies back, so it does not snatch what the
        passive answer is about to carry."""
        self._deadlines.setdefault(sender_id, []).append(deadline)
        try:
            yield
        finally:
            deadlines = self._deadlines.get(sender_id, [])
            if deadline in deadlines:
                deadlines.remove(deadline)
            if not deadlines:
                self._deadlines.pop(sender_id, None)

    def seconds_left(self, sender_id: str) -> float:
        deadlines = self._deadlines.get(sender_id)
        return max(deadlines) - time.monotonic() if deadlines else 0.0

    async def claim(
        self, channel: ChannelName, result: IntakeResult, message_id: str, deadline: float,
        fits: Callable[[Sequence[Outbound]], bool] | None = None,
    ) -> tuple[Outbound, ...]:
        """The replies of one inbound message, taken from the outbox for the passive answer: whatever this
        returns, the worker will never send, and the other way round.

        A customer's messages arrive in queue order whichever path each takes: the answer carries only the head
        of the customer's queue (earlier replies still pending come first), and while a worker is sending an
        earlier one through the API this waits for it, until the deadline, rather than overtake it. `fits` says
        whether replies fit in one passive answer."""

        taken: list[OutboxEntry] = []

        def fitting(more: list[OutboxEntry]) -> bool:
            return fits is None or fits([_outbound(entry) for entry in [*taken, *more]])

        if result.duplicate:
            # A retry means the platform never got our first answer: what it carried must be carried again.
            taken.extend(await self._outbox.answered_passively(channel, message_id))
        wanted = {message.outbox_id for message in result.replies}
        while True:
            claim = await self._outbox.claim_passive(channel, message_id, fitting)
            taken.extend(claim.entries)
            # The worker (woken by the intake's commit) may hold one of these replies, or an earlier one of the
            # same customer, for the moment it takes to send it or to see the open window and put it back.
            if result.duplicate or wanted <= {entry.id for entry in taken} or not claim.wait:
                break
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(_CLAIM_PAUSE_SECONDS)
        return tuple(_outbound(entry) for entry in sorted(taken, key=lambda entry: entry.id))


def _outbound(entry: OutboxEntry) -> Outbound:
    return outbound_from_payload(entry.channel, entry.payload, entry.id)
