"""Timer firing lag: how late a due timer fires while 10,000 others wait and 100 come due every second.

    .venv/bin/python bench/timers.py [--pending 10000] [--rate 100] [--seconds 20] [--workers 2]
                                     [--poll 0.25] [--database-url postgres://root@127.0.0.1:5432
                                                    | mysql://root:@127.0.0.1:3306]

Fills the timer table with `--pending` timers due in a week, then schedules `--rate` timers per second, each
due one second after it is written, for `--seconds`, while `--workers` TimerWorkers (one process, separate
claims) fire them. Lag = wall time when the handler ran - due time. Printed beside the reference in the same
run: the poll interval (a worker that has nothing to do sleeps this long, so mean lag near half of it and a
maximum near it are the design's floor) and a bare claim round trip on the same database (one claim_due call
on an empty due set, i.e. the cost of asking). Without --database-url it uses a SQLite file."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.lifecycle.clock import SystemClock  # noqa: E402
from bot.lifecycle.timers import TimerWorker  # noqa: E402
from storage.database import is_mysql, is_postgres, migrate_database, open_database, supports_row_locks  # noqa: E402
from storage.models import Timer  # noqa: E402
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore  # noqa: E402


class LagRecorder:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self.fired_ids: list[int] = []

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        self.lags.append((datetime.now(UTC) - timer.due_at).total_seconds())
        self.fired_ids.append(timer.id)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def create_database(url: str | None, workdir: Path) -> tuple[str, str | None]:
    if url is None:
        return f"sqlite:///{workdir / 'timers.sqlite3'}", None
    name = f"plaint_bench_timers_{uuid.uuid4().hex[:8]}"
    if is_mysql(url):
        await mysql_admin(url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return f"{url.rstrip('/')}/{name}", name
    admin = await asyncpg.connect(f"{url.rstrip('/')}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{url.rstrip('/')}/{name}", name


async def mysql_admin(url: str, statement: str) -> None:
    import asyncmy

    server = urlsplit(url)
    connection = await asyncmy.connect(host=server.hostname or "127.0.0.1", port=server.port or 3306,
                                       user=unquote(server.username or "root"), password=unquote(server.password or ""))
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(statement)
    finally:
        await connection.ensure_closed()


async def drop_database(url: str, name: str) -> None:
    if is_mysql(url):
        await mysql_admin(url, f"DROP DATABASE IF EXISTS `{name}`")
        return
    admin = await asyncpg.connect(f"{url.rstrip('/')}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        database_url, created = await create_database(args.database_url, Path(workdir))
        try:
            await migrate_database(database_url)
            async with open_database(database_url):
                await measure(args, database_url)
        finally:
            if created is not None:
                await drop_database(args.database_url, created)


async def measure(args: argparse.Namespace, database_url: str) -> None:
    store = TortoiseTimerStore(skip_locked=supports_row_locks(database_url))
    engine = "PostgreSQL" if is_postgres(database_url) else "MariaDB/MySQL" if is_mysql(database_url) else "SQLite"
    far = datetime.now(UTC) + timedelta(days=7)
    batch = [
        Timer(kind="bench", key=f"background:{n}", due_at=far + timedelta(seconds=n), payload={}, status="pending")
        for n in range(args.pending)
    ]
    await Timer.bulk_create(batch, batch_size=1000)

    # Reference: one claim round trip over the pending table when nothing is due.
    probes = []
    for _ in range(50):
        started = time.perf_counter()
        await store.claim_due(datetime.now(UTC), "probe")
        probes.append(time.perf_counter() - started)

    recorder = LagRecorder()
    workers = [
        TimerWorker(store, {"bench": recorder}, SystemClock(), name=f"bench-{n}", poll_interval=args.poll)
        for n in range(args.workers)
    ]
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    interval = 1.0 / args.rate
    total = args.rate * args.seconds
    started = time.perf_counter()
    for n in range(total):
        target = started + n * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await store.schedule(
            NewTimer(kind="bench", key=f"due:{n}", due_at=datetime.now(UTC) + timedelta(seconds=1), payload={})
        )
    deadline = time.perf_counter() + 30
    while len(recorder.lags) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    lags = sorted(recorder.lags)
    pending = await Timer.filter(status="pending").count()
    print(f"database: {engine}; {args.workers} worker(s); "
          f"{args.pending} pending timers in the background; {args.rate} due per second for {args.seconds} s")
    print(f"{'':<38}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(f"{'firing lag (fire time - due time)':<38}{statistics.median(lags) * 1000:>10.1f}"
          f"{percentile(lags, 0.95) * 1000:>10.1f}{percentile(lags, 0.99) * 1000:>10.1f}{lags[-1] * 1000:>10.1f}")
    print(f"{'reference: poll interval':<38}{args.poll * 1000:>10.1f}{'':>10}{'':>10}{args.poll * 1000:>10.1f}")
    ordered_probes = sorted(probes)
    print(f"{'reference: one empty claim round trip':<38}{statistics.median(ordered_probes) * 1000:>10.1f}"
          f"{percentile(ordered_probes, 0.95) * 1000:>10.1f}{percentile(ordered_probes, 0.99) * 1000:>10.1f}"
          f"{ordered_probes[-1] * 1000:>10.1f}")
    duplicates = len(recorder.fired_ids) - len(set(recorder.fired_ids))
    print(f"fired {len(lags)}/{total} in {elapsed:.1f} s ({len(lags) / elapsed:.1f}/s); duplicates: {duplicates}; "
          f"still pending: {pending} (the {args.pending} background timers are not due)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL without a database name")
    asyncio.run(main_async(parser.parse_args()))


async def main_async(args: argparse.Namespace) -> None:
    await run(args)


if __name__ == "__main__":
    main()
