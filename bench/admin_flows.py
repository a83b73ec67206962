"""What flows in the database cost a customer turn: the flow lookup every turn makes (FlowRegistry.resolve,
with its version check at most every REFRESH_SECONDS), beside the reference in the same run, the in-memory
lookup of file-based flows (for_state), and the version check itself (one grouped query). Also the cost of one
Argon2id password hash (what a sign-in costs the server).

    .venv/bin/python bench/admin_flows.py [--database-url postgres://root@127.0.0.1:5432/db] [--turns 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.admin.passwords import hash_password
from bot.flow_registry import FlowRegistry
from storage.database import migrate_database, open_database
from storage.flow_versions import TortoiseFlowVersions


def per_call_us(started: float, calls: int) -> float:
    return (time.perf_counter() - started) / calls * 1e6


async def run(database_url: str, turns: int) -> None:
    await migrate_database(database_url)
    async with open_database(database_url):
        files = FlowRegistry("complaint")
        files.reload()
        started = time.perf_counter()
        for _ in range(turns):
            files.for_state(None)
        reference = per_call_us(started, turns)

        database = FlowRegistry("complaint")
        await database.attach(TortoiseFlowVersions())
        started = time.perf_counter()
        for _ in range(turns):
            await database.resolve(None)
        cached = per_call_us(started, turns)

        checks = 200
        started = time.perf_counter()
        for _ in range(checks):
            await database.refresh(force=True)
        check = per_call_us(started, checks)

    hashes = [0.0] * 5
    for index in range(len(hashes)):
        started = time.perf_counter()
        hash_password("correct horse battery staple")
        hashes[index] = (time.perf_counter() - started) * 1e3

    print(f"database: {database_url.split('://')[0]}, {turns} lookups")
    print(f"  reference  in-memory flow lookup (files)        {reference:8.2f} us/turn")
    print(f"  plaint     resolve() with the version check     {cached:8.2f} us/turn")
    print(f"  plaint     one version check (grouped query)    {check:8.1f} us, at most once per 2 s per worker")
    print(f"  argon2id   one password hash                    {statistics.median(hashes):8.1f} ms (median of 5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--turns", type=int, default=20000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = arguments.database_url or f"sqlite://{Path(directory) / 'bench.sqlite3'}"
        asyncio.run(run(url, arguments.turns))


if __name__ == "__main__":
    main()
