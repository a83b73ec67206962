"""The operations parts as the composition root wires them: routes and middlewares at build time, outbox
handlers and background tasks once the ORM is open, the drain on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.case_events import CASE_EVENT_KIND
from bot.config import Settings
from bot.operations.connectors import TicketConnector, TicketQueue, TicketSync, helpdesk_connectors
from bot.operations.http_connector import load_connectors_file
from bot.operations.logs import request_correlation
from bot.operations.metrics import MeteredHandler, PlaintMetrics, PlatformHealth, metrics_route
from bot.operations.readiness import DrainableOutbox, Readiness
from bot.operations.webhooks import CaseEventFanOut, WebhookSender
from bot.outbox import OutboxHandler
from storage.cases import TortoiseCaseRepository
from storage.connectors import CONNECTOR_OUTBOX_KIND
from storage.operations import TortoiseOutboxDepth
from storage.timers import TortoiseTimerBacklog
from storage.webhooks import WEBHOOK_OUTBOX_KIND, TortoiseWebhookStore


def connectors_for(settings: Settings) -> list[TicketConnector]:
    """Zendesk and Freshdesk when configured, plus the HTTP connectors of PLAINT_CONNECTORS_FILE."""
    connectors = helpdesk_connectors(settings)
    if settings.connectors_file is not None:
        connectors.extend(load_connectors_file(settings.connectors_file))
    return connectors


class Operations:
    """Built with the app (no I/O); `running` is entered once the ORM is open."""

    def __init__(self, platforms: Sequence[str], connectors: Sequence[TicketConnector] = ()) -> None:
        self.connectors = tuple(connectors)
        self.metrics = PlaintMetrics()
        self.health = PlatformHealth()
        self.readiness = Readiness(platforms, self.health)
        self._http: aiohttp.ClientSession | None = None

    def middlewares(self) -> list[Middleware]:
        return [request_correlation, self.readiness.refuse_while_draining]

    def routes(self) -> list[web.RouteDef]:
        return [
            metrics_route(self.metrics, TortoiseOutboxDepth(), TortoiseTimerBacklog()),
            web.get("/readyz", self.readiness.readyz),
        ]

    def install(self, app: web.Application) -> None:
        app[OPERATIONS_KEY] = self
        app.middlewares.extend(self.middlewares())
        app.router.add_routes(self.routes())
        app.on_shutdown.append(self.readiness.start_draining)

    def _session(self) -> aiohttp.ClientSession:
        assert self._http is not None, "operations are not running"
        return self._http

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as http:
            self._http = http
            try:
                yield
            finally:
                self._http = None

    def outbox(self, *, skip_locked: bool) -> DrainableOutbox:
        return DrainableOutbox(skip_locked=skip_locked)

    def register_handlers(
        self,
        handlers: MutableMapping[str, OutboxHandler],
        message_handler: OutboxHandler,
        evidence_url: Callable[[int], str],
    ) -> None:
        """Add the operations' outbox kinds, then time and count every kind (the channels' too)."""
        store = TortoiseWebhookStore()
        handlers.setdefault("message", message_handler)
        cases = TortoiseCaseRepository()
        queues = [TicketQueue(connector.name) for connector in self.connectors]
        handlers[CASE_EVENT_KIND] = CaseEventFanOut(store, cases, evidence_url, queues)
        handlers[CONNECTOR_OUTBOX_KIND] = TicketSync(self.connectors, cases, evidence_url, self._session)
        handlers[WEBHOOK_OUTBOX_KIND] = WebhookSender(store, self._session, self.metrics)
        for kind, handler in list(handlers.items()):
            if not isinstance(handler, MeteredHandler):
                handlers[kind] = MeteredHandler(kind, handler, self.metrics, self.health)

    @asynccontextmanager
    async def worker_running(self, outbox: DrainableOutbox, worker: asyncio.Task[None]) -> AsyncIterator[None]:
        """Beat while the worker runs; on the way out drain it (finish started deliveries, release the rest)."""
        stop = asyncio.Event()
        heartbeat = asyncio.create_task(self.readiness.heartbeat(worker, stop), name="worker-heartbeat")
        try:
            yield
        finally:
            await outbox.drain(worker)
            stop.set()
            await heartbeat


OPERATIONS_KEY = web.AppKey("operations", Operations)
