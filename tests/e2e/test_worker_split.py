"""The web/worker split: `plaint serve` with PLAINT_SERVE_WORKERS=false answers Telegram's webhook on durable receipt
and does nothing else; a separate `plaint worker` process takes the turn and the reply reaches the (fake) Bot API.
With no worker running the update waits in the inbox; a worker killed mid-turn loses nothing and doubles nothing.
SQLite refuses the split at start-up."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.channels.telegram_server import SECRET_HEADER, WEBHOOK_PATH
from bot.config import Settings
from bot.privacy.keys import install_data_keyring
from storage.database import open_database
from storage.inbox import InboxStatus
from storage.models import InboundReceipt, InboxItem, TranscriptMessage
from tests.e2e.telegram_crash import SECRET, TOKEN, fake  # noqa: F401  (a fixture)
from tests.e2e.test_inbox_crash import bot_question
from tests.e2e.test_processes import plaint_env
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.telegram.telegram_updates import TelegramCustomer
from tests.serve_process import ROOT, free_port, start_serve, start_worker


def split_env(settings: Settings, api_url: str) -> dict[str, str]:
    # The data key the processes encrypt rows with is the one this test reads them with.
    install_data_keyring(settings)
    return {
        **plaint_env(settings),
        "PLAINT_TELEGRAM_TOKEN": TOKEN,
        "PLAINT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PLAINT_TELEGRAM_API_URL": api_url,
        "PLAINT_SERVE_WORKERS": "false",
    }


def needs_postgres(settings: Settings) -> None:
    if settings.effective_database_url.startswith("sqlite"):
        pytest.skip("the split needs PostgreSQL (set PLAINT_TEST_POSTGRES_URL): SQLite refuses it")


async def post_update(port: int, update: dict[str, object]) -> int:
    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: SECRET}
    ) as response:
        return response.status


async def readyz(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as response:
        document: dict[str, object] = await response.json()
        return response.status, document


async def settled(platform_id: str, api: FakeTelegramBotApi, replies: int) -> InboxItem:
    """The update's row once it is done and the Bot API got at least `replies` messages (a minute at most)."""
    for _ in range(60 * 20):
        row = await InboxItem.get(channel="telegram", platform_id=platform_id)
        if row.status == InboxStatus.DONE and len(api.sent_messages) >= replies:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"update {platform_id} not settled: {row.status}, {len(api.sent_messages)} replies")


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 60)


@pytest.mark.one_database("postgres")
async def test_the_web_process_stores_and_answers_and_a_worker_process_takes_the_turn(
    settings: Settings, fake: tuple[FakeTelegramBotApi, str]  # noqa: F811
) -> None:
    needs_postgres(settings)
    api, api_url = fake
    # Workers that would poll only every ten minutes: what they take sooner, a notification woke them to.
    env = {**split_env(settings, api_url), "PLAINT_OUTBOX_POLL_INTERVAL": "600"}
    port = free_port()
    customer = TelegramCustomer(5150, "Ada", "en")
    first, second = customer.text("/start"), customer.text("My kettle leaks.")
    # Ready without a worker: the web process's job is to store updates, and it can.
    server = await start_serve(port, env, ready_path="/readyz")
    worker: asyncio.subprocess.Process | None = None
    try:
        status, document = await readyz(port)
        assert status == 200, document
        assert "plaint worker" in str(document["checks"])
        assert await post_update(port, first) == 200
        async with open_database(settings.effective_database_url):
            # Long enough for a worker in the web process to have claimed it: there is none.
            await asyncio.sleep(2)
            row = await InboxItem.get(channel="telegram", platform_id=str(first["update_id"]))
            assert row.status == InboxStatus.PENDING and row.attempts == 0
            assert not api.sent_messages

            worker = await start_worker(env)
            row = await settled(str(first["update_id"]), api, 1)
            assert row.attempts == 1
            # With the worker up, the next update is taken as soon as it is stored (woken by its notification).
            assert await post_update(port, second) == 200
            await settled(str(second["update_id"]), api, 2)
            # Telegram retries an update whose answer it missed: stored once, one turn.
            assert await post_update(port, first) == 200
            status, document = await readyz(port)
            assert status == 200 and "1 with a fresh heartbeat" in str(document["checks"]), document
            assert await stop(worker) == 0
            worker = None
            assert await stop(server) == 0
            rows = await InboxItem.all().values_list("status", "attempts")
            receipts = await InboundReceipt.filter(channel="telegram").count()
            turns = await TranscriptMessage.filter(direction="in").count()
    finally:
        for process in (worker, server):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
    assert sorted(rows) == [(InboxStatus.DONE, 1), (InboxStatus.DONE, 1)]
    assert receipts == 2 and turns == 2
    chats = {message["chat"]["id"] for message in api.sent_messages}  # type: ignore[index]
    assert chats == {customer.user_id}


@pytest.mark.one_database("postgres")
async def test_a_worker_process_killed_mid_turn_loses_nothing_and_doubles_nothing(
    settings: Settings, fake: tuple[FakeTelegramBotApi, str]  # noqa: F811
) -> None:
    needs_postgres(settings)
    api, api_url = fake
    api.hold("answerCallbackQuery")
    env = split_env(settings, api_url)
    port = free_port()
    customer = TelegramCustomer(3114, "Lin", "en")
    update = customer.press(bot_question(customer.user_id), "phone")
    update_id = str(update["update_id"])
    server = await start_serve(port, env, ready_path="/readyz")
    worker = await start_worker(env)
    try:
        assert await post_update(port, update) == 200
        # The worker has started the turn (the press is being answered): now it dies.
        await asyncio.wait_for(api.held.wait(), 120)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        async with open_database(settings.effective_database_url):
            row = await InboxItem.get(channel="telegram", platform_id=update_id)
            assert row.status == InboxStatus.PROCESSING
            assert await InboundReceipt.filter(channel="telegram", message_id=update_id).count() == 0
            # Another worker takes it once the dead one's lease runs out.
            worker = await start_worker(env)
            row = await settled(update_id, api, 1)
            assert await stop(worker) == 0
            assert await stop(server) == 0
            receipts = await InboundReceipt.filter(channel="telegram", message_id=update_id).count()
            turns = await TranscriptMessage.filter(direction="in").count()
    finally:
        for process in (worker, server):
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert row.attempts == 2
    assert receipts == 1 and turns == 1


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"]])
async def test_sqlite_refuses_the_split_at_start_up(tmp_path: Path, command: list[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    env = {**plaint_env(settings), "PLAINT_SERVE_WORKERS": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *command, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1
    said = stderr.decode()
    assert "needs PostgreSQL or MariaDB/MySQL" in said and "Traceback" not in said, said
