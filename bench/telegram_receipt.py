"""Telegram webhook answer time under load: N concurrent customers talk to a running `plaint serve` through
POST /telegram/webhook (real-shaped updates, the right secret), each waiting for the bot's reply (at a local fake
Bot API) before typing the next message, as a person does. Prints p50/p99 of the webhook's answer beside issue
18's 50 ms target, and the time from the POST to the reply reaching the Bot API.

    .venv/bin/python bench/telegram_receipt.py [--customers 100] [--turns 5] \
        [--database-url postgres://root@127.0.0.1:5432] [--checkout PATH] [--split]

`--split` measures, in the same run, one `plaint serve` doing everything and then the web/worker split: `plaint
serve` with PLAINT_SERVE_WORKERS=false answering the webhooks plus one `plaint worker` taking the turns (needs
PostgreSQL or MariaDB). `--max-connections N` sends at most N webhooks at a time, as Telegram does (setWebhook's
max_connections, 40 by default; 0, the default here: no limit); the answer is timed from the moment a request is
sent. `--worker-nice N` starts the `plaint worker` at a lower CPU priority (systemd's `Nice=`), so the web
process wins the CPU when both want it.

`--checkout` runs the `plaint serve` of another checkout of Plaint (e.g. main, for the figure before a change)
with this interpreter. Afterwards the database must hold every update once: the bench fails otherwise."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegramBotApi  # noqa: E402
from tests.integration.telegram.telegram_updates import TelegramCustomer  # noqa: E402
from tests.serve_process import free_port  # noqa: E402

sys.path.append(str(ROOT / "bench"))  # after ROOT: bench/nlp.py must not shadow nlp/
from intake import drop_database, fresh_database, wait_ready  # noqa: E402

TOKEN = "515151:bench-token"
SECRET = "bench-secret"
TARGET_P99 = 0.050
WEBHOOK = "/telegram/webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
ANSWERS = ["/start", "My phone's screen cracked two days after I bought it.", "Ada Lovelace",
           "ada@example.com", "yesterday 3pm", "Oxford Street store, London", "ok", "ok"]


class CountingBotApi(FakeTelegramBotApi):
    """The fake Bot API, waking whoever waits for a reply in a chat."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.replies: defaultdict[str, int] = defaultdict(int)
        self.arrived: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def _answer_sendmessage(self, params: Mapping[str, str]) -> object:
        answer = await super()._answer_sendmessage(params)
        chat = params["chat_id"]
        self.replies[chat] += 1
        self.arrived[chat].set()
        return answer


async def talk(http: aiohttp.ClientSession, url: str, api: CountingBotApi, customer: TelegramCustomer, turns: int,
               answers: list[float], replies: list[float], missing: list[int],
               first_answers: list[float] | None = None, slots: asyncio.Semaphore | None = None) -> None:
    chat = str(customer.user_id)
    for turn, text in enumerate(ANSWERS[:turns]):
        before = api.replies[chat]
        api.arrived[chat].clear()
        async with slots or contextlib.nullcontext():
            started = time.perf_counter()
            async with http.post(url, json=customer.text(text), headers={HEADER: SECRET}) as response:
                await response.read()
                answers.append(time.perf_counter() - started)
                status = response.status
        if turn == 0 and first_answers is not None:
            first_answers.append(answers[-1])
        if status != 200:
            raise SystemExit(f"webhook answered {status}")
        deadline = started + 30
        while api.replies[chat] == before:
            left = deadline - time.perf_counter()
            if left <= 0:
                missing.append(1)
                break
            try:
                await asyncio.wait_for(api.arrived[chat].wait(), left)
            except TimeoutError:
                continue
            api.arrived[chat].clear()
        else:
            replies.append(time.perf_counter() - started)


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1] if len(values) > 1 \
        else values[0]


async def stored_receipts(database_url: str) -> tuple[int, int]:
    """Turns taken (the intake's receipts) and updates stored in the inbox."""
    from storage.database import open_database
    from storage.models import InboundReceipt, InboxItem

    async with open_database(database_url):
        return (await InboundReceipt.filter(channel="telegram").count(),
                await InboxItem.filter(channel="telegram").count())


async def inbox_drained(database_url: str, seconds: float) -> int:
    """Waits (at most `seconds`) until every stored update's turn is taken; returns how many are still open."""
    from storage.database import open_database
    from storage.models import InboxItem

    deadline = time.monotonic() + seconds
    async with open_database(database_url):
        while (still_open := await InboxItem.filter(status__in=("pending", "processing")).count()) \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    return still_open


async def run(customers: int, turns: int, server_url: str | None, checkout: Path, split: bool, max_connections: int,
              worker_nice: int) -> None:
    api = CountingBotApi(TOKEN)
    fake = TestServer(api.make_app(), host="127.0.0.1")
    await fake.start_server()
    with tempfile.TemporaryDirectory() as directory:
        database_url = await fresh_database(server_url, Path(directory), "receipt")
        env = {**os.environ, "PLAINT_DATABASE_URL": database_url, "PLAINT_DATA_DIR": directory,
               "PLAINT_TELEGRAM_TOKEN": TOKEN, "PLAINT_TELEGRAM_WEBHOOK_SECRET": SECRET,
               "PLAINT_TELEGRAM_API_URL": str(fake.make_url("")).rstrip("/"), "PLAINT_LOG_LEVEL": "WARNING",
               "NO_PROXY": "127.0.0.1,localhost"}
        if split:
            env["PLAINT_SERVE_WORKERS"] = "false"
        subprocess.run([sys.executable, "-m", "bot", "db", "migrate"], cwd=checkout, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=checkout,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes = [server]
        if split:
            nice = ["nice", "-n", str(worker_nice)] if worker_nice else []
            processes.append(subprocess.Popen([*nice, sys.executable, "-m", "bot", "worker"], cwd=checkout, env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            await wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120)
            url = f"http://127.0.0.1:{port}{WEBHOOK}"
            update_ids = itertools.count(700_000_001)
            people = [TelegramCustomer(8_000_000 + number, f"C{number}", "en") for number in range(customers + 1)]
            for person in people:
                person._update_ids = update_ids
            answers: list[float] = []
            replies: list[float] = []
            missing: list[int] = []
            first_answers: list[float] = []
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                # One customer first: the models loaded, the caches warm.
                await talk(http, url, api, people[0], turns, [], [], [])
                started = time.perf_counter()
                slots = asyncio.Semaphore(max_connections) if max_connections else None
                await asyncio.gather(*(talk(http, url, api, person, turns, answers, replies, missing, first_answers,
                                            slots) for person in people[1:]))
                elapsed = time.perf_counter() - started
            # The check below counts turns: the processes stop once the inbox is empty (or after 5 minutes).
            still_open = await inbox_drained(database_url, 300)
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        receipts, stored = await stored_receipts(database_url)
        receipts -= turns
        stored -= turns
        await drop_database(server_url, database_url)
    await fake.close()
    kind = "PostgreSQL" if server_url else "SQLite"
    shape = "split: plaint serve (PLAINT_SERVE_WORKERS=false) + 1 plaint worker" if split else "one plaint serve"
    if split and worker_nice:
        shape += f" at nice {worker_nice}"
    if max_connections:
        shape += f", at most {max_connections} webhooks in flight"
    print(f"{checkout.name or checkout}: {kind}, {shape}, {customers} concurrent Telegram customers x {turns} "
          f"messages ({len(answers)} webhooks in {elapsed:.1f} s; load average {os.getloadavg()[0]:.1f} at the end, "
          "a shared 2-core machine)")
    p50, p99 = percentile(answers, 0.5), percentile(answers, 0.99)
    verdict = "MEETS" if p99 < TARGET_P99 else "ABOVE"
    print(f"  webhook answer  p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  max {max(answers) * 1000:7.1f} ms"
          f"   target p99 < {TARGET_P99 * 1000:.0f} ms: {verdict}")
    later = sorted(answers)
    for answer in first_answers:
        later.remove(answer)
    if later:
        print(f"    first messages (all {customers} sent at once{' as slots allow' if max_connections else ''}) p99 "
              f"{percentile(first_answers, 0.99) * 1000:7.1f} ms; later messages p50 "
              f"{percentile(later, 0.5) * 1000:7.1f} ms p99 {percentile(later, 0.99) * 1000:7.1f} ms")
    if replies:
        print(f"  reply at the API p50 {percentile(replies, 0.5) * 1000:7.1f} ms  p99 "
              f"{percentile(replies, 0.99) * 1000:7.1f} ms  (POST to first sendMessage)")
    print(f"  replies missing after 30 s: {len(missing)}; {stored} updates stored in the inbox, {receipts} turns "
          f"taken, for {len(answers)} updates sent; {still_open} inbox rows still open at the end")
    if receipts != len(answers) or stored != len(answers):
        raise SystemExit("LOST OR DUPLICATED updates")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--turns", type=int, default=5, help=f"messages per customer (at most {len(ANSWERS)})")
    parser.add_argument("--database-url", default=os.environ.get("PLAINT_BENCH_POSTGRES_URL", ""),
                        help="a PostgreSQL server (a fresh database is made and dropped); SQLite without it")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the Plaint checkout whose server runs")
    parser.add_argument("--split", action="store_true",
                        help="also measure plaint serve with PLAINT_SERVE_WORKERS=false plus one plaint worker")
    parser.add_argument("--max-connections", type=int, default=0,
                        help="webhooks in flight at most, like Telegram's max_connections (0: no limit)")
    parser.add_argument("--worker-nice", type=int, default=0, help="niceness of the plaint worker (with --split)")
    arguments = parser.parse_args()
    for split in (False, True) if arguments.split else (False,):
        asyncio.run(run(arguments.customers, min(arguments.turns, len(ANSWERS)),
                        arguments.database_url.rstrip("/") or None, arguments.checkout.resolve(), split,
                        arguments.max_connections, arguments.worker_nice))


if __name__ == "__main__":
    main()
