"""Huge messages against a running Plaint: a word of N characters (no spaces) over the web chat, while /healthz
is asked every 10 ms. Prints, per size, how long the answer took and the slowest /healthz answer, beside the
references of issue 17 (answer within 2 s, /healthz never slower than 100 ms).

    .venv/bin/python bench/hardening_big_messages.py [--sizes 10000,100000,1000000] [--rounds 3]

Runs `plaint serve`'s application in this process on a SQLite file in a temporary directory."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_app
from bot.channels.web_sessions import COOKIE_NAME
from bot.config import Settings
from storage.database import migrate_database

ANSWER_REFERENCE = 2.0
HEALTH_REFERENCE = 0.100


async def one_round(client: TestClient, size: int) -> tuple[float, float, int]:  # type: ignore[type-arg]
    """(seconds to the answer, slowest /healthz in seconds, /healthz answers seen) for one huge word."""
    greeting = await client.post("/chat/api/message", json={"text": "Hello", "locale": "en"})
    cookie = {"Cookie": f"{COOKIE_NAME}={greeting.cookies[COOKIE_NAME].value}"}
    slowest, answered = 0.0, 0
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal slowest, answered
        while not done.is_set():
            started = time.perf_counter()
            response = await client.get("/healthz")
            await response.read()
            slowest = max(slowest, time.perf_counter() - started)
            answered += 1
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    response = await client.post("/chat/api/message", json={"text": "x" * size, "locale": "en"}, headers=cookie)
    body = await response.json()
    elapsed = time.perf_counter() - started
    done.set()
    await poller
    assert response.status == 200 and "too long" in body["replies"][0]["text"], body
    return elapsed, slowest, answered


async def main(sizes: list[int], rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.sqlite3"
        await migrate_database(url)
        settings = Settings(database_url=url, data_dir=Path(directory) / "data")
        app = build_app(settings)
        async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
            print(f"{'characters':>10}  {'answer s':>9} (ref < {ANSWER_REFERENCE:.1f})  "
                  f"{'slowest /healthz ms':>19} (ref < {HEALTH_REFERENCE * 1000:.0f})  polls")
            for size in sizes:
                for _ in range(rounds):
                    elapsed, slowest, answered = await one_round(client, size)
                    print(f"{size:>10}  {elapsed:>9.3f}              {slowest * 1000:>19.1f}             {answered:>5}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main([int(size) for size in arguments.sizes.split(",")], arguments.rounds))
