"""Intake throughput: N concurrent customers complete the default complaint flow over the web chat's HTTP
endpoint against a running `plaint serve`; beside it, in the same run, the floor: a bare aiohttp endpoint
doing one Tortoise transaction per message on the same kind of database.

    .venv/bin/python bench/intake.py [--customers 20] [--database-url postgres://root@127.0.0.1:5432]

Prints messages/s and p50/p99 turn latency for both. Without --database-url it uses a SQLite file."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

DESCRIPTION = "My new phone's screen cracked two days after I bought it and the shop refused to replace it."
# What a customer types when the question has no buttons, in the order the default flow asks.
TYPED_ANSWERS = ["Ada Lovelace", "ada@example.com", DESCRIPTION, "yesterday 3pm", "Oxford Street store, London",
                 "phone"]
# Which button a customer presses when one of these is offered (first match wins).
PRESSED = ["_confirm", "_yes", "email", "product_quality", "replacement"]
FILES = (("screen.png", PNG), ("receipt.pdf", PDF))
MAX_TURNS = 30


@dataclass
class Result:
    latencies: list[float]
    elapsed: float
    errors: int
    cases_filed: int

    def line(self, label: str) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = len(ordered) / self.elapsed
        return (f"{label:<36} {len(ordered):>8} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f} {self.errors:>6} "
                f"{self.cases_filed:>6}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def next_answer(
    question: str, buttons: list[str], typed: list[str], uploaded: bool
) -> tuple[str | None, str | None, bool]:
    """(text, choice, upload) a customer sends after reading `question` and its `buttons`."""
    if "_done" in buttons:
        return None, "_done", False
    if "photos" in question and not uploaded:
        return None, None, True
    for value in PRESSED:
        if value in buttons:
            return None, value, False
    return (typed.pop(0) if typed else "ok"), None, False


async def customer(http: aiohttp.ClientSession, base: str, latencies: list[float]) -> tuple[int, bool]:
    # The server issues the session with its first answer (a cookie); every later turn carries it back.
    cookie: dict[str, str] = {}
    errors = 0
    typed = list(TYPED_ANSWERS)
    text: str | None = "Hello"
    choice: str | None = None
    upload = uploaded = False
    for _ in range(MAX_TURNS):
        form = aiohttp.FormData()
        form.add_field("message_id", uuid.uuid4().hex)
        form.add_field("locale", "en")
        if text:
            form.add_field("text", text)
        if choice:
            form.add_field("choice", choice)
        if upload:
            for name, data in FILES:
                form.add_field("file", data, filename=name)
            uploaded = True
        started = time.perf_counter()
        async with http.post(f"{base}/chat/api/message", data=form, headers=cookie) as response:
            if (morsel := response.cookies.get("plaint_chat")) is not None:
                cookie["Cookie"] = f"plaint_chat={morsel.value}"
            result = await response.json() if response.status == 200 else {}
            if response.status != 200:
                errors += 1
        latencies.append(time.perf_counter() - started)
        if result.get("case_number"):
            return errors, True
        replies = result.get("replies", [])
        buttons = [button["value"] for reply in replies for button in reply["buttons"]]
        question = replies[-1]["text"] if replies else ""
        text, choice, upload = next_answer(question, buttons, typed, uploaded)
    return errors, False


async def floor_customer(http: aiohttp.ClientSession, base: str, turns: int, latencies: list[float]) -> int:
    session = uuid.uuid4().hex
    errors = 0
    for index in range(turns):
        started = time.perf_counter()
        body = {"session": session, "text": f"turn {index}"}
        async with http.post(f"{base}/chat/api/message", json=body) as response:
            await response.read()
            errors += response.status != 200
        latencies.append(time.perf_counter() - started)
    return errors


async def drive(base: str, customers: int) -> Result:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=customers)) as http:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(customer(http, base, latencies) for _ in range(customers)))
        elapsed = time.perf_counter() - started
    return Result(latencies, elapsed, sum(errors for errors, _ in outcomes), sum(filed for _, filed in outcomes))


async def drive_floor(base: str, customers: int, turns: int) -> Result:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=customers)) as http:
        started = time.perf_counter()
        errors = await asyncio.gather(*(floor_customer(http, base, turns, latencies) for _ in range(customers)))
        elapsed = time.perf_counter() - started
    return Result(latencies, elapsed, sum(errors), 0)


async def fresh_database(server_url: str | None, directory: Path, label: str) -> str:
    if not server_url:
        return f"sqlite:///{directory / (label + '.sqlite3')}"
    name = f"plaint_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{server_url}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{server_url}/{name}"


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("PLAINT_BENCH_POSTGRES_URL", ""),
                        help="a PostgreSQL server URL without database name; default: SQLite files")
    arguments = parser.parse_args()
    server_url = arguments.database_url.rstrip("/") or None
    python = sys.executable
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PLAINT_LOG_LEVEL": "WARNING",
               "PLAINT_DATA_DIR": str(directory / "data")}

        plaint_url = await fresh_database(server_url, directory, "plaint")
        floor_url = await fresh_database(server_url, directory, "floor")
        env["PLAINT_DATABASE_URL"] = plaint_url
        subprocess.run([python, "-m", "bot", "db", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        floor_env = {**env, "PLAINT_DATABASE_URL": floor_url}
        subprocess.run([python, "-m", "bot", "db", "migrate"], cwd=ROOT, env=floor_env, check=True,
                       stdout=subprocess.DEVNULL)

        port = free_port()
        server = start([python, "-m", "bot", "serve", "--port", str(port)], env)
        try:
            await wait_ready(f"http://127.0.0.1:{port}/healthz")
            plaint = await drive(f"http://127.0.0.1:{port}", arguments.customers)
        finally:
            stop(server)

        floor_port = free_port()
        floor = start([python, str(ROOT / "bench" / "floor_server.py"), "--database-url", floor_url,
                       "--port", str(floor_port)], floor_env)
        try:
            await wait_ready(f"http://127.0.0.1:{floor_port}/chat/api/message")
            turns = len(plaint.latencies) // max(arguments.customers, 1)
            bare = await drive_floor(f"http://127.0.0.1:{floor_port}", arguments.customers, turns)
        finally:
            stop(floor)

    database = "PostgreSQL" if server_url else "SQLite"
    print(f"intake benchmark: {arguments.customers} concurrent customers, one whole complaint each, {database}")
    print(f"{'':<36} {'messages':>8} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'cases':>6}")
    print(plaint.line("plaint web chat (whole flow)"))
    print(bare.line("floor: bare aiohttp + 1 transaction"))


if __name__ == "__main__":
    asyncio.run(main())
