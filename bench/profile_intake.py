"""Where a turn's time goes: `plaint serve` under cProfile while N customers each file a whole complaint over
the web chat (the load of bench/intake.py), then the top functions by own time and by cumulative time.

    .venv/bin/python bench/profile_intake.py [--customers 20] [--database-url postgres://...] [--top 25]

cProfile sees the event loop's thread (the turns, the ORM, the drivers' Python side); the NLP worker thread
and the database server are outside it."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from intake import drive, drop_database, free_port, fresh_database, wait_ready

ROOT = Path(__file__).resolve().parent.parent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL; default SQLite")
    parser.add_argument("--top", type=int, default=25)
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
            server = subprocess.Popen(
                [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "bot", "serve", "--port", str(port)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(f"{base}/healthz")
                await drive([base], 1)  # models loaded, caches warm: start-up is not what is measured
                result = await drive([base], arguments.customers)
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=60)
            print(f"{arguments.customers} customers, {len(result.latencies)} messages, "
                  f"{'PostgreSQL' if server_url else 'SQLite'} (start-up and one warm-up complaint included)")
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
    asyncio.run(main())
