"""`plaint serve` as a separate process, for the tests that kill, stop or restart it."""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_serve(
    port: int, env: Mapping[str, str], *, ready_path: str = "/healthz", stderr: IO[bytes] | int | None = None
) -> asyncio.subprocess.Process:
    """Start `plaint serve` and wait until `ready_path` answers 200 (loading the NLP models takes a while on a
    busy machine: up to a minute). A server that exits instead fails the test with the end of what it said."""
    # Closed below once the server is up; the child keeps writing to its own copy of the descriptor.
    said = tempfile.TemporaryFile() if stderr is None else None  # noqa: SIM115
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", str(port), cwd=ROOT, env=dict(env),
        stdout=asyncio.subprocess.DEVNULL, stderr=said if said is not None else stderr,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if process.returncode is not None:
                    raise AssertionError(f"plaint serve exited with {process.returncode}: {_tail(said)}")
                try:
                    async with http.get(f"http://127.0.0.1:{port}{ready_path}") as response:
                        if response.status == 200:
                            return process
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        process.kill()
        raise AssertionError(f"plaint serve did not answer {ready_path}: {_tail(said)}")
    finally:
        if said is not None:
            said.close()


def _tail(said: IO[bytes] | None) -> str:
    if said is None:
        return "(stderr not captured)"
    said.seek(0)
    return said.read().decode(errors="replace")[-3000:]


async def start_worker(env: Mapping[str, str], *, stderr: IO[bytes] | int | None = None) -> asyncio.subprocess.Process:
    """Start `plaint worker` (no port: the test waits for what it does)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "worker", cwd=ROOT, env=dict(env),
        stdout=asyncio.subprocess.DEVNULL, stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL,
    )
