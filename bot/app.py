"""The aiohttp application: health check, evidence downloads and every route the composition root
collects; the application itself is built by bot/composition.py when the server starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from tortoise import connections

from bot.admin.dependencies import ADMIN_KEY
from bot.channels.web import MAX_UPLOAD_BYTES
from bot.composition import (
    EXTENSIONS,
    Application,
    Extensions,
    build_application,
    plan_application,
    serving_workers,
)
from bot.config import Settings
from bot.evidence_links import EvidenceDownloads
from bot.intake import ProposalSource
from bot.lifecycle.errors import SlaConfigError

log = logging.getLogger(__name__)

APPLICATION_KEY = web.AppKey("application", Application)


async def evidence_download(request: web.Request) -> web.StreamResponse:
    application = request.app[APPLICATION_KEY]
    return await EvidenceDownloads(application.evidence_links, application.evidence).download(request)


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/chat")


def _reload_flows_on_sighup(application: Application) -> None:
    """`kill -HUP` applies edited flow files; a broken one is logged and the last valid version stays."""
    def reload() -> None:
        application.flows.reload()
        try:
            application.sla_policies.reload()
        except SlaConfigError as error:
            log.error("SLA policies not reloaded, the last valid ones stay: %s", error)

    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


# On every answer the server gives, unless a page set its own (the chat page's CSP carries a nonce, the
# console's allows its styles): nothing may frame a page, sniff a type or learn where a customer came from.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def health(request: web.Request) -> web.Response:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as error:
        log.warning("health check: database down: %s", error)
        return web.json_response({"status": "database unavailable"}, status=503)
    return web.json_response({"status": "ok"})


def when_listening(app: web.Application) -> Callable[[str], None]:
    """`web.run_app(app, ..., print=when_listening(app))`: aiohttp calls its `print` once every site listens (it
    has no signal for that), which is when the NLP models start loading: their imports would slow start-up."""

    def listening(message: str) -> None:
        app[APPLICATION_KEY].start_loading_models()

    return listening


def build_app(
    settings: Settings, analyzer: ProposalSource | None = None, extensions: Extensions = EXTENSIONS
) -> web.Application:
    """Raises ConfigurationError before anything starts when the configuration cannot work."""
    blueprint = plan_application(settings, extensions=extensions)
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
    app.on_response_prepare.append(security_headers)
    app.router.add_get("/healthz", health)
    app.router.add_get("/", home)
    app.router.add_get("/evidence/{evidence_id}", evidence_download)
    app.router.add_routes(blueprint.routes())
    # /metrics, /readyz, correlation ids, 503 while draining at shutdown.
    blueprint.operations.install(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with (
            build_application(settings, analyzer=analyzer, blueprint=blueprint) as application,
            serving_workers(application),
        ):
            app[APPLICATION_KEY] = application
            app[ADMIN_KEY] = application.admin
            _reload_flows_on_sighup(application)
            log.info(
                "Plaint is serving on http://%s:%s/chat; channels on: %s",
                settings.host,
                settings.port,
                ", ".join(plugin.name for plugin in blueprint.plugins),
            )
            yield

    app.cleanup_ctx.append(lifecycle)
    return app
