"""The 429 backlog of issue 17, timed: how long a healthy customer's reply takes to reach Telegram while 110
chats that Telegram keeps rate-limiting have 220 replies in the outbox, beside the same reply with no backlog.

    python bench/outbox.py [--database-url postgres://user@host:5432/db] [--chats 110] [--replies 3]

Uses the shipped rate limits and retry policy, the real python-telegram-bot client and the project's fake Bot
API on 127.0.0.1 (every limited chat is answered "429 retry after 1"). SQLite in a temporary directory by default.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.outbox import DEFAULT_RATE_LIMITS, RetryPolicy
from storage.database import is_postgres, migrate_database, open_database
from tests.fakes.rate_limited_telegram import HEALTHY_CHAT, running_backlog


async def healthy_latencies(database_url: str, limited_chats: int, replies: int) -> list[float]:
    await migrate_database(database_url)
    async with (
        open_database(database_url),
        running_backlog(
            limited_chats=limited_chats, replies_per_chat=2, skip_locked=is_postgres(database_url),
            rate_limits=DEFAULT_RATE_LIMITS, retry=RetryPolicy(),
        ) as backlog,
    ):
        api = backlog.api
        # The backlog is there: every limited chat has been refused at least once.
        await backlog.until(lambda: api.refused >= limited_chats, within=600)
        latencies = []
        for number in range(replies):
            text = f"healthy reply {number}"
            queued = time.monotonic()
            await backlog.queue(HEALTHY_CHAT + number, text)
            backlog.worker.wake()  # as the intake does after its commit
            await backlog.until(lambda text=text: text in api.accepted_at, within=600)  # type: ignore[misc]
            latencies.append(api.accepted_at[text] - queued)
            await asyncio.sleep(1.0)
        still_open = await backlog.outbox.pending_count()
        print(f"  ({limited_chats} limited chats: {still_open} backlog replies still open at the end)")
        return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--chats", type=int, default=110)
    parser.add_argument("--replies", type=int, default=3)
    arguments = parser.parse_args()
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as directory:
        urls = [arguments.database_url] * 2 if arguments.database_url else [
            f"sqlite:///{directory}/reference.sqlite3", f"sqlite:///{directory}/backlog.sqlite3"
        ]
        # With a given database both runs share it: the reference run leaves only sent rows behind.
        reference = await healthy_latencies(urls[0], 0, arguments.replies)
        backlog = await healthy_latencies(urls[1], arguments.chats, arguments.replies)
    print(f"{'healthy reply latency, s':<34}{'median':>8}{'max':>8}")
    print(f"{'no backlog (reference)':<34}{statistics.median(reference):>8.3f}{max(reference):>8.3f}")
    label = f"{arguments.chats} rate-limited chats, {2 * arguments.chats} replies"
    print(f"{label:<34}{statistics.median(backlog):>8.3f}{max(backlog):>8.3f}")


if __name__ == "__main__":
    asyncio.run(main())
