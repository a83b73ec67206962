"""`plaint serve` as an operator starts it: from any directory, and stopped by a broken configuration with
one line that names the file or variable and the reason (never a traceback)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import aiohttp

from bot.config import Settings
from tests.fakes.slack_api import FakeSlackApi

SIGNING_SECRET = "e3b0c44298fc1c149afbf4c8996fb924"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def slack_env(settings: Settings, slack: FakeSlackApi) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PLAINT_")}
    return {
        **environment,
        "PLAINT_DATABASE_URL": settings.effective_database_url,
        "PLAINT_DATA_DIR": str(settings.data_dir),
        "PLAINT_LOG_LEVEL": "WARNING",
        "PLAINT_SLACK_BOT_TOKEN": slack.token,
        "PLAINT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PLAINT_SLACK_API_URL": slack.base_url,
        "NO_PROXY": "127.0.0.1,localhost",
    }


async def serve(cwd: Path, environment: dict[str, str], port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", str(port), cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def test_serve_from_an_empty_directory_with_slack_uses_the_shipped_routing_file(
    settings: Settings, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    slack = FakeSlackApi()
    await slack.start()
    port = free_port()
    process = await serve(empty, slack_env(settings, slack), port)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if process.returncode is not None:
                    break
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            assert process.returncode is None, (await process.stderr.read()).decode()  # type: ignore[union-attr]
            # Slack's endpoint is there and verifies signatures: the Slack app started with the shipped routing.
            async with http.post(f"http://127.0.0.1:{port}/slack/events", data=b"{}") as response:
                assert response.status == 401
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        await slack.close()
    assert list(empty.iterdir()) == []


async def test_a_broken_routing_file_stops_start_up_with_one_line_naming_it(
    settings: Settings, tmp_path: Path
) -> None:
    slack = FakeSlackApi()
    await slack.start()
    broken = tmp_path / "routing.yaml"
    broken.write_text("default_team: nobody\nteams: []\n", encoding="utf-8")
    missing = tmp_path / "no-such-routing.yaml"
    try:
        for path, reason in ((broken, "team"), (missing, "cannot read")):
            environment = {**slack_env(settings, slack), "PLAINT_SLACK_ROUTING_FILE": str(path)}
            process = await serve(tmp_path, environment, free_port())
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
            lines = stderr.decode().strip().splitlines()
            assert process.returncode != 0
            assert len(lines) == 1, lines
            assert str(path) in lines[0] and reason in lines[0], lines[0]
            assert "Traceback" not in lines[0]
    finally:
        await slack.close()


async def test_an_invalid_variable_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PLAINT_")}
    process = await serve(tmp_path, {**environment, "PLAINT_TIMEZONE": "Mars/Olympus"}, free_port())
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("Error: PLAINT_TIMEZONE:"), lines
