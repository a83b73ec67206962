"""What NOTIFY inside the inbox insert costs PostgreSQL's group commit: N inserts at once over P connections, the
plain insert beside the one-statement insert + pg_notify that storage/inbox.py uses (PostgreSQL holds one
cluster-wide lock from a notifying transaction's pre-commit to its end, WAL flush included, so notifying commits
do not share a flush). Prints both per round, with the load average.

    .venv/bin/python bench/notify_commit.py [--database-url postgres://root@127.0.0.1:5432] [--inserts 100] \\
        [--connections 5 20 40] [--rounds 2]

Makes a scratch table in the `postgres` database and drops it."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg

PLAIN = "INSERT INTO bench_notify_probe (k, v) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id"
NOTIFYING = (
    "WITH stored AS (INSERT INTO bench_notify_probe (k, v) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT pg_notify('bench_notify_probe', '') FROM stored"
)


async def burst(pool: asyncpg.Pool, statement: str, inserts: int) -> tuple[float, float, float]:
    async def one(number: int) -> float:
        started = time.perf_counter()
        await pool.fetch(statement, f"{number}-{time.perf_counter_ns()}", "x" * 300)
        return time.perf_counter() - started

    started = time.perf_counter()
    times = sorted(await asyncio.gather(*(one(number) for number in range(inserts))))
    return times[len(times) // 2], times[min(len(times) - 1, round(len(times) * 0.99) - 1)], \
        time.perf_counter() - started


async def run(url: str, inserts: int, connections: list[int], rounds: int) -> None:
    admin = await asyncpg.connect(f"{url}/postgres")
    await admin.execute("DROP TABLE IF EXISTS bench_notify_probe;"
                        " CREATE TABLE bench_notify_probe (id serial PRIMARY KEY, k text UNIQUE, v text)")
    try:
        for size in connections:
            pool = await asyncpg.create_pool(f"{url}/postgres", min_size=size, max_size=size)
            try:
                for _ in range(rounds):
                    for name, statement in (("insert", PLAIN), ("insert + pg_notify", NOTIFYING)):
                        p50, p99, total = await burst(pool, statement, inserts)
                        print(f"{inserts} at once on {size:2} connections  {name:<18} p50 {p50 * 1000:6.1f} ms  "
                              f"p99 {p99 * 1000:6.1f} ms  all {total * 1000:6.1f} ms  "
                              f"(load {os.getloadavg()[0]:.1f})")
            finally:
                await pool.close()
    finally:
        await admin.execute("DROP TABLE IF EXISTS bench_notify_probe")
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("PLAINT_BENCH_POSTGRES_URL",
                                                                 "postgres://root@127.0.0.1:5432"))
    parser.add_argument("--inserts", type=int, default=100)
    parser.add_argument("--connections", type=int, nargs="+", default=[5, 20, 40])
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.database_url.rstrip("/"), arguments.inserts, arguments.connections, arguments.rounds))


if __name__ == "__main__":
    main()
