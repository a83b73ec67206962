"""Insight at scale: seed N synthetic cases, build the daily rollup, then time the dashboard's figures and a full
CSV export, for each N given.

    .venv/bin/python bench/insight.py --cases 100000 1000000 --database-url postgres://root@127.0.0.1:5432

Seeding on PostgreSQL generates 20,000 cases and copies them in SQL (`plaint dev seed`), then runs `VACUUM ANALYZE`.
Beside each figure: the target (300 ms) and the floor on the same database in the same run (one `SELECT count(*)`
over the cases, the least any figure read from the cases can cost). Figures are timed twice: from the rollup (what
the dashboard does) and from the cases directly (what it falls back to for exact moments and statuses). The export
runs as `plaint cases export` in a child process; its peak RSS is that child's maximum resident set size."""

from __future__ import annotations

import argparse
import asyncio
import os
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
from storage.insight_rollup import TortoiseInsightRollup  # noqa: E402
from storage.models import Case  # noqa: E402


def plaint(env: dict[str, str], *arguments: str) -> tuple[float, float]:
    """Runs `plaint ARGUMENTS`; returns its seconds and its own peak RSS in MB (wait4 reports that child alone)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen([sys.executable, "-m", "bot", *arguments], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if child.returncode:
            errors.seek(0)
            sys.exit(f"plaint {' '.join(arguments)} failed:\n{errors.read()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def figure_timings(source: str, shown: InsightFigures, query: CaseQuery, product: CaseQuery
                         ) -> list[tuple[str, float]]:
    return [
        (f"{source}: volume per day by category", await timed(lambda: shown.volume(query, "day", "category"))),
        (f"{source}: volume per week by team", await timed(lambda: shown.volume(query, "week", "team"))),
        (f"{source}: product x category heat map", await timed(lambda: shown.heatmap(query))),
        (f"{source}: first response / resolution", await timed(lambda: shown.timings(query))),
        (f"{source}: same, one product", await timed(lambda: shown.timings(product))),
        (f"{source}: CSAT and SLA", await timed(lambda: shown.satisfaction(query))),
        (f"{source}: NLP quality per product", await timed(lambda: shown.nlp_quality(query, "product"))),
        (f"{source}: open backlog by age", await timed(lambda: shown.backlog(query, datetime.now(UTC)))),
    ]


async def figures(url: str) -> list[tuple[str, float]]:
    async with open_database(url):
        insight = TortoiseInsight(UTC)
        rolled = InsightFigures(insight, UTC, TortoiseInsightRollup(UTC))
        direct = InsightFigures(insight, UTC)
        query = CaseQuery()
        product = CaseQuery(product=(await Case.all().first().values_list("product", flat=True)) or None)
        timed_figures: list[tuple[str, float]] = [("floor: SELECT count(*)", await timed(lambda: Case.all().count()))]
        for source, shown in (("rollup", rolled), ("cases", direct)):
            timed_figures += await figure_timings(source, shown, query, product)
        return timed_figures


async def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


async def create_postgres(server: str) -> str:
    name = f"plaint_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server}/{name}"


async def vacuum_analyze(url: str) -> None:
    """Fresh statistics and visibility map after the bulk seed (autovacuum may not have run yet)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def run(cases: int, server: str | None, directory: str, *, existing: str | None = None, export: bool = True) -> None:
    if existing:
        url = existing
    else:
        url = (asyncio.run(create_postgres(server.rstrip("/"))) if server
               else f"sqlite:///{directory}/bench-{cases}.sqlite3")
    env = {**os.environ, "PLAINT_DATABASE_URL": url, "PLAINT_DATA_DIR": directory, "PLAINT_LOG_LEVEL": "WARNING"}
    print(f"--- {cases} cases on {url.split('://')[0]} (load average {asyncio.run(load())}, "
          f"{os.cpu_count()} cores shared with other jobs)")
    if existing:
        print("an existing seeded database: seeding skipped")
    else:
        seconds, _ = plaint(env, "dev", "seed", "--cases", str(cases), "--batch", "5000", "--no-rollup")
        print(f"seeded {cases} cases in {seconds:.1f} s ({cases / seconds:.0f}/s)")
        if url.startswith("postgres"):
            started = time.perf_counter()
            asyncio.run(vacuum_analyze(url))
            print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")
    seconds, _ = plaint(env, "insight", "rollup", "--rebuild")
    print(f"rollup backfill (plaint insight rollup --rebuild): {seconds:.1f} s")
    print(f"{'figure':<44} {'ms':>9} {'target':>8}")
    for label, milliseconds in asyncio.run(figures(url)):
        print(f"{label:<44} {milliseconds:>9.1f} {'' if label.startswith('floor') else '300':>8}")
    if not export:
        return
    out = Path(directory) / "cases.csv"
    seconds, peak_mb = plaint(env, "cases", "export", "--format", "csv", "--out", str(out))
    print(f"CSV export: {cases / seconds:.0f} rows/s ({seconds:.1f} s, {out.stat().st_size / 1e6:.1f} MB), "
          f"peak RSS of the export process {peak_mb:.0f} MB")
    print(f"load average after: {asyncio.run(load())}")
    out.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000])
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL without a database name")
    parser.add_argument("--existing", default=None, help="time an already seeded database (its full URL) instead")
    parser.add_argument("--no-export", action="store_true", help="figures only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plaint-bench-") as directory:
        for cases in args.cases:
            run(cases, args.database_url, directory, existing=args.existing, export=not args.no_export)


if __name__ == "__main__":
    main()
