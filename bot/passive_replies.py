"""Passive replies: answers that leave in a platform's HTTP response instead of through its API (WeChat
waits 5 s for one). Channel-neutral: the channel asks for a window and a claim; this service keeps the
outbox worker and the HTTP answer from both sending the same reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
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
        self, channel: ChannelName, result: IntakeResult, message_id: str, deadline: float
    ) -> tuple[Outbound, ...]:
        """The replies of one inbound message, taken from the outbox for the passive answer: whatever this
        returns, the worker will never send, and the other way round."""
        entries = await self._outbox.claim_passive(channel, message_id)
        if result.duplicate:
            # A retry means the platform never got our first answer: what it carried must be carried again.
            entries += await self._outbox.answered_passively(channel, message_id)
        else:
            # The worker (woken by the intake's commit) may hold one of these replies for the moment it takes
            # to see the open window and put it back: look again until the deadline rather than split the answer.
            wanted = {message.outbox_id for message in result.replies}
            while not wanted <= {entry.id for entry in entries} and time.monotonic() < deadline:
                await asyncio.sleep(_CLAIM_PAUSE_SECONDS)
                entries += await self._outbox.claim_passive(channel, message_id)
        return tuple(_outbound(entry) for entry in sorted(entries, key=lambda entry: entry.id))


def _outbound(entry: OutboxEntry) -> Outbound:
    return outbound_from_payload(entry.channel, entry.payload, entry.id)
