"""The console and the API as the server sees them: one list of routes, registered when the application is
built (aiohttp freezes its router at start-up), and one dependencies object built once the database is open
(open_admin), which the handlers find under ADMIN_KEY."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import jinja2
from aiohttp import web

from bot.admin.audit import AuditTrail
from bot.admin.auth import Authenticator
from bot.admin.cases import CaseActions
from bot.admin.flow_admin import FlowAdmin
from bot.desk.routing import RoutingConfig, RoutingConfigError, load_routing, parse_routing
from bot.desk.service import DeskService
from bot.evidence_links import EvidenceLinks
from bot.flow_registry import FlowRegistry
from bot.intake import ProposalSource
from storage.accounts import TortoiseAccounts
from storage.audit import TortoiseAuditLog
from storage.case_search import TortoiseCaseSearch
from storage.cases import TortoiseCaseRepository
from storage.desk import TortoiseDeskStore
from storage.flow_versions import TortoiseFlowVersions

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class AdminDependencies:
    authenticator: Authenticator
    accounts: TortoiseAccounts
    audit: AuditTrail
    audit_log: TortoiseAuditLog
    flows: FlowAdmin
    registry: FlowRegistry
    desk: DeskService
    case_actions: CaseActions
    cases: TortoiseCaseRepository
    case_search: TortoiseCaseSearch
    evidence_links: EvidenceLinks
    analyzer: Callable[[], ProposalSource | None]
    pages: jinja2.Environment


ADMIN_KEY = web.AppKey("admin", AdminDependencies)


def dependencies(request: web.Request) -> AdminDependencies:
    deps = request.config_dict.get(ADMIN_KEY)
    if deps is None:
        raise web.HTTPServiceUnavailable(text="the admin console is starting")
    return deps


def page_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )


# Without a routing file (Slack off, nothing to route to) the console still works cases with one team.
_NO_ROUTING = "default_team: general\nteams:\n  - {name: general, slack_channel: C0UNROUTED}\n"


def _routing(path: Path) -> RoutingConfig:
    try:
        return load_routing(path)
    except RoutingConfigError as error:
        log.warning("admin console: %s; case actions route every case to one team", error)
        return parse_routing(_NO_ROUTING, "built-in")


@asynccontextmanager
async def open_admin(
    *,
    registry: FlowRegistry,
    evidence_links: EvidenceLinks,
    routing_file: Path,
    secure_cookies: bool,
    analyzer: Callable[[], ProposalSource | None],
) -> AsyncIterator[AdminDependencies]:
    """Build the console's parts; call inside the open database (the composition root does)."""
    accounts = TortoiseAccounts()
    audit_log = TortoiseAuditLog()
    audit = AuditTrail(audit_log)
    desk = DeskService(TortoiseDeskStore(), _routing(routing_file))
    yield AdminDependencies(
        authenticator=Authenticator(accounts, secure_cookies),
        accounts=accounts,
        audit=audit,
        audit_log=audit_log,
        flows=FlowAdmin(registry, TortoiseFlowVersions(), audit),
        registry=registry,
        desk=desk,
        case_actions=CaseActions(desk, audit),
        cases=TortoiseCaseRepository(),
        case_search=TortoiseCaseSearch(),
        evidence_links=evidence_links,
        analyzer=analyzer,
        pages=page_environment(),
    )


def admin_routes() -> list[web.RouteDef]:
    """Every route of /admin and /api/v1, static assets included."""
    from bot.admin.api import api_routes
    from bot.admin.console import console_routes

    return [*api_routes(), *console_routes(), web.static("/admin/static", STATIC_DIR)]  # type: ignore[list-item]
