"""Reading the message transcript (the web chat's mailbox, the case history)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import ChannelIdentity, TranscriptMessage


@dataclass(frozen=True)
class TranscriptEntry:
    id: int
    direction: str
    author: str
    text: str
    payload: Mapping[str, Any]
    created_at: datetime


def transcript_entry(row: TranscriptMessage) -> TranscriptEntry:
    return TranscriptEntry(row.id, row.direction, row.author, row.text, row.payload, row.created_at)


class TortoiseTranscript:
    async def for_sender(self, channel: str, sender_id: str, after_id: int = 0, limit: int = 200
                         ) -> list[TranscriptEntry]:
        identity = await ChannelIdentity.get_or_none(channel=channel, sender_id=sender_id)
        if identity is None:
            return []
        rows = (
            await TranscriptMessage.filter(identity_id=identity.id, id__gt=after_id).order_by("id").limit(limit)
        )
        return [transcript_entry(row) for row in rows]
