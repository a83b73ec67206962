"""The customer transcript as channels read it (the web chat's mailbox): storage rows to `MailboxMessage`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.messages import ERROR_TONE, TONE, ChannelName, MailboxMessage, button_from_payload, outbound_files_from_payload
from storage.transcript import TortoiseTranscript, TranscriptEntry


def mailbox_message(entry: TranscriptEntry, link: Callable[[int], str] | None = None) -> MailboxMessage:
    # An agent's file (it carries its evidence id) is shown with a signed link, made now: links expire.
    agent_files = outbound_files_from_payload(entry.payload.get("files")) if link is not None else ()
    return MailboxMessage(
        id=entry.id,
        direction=entry.direction,
        author=entry.author,
        text=entry.text,
        files=tuple(str(item.get("name", "")) for item in entry.payload.get("files", [])),
        buttons=tuple(button_from_payload(item) for item in entry.payload.get("buttons", [])),
        file_links=tuple(link(item.evidence_id) for item in agent_files) if link is not None else (),
        error=[TONE, ERROR_TONE] in (entry.payload.get("metadata") or []),
    )


class TranscriptMailbox:
    def __init__(self, transcript: TortoiseTranscript, link: Callable[[int], str] | None = None) -> None:
        self._transcript = transcript
        self._link = link

    async def messages_after(self, channel: ChannelName, sender_id: str, after_id: int) -> Sequence[MailboxMessage]:
        entries = await self._transcript.for_sender(channel, sender_id, after_id)
        return [mailbox_message(entry, self._link) for entry in entries]
