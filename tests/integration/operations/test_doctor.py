"""`plaint doctor` run as an operator runs it, against the fake Telegram, Slack and WeChat servers: a table
of OK/PROBLEM lines, each problem with what to do, and a failing exit status while anything is wrong."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Settings
from tests.e2e.test_processes import ROOT, plaint_env
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import running_fake_bot_api
from tests.fakes.wechat_api import FakeWeChatApi

TOKEN = "123456:doctor-test-token"
ROUTING = """
default_team: general
teams:
  - name: general
    slack_channel: C0000GENERAL
  - name: quality
    slack_channel: C0000QUALITY
"""


async def doctor(settings: Settings, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", cwd=ROOT, env={**plaint_env(settings), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode() + stderr.decode()


def line(output: str, check: str) -> str:
    found = [row for row in output.splitlines() if row.startswith(check + " ")]
    assert found, f"no {check!r} line in:\n{output}"
    return found[0]


async def test_doctor_names_each_problem_and_what_to_do(settings: Settings, tmp_path: Path) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    slack = FakeSlackApi(member_channels=["C0000GENERAL"])
    await slack.start()
    wechat = FakeWeChatApi(app_id="wx-doctor", app_secret="right-secret")
    wechat_url = await wechat.start()
    public = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    public.router.add_get("/healthz", healthz)
    public_server = TestServer(public, host="127.0.0.1")
    await public_server.start_server()
    public_url = str(public_server.make_url("")).rstrip("/")
    try:
        async with running_fake_bot_api(TOKEN) as (telegram, telegram_url):
            telegram.webhook_url = "https://old.example.com/telegram/webhook"
            env = {
                "PLAINT_TELEGRAM_TOKEN": TOKEN,
                "PLAINT_TELEGRAM_API_URL": telegram_url,
                "PLAINT_TELEGRAM_WEBHOOK_SECRET": "doctor_secret",
                "PLAINT_SLACK_BOT_TOKEN": slack.token,
                "PLAINT_SLACK_SIGNING_SECRET": "signing-secret",
                "PLAINT_SLACK_API_URL": slack.base_url,
                "PLAINT_SLACK_ROUTING_FILE": str(routing),
                "PLAINT_WECHAT_TOKEN": "wechat-token",
                "PLAINT_WECHAT_APP_ID": "wx-doctor",
                "PLAINT_WECHAT_APP_SECRET": "wrong-secret",
                "PLAINT_WECHAT_API_URL": wechat_url,
                "PLAINT_PUBLIC_URL": public_url,
                "PLAINT_EVIDENCE_SECRET": "doctor-evidence-secret-0123456789",
            }
            status, output = await doctor(settings, env)
            assert status == 1
            assert "OK" in line(output, "database") and "OK" in line(output, "migrations")
            assert "OK" in line(output, "telegram") and "@" in line(output, "telegram")
            webhook = line(output, "telegram webhook")
            assert "PROBLEM" in webhook and "https://old.example.com/telegram/webhook" in webhook
            assert f"plaint telegram set-webhook {public_url}/telegram/webhook" in output
            assert "OK" in line(output, "slack")
            quality = line(output, "routing team quality")
            assert "PROBLEM" in quality and "C0000QUALITY" in quality
            assert "routing team general" not in output
            assert "PROBLEM" in line(output, "wechat") and "PLAINT_WECHAT_APP_SECRET" in output
            assert "PROBLEM" in line(output, "public url") and "not https" in output
            assert "wrong-secret" not in output and TOKEN not in output
            assert [call.method for call in telegram.calls] == ["getMe", "getWebhookInfo"]
            assert {call.method for call in slack.calls} == {"auth.test", "users.conversations"}

            # Fixed: the right webhook, the bot invited, the right WeChat secret; only https is left.
            telegram.webhook_url = f"{public_url}/telegram/webhook"
            slack.member_channels.append("C0000QUALITY")
            status, output = await doctor(settings, {**env, "PLAINT_WECHAT_APP_SECRET": "right-secret"})
            assert "OK" in line(output, "telegram webhook") and "OK" in line(output, "routing")
            assert "OK" in line(output, "wechat")
            assert [row for row in output.splitlines() if "PROBLEM" in row] == [line(output, "public url")]
            assert status == 1

            # Telegram could not deliver: the doctor passes on Telegram's own words.
            telegram.webhook_last_error = "SSL error {error:0A000086:SSL routines::certificate verify failed}"
            status, output = await doctor(settings, {**env, "PLAINT_WECHAT_APP_SECRET": "right-secret"})
            assert "certificate verify failed" in line(output, "telegram webhook")
    finally:
        await public_server.close()
        await wechat.close()
        await slack.close()


async def test_doctor_on_a_fresh_install_says_to_migrate(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'new.sqlite3'}", data_dir=tmp_path / "data")
    status, output = await doctor(settings, {})
    assert status == 1
    assert "PROBLEM" in line(output, "migrations") and "plaint db migrate" in output
    assert "OK" in line(output, "public url")


async def test_doctor_lists_the_running_workers_and_what_waits_without_one(settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.database import open_database
    from storage.inbox import TortoiseInbox
    from storage.models import WorkerHeartbeat
    from storage.operations import beat

    async with open_database(settings.database_url):
        # A process killed ten minutes ago left its heartbeat; a customer's update came in since.
        await WorkerHeartbeat.create(worker="host-a:4242", beat_at=datetime.now(UTC) - timedelta(minutes=10))
        await TortoiseInbox(skip_locked=False).receive(
            channel="telegram", platform_id="77", ordering_key="telegram:1", payload={"update_id": 77}
        )
    env = {"PLAINT_EVIDENCE_SECRET": "doctor-evidence-secret-0123456789"}
    status, output = await doctor(settings, env)
    workers = line(output, "workers")
    assert status == 1 and "PROBLEM" in workers
    assert "none running, and 1 platform update(s) and 0 outgoing message(s) wait" in workers
    assert "host-a:4242 (last beat 10 min ago)" in workers and "plaint worker" in output

    async with open_database(settings.database_url):
        await beat("host-b:7")
    status, output = await doctor(settings, env)
    workers = line(output, "workers")
    assert "OK" in workers and "1 running: host-b:7 (" in workers and "gone without stopping: host-a:4242" in workers
    assert status == 0, output
