"""Where a turn's time goes: `plaint serve` under cProfile while N customers each file a whole complaint over
the web chat (the load of bench/intake.py), then the top functions by own time and by cumulative time. The
profiler runs only while the measured customers run (switched on and off by signals after start-up and one
warm-up complaint), so start-up, model loading and first-use costs are not in the figures.

    .venv/bin/python bench/profile_intake.py [--customers 20] [--database-url postgres://...] [--top 25]
    .venv/bin/python bench/profile_intake.py --statements [--customers 20] [--database-url postgres://...]

cProfile sees the event loop's thread (the turns, the ORM, the drivers' Python side) and counts its CPU time
(time.thread_time), so waiting and preemption by other processes are not charged; the NLP worker thread and the
database server are outside it. With --statements the server runs without cProfile and counts every
statement Tortoise sends (transactions' BEGIN/COMMIT included), by the storage function that sent it: the
figure is statements per message, background workers included."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import cProfile
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from intake import drive, drop_database, free_port, fresh_database, wait_ready

ROOT = Path(__file__).resolve().parent.parent
EXECUTE_METHODS = ("execute_insert", "execute_many", "execute_query", "execute_query_dict", "execute_script")


def _sender() -> str:
    """The first of our functions on the stack: which storage or bot function sent the statement."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(str(ROOT)) and "/bench/" not in name and "/.venv/" not in name:
            return f"{Path(name).relative_to(ROOT)}:{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def serve_counting(output: Path, serve_arguments: list[str]) -> None:
    """`plaint serve` with every statement Tortoise sends counted by sender; the counts are written at exit."""
    from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
    from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper

    counts: collections.Counter[str] = collections.Counter()

    def counted(method: Any, kind: str) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            sql = str(args[0]) if args else ""
            counts[f"{_sender()} | {kind}: {' '.join(sql.split()[:4])[:60]}"] += 1
            return method(self, *args, **kwargs)

        return wrapper

    for client in (SqliteClient, SqliteTransactionWrapper, AsyncpgDBClient, TransactionWrapper):
        for name in EXECUTE_METHODS:
            if name in vars(client):
                setattr(client, name, counted(vars(client)[name], name))
        if "_in_transaction" in vars(client):
            # BEGIN and COMMIT: two more round trips per transaction.
            client._in_transaction = counted(vars(client)["_in_transaction"], "transaction")
    atexit.register(lambda: output.write_text(json.dumps(counts)))
    from bot.cli import main as plaint

    sys.argv = ["plaint", "serve", *serve_arguments]
    plaint()


def serve_profiling(output: Path, serve_arguments: list[str]) -> None:
    """`plaint serve` with cProfile on the event loop's thread between SIGUSR1 (on) and SIGUSR2 (off, the
    statistics written to `output`)."""
    # CPU time of the thread, not wall time: on a shared machine a wall clock charges whatever call was running
    # when the process was preempted (a socket send waking the database) with the other processes' time.
    profiler = cProfile.Profile(time.thread_time)

    def switch_on(signum: int, frame: Any) -> None:
        # A Python signal handler runs in the main thread, the event loop's: that thread is the one profiled.
        profiler.enable()

    def switch_off(signum: int, frame: Any) -> None:
        profiler.disable()
        profiler.dump_stats(str(output))

    signal.signal(signal.SIGUSR1, switch_on)
    signal.signal(signal.SIGUSR2, switch_off)
    from bot.cli import main as plaint

    sys.argv = ["plaint", "serve", *serve_arguments]
    plaint()


def print_statements(counts: dict[str, int], messages: int, top: int) -> None:
    statements = sum(count * (2 if "| transaction" in key else 1) for key, count in counts.items())
    transactions = sum(count for key, count in counts.items() if "| transaction" in key)
    print(f"{statements / messages:.1f} statements per message ({transactions / messages:.1f} transactions, "
          f"BEGIN and COMMIT counted in the statements), background workers included")
    for key, count in sorted(counts.items(), key=lambda item: -item[1])[:top]:
        print(f"{count / messages:>7.2f}  {key}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL; default SQLite")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--statements", action="store_true", help="count statements instead of profiling")
    parser.add_argument("--save", type=Path, help="also keep the cProfile statistics in this file (pstats)")
    arguments = parser.parse_args()
    server_url = arguments.database_url.rstrip("/") or None
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        url = await fresh_database(server_url, directory, "profile")
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PLAINT_LOG_LEVEL": "WARNING",
               "PLAINT_DATA_DIR": str(directory / "data"), "PLAINT_DATABASE_URL": url}
        try:
            subprocess.run([sys.executable, "-m", "bot", "db", "migrate"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            port = free_port()
            profile = directory / "serve.prof"
            counts = directory / "statements.json"
            command = [__file__, "--serve-counting" if arguments.statements else "--serve-profiling",
                       str(counts if arguments.statements else profile)]
            server = subprocess.Popen(
                [sys.executable, *command, "serve", "--port", str(port)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(f"{base}/healthz")
                warm = await drive([base], 1)  # models loaded, caches warm: start-up is not what is measured
                if not arguments.statements:
                    server.send_signal(signal.SIGUSR1)
                result = await drive([base], arguments.customers)
                if not arguments.statements:
                    server.send_signal(signal.SIGUSR2)
                    for _ in range(100):
                        if profile.exists():
                            break
                        await asyncio.sleep(0.1)
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=60)
            if arguments.statements:
                print(f"{arguments.customers} customers, {len(result.latencies)} messages, "
                      f"{'PostgreSQL' if server_url else 'SQLite'} (start-up and one warm-up complaint included)")
                # Start-up's statements are in the counts too; over a run of hundreds of messages they are few.
                print_statements(json.loads(counts.read_text()), len(warm.latencies) + len(result.latencies),
                                 arguments.top)
                return
            if arguments.save:
                shutil.copyfile(profile, arguments.save)
            stats = pstats.Stats(str(profile))
            busy = stats.total_tt  # type: ignore[attr-defined]
            print(f"{arguments.customers} customers, {len(result.latencies)} messages, "
                  f"{'PostgreSQL' if server_url else 'SQLite'}, steady state only: {result.rate:.1f} msg/s under "
                  f"the profiler, {busy:.2f} s of CPU on the event loop's thread = "
                  f"{busy / len(result.latencies) * 1000:.2f} ms per message (profiler overhead included); "
                  f"load average "
                  f"{os.getloadavg()[0]:.1f}")
            for order in ("tottime", "cumulative"):
                text = io.StringIO()
                pstats.Stats(str(profile), stream=text).strip_dirs().sort_stats(order).print_stats(arguments.top)
                lines = text.getvalue().splitlines()
                header = next(index for index, line in enumerate(lines) if "ncalls" in line)
                print(f"\n--- by {order} ---")
                print("\n".join(lines[header:]))
        finally:
            await drop_database(server_url, url)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] in ("--serve-counting", "--serve-profiling"):
        sys.path.insert(0, str(ROOT))
        serve = serve_counting if sys.argv[1] == "--serve-counting" else serve_profiling
        serve(Path(sys.argv[2]), sys.argv[4:])
    else:
        asyncio.run(main())
