"""The customer transcript as channels read it (the web chat's mailbox): storage rows to `MailboxMessage`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import ERROR_TONE, TONE, ChannelName, MailboxMessage, button_from_payload
from storage.transcript import TortoiseTranscript, TranscriptEntry


def mailbox_message(entry: TranscriptEntry) -> MailboxMessage:
    return MailboxMessage(
        id=entry.id,
        direction=entry.direction,
        author=entry.author,
        text=entry.text,
        files=tuple(str(item.get("name", "")) for item in entry.payload.get("files", [])),
        buttons=tuple(button_from_payload(item) for item in entry.payload.get("buttons", [])),
        error=[TONE, ERROR_TONE] in (entry.payload.get("metadata") or []),
    )


class TranscriptMailbox:
    def __init__(self, transcript: TortoiseTranscript) -> None:
        self._transcript = transcript

    async def messages_after(self, channel: ChannelName, sender_id: str, after_id: int) -> Sequence[MailboxMessage]:
        return [mailbox_message(entry) for entry in await self._transcript.for_sender(channel, sender_id, after_id)]
