"""`plaint chat`: a complaint on stdin/stdout, interactive or piped (one answer per line, `/file PATH`)."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import sys
import uuid
from collections.abc import AsyncIterator, Callable
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


# The console's own sentences, in the conversation's language (the flow says everything else).
_TEXTS = {
    "no_file": {"en": "(no such file: {path})", "zh": "（找不到文件：{path}）"},
    "file_hint": {
        "en": "(To attach a photo or document, type /file followed by its path, e.g. /file ~/receipt.jpg)",
        "zh": "（要添加照片或文件，请输入 /file 加文件路径，例如 /file ~/receipt.jpg）",
    },
    "resumed": {
        "en": "(Continuing session {session}: answer the last question, or type \"back\" to see it again.)",
        "zh": "（继续会话 {session}：请回答上一个问题，或输入“返回”再看一遍。）",
    },
}
_HELP_WORDS = frozenset({"help", "/help", "帮助", "?"})


def _say(key: str, lang: str, **values: object) -> str:
    return _TEXTS[key]["zh" if lang == "zh" else "en"].format(**values)


def _writes_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


async def _lines(source: TextIO) -> AsyncIterator[str]:
    while True:
        line = await asyncio.to_thread(source.readline)
        if not line:
            return
        yield line.rstrip("\r\n")


async def _typed_lines() -> AsyncIterator[str]:
    """A terminal: line editing and history (arrow keys, Ctrl-R) through readline where Python has it."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (importing it is what gives input() editing and history)
    while True:
        try:
            line = await asyncio.to_thread(input, "> ")
        except EOFError:
            return
        yield line


async def run_console(
    sink: InboundSink,
    *,
    lang: str | None,
    session: str | None = None,
    source: TextIO = sys.stdin,
    output: TextIO = sys.stdout,
    on_greeted: Callable[[], None] | None = None,
) -> int:
    """Returns the number of messages handled. Replies are printed as they are produced: the console is
    synchronous by nature; the outbox still records them as delivered through the transcript.

    A new session opens with an empty message, so the bot greets first and asks its first question: the
    first line typed or piped is the answer to it. `--session ID` continues a conversation without
    opening it again; each run's message ids are its own, so no line is taken for a retry of an old one.
    `on_greeted` is called once the greeting is out (the CLI starts loading the NLP models there).
    """
    channel = ConsoleChannel(output)
    sender = session or f"console-{uuid.uuid4().hex[:12]}"
    run = uuid.uuid4().hex[:8]
    interactive = source.isatty()
    language = lang or "en"
    handled = 0

    async def answer(text: str, message_id: str) -> None:
        attachments: tuple[Attachment, ...] = ()
        if text.startswith(FILE_PREFIX):
            path = Path(text[len(FILE_PREFIX) :].strip()).expanduser()
            if not path.is_file():
                output.write(_say("no_file", language, path=path) + "\n\n")
                return
            attachments = (file_attachment(path),)
            text = ""
        inbound = Inbound(
            channel="console",
            sender_id=sender,
            message_id=message_id,
            received_at=datetime.now(UTC),
            text=text or None,
            attachments=attachments,
            locale=lang,
        )
        result = await sink.handle(inbound)
        for reply in result.replies:
            await channel.deliver(reply)

    if session is None:
        handled += 1
        await answer("", f"{sender}-open")
        if interactive:
            output.write(_say("file_hint", language) + "\n\n")
    else:
        output.write(_say("resumed", language, session=session) + "\n\n")
    output.flush()
    if on_greeted is not None:
        on_greeted()
    lines = _typed_lines() if interactive else _lines(source)
    async for line in lines:
        if not line.strip():
            continue
        if _writes_chinese(line):
            language = "zh"
        handled += 1
        await answer(line, f"{sender}-{run}-{handled}")
        if line.strip().lower() in _HELP_WORDS:
            output.write(_say("file_hint", language) + "\n\n")
        output.flush()
    return handled
