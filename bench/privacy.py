"""Privacy costs, measured in one run:

1. Encryption overhead per turn: whole complaints (the e2e web chat driver, two evidence files each) through
   the real application, alternating rounds with personal-data encryption on and off; mean ms per turn and the
   ratio on/off.
2. Backup and restore throughput (MB/s of backup file) on the database just filled plus evidence files,
   beside the reference of copying the same file on the same disk.

    .venv/bin/python bench/privacy.py [--customers 6] [--rounds 3] [--evidence-mb 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.analysis import ThreadedAnalyzer  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.privacy.keys import load_data_keyring  # noqa: E402
from storage.backup import create_backup, restore_backup, verify_backup  # noqa: E402
from storage.crypto import install_keyring  # noqa: E402
from storage.database import migrate_database, open_database  # noqa: E402
from storage.evidence import LocalEvidenceStore  # noqa: E402
from storage.models import Evidence  # noqa: E402
from tests.e2e.test_web_chat import ENGLISH  # noqa: E402
from tests.e2e.web_chat_driver import WebCustomer, complete_flow  # noqa: E402


class TimedCustomer(WebCustomer):
    turns: list[float]

    async def post(self, action: Any, message_id: str | None = None) -> dict[str, Any]:
        started = time.perf_counter()
        result = await super().post(action, message_id)
        self.turns.append(time.perf_counter() - started)
        return result


async def complaints(client: TestClient[Any, Any], customers: int) -> list[float]:
    turns: list[float] = []
    for _ in range(customers):
        customer = TimedCustomer(client, locale="en-GB")
        customer.turns = turns
        await complete_flow(customer, ENGLISH, first="Hello")
    return turns


async def random_chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // (1024 * 1024)):
        yield os.urandom(1024 * 1024)


async def main(customers: int, rounds: int, evidence_mb: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="plaint-bench-privacy-"))
    try:
        analyzer = ThreadedAnalyzer.load_default()
        per_turn: dict[str, list[float]] = {"encryption on": [], "encryption off": []}
        settings = Settings(database_url="sqlite://", data_dir=work / "none")
        for index in range(rounds):
            for label in per_turn:
                # A fresh database each time: the "off" runs must never meet a row the "on" runs encrypted.
                settings = Settings(database_url=f"sqlite://{work / f'{index}-{label[11:]}.sqlite3'}",
                                    data_dir=work / f"data-{index}-{label[11:]}")
                await migrate_database(settings.effective_database_url)
                async with TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1")) as client:
                    if label == "encryption off":
                        install_keyring(None)
                    await complaints(client, 1)  # warm-up: caches, first connections
                    per_turn[label] += await complaints(client, customers)
        # The last "on" database gets extra evidence files for the backup figures below.
        settings = Settings(database_url=f"sqlite://{work / f'{rounds - 1}-on.sqlite3'}",
                            data_dir=work / f"data-{rounds - 1}-on")
        install_keyring(load_data_keyring(settings))
        store = LocalEvidenceStore(settings.evidence_dir)
        async with open_database(settings.effective_database_url):
            for index in range(max(1, evidence_mb // 4)):
                blob = await store.put(random_chunks(4 * 1024 * 1024), max_bytes=10**9)
                await Evidence.create(file_name=f"video-{index}.mp4", media_type=blob.media_type, size=blob.size,
                                      sha256=blob.sha256, storage_key=blob.storage_key)
        # The cipher alone, for scale: one turn stores about a dozen encrypted values of this size.
        keyring = load_data_keyring(settings)
        value = ("Oxford Street store, London; the screen cracked " * 3).encode()
        started = time.perf_counter()
        for _ in range(10_000):
            keyring.decrypt(keyring.encrypt(value))
        cipher_us = (time.perf_counter() - started) / 10_000 * 1e6
        on = statistics.mean(per_turn["encryption on"]) * 1000
        off = statistics.mean(per_turn["encryption off"]) * 1000
        print(f"{'per turn (web chat, whole complaints)':<44} {'turns':>7} {'mean ms':>9} {'p50 ms':>8}")
        for label, values in per_turn.items():
            print(f"  {label:<42} {len(values):>7} {statistics.mean(values) * 1000:>9.2f} "
                  f"{statistics.median(values) * 1000:>8.2f}")
        median_ratio = statistics.median(per_turn["encryption on"]) / statistics.median(per_turn["encryption off"])
        print(f"  ratio on/off: mean {on / off:.3f}, p50 {median_ratio:.3f}")
        print(f"  AES-GCM encrypt+decrypt of one {len(value)}-byte value: {cipher_us:.1f} us "
              f"(x12 values = {cipher_us * 12 / 1000:.3f} ms per turn)")

        # Backup and restore of what is there now (rows plus evidence of the rounds above, plus the files).
        backup = work / "plaint.backup"
        install_keyring(load_data_keyring(settings))
        async with open_database(settings.effective_database_url):
            started = time.perf_counter()
            with backup.open("wb") as sink:
                await create_backup(sink, LocalEvidenceStore(settings.evidence_dir))
            create_seconds = time.perf_counter() - started
        size_mb = backup.stat().st_size / 1e6
        started = time.perf_counter()
        with backup.open("rb") as source:
            verify_backup(source)
        verify_seconds = time.perf_counter() - started
        target = f"sqlite://{work / 'restored.sqlite3'}"
        await migrate_database(target)
        async with open_database(target):
            started = time.perf_counter()
            await restore_backup(backup, LocalEvidenceStore(work / "restored" / "evidence"))
            restore_seconds = time.perf_counter() - started
        started = time.perf_counter()
        shutil.copyfile(backup, work / "copy.backup")
        copy_seconds = time.perf_counter() - started
        print(f"\nbackup file {size_mb:.1f} MB (SQLite -> SQLite)       {'seconds':>9} {'MB/s':>8}")
        for label, seconds in (("backup create", create_seconds), ("backup verify", verify_seconds),
                               ("backup restore", restore_seconds), ("reference: copy the file", copy_seconds)):
            print(f"  {label:<42} {seconds:>9.2f} {size_mb / seconds:>8.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=6, help="complaints per round and mode")
    parser.add_argument("--rounds", type=int, default=3, help="alternating on/off rounds")
    parser.add_argument("--evidence-mb", type=int, default=32, help="extra evidence to back up (MB)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.customers, arguments.rounds, arguments.evidence_mb))
