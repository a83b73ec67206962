"""The aiohttp application: health check, web chat, platform webhooks, the outbox worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from aiohttp import web
from tortoise import connections

from bot.channels.base import Channel
from bot.channels.slack import slack_plugin
from bot.channels.telegram_server import telegram_plugin
from bot.channels.web import TranscriptChannel, WebChat
from bot.channels.wechat import wechat_plugin
from bot.config import Settings
from bot.evidence_links import EvidenceDownloads
from bot.intake import ProposalSource
from bot.operations.runtime import Operations, connectors_for
from bot.outbox import ChannelDelivery
from bot.services import Services, open_services
from storage.database import is_postgres

log = logging.getLogger(__name__)

SERVICES_KEY = web.AppKey("services", Services)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class PlatformPlugin(Protocol):
    """A channel as the server sees it: routes registered at build time (aiohttp freezes its router at
    start-up), and a running phase, entered once the ORM is open, that yields the delivery Channel."""

    name: str

    def routes(self) -> list[web.RouteDef]: ...

    def running(self, services: Services) -> contextlib.AbstractAsyncContextManager[Channel]: ...


# Each platform module offers a factory: Settings -> plugin, or None when its credentials are missing.
PluginFactory = Callable[[Settings], PlatformPlugin | None]


def platform_plugin_factories() -> list[tuple[str, PluginFactory]]:
    return [
        ("telegram", telegram_plugin),
        ("slack", slack_plugin),
        ("wechat", wechat_plugin),
    ]


async def evidence_download(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES_KEY]
    return await EvidenceDownloads(services.evidence_links, services.evidence).download(request)


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/chat")


def _reload_flows_on_sighup(services: Services) -> None:
    """`kill -HUP` applies edited flow files; a broken one is logged and the last valid version stays."""
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, services.flows.reload)


async def health(request: web.Request) -> web.Response:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as error:
        log.warning("health check: database down: %s", error)
        return web.json_response({"status": "database unavailable"}, status=503)
    return web.json_response({"status": "ok"})


def build_app(settings: Settings, analyzer: ProposalSource | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
    app.router.add_get("/healthz", health)
    app.router.add_get("/", home)
    app.router.add_get("/evidence/{evidence_id}", evidence_download)
    plugins: list[PlatformPlugin] = [WebChat(settings.data_dir / "uploads", MAX_UPLOAD_BYTES)]
    for name, factory in platform_plugin_factories():
        plugin = factory(settings)
        if plugin is None:
            log.info("channel %s is off (no credentials configured)", name)
            continue
        plugins.append(plugin)
    for plugin in plugins:
        app.router.add_routes(plugin.routes())
    # Operations (issue 15): /metrics, /readyz, correlation ids, 503 while draining, webhook fan-out.
    operations = Operations(
        [plugin.name for plugin in plugins if plugin.name != "web"], connectors_for(settings)
    )
    operations.install(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # The intake queues "desk" notifications only when someone (the Slack desk) will deliver them.
        desk_enabled = any(plugin.name == "slack" for plugin in plugins)
        async with (
            open_services(settings, analyzer, desk_enabled=desk_enabled, metrics=operations.metrics) as services,
            contextlib.AsyncExitStack() as stack,
        ):
            app[SERVICES_KEY] = services
            services.channels["console"] = TranscriptChannel("console")
            for plugin in plugins:
                services.channels[plugin.name] = await stack.enter_async_context(plugin.running(services))
            _reload_flows_on_sighup(services)
            outbox = services.outbox = operations.outbox(skip_locked=is_postgres(settings.effective_database_url))
            await stack.enter_async_context(operations.running())
            operations.register_handlers(
                services.handlers, ChannelDelivery(services.channels), services.evidence_links.url
            )
            worker = services.build_worker()
            task = asyncio.create_task(worker.run(), name="outbox-worker")
            await stack.enter_async_context(operations.worker_running(outbox, task))
            log.info(
                "Plaint is serving on http://%s:%s/chat; channels on: %s",
                settings.host,
                settings.port,
                ", ".join(plugin.name for plugin in plugins),
            )
            # Leaving, operations.worker_running drains the worker: started deliveries finish, the rest go back.
            yield

    app.cleanup_ctx.append(lifecycle)
    return app
