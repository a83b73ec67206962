"""Many open conversations on PostgreSQL: open N conversations (web, Telegram, WeChat and Slack customers,
each paused at a step of the complaint flow), then drive D of the web ones to the end through `plaint serve`.
Two runs at the same time, one database with D open and one with N open, each with its own server: the server's
memory and the p99 turn latency must not grow with the number of open conversations (issue 18: RSS < 300 MB, p99
within 20 % of the small run). Beside them, PostgreSQL's own statement time per message (pg_stat_database).

    .venv/bin/python bench/open_conversations.py [--open 100000] [--drive 1000] [--concurrency 50] \\
        [--database-url postgres://root@127.0.0.1:5432]

The paused conversations are copies of real ones: a few customers are walked to each step over HTTP first,
and their stored rows (state encrypted as the server wrote it) are copied in bulk with INSERT ... SELECT."""

from __future__ import annotations

import argparse
import asyncio
import os
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
sys.path.insert(0, str(ROOT / "bench"))

from intake import drop_database, free_port, fresh_database, start, stop, wait_ready  # noqa: E402

from bot.channels.web_sessions import COOKIE_NAME, WebSessions  # noqa: E402

CHANNELS = ("web", "telegram", "wechat", "slack")
# What a customer types, by words of the question; buttons pressed when nothing typed fits, best first.
TYPED = (("your name", "Ada Lovelace"), ("phone number", "+44 20 7946 0958"), ("email", "ada@example.com"),
         ("what happened", "My new kettle started leaking after two days and burned the counter."),
         ("when did it happen", "yesterday 3pm"), ("where did it happen", "Oxford Street store"),
         ("which product", "kettle"))
PRESSED = ("_confirm", "_yes", "email", "product_quality", "refund", "_skip", "_done")
MAX_TURNS = 30


@dataclass
class Reply:
    question: str
    buttons: list[str]
    case_number: str | None


# The bench names its sessions (the seeded rows carry them), so it signs their cookies with the secret it
# gives the server, as the server would have.
BENCH_SECRET = "bench-open-conversations"
SESSIONS = WebSessions(BENCH_SECRET.encode(), secure_cookies=False)


async def say(http: aiohttp.ClientSession, base: str, session: str, answer: dict[str, str]) -> Reply:
    body = {"message_id": uuid.uuid4().hex, "locale": "en", **answer}
    cookie = {"Cookie": f"{COOKIE_NAME}={SESSIONS.cookie_value(session)}"}
    async with http.post(f"{base}/chat/api/message", json=body, headers=cookie) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {(await response.text())[:300]}")
        result = await response.json()
    replies = result["replies"]
    return Reply(replies[-1]["text"] if replies else "", [b["value"] for r in replies for b in r["buttons"]],
                 result.get("case_number"))


def answer_to(reply: Reply) -> dict[str, str]:
    for value in ("_confirm", "_yes"):
        if value in reply.buttons:
            return {"choice": value}
    lowered = reply.question.lower()
    for words, text in TYPED:
        if words in lowered:
            return {"text": text}
    for value in PRESSED:
        if value in reply.buttons:
            return {"choice": value}
    return {"text": "ok"}


async def walk(http: aiohttp.ClientSession, base: str, session: str, turns: int) -> None:
    """A customer who answers `turns` questions and then goes quiet."""
    reply = await say(http, base, session, {"text": "Hello"})
    for _ in range(turns - 1):
        reply = await say(http, base, session, answer_to(reply))


async def finish(http: aiohttp.ClientSession, base: str, session: str, latencies: list[float]) -> bool:
    """A paused customer comes back: says something (taken as the answer to the waiting question), then
    answers each question until the case is filed."""
    answer: dict[str, str] = {"text": "Sorry, I was away. Ada Lovelace"}
    for _ in range(MAX_TURNS):
        started = time.perf_counter()
        reply = await say(http, base, session, answer)
        latencies.append(time.perf_counter() - started)
        if reply.case_number:
            return True
        answer = answer_to(reply)
    return False


async def seed(database_url: str, templates: list[str], count: int, channels: tuple[str, ...]) -> list[str]:
    """`count` open conversations copied from the template sessions' rows, `channels` in turn; returns the
    web sessions among them (`channels` starts with web)."""
    connection = await asyncpg.connect(database_url)
    try:
        tag = uuid.uuid4().hex[:6]
        await connection.execute(
            """
            WITH template AS (
                SELECT row_number() OVER (ORDER BY c.id) - 1 AS slot, c.flow_id, c.flow_version, c.step_id,
                       c.lang, c.state
                FROM conversation c JOIN channel_identity i ON i.id = c.identity_id
                WHERE i.sender_id = ANY($1::text[]) AND c.status = 'active'
            ), numbered AS (
                SELECT n, ($2::text[])[1 + n % cardinality($2::text[])] AS channel FROM generate_series(0, $3 - 1) AS n
            ), customers AS (
                INSERT INTO customer (lang, unreachable, created_at)
                SELECT 'en', false, now() FROM numbered RETURNING id
            ), paired AS (
                SELECT c.id AS customer_id, n.n, n.channel
                FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM customers) c
                JOIN numbered n ON n.n = c.n
            ), identities AS (
                INSERT INTO channel_identity (customer_id, channel, sender_id, locale, created_at)
                SELECT customer_id, channel, 'open-' || $4 || '-' || n, 'en', now() FROM paired
                RETURNING id, sender_id
            )
            INSERT INTO conversation (identity_id, flow_id, flow_version, step_id, status, lang, state,
                                      created_at, updated_at)
            SELECT i.id, t.flow_id, t.flow_version, t.step_id, 'active', t.lang, t.state, now(), now()
            FROM identities i
            JOIN template t ON t.slot = split_part(i.sender_id, '-', 3)::int % (SELECT count(*) FROM template)
            """,
            templates, list(channels), count, tag,
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return [f"open-{tag}-{n}" for n in range(0, count, len(channels))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Phase:
    open_count: int
    driven: int
    filed: int
    latencies: list[float]
    rss_before: float
    rss_after: float
    # PostgreSQL's own time executing this database's statements while the customers were driven
    # (pg_stat_database.active_time): the query plans' share, which the machine's other load cannot inflate.
    database_ms: float

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def database_ms_per_message(self) -> float:
        return self.database_ms / max(1, len(self.latencies))

    def line(self) -> str:
        return (f"{self.open_count:>8} {self.driven:>7} {self.filed:>6} {len(self.latencies):>8} "
                f"{statistics.median(self.latencies) * 1000:>7.1f} {self.p99:>7.1f} "
                f"{self.database_ms_per_message:>8.2f} {self.rss_before:>9.0f} {self.rss_after:>9.0f}")


@dataclass
class Seeded:
    open_count: int
    url: str
    env: dict[str, str]
    web_sessions: list[str]


async def prepare(server_url: str, directory: Path, open_count: int, channels: tuple[str, ...]) -> Seeded:
    """A migrated database holding `open_count` open conversations, seeded through a server that is then
    stopped (the driving server starts with nothing of the seeding in its memory)."""
    url = await fresh_database(server_url, directory, f"open{open_count}")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PLAINT_LOG_LEVEL": "WARNING",
           "PLAINT_DATA_DIR": str(directory / f"data{open_count}"), "PLAINT_DATABASE_URL": url,
           "PLAINT_EVIDENCE_SECRET": BENCH_SECRET}
    subprocess.run([sys.executable, "-m", "bot", "db", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start([sys.executable, "-m", "bot", "serve", "--port", str(port)], env)
    try:
        await wait_ready(f"{base}/healthz")
        async with aiohttp.ClientSession() as http:
            # Templates: two customers paused after each number of answers (every step of the flow).
            templates = [f"template{turns}x{copy}" for turns in range(1, 11) for copy in range(2)]
            await asyncio.gather(*(walk(http, base, name, int(name[8:].split("x")[0])) for name in templates))
        web_sessions = await seed(url, templates, open_count, channels)
    finally:
        stop(server)
    return Seeded(open_count, url, env, web_sessions)


async def database_active_ms(url: str) -> float:
    connection = await asyncpg.connect(url)
    try:
        # The statistics collector's snapshot is per transaction: clear it to read the current figure.
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await connection.fetchval("SELECT active_time FROM pg_stat_database WHERE datname = current_database()")
        return float(value or 0.0)
    finally:
        await connection.close()


async def drive_phase(seeded: Seeded, drive: int, concurrency: int, both_warm: asyncio.Barrier) -> Phase:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start([sys.executable, "-m", "bot", "serve", "--port", str(port)], seeded.env)
    try:
        await wait_ready(f"{base}/healthz")
        latencies: list[float] = []
        gate = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
            await walk(http, base, "warmup-customer", 6)  # past the story: NLP models loaded before the clock
            rss_before = rss_mb(server.pid)
            database_before = await database_active_ms(seeded.url)
            await both_warm.wait()  # both servers up and warmed before either is driven

            async def one(session: str) -> bool:
                async with gate:
                    return await finish(http, base, session, latencies)

            filed = await asyncio.gather(*(one(session) for session in seeded.web_sessions[:drive]))
            database_ms = await database_active_ms(seeded.url) - database_before
        rss_after = rss_mb(server.pid)
    finally:
        stop(server)
    return Phase(seeded.open_count, min(drive, len(seeded.web_sessions)), sum(filed), latencies, rss_before,
                 rss_after, database_ms)


async def both_phases(server_url: str, directory: Path, open_count: int, drive: int,
                      concurrency: int) -> tuple[Phase, Phase]:
    """The small and the large run driven at the same time, each by its own server on its own database: the
    machine's load (which drifts over minutes) weighs on both alike."""
    # The small run opens just the web conversations it drives; the large one every channel in turn.
    small_seed = await prepare(server_url, directory, drive, ("web",))
    try:
        large_seed = await prepare(server_url, directory, open_count, CHANNELS)
        try:
            both_warm = asyncio.Barrier(2)
            small, large = await asyncio.gather(drive_phase(small_seed, drive, concurrency, both_warm),
                                                drive_phase(large_seed, drive, concurrency, both_warm))
            return small, large
        finally:
            await drop_database(server_url, large_seed.url)
    finally:
        await drop_database(server_url, small_seed.url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=100_000, help="open conversations in the large run")
    parser.add_argument("--drive", type=int, default=1_000, help="web conversations driven to the end")
    parser.add_argument("--concurrency", type=int, default=50, help="customers driven at the same time (each run)")
    parser.add_argument("--database-url", default=os.environ.get("PLAINT_BENCH_POSTGRES_URL",
                                                                 "postgres://root@127.0.0.1:5432"))
    arguments = parser.parse_args()
    server_url = arguments.database_url.rstrip("/")
    with tempfile.TemporaryDirectory() as temporary:
        small, large = await both_phases(server_url, Path(temporary), arguments.open, arguments.drive,
                                         arguments.concurrency)
    print(f"open conversations on PostgreSQL, both runs at the same time, {arguments.concurrency} customers at a "
          f"time each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'open':>8} {'driven':>7} {'filed':>6} {'messages':>8} {'p50 ms':>7} {'p99 ms':>7} {'db ms/msg':>8} "
          f"{'RSS MB':>9} {'RSS after':>9}")
    print(small.line())
    print(large.line())
    ratio = large.p99 / small.p99
    database_ratio = large.database_ms_per_message / max(small.database_ms_per_message, 1e-9)
    print(f"p99 {ratio:.2f}x the small run (bar <= 1.20); database time per message {database_ratio:.2f}x; "
          f"server RSS {large.rss_after:.0f} MB (bar < 300): "
          f"{'MEETS' if ratio <= 1.2 and large.rss_after < 300 else 'BELOW'}")


if __name__ == "__main__":
    asyncio.run(main())
