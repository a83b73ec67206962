"""Start-up time: `plaint serve` until /healthz answers 200 (and until the first turn that needs the NLP
models is answered), and `plaint chat` until its greeting is printed, each from a fresh SQLite directory.

    .venv/bin/python bench/startup.py [--runs 5] [--no-bytecode-cache]

Prints the median and the worst of the runs beside the 1.5 s reference (issue 18). Python's bytecode cache is
on for the processes it starts, as in any installed deployment (in a directory of its own: PYTHONPYCACHEPREFIX),
even where the environment says PYTHONDONTWRITEBYTECODE; `--no-bytecode-cache` keeps the environment's setting,
and with it the compile of every Plaint module that has no cached bytecode, at every start."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SECONDS = 1.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process's main thread has used so far (Linux /proc): the start-up path itself,
    which other load on the machine cannot inflate (the NLP loader thread runs beside it)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Set by main(): where the started processes keep their bytecode (None: as the environment says).
BYTECODE_CACHE: Path | None = None


def environment(data_dir: Path) -> dict[str, str]:
    inherited = dict(os.environ)
    if BYTECODE_CACHE is not None:
        inherited.pop("PYTHONDONTWRITEBYTECODE", None)
        inherited["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    return {**inherited, "PLAINT_DATA_DIR": str(data_dir), "PLAINT_LOG_LEVEL": "WARNING",
            "NO_PROXY": "127.0.0.1,localhost"}


async def serve_once(data_dir: Path) -> tuple[float, float, float, float]:
    """(seconds to /healthz 200, CPU seconds used by then, seconds to /readyz 200 with the models loaded,
    seconds to the answer of a first message that the NLP step reads)."""
    port = free_port()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", str(port), cwd=ROOT, env=environment(data_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if process.returncode is not None:
                    raise RuntimeError("plaint serve exited")
                await asyncio.sleep(0.01)
            ready = time.perf_counter() - started
            ready_cpu = cpu_seconds(process.pid)
            # /readyz: database, migrations, worker heartbeat and the NLP models loaded in the background.
            while True:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.01)
            models = time.perf_counter() - started
            # A customer's whole story at once: the NLP step proposes the product and category.
            body = {"locale": "en", "text": "My new kettle started leaking after two days"}
            async with http.post(f"http://127.0.0.1:{port}/chat/api/message", json=body) as response:
                assert response.status == 200, await response.text()
            first_turn = time.perf_counter() - started
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
    return ready, ready_cpu, models, first_turn


async def chat_once(data_dir: Path) -> tuple[float, float]:
    """Seconds from starting `plaint chat` to its greeting on stdout, and the CPU seconds used by then."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", "--lang", "en", cwd=ROOT, env=environment(data_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(b"Hello\n")
    await process.stdin.drain()
    line = await process.stdout.readline()
    greeted = time.perf_counter() - started
    greeted_cpu = cpu_seconds(process.pid)
    assert line.strip(), "plaint chat printed nothing"
    process.stdin.close()
    await process.wait()
    return greeted, greeted_cpu


def row(label: str, samples: list[float]) -> str:
    return (f"{label:<40} {statistics.median(samples):>7.2f} {max(samples):>7.2f} {REFERENCE_SECONDS:>9.2f}"
            f"  {'ok' if statistics.median(samples) < REFERENCE_SECONDS else 'OVER'}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep the environment's PYTHONDONTWRITEBYTECODE (every start compiles what has no .pyc)")
    arguments = parser.parse_args()
    global BYTECODE_CACHE
    serve_ready: list[float] = []
    serve_cpu: list[float] = []
    serve_first_turn: list[float] = []
    serve_models: list[float] = []
    chat_greeting: list[float] = []
    chat_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        if not arguments.no_bytecode_cache:
            BYTECODE_CACHE = Path(scratch) / "bytecode"
        # The figures are of a restart, as an operator sees it: the schema is in place, caches are warm.
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "db", "migrate", cwd=ROOT, env=environment(Path(scratch) / "serve"),
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await migrate.wait() == 0
        await serve_once(Path(scratch) / "serve")
        await chat_once(Path(scratch) / "chat")
        for _ in range(arguments.runs):
            ready, ready_cpu, models, first_turn = await serve_once(Path(scratch) / "serve")
            serve_models.append(models)
            serve_ready.append(ready)
            serve_cpu.append(ready_cpu)
            serve_first_turn.append(first_turn)
            greeted, greeted_cpu = await chat_once(Path(scratch) / "chat")
            chat_greeting.append(greeted)
            chat_cpu.append(greeted_cpu)
    load = os.getloadavg()[0]
    cache = "off (--no-bytecode-cache)" if arguments.no_bytecode_cache else "on"
    print(f"start-up, {arguments.runs} runs, load average {load:.1f} on {os.cpu_count()} cores, bytecode cache {cache}")
    print(f"{'':<40} {'median':>7} {'worst':>7} {'reference':>9}")
    print(row("plaint serve: /healthz 200 (s)", serve_ready))
    print(row("  main thread CPU by then (s)", serve_cpu))
    print(row("plaint chat: greeting printed (s)", chat_greeting))
    print(row("  main thread CPU by then (s)", chat_cpu))
    print(f"{'plaint serve: /readyz 200, models in (s)':<40} {statistics.median(serve_models):>7.2f} "
          f"{max(serve_models):>7.2f} {'-':>9}")
    print(f"{'plaint serve: first NLP turn answered (s)':<40} {statistics.median(serve_first_turn):>7.2f} "
          f"{max(serve_first_turn):>7.2f} {'-':>9}")


if __name__ == "__main__":
    asyncio.run(main())
