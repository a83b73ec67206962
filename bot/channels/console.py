"""`plaint chat`: a complaint on stdin/stdout, interactive or piped (one answer per line, `/file PATH`)."""

from __future__ import annotations

import asyncio
import mimetypes
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.channels.base import Channel, InboundSink, RenderedPart, attachment_kind, spooled_file_opener
from bot.messages import Attachment, ChannelName, Inbound, Outbound

FILE_PREFIX = "/file "


class ConsoleChannel(Channel):
    name: ChannelName = "console"
    max_text_length = 100_000
    supports_buttons = False

    def __init__(self, output: TextIO) -> None:
        self._output = output

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        self._output.write(part.text + "\n\n")
        self._output.flush()


def file_attachment(path: Path) -> Attachment:
    media_type = mimetypes.guess_type(path.name)[0]
    return Attachment(
        kind=attachment_kind(media_type),
        open_stream=lambda: spooled_file_opener(path),
        file_name=path.name,
        declared_media_type=media_type,
        declared_size=path.stat().st_size,
    )


async def _lines(source: TextIO) -> AsyncIterator[str]:
    while True:
        line = await asyncio.to_thread(source.readline)
        if not line:
            return
        yield line.rstrip("\r\n")


async def run_console(
    sink: InboundSink,
    *,
    lang: str | None,
    session: str | None = None,
    source: TextIO = sys.stdin,
    output: TextIO = sys.stdout,
) -> int:
    """Returns the number of lines handled. Replies are printed as they are produced: the console is
    synchronous by nature; the outbox still records them as delivered through the transcript."""
    channel = ConsoleChannel(output)
    sender = session or f"console-{uuid.uuid4().hex[:12]}"
    interactive = source.isatty()
    handled = 0
    first = "你好" if lang == "zh" else "Hello"
    pending_lines = [first] if interactive else []

    async def answer(text: str, index: int) -> None:
        attachments: tuple[Attachment, ...] = ()
        if text.startswith(FILE_PREFIX):
            path = Path(text[len(FILE_PREFIX) :].strip()).expanduser()
            if not path.is_file():
                output.write(f"(no such file: {path})\n\n")
                return
            attachments = (file_attachment(path),)
            text = ""
        inbound = Inbound(
            channel="console",
            sender_id=sender,
            message_id=f"{sender}-{index}",
            received_at=datetime.now(UTC),
            text=text or None,
            attachments=attachments,
            locale=lang,
        )
        result = await sink.handle(inbound)
        for reply in result.replies:
            await channel.deliver(reply)

    for text in pending_lines:
        handled += 1
        await answer(text, handled)
    async for line in _lines(source):
        if not line.strip():
            continue
        handled += 1
        await answer(line, handled)
    return handled
