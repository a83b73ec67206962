"""Insight at scale: seed N synthetic cases, then time the dashboard's figures and a full CSV export.

    .venv/bin/python bench/insight.py [--cases 100000] [--database-url postgres://root@127.0.0.1:5432]

Beside each figure: the target (300 ms) and the floor on the same database in the same run (one
`SELECT count(*)` over the cases, the least any figure over every case can cost). The export runs as
`plaint cases export` in a child process; its peak RSS is the child's maximum resident set size."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.insight.figures import InsightFigures  # noqa: E402
from storage.database import open_database  # noqa: E402
from storage.insight import CaseQuery, TortoiseInsight  # noqa: E402
from storage.models import Case  # noqa: E402


def plaint(env: dict[str, str], *arguments: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", *arguments], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def figures(url: str) -> list[tuple[str, float]]:
    async with open_database(url):
        insight = TortoiseInsight(UTC)
        shown = InsightFigures(insight, UTC)
        query = CaseQuery()
        return [
            ("floor: SELECT count(*)", await timed(lambda: Case.all().count())),
            ("volume per day by category", await timed(lambda: shown.volume(query, "day", "category"))),
            ("product x category heat map", await timed(lambda: shown.heatmap(query))),
            ("open backlog by age", await timed(lambda: shown.backlog(query, datetime.now(UTC)))),
            ("first response / resolution times", await timed(lambda: shown.timings(query))),
        ]


async def create_postgres(server: str) -> str:
    name = f"plaint_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL without a database name")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plaint-bench-") as directory:
        url = (asyncio.run(create_postgres(args.database_url.rstrip("/"))) if args.database_url
               else f"sqlite:///{directory}/bench.sqlite3")
        env = {**os.environ, "PLAINT_DATABASE_URL": url, "PLAINT_DATA_DIR": directory, "PLAINT_LOG_LEVEL": "WARNING"}
        seconds = plaint(env, "dev", "seed", "--cases", str(args.cases), "--batch", "5000")
        print(f"{url.split('://')[0]}: seeded {args.cases} cases in {seconds:.1f} s ({args.cases / seconds:.0f}/s)")
        print(f"{'figure':<36} {'ms':>9} {'target':>8}")
        for label, milliseconds in asyncio.run(figures(url)):
            print(f"{label:<36} {milliseconds:>9.1f} {'' if label.startswith('floor') else '300':>8}")
        out = Path(directory) / "cases.csv"
        seconds = plaint(env, "cases", "export", "--format", "csv", "--out", str(out))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"CSV export: {args.cases / seconds:.0f} rows/s ({seconds:.1f} s, {out.stat().st_size / 1e6:.1f} MB), "
              f"peak RSS of the children {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
