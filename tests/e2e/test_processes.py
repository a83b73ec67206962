"""Plaint as separate processes: `plaint chat` through a pipe, and `plaint serve` killed mid-conversation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from bot.channels.web_sessions import COOKIE_NAME
from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.database import open_database
from storage.models import Conversation, InboundReceipt
from tests.e2e.web_chat_driver import EVIDENCE, EVIDENCE_SHA256
from tests.serve_process import ROOT, free_port, start_serve


def plaint_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PLAINT_DATABASE_URL": settings.effective_database_url,
        "PLAINT_DATA_DIR": str(settings.data_dir),
        "PLAINT_LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
    }


async def plaint(settings: Settings, *arguments: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, cwd=ROOT, env=plaint_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@pytest_asyncio.fixture
async def database(settings: Settings) -> AsyncIterator[None]:
    install_data_keyring(settings)  # the key file the `plaint` processes will use too: state is encrypted
    async with open_database(settings.effective_database_url):
        yield


async def wait_for_receipts(count: int) -> None:
    for _ in range(600):
        if await InboundReceipt.filter(channel="console").count() >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the console never handled message {count}")


async def console_step() -> str | None:
    row = await Conversation.filter(identity__channel="console").order_by("-id").first()
    return row.step_id if row is not None and row.status == "active" else None


async def test_plaint_chat_through_a_pipe_files_a_whole_complaint(
    settings: Settings, database: None, tmp_path: Path
) -> None:
    for name, data in EVIDENCE.items():
        (tmp_path / name).write_bytes(data)
    answers = {
        "name": "Ada Lovelace",
        "contact_method": "2",  # the second numbered option: Email
        "email": "ada@example.com",
        "description": "The screen of my new phone cracked two days after I bought it.",
        "occurred_at": "yesterday 3pm",
        "occurred_where": "Oxford Street store, London",
        "product": "phone",
        "category": "product quality",
        "expected_resolution": "refund",
        "confirm": "1",  # Confirm and submit
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", "--lang", "en", cwd=ROOT, env=plaint_env(settings),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    lines = ["Hello"]
    files_sent = 0
    for sent in range(1, 40):
        process.stdin.write((lines[-1] + "\n").encode())
        await process.stdin.drain()
        await wait_for_receipts(sent)
        step = await console_step()
        if step is None:
            break
        if step == "evidence":
            names = list(EVIDENCE)
            lines.append(f"/file {tmp_path / names[files_sent]}" if files_sent < len(names) else "done")
            files_sent += 1
        else:
            lines.append(answers[step])
    process.stdin.close()
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "1. Phone\n2. Email\n3. Both" in output
    assert "Your case number is PL-" in output

    listing = json.loads(await plaint(settings, "cases", "list", "--json"))
    [case] = listing["cases"]
    shown = json.loads(await plaint(settings, "cases", "show", case["number"], "--json"))
    assert shown["channel"] == "console"
    assert shown["name"] == "Ada Lovelace" and shown["email"] == "ada@example.com"
    assert shown["expected_resolution"] == "refund"
    assert shown["product"] and shown["category"]
    assert {item["file_name"]: item["sha256"] for item in shown["evidence"]} == EVIDENCE_SHA256
    assert any(entry["text"] == "Ada Lovelace" for entry in shown["transcript"])


async def start_server(settings: Settings, port: int) -> asyncio.subprocess.Process:
    return await start_serve(port, plaint_env(settings))


async def test_a_conversation_survives_the_server_being_killed(settings: Settings, database: None) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/chat/api/message"
    cookie: dict[str, str] = {}

    async def say(http: aiohttp.ClientSession, **fields: str) -> dict[str, object]:
        async with http.post(base, json={"locale": "en", **fields}, headers=cookie) as response:
            assert response.status == 200, await response.text()
            if (morsel := response.cookies.get(COOKIE_NAME)) is not None:
                cookie["Cookie"] = f"{COOKIE_NAME}={morsel.value}"
            result: dict[str, object] = await response.json()
            return result

    server = await start_server(settings, port)
    try:
        async with aiohttp.ClientSession() as http:
            await say(http, text="Hello")
            await say(http, text="Katherine Johnson")
            await say(http, choice="email")
    finally:
        server.send_signal(signal.SIGKILL)
        await server.wait()

    server = await start_server(settings, port)
    try:
        async with aiohttp.ClientSession() as http:
            result = await say(http, text="katherine@example.com")
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()

    replies = result["replies"]
    assert isinstance(replies, list)
    assert "what happened" in replies[-1]["text"]
    # The session the first server issued still holds after a restart (its key is kept in the data directory).
    session = cookie["Cookie"].split("=", 1)[1].split(".", 1)[0]
    conversation = await Conversation.filter(identity__sender_id=session).get()
    assert conversation.step_id == "description"
    answers = json.dumps(conversation.state, ensure_ascii=False)
    assert "Katherine Johnson" in answers and "katherine@example.com" in answers
