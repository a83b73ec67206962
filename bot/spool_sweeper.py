"""Removes what interrupted uploads leave behind: a crash (or a kill) in the middle of an upload or an evidence
download leaves its partial file in a spool directory, where nothing else would ever delete it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path

from bot.config import Settings

log = logging.getLogger(__name__)

# A file still being written is touched at every chunk; one untouched this long belongs to nobody. (Several
# workers may share the data directory, so age, not start-up, tells an orphan from an upload in progress.)
STALE_AFTER_SECONDS = 15 * 60
SWEEP_EVERY_SECONDS = 10 * 60
# What the spools write: the web chat's upload spool and the evidence store's partial files.
SPOOL_SUFFIXES = frozenset({".upload", ".part"})


def spool_directories(settings: Settings) -> tuple[Path, ...]:
    return (settings.data_dir / "uploads", settings.evidence_dir / "incoming")


def remove_stale_spool_files(
    directories: Iterable[Path], older_than: float = STALE_AFTER_SECONDS, now: float | None = None
) -> int:
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            with contextlib.suppress(FileNotFoundError):  # another worker's sweep got there first
                if path.suffix in SPOOL_SUFFIXES and path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
    return removed


async def sweep_spools(
    directories: tuple[Path, ...], every: float = SWEEP_EVERY_SECONDS, older_than: float = STALE_AFTER_SECONDS
) -> None:
    """At start-up, then every `every` seconds, for the life of the server."""
    while True:
        try:
            removed = await asyncio.to_thread(remove_stale_spool_files, directories, older_than)
            if removed:
                log.info("removed %s partial files left by interrupted uploads", removed)
        except OSError:
            log.exception("spool sweep failed")
        await asyncio.sleep(every)
