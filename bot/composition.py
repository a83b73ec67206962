"""The composition root: the one place that builds and wires Plaint. Nothing else constructs a store, a
service or a channel for the running application.

Two phases, because aiohttp freezes its routes before the event loop serves anything:
- `plan_application(settings)` (synchronous, no I/O beyond reading configuration files): checks the
  configuration, decides which channels are on and collects every route. A broken configuration stops
  here with one `ConfigurationError` line.
- `build_application(...)` (an async context manager): builds, in order, the database, the stores, the flow
  registry, the intake, the desk service, the notifiers, the channels, the outbox handlers and the worker,
  lets Slack events in last, and yields one immutable `Application`. `running_workers(application)` then
  runs the outbox worker, the inbox worker and every extra background worker: inside `plaint serve`
  (`serving_workers`, unless PLAINT_SERVE_WORKERS=false) or in `plaint worker` processes (bot/worker_process.py).

The server (bot/app.py) and the CLI (bot/cli.py) both use this module.

Extending: a room adds ONE line to `EXTENSIONS` below: a route provider (admin pages, /metrics, webhooks
in), an outbox handler provider (webhooks out, connectors), a background worker (lifecycle timers: where the
workers run) or a process follower (settings edited elsewhere: in every process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.admin.dependencies import AdminDependencies
from bot.admin.desk_settings import SettingsFiles
from bot.admin.insight_pages import insight_routes
from bot.admin.nlp_console import nlp_console_routes
from bot.admin.privacy_console import privacy_console_routes
from bot.admin.routes import admin_routes, open_admin
from bot.analysis import ThreadedAnalyzer
from bot.channels.base import Channel, ChannelContext, ChannelPlugin, ReceivedUpdates, UploadLimits
from bot.channels.slack import SlackCustomers
from bot.channels.web import MAX_UPLOAD_BYTES, TRANSCRIPT_CHANNELS, TranscriptChannel, WebChat
from bot.channels.web_sessions import WebSessions
from bot.channels.wechat import wechat_plugin
from bot.config import Settings
from bot.desk.agent_files import AgentFiles
from bot.desk.delivery_watch import DeskDeliveryWatch
from bot.desk.notifier import SlackDeskNotifier
from bot.desk.routing import RoutingConfig, RoutingVocabulary, load_routing
from bot.desk.service import DeskService
from bot.desk.vocabulary import load_vocabulary
from bot.errors import ConfigurationError
from bot.evidence_links import EvidenceFileSource, EvidenceLinks, evidence_secret
from bot.flow_registry import FlowRegistry
from bot.inbox import InboxWorker, WakingInbox
from bot.insight.rollup_watch import TIMER_KIND as ROLLUP_TIMER_KIND
from bot.insight.rollup_watch import build_rollup_watch
from bot.insight.spike_watch import TIMER_KIND as SPIKE_TIMER_KIND
from bot.insight.spike_watch import build_spike_watch
from bot.intake import IntakeService, ProposalSource
from bot.lifecycle.case_thread import OUTBOX_KIND as CASE_THREAD_KIND
from bot.lifecycle.case_thread import OutboxCaseThreadNotifier
from bot.lifecycle.digest import DigestService
from bot.lifecycle.parts import LifecycleParts, build_lifecycle
from bot.lifecycle.sla_policy import SlaPolicyFile
from bot.lifecycle.slack_delivery import SlackCaseThreadDelivery
from bot.mailbox import TranscriptMailbox
from bot.operations.metrics import MeteredIntake, TimedProposals
from bot.operations.readiness import DrainableOutbox
from bot.operations.runtime import Operations, connectors_for
from bot.outbox import ChannelDelivery, OutboxHandler, OutboxWorker
from bot.passive_replies import PassiveReplyService
from bot.privacy.keys import DataKeyError, install_data_keyring
from bot.privacy.retention import TIMER_KIND as RETENTION_TIMER_KIND
from bot.privacy.retention import RetentionService
from bot.slack_app import SlackApp, SlackListenerSet
from bot.spool_sweeper import spool_directories, sweep_spools
from flows.definition import FilesStep, Flow
from storage.audit import TortoiseAuditLog
from storage.database import is_mysql, is_postgres, open_database, supports_row_locks
from storage.desk import TortoiseDeskStore
from storage.evidence import LocalEvidenceStore
from storage.flow_versions import TortoiseFlowVersions
from storage.inbox import INBOX_NOTIFY_CHANNEL, TortoiseInbox
from storage.intake import TortoiseIntakeStore
from storage.timers import TortoiseTimerStore
from storage.tokens import TortoiseSharedTokenStore
from storage.transcript import TortoiseTranscript
from storage.wakeups import PostgresAnnouncer, PostgresWakeups
from storage.web_links import TortoiseSpentLinks

log = logging.getLogger(__name__)


class OutboxBell:
    """Wakes this process's outbox worker after a commit that queued something. The intake and the desk
    are built before the worker and ring it; the worker is connected to it once it exists."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def connect(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def ring(self) -> None:
        for listener in self._listeners:
            listener()


@dataclass(frozen=True)
class Core:
    """The application before its channels: what an extra outbox handler may be built from."""

    settings: Settings
    flows: FlowRegistry
    evidence: LocalEvidenceStore
    evidence_links: EvidenceLinks
    outbox: DrainableOutbox
    intake: IntakeService
    desk: DeskService


@dataclass(frozen=True)
class Application:
    """Everything running, built once by `build_application` and never changed afterwards."""

    settings: Settings
    flows: FlowRegistry
    evidence: LocalEvidenceStore
    evidence_links: EvidenceLinks
    outbox: DrainableOutbox
    intake: IntakeService
    desk: DeskService
    channels: Mapping[str, Channel]
    handlers: Mapping[str, OutboxHandler]
    worker: OutboxWorker
    # Takes the turns of webhook updates stored on receipt (Telegram).
    inbox_worker: InboxWorker
    lifecycle: LifecycleParts
    sla_policies: SlaPolicyFile
    operations: Operations
    admin: AdminDependencies
    extensions: Extensions
    # Starts loading the NLP models in a background thread (once the server listens, once the console has
    # greeted: their imports would slow start-up down); a no-op when they are given loaded or already loading.
    start_loading_models: Callable[[], None] = lambda: None


# Extension points, one typed callable per kind.
# Routes: built before start-up (aiohttp freezes its router); handlers reach the running application with
# `request.app[APPLICATION_KEY]` (bot/app.py).
RouteProvider = Callable[[Settings], Sequence[web.RouteDef]]
# Outbox handlers: {outbox kind: handler}, built from the core once the database is open.
OutboxHandlerProvider = Callable[[Core], Mapping[str, OutboxHandler]]
# Background workers: run as tasks for the life of the server, cancelled at shutdown. Anything that must
# happen later is a row with a due time claimed by whichever worker is free (DESIGN.md), never a sleep.
BackgroundWorker = Callable[[Application], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Extensions:
    route_providers: tuple[RouteProvider, ...] = ()
    outbox_handlers: tuple[OutboxHandlerProvider, ...] = ()
    # Claim shared work (timers): they run where the workers run, `plaint worker` or `plaint serve` with its workers.
    background_workers: tuple[BackgroundWorker, ...] = ()
    # Keep one process in step (settings edited by another, files it may have left): they run in every process.
    process_followers: tuple[BackgroundWorker, ...] = ()


def _admin_routes(settings: Settings) -> Sequence[web.RouteDef]:
    return admin_routes()


async def _fire_timers(application: Application) -> None:
    await application.lifecycle.timer_worker.run()


async def _sweep_spools(application: Application) -> None:
    await sweep_spools(spool_directories(application.settings))


def _digests_following(digest: DigestService | None) -> Callable[[RoutingConfig], Awaitable[None]] | None:
    """Teams added or moved in the console get their daily digest without a restart (None without a desk)."""
    if digest is None:
        return None

    async def follow(routing: RoutingConfig) -> None:
        await digest.use_teams({team.name: team.slack_channel for team in routing.teams})

    return follow


async def _follow_desk_settings(application: Application) -> None:
    await application.admin.desk_settings.run()


# Rooms plug in here, one line each (e.g. `route_providers=(admin_routes,)`).
EXTENSIONS = Extensions(
    # insight first: /api/v1/cases/export before /cases/{number}
    route_providers=(insight_routes, _admin_routes, privacy_console_routes, nlp_console_routes),
    outbox_handlers=(),
    background_workers=(_fire_timers,),
    process_followers=(_sweep_spools, _follow_desk_settings),
)


@dataclass(frozen=True)
class Blueprint:
    """What is decided before the server starts: the configuration, checked, and which channels are on."""

    settings: Settings
    routing: RoutingConfig
    sla_policies: SlaPolicyFile
    operations: Operations
    slack: SlackApp | None
    slack_customers: SlackCustomers | None
    plugins: tuple[ChannelPlugin, ...]
    extensions: Extensions = field(default=EXTENSIONS)

    def routes(self) -> list[web.RouteDef]:
        routes: list[web.RouteDef] = []
        if self.slack is not None:
            routes += self.slack.routes()
        for plugin in self.plugins:
            routes += plugin.routes()
        for provider in self.extensions.route_providers:
            routes += provider(self.settings)
        return routes


def _telegram_plugin(settings: Settings) -> ChannelPlugin | None:
    """The channel is on when PLAINT_TELEGRAM_TOKEN is set; python-telegram-bot is imported only then (a fifth of
    a second of start-up)."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        return None
    from bot.channels.telegram_server import telegram_plugin

    return telegram_plugin(settings)


def check_worker_split(settings: Settings, *, worker_process: bool) -> None:
    """The web/worker split (`plaint worker`, or `plaint serve` with PLAINT_SERVE_WORKERS=false) needs a database
    several processes can write at once. SQLite has one writer, and Tortoise begins its transactions deferred: a
    turn that read and then writes fails ("database is locked") when the other process wrote in between, and the
    webhook's insert would queue on the file lock behind the turns anyway. Polling Telegram is one process's job."""
    if not worker_process and settings.serve_workers:
        return
    source = "plaint worker" if worker_process else "PLAINT_SERVE_WORKERS=false"
    url = settings.effective_database_url
    if not (is_postgres(url) or is_mysql(url)):
        raise ConfigurationError(
            source, "needs PostgreSQL or MariaDB/MySQL (PLAINT_DATABASE_URL); with SQLite run one `plaint serve` "
            "with its workers (PLAINT_SERVE_WORKERS=true, the default)"
        )
    if settings.telegram_token is not None and settings.telegram_mode == "polling":
        raise ConfigurationError(
            source, "PLAINT_TELEGRAM_MODE=polling fetches updates in one process; use the webhook with the split"
        )


def plan_application(
    settings: Settings, *, with_channels: bool = True, extensions: Extensions = EXTENSIONS
) -> Blueprint:
    """Raises ConfigurationError (one line: the variable or file, and why) when Plaint cannot start."""
    if with_channels:
        check_worker_split(settings, worker_process=False)
    # Checked against the taxonomy and catalog: a rule that can never match would silently mis-route.
    routing = load_routing(settings.slack_routing_file, RoutingVocabulary.load(settings.catalog_path))
    sla_policies = SlaPolicyFile(settings.sla_file)
    connectors = connectors_for(settings)
    if not with_channels:
        return Blueprint(settings, routing, sla_policies, Operations((), connectors), None, None, (), extensions)
    slack = SlackApp.from_settings(settings)
    slack_customers = SlackCustomers(slack, settings.slack_customer_channel_ids) if slack is not None else None
    candidates: list[tuple[str, ChannelPlugin | None]] = [
        ("telegram", _telegram_plugin(settings)),
        ("slack", slack_customers),
        ("wechat", wechat_plugin(settings, TortoiseSharedTokenStore())),
    ]
    web_sessions = WebSessions(
        evidence_secret(settings.evidence_secret.get_secret_value(), settings.data_dir),
        secure_cookies=settings.public_url.startswith("https://"),
    )
    plugins: list[ChannelPlugin] = [
        WebChat(
            settings.data_dir / "uploads", MAX_UPLOAD_BYTES, web_sessions, TortoiseSpentLinks(),
            public_url=settings.public_url,
        )
    ]
    for name, plugin in candidates:
        if plugin is None:
            log.info("channel %s is off (no credentials configured)", name)
        else:
            plugins.append(plugin)
    operations = Operations([plugin.name for plugin in plugins if plugin.name != "web"], connectors)
    return Blueprint(
        settings, routing, sla_policies, operations, slack, slack_customers, tuple(plugins), extensions
    )


@contextlib.asynccontextmanager
async def build_application(
    settings: Settings, *, analyzer: ProposalSource | None = None, blueprint: Blueprint | None = None,
    slack_events: bool = True,
) -> AsyncIterator[Application]:
    """The whole application, wired; closed in reverse order on exit. Without `slack_events` (a `plaint worker`)
    no Slack event gets in here (no Socket Mode connection): the web processes take them."""
    blueprint = blueprint or plan_application(settings)
    database_url = settings.effective_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Personal data is encrypted at rest: the data keys before anything reads or writes a row.
    try:
        install_data_keyring(settings)
    except DataKeyError as error:
        raise ConfigurationError("PLAINT_DATA_KEY", str(error)) from None
    # The ORM is opened first: tasks started before it cannot use it (LIBRARY-NOTES).
    async with open_database(database_url), contextlib.AsyncExitStack() as stack:
        # PostgreSQL and MariaDB/MySQL: row locks and SKIP LOCKED; SQLite: one writer, neither.
        row_locks = supports_row_locks(database_url)
        bell = OutboxBell()
        # Stores.
        evidence = LocalEvidenceStore(settings.evidence_dir)
        operations = blueprint.operations
        # Drainable: at shutdown, started deliveries finish and the rest go back to the queue.
        outbox = operations.outbox(skip_locked=row_locks)
        desk_store = TortoiseDeskStore()
        # Flow registry.
        flows = FlowRegistry(settings.flow_id, settings.flows_dir)
        flows.reload()
        # Flows live in the database from here on, shared by every worker (the shipped YAML seeds version 1).
        await flows.attach(TortoiseFlowVersions())
        # Retention: a daily timer (when a policy file exists) fired by the lifecycle room's timer worker.
        retention = RetentionService(
            policy_file=settings.retention_file, evidence=evidence, audit_log=TortoiseAuditLog(),
            timers=TortoiseTimerStore(skip_locked=row_locks),
        )
        # The lifecycle room: timers, SLA clocks, CSAT, housekeeping; it observes the intake and the desk.
        # Insight's spike watch runs on the lifecycle room's timers; alerts go to Slack through the outbox.
        spike_watch = build_spike_watch(settings, TortoiseTimerStore(skip_locked=row_locks),
                                        OutboxCaseThreadNotifier(), slack_on=blueprint.slack is not None)
        rollup_watch = build_rollup_watch(settings, TortoiseTimerStore(skip_locked=row_locks))
        lifecycle = build_lifecycle(
            policies=blueprint.sla_policies, row_locks=row_locks, timer_poll_interval=settings.timer_poll_interval,
            team_channels=(
                {team.name: team.slack_channel for team in blueprint.routing.teams} if blueprint.slack else None
            ),
            on_timer_fired=operations.metrics.timer_fired,
            other_timers={SPIKE_TIMER_KIND: spike_watch, RETENTION_TIMER_KIND: retention,
                          ROLLUP_TIMER_KIND: rollup_watch},
        )
        await retention.ensure_scheduled()
        # The NLP port of this application: catalog and taxonomy edits in the console change it (and only it).
        proposals = analyzer or ThreadedAnalyzer.load_default(settings.data_dir / "models", settings.catalog_path)
        if isinstance(proposals, ThreadedAnalyzer):
            # The models load in the background: /readyz sends traffic here once the turns need not wait.
            operations.readiness.require("nlp", _loading_models(proposals), "models loaded", "models loading")
        catalog_analyzer = proposals.fork() if isinstance(proposals, ThreadedAnalyzer) else None
        # The intake: desk events are queued only when a desk notifier will deliver them.
        intake = IntakeService(
            flows=flows,
            store=TortoiseIntakeStore(lock_rows=row_locks),
            evidence=evidence,
            analyzer=TimedProposals(catalog_analyzer or proposals, operations.metrics),
            desk_enabled=blueprint.slack is not None,
            timezone=ZoneInfo(settings.timezone),
            wake_outbox=bell.ring,
            surveys=lifecycle.answers,
            case_observer=lifecycle.observer,
            delivered_on_store=TRANSCRIPT_CHANNELS,
            count_delivered=operations.metrics.delivered_on_store,
        )
        # The desk's labels come from the catalog and taxonomy in force: the edited ones once an admin saves them.
        desk_nlp = catalog_analyzer or proposals
        # The desk service exists with or without Slack (the CLI, admin pages and timers use it).
        desk = DeskService(
            desk_store, blueprint.routing, wake_outbox=bell.ring, observer=lifecycle.observer,
            vocabulary=lambda: load_vocabulary(desk_nlp, desk_nlp.taxonomy if isinstance(desk_nlp, ThreadedAnalyzer)
                                               else None), audit=TortoiseAuditLog(),
        )
        lifecycle.csat.use_reopener(desk)
        lifecycle.housekeeping.use_closer(desk)
        lifecycle.duplicates.use_resolver(desk)
        if lifecycle.digest is not None:
            await lifecycle.digest.ensure_scheduled()
        await spike_watch.ensure_scheduled(datetime.now(UTC))
        await rollup_watch.ensure_scheduled(datetime.now(UTC))
        links = EvidenceLinks(
            evidence_secret(settings.evidence_secret.get_secret_value(), settings.data_dir), settings.public_url
        )
        core = Core(settings, flows, evidence, links, outbox, intake, desk)
        # The admin console and API act on cases through the same desk service as Slack.
        admin = await stack.enter_async_context(open_admin(
            registry=flows, evidence_links=links, desk=desk,
            secure_cookies=settings.public_url.startswith("https://"), analyzer=lambda: intake.analyzer,
            settings_files=SettingsFiles(
                **{name: path for name, path in (("catalog", settings.catalog_path),
                                                 ("routing", settings.slack_routing_file)) if path is not None},
                sla=settings.sla_file,
            ),
            sla_policies=blueprint.sla_policies, catalog_analyzer=catalog_analyzer,
            duplicates=lifecycle.duplicates, on_routing=_digests_following(lifecycle.digest),
        ))
        # Notifiers.
        handlers: dict[str, OutboxHandler] = {}
        if blueprint.slack is not None:
            handlers["desk"] = SlackDeskNotifier(blueprint.slack.client, desk, desk_store, links.url)
            handlers[CASE_THREAD_KIND] = SlackCaseThreadDelivery(
                blueprint.slack.client, lifecycle.sla_store, links.url
            )
        # Channels. Webhooks of plugins that can answer on receipt store the update in the inbox and answer at
        # once; the inbox worker takes the turn. WeChat keeps its turn inside the request (its passive reply
        # leaves in the HTTP answer), the web chat too (its page shows the reply to the POST).
        inbox = TortoiseInbox(skip_locked=row_locks)
        inbox_worker = InboxWorker(
            inbox,
            MappingProxyType({
                plugin.name: plugin for plugin in blueprint.plugins if isinstance(plugin, ReceivedUpdates)
            }),
            settings.outbox_poll_interval,
        )
        context = ChannelContext(
            sink=MeteredIntake(intake, operations.metrics),
            passive_replies=PassiveReplyService(outbox),
            mailbox=TranscriptMailbox(TortoiseTranscript(), links.url),
            inbox=WakingInbox(inbox, inbox_worker, await _announcing_inbox(stack, settings)),
            upload_limits=lambda: evidence_limits(flows.current()),
        )
        channels: dict[str, Channel] = {"console": TranscriptChannel("console")}
        for plugin in blueprint.plugins:
            channels[plugin.name] = await stack.enter_async_context(plugin.running(context))
        # Outbox handlers and worker.
        # An agent's message that can never reach the customer is told in the case thread.
        delivery = ChannelDelivery(MappingProxyType(channels), EvidenceFileSource(links, evidence))
        handlers["message"] = DeskDeliveryWatch(delivery, desk) if blueprint.slack is not None else delivery
        for provider in blueprint.extensions.outbox_handlers:
            handlers.update(provider(core))
        # Webhooks out and helpdesk connectors, then every kind counted and timed for /metrics.
        await stack.enter_async_context(operations.running())
        operations.register_handlers(handlers, handlers["message"], links.url)
        worker = OutboxWorker(outbox, MappingProxyType(handlers), settings.outbox_poll_interval)
        bell.connect(worker.wake)
        # Slack events get in last, once everything their listeners call exists.
        if blueprint.slack is not None and slack_events:
            # Imported only with Slack on: they import slack_bolt and slack_sdk (start-up time).
            from bot.desk.slack_listeners import SlackDeskListeners
            from bot.lifecycle.slack_listeners import SlackLifecycleListeners

            # Customers first: a message in a DM or a customer channel is theirs, even in a thread.
            listeners: list[SlackListenerSet] = [
                SlackDeskListeners(desk, blueprint.slack.client, AgentFiles(evidence, blueprint.slack)),
                SlackLifecycleListeners(lifecycle.duplicates, blueprint.slack.client),
            ]
            if blueprint.slack_customers is not None:
                listeners.insert(0, blueprint.slack_customers)
            # A customer's message or press is stored in the inbox before Slack gets its answer (HTTP events).
            on_receipt = blueprint.slack_customers.on_receipt if blueprint.slack_customers is not None else None
            await stack.enter_async_context(blueprint.slack.serving(listeners, on_receipt))
        yield Application(
            settings=settings,
            flows=flows,
            evidence=evidence,
            evidence_links=links,
            outbox=outbox,
            intake=intake,
            desk=desk,
            channels=MappingProxyType(channels),
            handlers=MappingProxyType(handlers),
            worker=worker,
            inbox_worker=inbox_worker,
            lifecycle=lifecycle,
            sla_policies=blueprint.sla_policies,
            operations=operations,
            admin=admin,
            extensions=blueprint.extensions,
            start_loading_models=(
                proposals.start_loading if isinstance(proposals, ThreadedAnalyzer) else lambda: None
            ),
        )


def _loading_models(analyzer: ThreadedAnalyzer) -> Callable[[], bool]:
    """The readiness check of the models. Asking starts their load: a server nobody told it listens (aiohttp's
    test server, a runner of its own) still gets ready, without a first turn waiting for it."""

    def loaded() -> bool:
        analyzer.start_loading()
        return analyzer.models_loaded()

    return loaded


async def _announcing_inbox(stack: contextlib.AsyncExitStack, settings: Settings) -> Callable[[], None] | None:
    """A web process that leaves its turns to `plaint worker` processes announces stored updates to them on
    PostgreSQL (running_workers listens); with its own workers, waking them in process is enough."""
    if settings.serve_workers or not is_postgres(settings.effective_database_url):
        return None
    announcer = PostgresAnnouncer(INBOX_NOTIFY_CHANNEL)
    task = asyncio.create_task(announcer.run(), name="inbox-announcer")
    stack.push_async_callback(_cancel_all, [task])
    return announcer.ring


@contextlib.asynccontextmanager
async def serving_workers(application: Application) -> AsyncIterator[None]:
    """What `plaint serve` runs beside answering HTTP: every worker (the default, one process does it all), or
    none with PLAINT_SERVE_WORKERS=false, where `plaint worker` processes take the queues and /readyz no longer
    waits for a worker of this process."""
    if not application.settings.serve_workers:
        application.operations.readiness.leave_work_to_other_processes()
        log.info("workers off here (PLAINT_SERVE_WORKERS=false): `plaint worker` processes take the queues")
        followers = _start(application, application.extensions.process_followers)
        try:
            yield
        finally:
            await _cancel_all(followers)
        return
    async with running_workers(application):
        yield


@contextlib.asynccontextmanager
async def running_workers(application: Application) -> AsyncIterator[None]:
    """The outbox worker (with its heartbeat for /readyz) and every extra background worker, as tasks; on exit
    the outbox worker is drained (started deliveries finish, the rest go back) and the others cancelled. On
    PostgreSQL the inbox worker is also woken by the notification of an update stored by another process."""
    outbox_task = asyncio.create_task(application.worker.run(), name="outbox-worker")
    inbox_task = asyncio.create_task(application.inbox_worker.run(), name="inbox-worker")
    extensions = application.extensions
    tasks = [inbox_task, *_start(application, (*extensions.background_workers, *extensions.process_followers))]
    if is_postgres(application.settings.effective_database_url) and application.inbox_worker.processors:
        wakeups = PostgresWakeups({INBOX_NOTIFY_CHANNEL: application.inbox_worker.wake})
        tasks.append(asyncio.create_task(wakeups.run(), name="wakeups"))
    try:
        async with application.operations.worker_running(application.outbox, outbox_task):
            yield
    finally:
        await _cancel_all([outbox_task, *tasks])


def _start(application: Application, workers: Sequence[BackgroundWorker]) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(worker(application), name=getattr(worker, "__name__", "background")) for worker in workers
    ]


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel until done: on Python 3.11, `asyncio.wait_for` loses a cancellation that arrives as its inner
    awaitable completes (the outbox worker's wake-up), and one cancel() is then not enough."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
    await asyncio.gather(*tasks, return_exceptions=True)


def evidence_limits(flow: Flow) -> UploadLimits | None:
    """The web chat checks files against these before uploading them: the flow's (first) evidence step."""
    step = next((step for step in flow.steps if isinstance(step, FilesStep)), None)
    return UploadLimits(step.max_bytes, tuple(step.allowed_kinds)) if step is not None else None
