"""The OpenAPI document of /api/v1 checked against the running `plaint serve` with schemathesis: stateless,
bounded, seeded. Every generated request must get a documented status, content type and body shape, and
never a server error."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.admin.api import ENDPOINTS
from bot.config import Settings
from tests.e2e.test_processes import ROOT, plaint, plaint_env

# Pages and contracts, not storage: one database is enough (storage is tested on every one elsewhere).
pytestmark = pytest.mark.one_database("postgres")

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


async def test_the_api_keeps_its_openapi_document(settings: Settings) -> None:
    token = (await plaint(settings, "admin", "token", "create", "schemathesis", "--role", "admin")).strip()
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", str(port), cwd=ROOT, env=plaint_env(settings),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(f"{base}/healthz")
        checker = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", f"{base}/api/v1/openapi.json", "-H", f"Authorization: Bearer {token}",
            "--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "-n", "15", "--seed", "20261129",
            "--request-timeout", "30",
            cwd=ROOT, env=plaint_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(checker.communicate(), timeout=600)
        report = output.decode(errors="replace")
        assert checker.returncode == 0, report
        total = len(ENDPOINTS) + 1  # the JSON endpoints and the streamed export
        assert f"{total} selected / {total} total" in report, report
    finally:
        server.terminate()
        await server.wait()
