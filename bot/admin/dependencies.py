"""What the console's and the API's handlers share: the dependencies object, built once by the composition
root (bot/admin/routes.py's open_admin) and found by every handler under ADMIN_KEY."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from aiohttp import web

from bot.admin.audit import AuditTrail
from bot.admin.auth import Authenticator
from bot.admin.cases import CaseActions, CaseDuplicates
from bot.admin.desk_settings import DeskSettings
from bot.admin.flow_admin import FlowAdmin
from bot.desk.service import DeskService
from bot.evidence_links import EvidenceLinks
from bot.flow_registry import FlowRegistry
from bot.intake import ProposalSource
from storage.accounts import TortoiseAccounts
from storage.audit import TortoiseAuditLog
from storage.case_search import TortoiseCaseSearch
from storage.cases import TortoiseCaseRepository
from storage.settings_versions import TortoiseCaseViews
from storage.webhooks import TortoiseWebhookStore

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
    desk_settings: DeskSettings
    webhooks: TortoiseWebhookStore
    case_views: TortoiseCaseViews
    # Link / Not a duplicate on the case page (None: no lifecycle room, as in some tests).
    duplicates: CaseDuplicates | None = None


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
