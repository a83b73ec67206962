"""What a crash or a hostile customer could leave behind: partial upload files (swept at start-up and
periodically) and a huge refused answer (kept only in part in the transcript)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.analysis import ThreadedAnalyzer
from bot.app import build_app
from bot.config import Settings
from bot.spool_sweeper import STALE_AFTER_SECONDS, remove_stale_spool_files, spool_directories
from storage.intake import MAX_TRANSCRIPT_INBOUND_CHARS
from storage.models import TranscriptMessage
from tests.e2e.web_chat_driver import Say, WebCustomer


def spool_file(path: Path, age_seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8partial")
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))
    return path


async def test_partial_files_of_interrupted_uploads_are_removed_at_start_up(
    settings: Settings, analyzer: ThreadedAnalyzer
) -> None:
    uploads, incoming = spool_directories(settings)
    orphans = [
        spool_file(uploads / "tmpa1b2c3.upload", STALE_AFTER_SECONDS + 60),
        spool_file(incoming / "0f0f0f.part", 3 * 24 * 3600),
    ]
    # An upload in progress on another worker sharing the data directory: recent, kept.
    in_progress = spool_file(uploads / "tmpd4e5f6.upload", 5)
    unrelated = spool_file(settings.data_dir / "evidence" / "ab" / "cd" / "abcd", 30 * 24 * 3600)

    async with TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1")) as client:
        assert (await client.get("/healthz")).status == 200
        for _ in range(200):
            if not any(path.exists() for path in orphans):
                break
            await asyncio.sleep(0.05)
    assert not any(path.exists() for path in orphans)
    assert in_progress.exists() and unrelated.exists()
    # Later sweeps take it once it has been left alone long enough.
    assert remove_stale_spool_files((uploads, incoming), now=time.time() + STALE_AFTER_SECONDS + 1) == 1
    assert not in_progress.exists()


async def test_a_huge_refused_answer_is_not_kept_whole(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en-GB")
    await customer.post(Say("Hello"))
    huge = "word " * 200_000  # a million characters where a name is asked
    result = await customer.post(Say(huge))
    assert result["replies"], result  # re-asked with the reason, not an error
    stored = await TranscriptMessage.filter(direction="in").order_by("-id").first()
    assert stored is not None
    assert len(stored.text) == MAX_TRANSCRIPT_INBOUND_CHARS and huge.startswith(stored.text)
    assert stored.payload["truncated_from_chars"] == len(huge)
