"""`plaint chat` in process: piped lines answer from the first question on, a session resumes without replaying,
and the console's own words follow the conversation's language."""

from __future__ import annotations

import io

import pytest

from bot.analysis import ThreadedAnalyzer
from bot.channels.console import run_console
from bot.composition import build_application
from bot.config import Settings
from storage.models import ChannelIdentity, TranscriptMessage

pytestmark = pytest.mark.one_database("sqlite")


async def customer_lines() -> list[str]:
    return [row.text for row in await TranscriptMessage.filter(direction="in").order_by("id")]


async def test_piped_lines_answer_the_first_question_and_a_session_resumes(
    settings: Settings, analyzer: ThreadedAnalyzer
) -> None:
    async with build_application(settings, analyzer=analyzer) as application:
        output = io.StringIO()
        handled = await run_console(application.intake, lang="en", source=io.StringIO("Ada Lovelace\n2\n"),
                                    output=output)
        first_run = output.getvalue()
        # Opened by the console, then one message per line: the first line is the name, not an opener.
        assert handled == 3
        assert first_run.index("First, what's your name?") < first_run.index("How should we get back to you?")
        assert "And your email address?" in first_run
        assert await customer_lines() == ["Ada Lovelace", "2"]
        [identity] = await ChannelIdentity.filter(channel="console")

        resumed = io.StringIO()
        await run_console(application.intake, lang="en", session=identity.sender_id,
                          source=io.StringIO("ada@example.com\n/file /no/such/receipt.jpg\n"), output=resumed)
        text = resumed.getvalue()
        # The same session's new lines are new messages (not retries), and nothing of the first run is replayed.
        assert text.startswith(f"(Continuing session {identity.sender_id}")
        assert "First, what's your name?" not in text and "Please tell me what happened" in text
        assert "(no such file: /no/such/receipt.jpg)" in text
        assert await customer_lines() == ["Ada Lovelace", "2", "ada@example.com"]

        chinese = io.StringIO()
        await run_console(application.intake, lang="zh", source=io.StringIO("李娜\n/file /no/such.jpg\n帮助\n"),
                          output=chinese)
        said = chinese.getvalue()
        assert "首先，请问怎么称呼你？" in said and "（找不到文件：/no/such.jpg）" in said
        assert said.rstrip().endswith("（要添加照片或文件，请输入 /file 加文件路径，例如 /file ~/receipt.jpg）")
