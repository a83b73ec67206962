"""Data housekeeping costs on synthetic cases (encrypted like real ones), each beside a reference:

1. `plaint data check`: cases checked per second, beside reading and decrypting the same cases in the same
   batches (the floor any check that looks at contacts has to pay).
2. Retention of closed cases (anonymise after 365 days): cases per second, beside blanking the same cases' personal
   columns with one UPDATE each in one transaction on a copy of the same database (the floor: the same rows
   written, none of the case's other tables).

    .venv/bin/python bench/data_housekeeping.py [--cases 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise.transactions import in_transaction  # noqa: E402

from bot.insight.seed import synthetic_cases  # noqa: E402
from storage.crypto import Keyring, install_keyring, new_data_key  # noqa: E402
from storage.data_quality import _active_cases, check_data  # noqa: E402
from storage.database import migrate_database, open_database  # noqa: E402
from storage.evidence import LocalEvidenceStore  # noqa: E402
from storage.models import Case  # noqa: E402
from storage.retention import RetentionCutoffs, apply_retention, retention_preview  # noqa: E402
from storage.synthetic import insert_synthetic_cases  # noqa: E402

PERSONAL = ("name", "phone", "email", "description", "occurred_where", "expected_resolution", "resolution_summary")


async def seed(url: str, count: int) -> None:
    await migrate_database(url)
    async with open_database(url):
        generated = synthetic_cases(count, products=[f"product-{n}" for n in range(40)],
                                    categories=["product_quality", "delivery_logistics", "billing", "service"],
                                    teams=("general",), now=datetime.now(UTC), days=900, seed=7)
        while chunk := list(islice(generated, 2000)):
            await insert_synthetic_cases(chunk)
        # Every resolved case closed when it was filed (ages spread over 900 days).
        await Case.filter(status="resolved").update(status="closed")
        for case in await Case.all().only("id", "created_at"):
            await Case.filter(id=case.id).update(updated_at=case.created_at)


async def timed_check(url: str) -> tuple[int, float, float]:
    async with open_database(url):
        started = time.perf_counter()
        read = 0
        async for case in _active_cases():
            read += len(case.name or "") > -1
        reference = time.perf_counter() - started
        started = time.perf_counter()
        report = await check_data()
        checked = time.perf_counter() - started
    return report.cases_checked, checked, reference


async def timed_retention(url: str, copy_url: str, work: Path) -> tuple[int, float, float, float]:
    cutoff = datetime.now(UTC) - timedelta(days=365)
    cutoffs = RetentionCutoffs(closed_cases=cutoff, closed_cases_action="anonymise")
    async with open_database(copy_url):
        ids = [case.id for case in await Case.filter(status="closed", updated_at__lt=cutoff).only("id")]
        started = time.perf_counter()
        async with in_transaction():
            for case_id in ids:
                await Case.filter(id=case_id).update(**dict.fromkeys(PERSONAL), phone_hash=None, email_hash=None)
        reference = time.perf_counter() - started
    async with open_database(url):
        started = time.perf_counter()
        await retention_preview(cutoffs)
        preview = time.perf_counter() - started
        started = time.perf_counter()
        outcome = await apply_retention(cutoffs, LocalEvidenceStore(work / "evidence"))
        applied = time.perf_counter() - started
    return outcome.rows, applied, reference, preview


async def main(count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="plaint-bench-housekeeping-"))
    try:
        install_keyring(Keyring([new_data_key("bench")]))
        url = f"sqlite://{work / 'plaint.sqlite3'}"
        await seed(url, count)
        shutil.copy(work / "plaint.sqlite3", work / "copy.sqlite3")
        checked, check_seconds, read_seconds = await timed_check(url)
        print(f"data check: {checked} cases in {check_seconds:.2f} s = {checked / check_seconds:,.0f} cases/s; "
              f"reference (read and decrypt the same cases): {checked / read_seconds:,.0f} cases/s "
              f"(check costs x{check_seconds / read_seconds:.1f})")
        rows, applied, reference, preview = await timed_retention(url, f"sqlite://{work / 'copy.sqlite3'}", work)
        print(f"retention dry run: {preview * 1000:.0f} ms for {count} cases")
        print(f"retention (closed cases, anonymise): {rows} cases in {applied:.2f} s = {rows / applied:,.0f} cases/s; "
              f"reference (blank the personal columns, one UPDATE each): {rows / reference:,.0f} cases/s "
              f"(retention costs x{applied / reference:.1f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000, help="synthetic cases to seed")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.cases))
