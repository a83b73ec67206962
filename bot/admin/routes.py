"""The console and the API as the server sees them: one list of routes, registered when the application is
built (aiohttp freezes its router at start-up), and one dependencies object built once the database is open
(open_admin), which the handlers find under ADMIN_KEY."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from bot.admin.audit import AuditTrail
from bot.admin.auth import Authenticator
from bot.admin.cases import CaseActions, CaseDuplicates, DuplicateDecider
from bot.admin.dependencies import STATIC_DIR, AdminDependencies, page_environment
from bot.admin.desk_settings import DeskSettings, SettingsFiles
from bot.admin.flow_admin import FlowAdmin
from bot.analysis import ThreadedAnalyzer
from bot.desk.routing import RoutingConfig
from bot.desk.service import DeskService
from bot.evidence_links import EvidenceLinks
from bot.flow_registry import FlowRegistry
from bot.intake import ProposalSource
from bot.lifecycle.sla_policy import SlaPolicyFile
from storage.accounts import TortoiseAccounts
from storage.audit import TortoiseAuditLog
from storage.case_search import TortoiseCaseSearch
from storage.cases import TortoiseCaseRepository
from storage.flow_versions import TortoiseFlowVersions
from storage.settings_versions import TortoiseCaseViews, TortoiseSettingsVersions
from storage.webhooks import TortoiseWebhookStore

log = logging.getLogger(__name__)

@asynccontextmanager
async def open_admin(
    *,
    registry: FlowRegistry,
    evidence_links: EvidenceLinks,
    desk: DeskService,
    secure_cookies: bool,
    analyzer: Callable[[], ProposalSource | None],
    settings_files: SettingsFiles,
    sla_policies: SlaPolicyFile,
    catalog_analyzer: ThreadedAnalyzer | None,
    duplicates: DuplicateDecider | None = None,
    on_routing: Callable[[RoutingConfig], Awaitable[None]] | None = None,
) -> AsyncIterator[AdminDependencies]:
    """Build the console's parts; call inside the open database (the composition root does).
    `catalog_analyzer` is the NLP port edited catalogs and taxonomies go to (None: a test's fake NLP);
    `on_routing` is told every routing put in force (the daily digests follow the teams)."""
    accounts = TortoiseAccounts()
    audit_log = TortoiseAuditLog()
    audit = AuditTrail(audit_log)
    desk_settings = DeskSettings(
        TortoiseSettingsVersions(), audit, settings_files, desk=desk, sla_policies=sla_policies,
        analyzer=catalog_analyzer, on_routing=on_routing,
    )
    await desk_settings.start()
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
        desk_settings=desk_settings,
        webhooks=TortoiseWebhookStore(),
        case_views=TortoiseCaseViews(),
        duplicates=CaseDuplicates(duplicates, audit) if duplicates is not None else None,
    )


def admin_routes() -> list[web.RouteDef]:
    """Every route of /admin and /api/v1, static assets included."""
    from bot.admin.api import api_routes
    from bot.admin.console import console_routes
    from bot.admin.settings_pages import settings_routes

    return [*api_routes(), *console_routes(), *settings_routes(),
            web.static("/admin/static", STATIC_DIR)]  # type: ignore[list-item]
