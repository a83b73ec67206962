"""Plaint as separate processes: `plaint chat` through a pipe, and `plaint serve` killed mid-conversation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
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
    # The console opens the conversation itself (the bot greets first): the first line answers the first question.
    await wait_for_receipts(1)
    lines = [answers["name"]]
    files_sent = 0
    for sent in range(1, 40):
        process.stdin.write((lines[-1] + "\n").encode())
        await process.stdin.drain()
        await wait_for_receipts(sent + 1)
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
    assert output.index("First, what's your name?") < output.index("How should we get back to you?")

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


TWO_WORKERS_SECRET = "two-workers-secret-0123456789"
TWO_WORKERS_ANSWERS = {
    "name": "Mary Jackson",
    "contact_method": "email",
    "email": "mary@example.com",
    "description": "The fridge I bought last month stopped cooling and all the food went off.",
    "occurred_at": "yesterday 3pm",
    "occurred_where": "at home",
    "product": "fridge",
    "category": "product_quality",
    "expected_resolution": "refund",
    "confirm": "_confirm",
    "evidence": "_done",
}
TWO_WORKERS_CHOICES = {"contact_method", "category", "expected_resolution", "confirm", "evidence"}


def metric_total(exposition: str, name: str, **labels: str) -> float:
    """The sum of a counter's samples whose labels include `labels`, read with Prometheus's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
    )


@pytest.mark.one_database("postgres")
async def test_two_serve_processes_on_one_database_share_the_work_without_duplicates(
    settings: Settings, database: None, tmp_path: Path
) -> None:
    """Two `plaint serve` workers behind no proxy: each customer's turns alternate between them (a round-robin
    balancer) and every third message is also retried at the other worker at the same moment (a balancer retry
    racing the original). Each message is handled once, each case filed once, each webhook delivered once."""
    from collections import Counter

    from storage.models import Case, TranscriptMessage, WebhookDelivery

    if settings.effective_database_url.startswith("sqlite"):
        pytest.skip("several workers need PostgreSQL (set PLAINT_TEST_POSTGRES_URL): SQLite has one writer")
    from tests.fakes.webhook_receiver import FakeWebhookReceiver

    receiver = FakeWebhookReceiver({"/hook": TWO_WORKERS_SECRET})
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    customers = 4
    sent: list[str] = []
    raced = 0

    async def post(http: aiohttp.ClientSession, base: str, body: dict[str, str],
                   cookie: dict[str, str]) -> dict[str, object]:
        async with http.post(f"{base}/chat/api/message", json=body, headers=cookie) as response:
            assert response.status == 200, await response.text()
            # The session is the server's (either worker's: they share the signing secret), carried as a cookie.
            if (morsel := response.cookies.get(COOKIE_NAME)) is not None:
                cookie["Cookie"] = f"{COOKIE_NAME}={morsel.value}"
            result: dict[str, object] = await response.json()
            return result

    async def complain(http: aiohttp.ClientSession, index: int) -> str:
        nonlocal raced
        cookie: dict[str, str] = {}
        buttons: list[str] = []
        number: str | None = None
        fields: dict[str, str] = {"text": "Hello"}
        for turn in range(40):
            message_id = uuid.uuid4().hex
            sent.append(message_id)
            body = {"message_id": message_id, "locale": "en", **fields}
            base = bases[(index + turn) % 2]
            if turn % 3 == 2:
                raced += 1
                first, second = await asyncio.gather(
                    post(http, bases[0], body, cookie), post(http, bases[1], body, cookie)
                )
                # The loser of the race is answered with what the winner said, not with a second turn.
                assert first["replies"] == second["replies"], (first, second)
                result = first
            else:
                result = await post(http, base, body, cookie)
            replies = result["replies"]
            assert isinstance(replies, list)
            buttons = [button["value"] for reply in replies for button in reply["buttons"]]
            number = number or (str(result["case_number"]) if result.get("case_number") else None)
            session = cookie["Cookie"].split("=", 1)[1].split(".", 1)[0]
            row = await Conversation.filter(identity__sender_id=session).order_by("-id").first()
            if row is None or row.status != "active":
                break
            step = row.step_id
            if "_yes" in buttons and step in ("product", "category"):
                fields = {"choice": "_yes"}
            elif step in TWO_WORKERS_CHOICES:
                fields = {"choice": TWO_WORKERS_ANSWERS[step]}
            else:
                fields = {"text": TWO_WORKERS_ANSWERS[step]}
        assert number, cookie
        return number

    env = {**plaint_env(settings), "PLAINT_LOG_LEVEL": "WARNING"}
    async with receiver.serving() as hooks:
        await plaint(settings, "webhooks", "add", f"{hooks}/hook", "--event", "case.filed",
                     "--secret", TWO_WORKERS_SECRET)
        servers = list(await asyncio.gather(*(start_serve(port, env, ready_path="/readyz") for port in ports)))
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
                numbers = await asyncio.gather(*(complain(http, index) for index in range(customers)))
                for _ in range(1200):
                    if len(receiver.accepted("/hook")) >= customers:
                        break
                    await asyncio.sleep(0.05)
                expositions = []
                for base in bases:
                    async with http.get(f"{base}/metrics") as response:
                        expositions.append(await response.text())
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
            for server in servers:
                assert await asyncio.wait_for(server.wait(), 60) == 0

    assert raced > 0
    # Nothing doubled: one case per customer, each message one receipt, one transcript line and one turn.
    assert len(set(numbers)) == customers == await Case.all().count()
    assert len(sent) == len(set(sent)) == await InboundReceipt.filter(channel="web").count()
    assert await TranscriptMessage.filter(direction="in").count() == len(sent)
    turns = [metric_total(text, "plaint_turns_total", channel="web") for text in expositions]
    assert sum(turns) == len(sent), turns
    # The work was shared: both workers handled turns.
    assert all(count > 0 for count in turns), turns
    # Every case's webhook was delivered once, by whichever worker claimed it.
    accepted = receiver.accepted("/hook")
    assert sorted(item.document["case"]["number"] for item in accepted) == sorted(numbers)
    assert max(Counter(item.document["id"] for item in accepted).values()) == 1
    assert all(item.verified for item in receiver.received)
    assert await WebhookDelivery.filter(status="delivered").count() == customers


def test_the_application_modules_leave_spacy_and_jieba_to_the_model_loader() -> None:
    """Start-up stays light (issue 18): spaCy and jieba take seconds to import; only the background model
    loader imports them."""
    import subprocess

    probe = "import sys, bot.app, bot.cli, bot.composition; print(sorted({'spacy', 'jieba'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
