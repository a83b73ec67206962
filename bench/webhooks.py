"""Webhook delivery throughput: N case events go through the whole path (case_event outbox item -> fan-out to a
subscription -> signed POST by the outbox worker -> delivery log) to a local receiver; beside it, in the same run,
the floor: the same number of signed POSTs sent one after another straight to the same receiver.

    .venv/bin/python bench/webhooks.py [--events 300] [--database-url postgres://root@127.0.0.1:5432/db]

Prints events/s and ms per event for both. Without --database-url it uses a SQLite file."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.case_events import case_event_item
from bot.channels.web import TranscriptChannel
from bot.operations.runtime import Operations
from bot.operations.webhooks import signature
from bot.outbox import ChannelDelivery, OutboxWorker
from storage.database import is_postgres, migrate_database, open_database
from storage.models import Case, Customer, WebhookDelivery
from storage.outbox import add_outbox_item
from storage.webhooks import TortoiseWebhookStore

SECRET = "bench-secret-0123456789abcdef"


async def receiver() -> tuple[web.AppRunner, str, list[int]]:
    seen: list[int] = []

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        seen.append(1)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook", seen


async def floor(url: str, events: int) -> float:
    body = json.dumps({"version": 1, "type": "case.filed", "case": {"number": "PL-BENCH"}}).encode()
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        for _ in range(events):
            timestamp = int(time.time())
            headers = {"Plaint-Timestamp": str(timestamp), "Plaint-Signature": signature(SECRET, timestamp, body),
                       "Content-Type": "application/json"}
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
    return time.perf_counter() - started


async def plaint_path(database_url: str, url: str, seen: list[int], events: int) -> float:
    await migrate_database(database_url)
    async with open_database(database_url):
        await TortoiseWebhookStore().add_subscription(url, ["case.filed"], SECRET, False)
        customer = await Customer.create()
        for number in range(events):
            await Case.create(number=f"PL-B{number:05d}", status="new", customer=customer, channel="web",
                              sender_id="bench", lang="en", name="Ada Lovelace", email="ada@example.com")
        operations = Operations([])
        async with operations.running():
            handlers: dict[str, object] = {}
            operations.register_handlers(
                handlers, ChannelDelivery({"web": TranscriptChannel("web")}), lambda item: f"https://x/{item}"  # type: ignore[arg-type]
            )
            outbox = operations.outbox(skip_locked=is_postgres(database_url))
            worker = OutboxWorker(outbox, handlers, 0.01)  # type: ignore[arg-type]
            started = time.perf_counter()
            for number in range(events):
                await add_outbox_item(**case_event_item(f"PL-B{number:05d}", "file", None, "new", "customer"))
            task = asyncio.create_task(worker.run())
            # Done when the receiver has every event and the delivery log says so.
            while len(seen) < events or await WebhookDelivery.filter(status="delivered").count() < events:
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        delivered = await WebhookDelivery.filter(status="delivered").count()
        assert delivered == events, f"{delivered} of {events} delivered"
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database_url = args.database_url or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        runner, url, seen = await receiver()
        try:
            floor_seconds = await floor(url, args.events)
            seen.clear()
            plaint_seconds = await plaint_path(database_url, url, seen, args.events)
        finally:
            await runner.cleanup()
    kind = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.events} events, {kind}")
    print(f"floor  (signed POSTs in a loop):           {args.events / floor_seconds:8.1f} events/s "
          f"{1000 * floor_seconds / args.events:6.2f} ms/event")
    print(f"Plaint (outbox, fan-out, signed delivery): {args.events / plaint_seconds:8.1f} events/s "
          f"{1000 * plaint_seconds / args.events:6.2f} ms/event")


if __name__ == "__main__":
    asyncio.run(main())
