"""Intake throughput: N concurrent customers complete the default complaint flow over the web chat's HTTP
endpoint against a running `plaint serve`; beside it, in the same run, the floor: a bare aiohttp endpoint
doing one Tortoise transaction per message on the same kind of database.

    .venv/bin/python bench/intake.py [--customers 20,200] [--workers 1,2,4] \
        [--database-url postgres://root@127.0.0.1:5432] [--skip-sqlite]

Prints messages/s and p50/p99 turn latency for Plaint (with each number of `plaint serve` workers, messages
handed out in turn) and the floor, per database and number of customers, and the ratios against issue 18's
bar. After each Plaint run it counts what the database holds: a lost or doubled message or case stops it.
`--database-url "postgres://root@/?host=/var/run/postgresql"` reaches PostgreSQL over its Unix socket (session 17:
no different from TCP on this machine, 216-251 vs 274-283 msg/s in runs minutes apart)."""

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
FIRST_ERROR: list[str] = []  # the first refused message's answer, printed under the figures


@dataclass
class Result:
    latencies: list[float]
    elapsed: float
    errors: int
    cases_filed: int
    database_work: str = ""
    server_cpu: float = 0.0  # CPU seconds the server processes spent while the customers ran
    client_cpu: float = 0.0  # CPU seconds this bench (the customers' side) spent meanwhile

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    def line(self, label: str) -> str:
        p50 = statistics.median(self.latencies) * 1000
        return (f"{label:<36} {len(self.latencies):>8} {self.rate:>8.1f} {p50:>8.1f} {self.p99:>8.1f} "
                f"{self.errors:>6} {self.cases_filed:>6}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_line(result: Result) -> str:
    """CPU per answered message: the server's and the customers' (the bench's) share of the two cores."""
    answered = max(1, len(result.latencies) - result.errors)
    return (f"{'':<36} CPU per message: server {result.server_cpu / answered * 1000:.2f} ms, "
            f"bench client {result.client_cpu / answered * 1000:.2f} ms")


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


async def customer(
    http: aiohttp.ClientSession, bases: list[str], index: int, latencies: list[float]
) -> tuple[int, bool]:
    # The server issues the session with its first answer (a cookie); every later turn carries it back.
    cookie: dict[str, str] = {}
    errors = 0
    typed = list(TYPED_ANSWERS)
    text: str | None = "Hello"
    choice: str | None = None
    upload = uploaded = False
    for turn in range(MAX_TURNS):
        base = bases[(index + turn) % len(bases)]
        fields = {"message_id": uuid.uuid4().hex, "locale": "en"}
        if text:
            fields["text"] = text
        if choice:
            fields["choice"] = choice
        # As the chat page posts: multipart only when files go with the message, a plain form otherwise.
        form: aiohttp.FormData | dict[str, str] = fields
        if upload:
            form = aiohttp.FormData(fields)
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
                if not FIRST_ERROR:
                    FIRST_ERROR.append(f"HTTP {response.status}: {(await response.text())[:300]}")
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


async def drive(bases: list[str], customers: int) -> Result:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=customers)) as http:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(customer(http, bases, index, latencies) for index in range(customers)))
        elapsed = time.perf_counter() - started
    return Result(latencies, elapsed, sum(errors for errors, _ in outcomes), sum(filed for _, filed in outcomes))


async def drive_floor(base: str, customers: int, turns: int) -> Result:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=customers)) as http:
        started = time.perf_counter()
        errors = await asyncio.gather(*(floor_customer(http, base, turns, latencies) for _ in range(customers)))
        elapsed = time.perf_counter() - started
    return Result(latencies, elapsed, sum(errors), 0)


def database_on(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url`, its options kept (`?host=/var/run/postgresql`:
    over the Unix socket)."""
    base, _, options = server_url.partition("?")
    return f"{base.rstrip('/')}/{name}" + (f"?{options}" if options else "")


async def fresh_database(server_url: str | None, directory: Path, label: str) -> str:
    if not server_url:
        return f"sqlite:///{directory / (label + '.sqlite3')}"
    name = f"plaint_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_on(server_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return database_on(server_url, name)


async def drop_database(server_url: str | None, database_url: str) -> None:
    if server_url:
        admin = await asyncpg.connect(database_on(server_url, "postgres"))
        try:
            name = database_url.partition("?")[0].rsplit("/", 1)[1]
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


async def stored_counts(database_url: str) -> tuple[int, int, int]:
    """(web receipts, customer lines in the transcript, cases) as the database holds them."""
    from storage.database import open_database
    from storage.models import Case, InboundReceipt, TranscriptMessage

    async with open_database(database_url):
        return (await InboundReceipt.filter(channel="web").count(),
                await TranscriptMessage.filter(direction="in").count(), await Case.all().count())


PG_STATS = ("SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, tup_returned + tup_fetched "
            "FROM pg_stat_database WHERE datname = current_database()")


async def pg_counters(database_url: str) -> tuple[int, ...]:
    """PostgreSQL's own counters for this database: transactions committed (each statement outside a
    transaction is one), rows written, rows read."""
    await asyncio.sleep(1.5)  # the statistics collector publishes with a delay
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        row = await connection.fetchrow(PG_STATS)
        assert row is not None
        return tuple(int(value) for value in row)
    finally:
        await connection.close()


async def run_plaint(env: dict[str, str], database_url: str, customers: int, workers: int) -> Result:
    """`workers` `plaint serve` processes on one database; every message goes to the next worker in turn (a
    balancer without sticky sessions). Afterwards the database must hold each answered message once and
    each filed case once: the bench fails otherwise."""
    env = {**env, "PLAINT_DATABASE_URL": database_url}
    subprocess.run([sys.executable, "-m", "bot", "db", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    ports = [free_port() for _ in range(workers)]
    servers = [start([sys.executable, "-m", "bot", "serve", "--port", str(port)], env) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            await wait_ready(f"{base}/healthz")
        # One whole complaint per worker first: its NLP models loaded, its caches warm.
        await drive(bases, len(bases))
        before = await stored_counts(database_url)
        postgres = database_url.startswith("postgres")
        work_before = await pg_counters(database_url) if postgres else ()
        pids = [server.pid for server in servers]
        server_before, client_before = cpu_seconds(pids), time.process_time()
        result = await drive(bases, customers)
        result.server_cpu = cpu_seconds(pids) - server_before
        result.client_cpu = time.process_time() - client_before
        work_after = await pg_counters(database_url) if postgres else ()
        after = await stored_counts(database_url)
    finally:
        for server in servers:
            stop(server)
    receipts, lines, cases = (late - early for late, early in zip(after, before, strict=True))
    answered = len(result.latencies) - result.errors
    if not (receipts == lines == answered and cases == result.cases_filed):
        raise SystemExit(f"LOST OR DUPLICATED: {answered} messages answered, {receipts} receipts, {lines} "
                         f"transcript lines; {result.cases_filed} cases reported, {cases} stored")
    if work_after:
        transactions, written, read = ((late - early) / answered for late, early in zip(work_after, work_before,
                                                                                         strict=True))
        result.database_work = (f"per message: {transactions:.1f} transactions (statements outside one count "
                                f"as one), {written:.1f} rows written, {read:.0f} rows read")
    return result


async def run_floor(env: dict[str, str], database_url: str, customers: int, turns: int) -> Result:
    env = {**env, "PLAINT_DATABASE_URL": database_url}
    subprocess.run([sys.executable, "-m", "bot", "db", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    floor = start([sys.executable, str(ROOT / "bench" / "floor_server.py"), "--database-url", database_url,
                   "--port", str(port)], env)
    try:
        await wait_ready(f"http://127.0.0.1:{port}/chat/api/message")
        server_before, client_before = cpu_seconds([floor.pid]), time.process_time()
        result = await drive_floor(f"http://127.0.0.1:{port}", customers, turns)
        result.server_cpu = cpu_seconds([floor.pid]) - server_before
        result.client_cpu = time.process_time() - client_before
        return result
    finally:
        stop(floor)


def verdict(plaint: Result, floor: Result) -> str:
    """Issue 18's bar: throughput at least the floor's, p99 at most twice the floor's."""
    rate = plaint.rate / floor.rate
    p99 = plaint.p99 / floor.p99
    passed = rate >= 1.0 and p99 <= 2.0
    return (f"{'':<36} ratio {rate:.2f}x msg/s (bar >= 1.0), {p99:.2f}x p99 (bar <= 2.0): "
            f"{'MEETS' if passed else 'BELOW'}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", default="20,200", help="concurrent customers, comma-separated")
    parser.add_argument("--workers", default="1", help="plaint serve processes, comma-separated (1,2,4)")
    parser.add_argument("--database-url", default=os.environ.get("PLAINT_BENCH_POSTGRES_URL", ""),
                        help="a PostgreSQL server URL without database name; without it only SQLite runs")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    arguments = parser.parse_args()
    server_url = arguments.database_url.rstrip("/") or None
    counts = [int(value) for value in arguments.customers.split(",")]
    worker_counts = [int(value) for value in arguments.workers.split(",")]
    databases = [*([] if arguments.skip_sqlite else [None]), *([server_url] if server_url else [])]
    print(f"intake benchmark: one whole complaint per customer over the web chat; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (every process shares them)")
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PLAINT_LOG_LEVEL": "WARNING",
               "PLAINT_DATA_DIR": str(directory / "data")}
        for server in databases:
            name = "PostgreSQL" if server else "SQLite"
            for customers in counts:
                print(f"\n{name}, {customers} concurrent customers")
                print(f"{'':<36} {'messages':>8} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
                      f"{'cases':>6}")
                results: list[Result] = []
                for workers in worker_counts:
                    if workers > 1 and server is None:
                        # One SQLite file has one writer: several processes get "database is locked".
                        print(f"{'':<36} {workers} workers: SQLite is one process (several need PostgreSQL)")
                        continue
                    url = await fresh_database(server, directory, f"plaint{customers}w{workers}")
                    try:
                        results.append(await run_plaint(env, url, customers, workers))
                    finally:
                        await drop_database(server, url)
                    label = "plaint web chat (whole flow)" if workers == 1 else f"plaint, {workers} workers"
                    print(results[-1].line(label), flush=True)
                    print(cpu_line(results[-1]))
                    if results[-1].database_work:
                        print(f"{'':<36} {results[-1].database_work}")
                    if FIRST_ERROR:
                        print(f"{'':<36} first error: {FIRST_ERROR.pop()}")
                url = await fresh_database(server, directory, f"floor{customers}")
                try:
                    turns = len(results[0].latencies) // customers if results else 12
                    floor = await run_floor(env, url, customers, turns)
                finally:
                    await drop_database(server, url)
                print(floor.line("floor: bare aiohttp + 1 transaction"))
                print(cpu_line(floor))
                for result in results:
                    print(verdict(result, floor))


if __name__ == "__main__":
    asyncio.run(main())
