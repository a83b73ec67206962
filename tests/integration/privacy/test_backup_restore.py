"""The restore drill: complaints with evidence, a backup taken while conversations keep running, restored into
a fresh PostgreSQL (a fresh SQLite file when PostgreSQL is not configured); every case and every evidence hash
compared. A damaged backup is refused by verify and by restore."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.privacy.keys import key_file
from storage.evidence import LocalEvidenceStore
from tests.conftest import POSTGRES_URL
from tests.e2e.conftest import web_client  # noqa: F401  (the fixture)
from tests.e2e.test_web_chat import CHINESE, ENGLISH
from tests.e2e.web_chat_driver import Say, WebCustomer, complete_flow


async def plaint(environment: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env={**os.environ, **environment},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def fresh_target(tmp_path: Path) -> AsyncIterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite://{tmp_path / 'restored.sqlite3'}"
        return
    name = f"plaint_restore_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def chatter(client: TestClient[Any, Any], stop: asyncio.Event) -> int:
    """Customers who keep talking while the backup runs."""
    turns = 0
    while not stop.is_set():
        customer = WebCustomer(client, locale="en")
        await customer.post(Say("Hello"))
        await customer.post(Say(f"Busy Customer {turns}"))
        turns += 2
    return turns


async def test_backup_while_serving_restores_every_case_and_evidence_file(
    web_client: TestClient[Any, Any], settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    numbers = [
        await complete_flow(WebCustomer(web_client, locale="en-GB"), ENGLISH, first="Hello"),
        await complete_flow(WebCustomer(web_client, locale="zh-CN"), CHINESE, first="你好"),
    ]
    source = {
        "PLAINT_DATABASE_URL": settings.effective_database_url,
        "PLAINT_DATA_DIR": str(settings.data_dir),
    }
    backup = tmp_path / "plaint.backup"
    stop = asyncio.Event()
    conversations = asyncio.create_task(chatter(web_client, stop))
    code, out, err = await plaint(source, "backup", "create", "--out", str(backup))
    stop.set()
    assert await conversations > 0
    assert code == 0, err
    assert "evidence files" in out

    code, out, err = await plaint({}, "backup", "verify", str(backup))
    assert code == 0, err
    assert out.startswith("OK ")

    data_key = key_file(settings).read_text(encoding="ascii").strip()
    async with fresh_target(tmp_path) as target_url:
        target = {
            "PLAINT_DATABASE_URL": target_url,
            "PLAINT_DATA_DIR": str(tmp_path / "restored"),
            "PLAINT_DATA_KEY": data_key,
        }
        code, out, err = await plaint(target, "backup", "restore", str(backup))
        assert code == 0, err
        for number in numbers:
            shown = [await plaint(where, "cases", "show", "--json", number) for where in (source, target)]
            assert [result[0] for result in shown] == [0, 0], shown
            original, restored = (json.loads(result[1]) for result in shown)
            assert restored == original
            assert len(restored["evidence"]) == 2
            store = LocalEvidenceStore(tmp_path / "restored" / "evidence")
            for item in restored["evidence"]:
                digest = hashlib.sha256()
                async for chunk in store.read(item["storage_key"]):
                    digest.update(chunk)
                assert digest.hexdigest() == item["sha256"]
        # The restored database keeps working: its id sequences continue after the restored rows.
        code, out, err = await plaint(target, "chat", "--lang", "en", stdin="Hello\nNew Customer\n")
        assert code == 0, err

        # A damaged copy (one byte flipped in the middle) is refused by verify and by restore.
        damaged = tmp_path / "damaged.backup"
        data = bytearray(backup.read_bytes())
        data[len(data) // 2] ^= 0xFF
        damaged.write_bytes(bytes(data))
        code, out, err = await plaint({}, "backup", "verify", str(damaged))
        assert code != 0 and "damaged" in err
    async with fresh_target(tmp_path / "second") as second_url:
        (tmp_path / "second").mkdir(exist_ok=True)
        second = {"PLAINT_DATABASE_URL": second_url, "PLAINT_DATA_DIR": str(tmp_path / "second-data"),
                  "PLAINT_DATA_KEY": data_key}
        code, out, err = await plaint(second, "backup", "restore", str(damaged))
        assert code != 0 and "damaged" in err
        code, out, err = await plaint(second, "cases", "list", "--json")
        assert code == 0, err
        assert json.loads(out) == {"cases": []}
