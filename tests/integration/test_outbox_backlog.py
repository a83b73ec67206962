"""Issue 17's backlog: 110 chats that Telegram keeps rate-limiting have 220 replies queued; a healthy
customer's reply still leaves at once, and the refused replies are retried at the pace Telegram asks for,
a bounded number of times, then dead-lettered with the reason. (Latency: bench/outbox.py.)"""

from __future__ import annotations

import asyncio
import itertools

from bot.outbox import RateLimit, RetryPolicy
from storage.database import open_database
from storage.models import OutboxItem
from storage.outbox import DeadReason, OutboxStatus
from tests.fakes.rate_limited_telegram import HEALTHY_CHAT, running_backlog

# Telegram's per-chat pace as shipped; the per-bot pace raised so the test does not last a minute (the
# per-bot pace is not what this test is about, and bench/outbox.py runs with the shipped one).
LIMITS = {("message", "telegram"): (RateLimit("recipient", 1.0, 4), RateLimit("platform", 1 / 300, 50))}
ATTEMPTS = 2


async def test_a_rate_limited_backlog_does_not_hold_back_a_healthy_customer(database_url: str) -> None:
    async with (
        open_database(database_url),
        running_backlog(
            limited_chats=110, replies_per_chat=2, skip_locked=database_url.startswith("postgres"),
            rate_limits=LIMITS, retry=RetryPolicy(max_attempts=ATTEMPTS),
        ) as backlog,
    ):
        api = backlog.api
        # Every limited chat has been refused at least once: the backlog is there.
        await backlog.until(lambda: api.refused >= 110, within=60)
        await backlog.queue(HEALTHY_CHAT, "healthy reply")
        await backlog.until(lambda: "healthy reply" in api.accepted_at, within=60)
        # It arrived while the backlog was still being worked: nothing waited for the refused heads.
        still_open = await OutboxItem.filter(status__in=(OutboxStatus.PENDING, OutboxStatus.SENDING)).count()
        assert still_open > 100
        assert await OutboxItem.filter(status=OutboxStatus.DEAD).count() < 220

        async def drained() -> bool:
            return await backlog.outbox.pending_count() == 0

        # A deadline, not a speed check: on a busy machine (the suite runs in parallel) the paced retries of
        # 220 replies take minutes.
        for _ in range(3000):  # 0.1 s apart: five minutes at most
            if await drained():
                break
            await asyncio.sleep(0.1)
        assert await drained(), await OutboxItem.filter(status=OutboxStatus.DEAD).count()

    # Every refused reply was tried exactly ATTEMPTS times, each retry after the Retry-After Telegram gave,
    # and the second reply of a chat never before the first was settled.
    for text in backlog.texts:
        times = api.attempts[text]
        assert len(times) == ATTEMPTS, (text, len(times))
        assert all(later - earlier >= api.retry_after for earlier, later in itertools.pairwise(times))
    for first, second in zip(backlog.texts[::2], backlog.texts[1::2], strict=True):
        assert api.attempts[first][-1] < api.attempts[second][0]
    async with open_database(database_url):
        dead = await OutboxItem.filter(status=OutboxStatus.DEAD)
        assert len(dead) == 220
        assert {row.dead_reason for row in dead} == {DeadReason.RATE_LIMITED}
        assert all("Flood control" in (row.last_error or "") for row in dead)
        healthy = await OutboxItem.get(ordering_key=f"telegram:{HEALTHY_CHAT}")
        assert healthy.status == OutboxStatus.SENT and healthy.attempts == 1
