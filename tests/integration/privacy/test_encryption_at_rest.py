"""A whole complaint over the web chat: what the database and the evidence directory hold is ciphertext,
while `plaint cases show` and the evidence download give the agent the plaintext."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from aiohttp.test_utils import TestClient

from bot.config import Settings
from storage.cases import TortoiseCaseRepository
from storage.crypto import VALUE_PREFIX, installed_keyring, lookup_hashes
from storage.models import Case
from tests.e2e.conftest import web_client  # noqa: F401  (the fixture)
from tests.e2e.test_web_chat import CHINESE, DESCRIPTION_EN, DESCRIPTION_ZH, ENGLISH
from tests.e2e.web_chat_driver import EVIDENCE, WebCustomer, complete_flow
from tests.integration.privacy.raw_database import raw_dump

PERSONAL = [
    "Ada Lovelace", "ada@example.com", "+44 20 7946 0958", "+442079460958", "7946 0958", "79460958",
    DESCRIPTION_EN, "Oxford Street", "王小明", "138 1234 5678", "13812345678", DESCRIPTION_ZH, "南京西路",
    "crack.jpg", "receipt.pdf",
]


async def run_cli(settings: Settings, *args: str) -> str:
    environment = {
        **os.environ,
        "PLAINT_DATABASE_URL": settings.effective_database_url,
        "PLAINT_DATA_DIR": str(settings.data_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_personal_data_is_ciphertext_in_the_database_and_plaintext_for_agents(
    web_client: TestClient[Any, Any], settings: Settings  # noqa: F811
) -> None:
    english = await complete_flow(WebCustomer(web_client, locale="en-GB"), ENGLISH, first="Hello")
    chinese = await complete_flow(WebCustomer(web_client, locale="zh-CN"), CHINESE, first="你好")

    stored = "\n".join(await raw_dump())
    leaked = [value for value in PERSONAL if value in stored]
    assert leaked == [], f"plaintext personal data in the database: {leaked}"
    keyring = installed_keyring()
    assert keyring is not None
    assert f"{VALUE_PREFIX}{keyring.current.key_id}:" in stored

    # Evidence files are encrypted too: no file under the evidence directory holds the uploaded bytes.
    files = [path for path in settings.evidence_dir.rglob("*") if path.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        assert all(upload[16:80] not in content for upload in EVIDENCE.values()), path

    # Exact lookups go through the keyed hash, never through decrypting every row.
    found = await Case.filter(phone_hash__in=lookup_hashes("phone", "+44 20 7946 0958")).values_list(
        "number", flat=True
    )
    assert list(found) == [english]
    assert await Case.filter(email_hash__in=lookup_hashes("email", " ADA@example.com")).count() == 1

    # The agent's view is plaintext: the CLI in its own process, with the key from the data directory.
    shown = await run_cli(settings, "cases", "show", english)
    assert "Ada Lovelace" in shown and "ada@example.com" in shown and DESCRIPTION_EN in shown
    shown_zh = await run_cli(settings, "cases", "show", chinese)
    assert "王小明" in shown_zh and "+8613812345678" in shown_zh and DESCRIPTION_ZH in shown_zh

    # And the evidence download streams the decrypted file with its original hash.
    case = await TortoiseCaseRepository().get(english)
    for item in case.evidence:
        chunks = [chunk async for chunk in _read(settings, item.storage_key)]
        assert b"".join(chunks) == EVIDENCE[item.file_name]


async def _read(settings: Settings, storage_key: str) -> Any:
    from storage.evidence import LocalEvidenceStore

    async for chunk in LocalEvidenceStore(settings.evidence_dir).read(storage_key):
        yield chunk
