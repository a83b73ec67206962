"""Files agents share in a case thread, fetched for the customer: each is downloaded from Slack with the bot
token (streamed, never more than the limit), stored with the case's evidence, and then queued to the customer
by the desk service; the outbox hands them to the customer's channel, which sends them within its platform's
limits (or as a signed link)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.slack_app import SlackApp, SlackFileDownloader
from storage.errors import EvidenceTooLarge
from storage.evidence import LocalEvidenceStore, StoredBlob

# The largest file an agent may send a customer (a web chat customer may upload as much).
MAX_AGENT_FILE_BYTES = 25 * 1024 * 1024
# Files per thread message relayed (Slack allows ten per message).
MAX_AGENT_FILES = 10


@dataclass(frozen=True)
class AgentFile:
    name: str
    blob: StoredBlob


@dataclass(frozen=True)
class SkippedFile:
    """A file that stays in Slack; `reason`: "too_large" or "unreadable"."""

    name: str
    reason: str


class AgentFiles:
    def __init__(self, store: LocalEvidenceStore, slack: SlackApp, max_bytes: int = MAX_AGENT_FILE_BYTES) -> None:
        self._store = store
        self._downloader = SlackFileDownloader(slack.token, slack.api_url)
        self._max_bytes = max_bytes

    async def fetch(self, files: Sequence[Mapping[str, Any]]) -> tuple[list[AgentFile], list[SkippedFile]]:
        fetched: list[AgentFile] = []
        skipped: list[SkippedFile] = []
        for file in files[:MAX_AGENT_FILES]:
            name = str(file.get("name") or file.get("title") or "file")[:200]
            url = file.get("url_private_download") or file.get("url_private")
            size = file.get("size")
            if isinstance(size, int) and size > self._max_bytes:
                skipped.append(SkippedFile(name, "too_large"))  # refused before a byte is downloaded
                continue
            if not isinstance(url, str) or not url:
                skipped.append(SkippedFile(name, "unreadable"))
                continue
            try:
                blob = await self._store.put(
                    self._downloader.opener_for(url)(), max_bytes=self._max_bytes,
                    declared_media_type=str(file.get("mimetype") or "") or None,
                )
            except EvidenceTooLarge:
                skipped.append(SkippedFile(name, "too_large"))
                continue
            except (PermissionError, OSError, ValueError, aiohttp.ClientError):
                skipped.append(SkippedFile(name, "unreadable"))
                continue
            fetched.append(AgentFile(name, blob))
        skipped += [SkippedFile(str(file.get("name") or "file"), "too_many") for file in files[MAX_AGENT_FILES:]]
        return fetched, skipped
