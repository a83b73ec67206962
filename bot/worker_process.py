"""`plaint worker`: the composition's background workers (inbox turns, outbox deliveries, lifecycle timers,
spool sweeping, desk settings) without an HTTP server, beside `plaint serve` processes started with
PLAINT_SERVE_WORKERS=false, so the processes that answer webhooks do nothing heavy.

It exposes no port: its liveness is its heartbeat row (the web processes' /readyz counts the fresh ones).
SIGTERM or SIGINT stops it like `plaint serve`: the outbox worker finishes what it started
and gives back what it claimed; inbox turns in flight are cancelled and their rows taken again after the lease
(the turn is idempotent on the platform's message id)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.composition import build_application, check_worker_split, plan_application, running_workers
from bot.config import Settings
from bot.intake import ProposalSource

log = logging.getLogger(__name__)


def check_worker_settings(settings: Settings) -> None:
    """Raises ConfigurationError before anything starts when a worker process cannot work here."""
    check_worker_split(settings, worker_process=True)


async def run_worker_process(
    settings: Settings, *, analyzer: ProposalSource | None = None, stop: asyncio.Event | None = None
) -> None:
    """Until `stop` is set (by SIGTERM or SIGINT when not given)."""
    check_worker_settings(settings)
    # This process runs the workers whatever PLAINT_SERVE_WORKERS says (the web processes' setting, often shared).
    settings = settings.model_copy(update={"serve_workers": True})
    # Only the web processes serve routes; the plan is the same so that every channel and handler exists here.
    blueprint = plan_application(settings)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal_number, stop.set)
    async with (
        build_application(settings, analyzer=analyzer, blueprint=blueprint, slack_events=False) as application,
        running_workers(application),
    ):
        # Once the workers run (no listening socket to wait for here): the first turn needing NLP finds them in.
        application.start_loading_models()
        log.info("plaint worker running; channels: %s", ", ".join(sorted(application.inbox_worker.processors))
                 or "none taking stored updates")
        await stop.wait()
        log.info("plaint worker stopping")
