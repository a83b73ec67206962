"""The REST API under /api/v1: one table of endpoints from which both the routes and the OpenAPI document
are built. Every endpoint names the permission it needs (401 without credentials, 403 without the role),
validates its input with the models in bot.admin.models and answers errors as {"errors": [...]}."""

from __future__ import annotations

import csv
import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.admin.audit import Via, audit_unmasked
from bot.admin.auth import CSRF_HEADER, Principal
from bot.admin.cases import CaseNotFoundError, case_out, list_item
from bot.admin.dependencies import dependencies
from bot.admin.desk_settings import CurrentSettings, SettingsInvalid, SettingsKind, catalog_from_csv
from bot.admin.errors import AdminError, CaseActionRefused, FlowInvalid, FlowNotFound, FlowProblem
from bot.admin.flow_admin import NothingToPublish
from bot.admin.models import (
    AuditEntryOut,
    AuditList,
    AuditQuery,
    ButtonOut,
    CaseActionRequest,
    CaseActionResult,
    CaseList,
    CaseListQuery,
    CaseOut,
    CaseViewCreate,
    CaseViewList,
    CaseViewOut,
    CatalogDocument,
    DeliveryList,
    DeliveryOut,
    DeliveryQuery,
    DiffOut,
    DiffQuery,
    DraftOut,
    DraftSaved,
    ErrorDocument,
    ErrorItem,
    FlowDefinitionBody,
    FlowList,
    FlowListItem,
    FlowOut,
    LocalizedTitle,
    ProposalOut,
    PublishResult,
    Removed,
    RenderedReply,
    RollbackRequest,
    SettingsDocumentBody,
    SettingsOut,
    SettingsSaved,
    SimulatedTurn,
    SimulateOut,
    SimulateRequest,
    TaxonomyDocument,
    VersionItem,
    VersionOut,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookWithSecret,
)
from bot.admin.roles import Permission, allows
from bot.admin.simulate import simulate
from flows import Flow
from storage.audit import AuditFilter, decode_cursor, encode_cursor
from storage.case_search import CaseFilter
from storage.settings_versions import CaseViewNameTaken, StoredCaseView
from storage.webhooks import DeliveryNotFound, DeliveryRecord, SubscriptionNotFound, SubscriptionRecord

if TYPE_CHECKING:
    from bot.admin.dependencies import AdminDependencies

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


class ApiProblem(AdminError):
    """An answer other than success, with its status and the errors to list."""

    def __init__(self, status: int, errors: list[ErrorItem]) -> None:
        super().__init__(errors[0].message if errors else str(status))
        self.status = status
        self.errors = errors


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def problem(status: int, message: str, field_name: str | None = None) -> ApiProblem:
    return ApiProblem(status, [ErrorItem(step=None, field=field_name, message=message)])


def error_items(problems: tuple[FlowProblem, ...], severity: str = "error") -> list[ErrorItem]:
    return [ErrorItem(step=p.step, field=p.field, message=p.message) for p in problems if p.severity == severity]


def validation_items(error: ValidationError) -> list[ErrorItem]:
    return [
        ErrorItem(step=None, field=".".join(str(part) for part in item["loc"]) or None,
                  message=str(item["msg"]).removeprefix("Value error, "))
        for item in error.errors(include_url=False)
    ]


@dataclass(frozen=True)
class Call:
    request: web.Request
    deps: AdminDependencies
    principal: Principal
    body: Any
    query: Any

    def path(self, name: str) -> str:
        return self.request.match_info[name]


Handler = Callable[[Call], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # OpenAPI form, e.g. /flows/{flow_id}
    route: str  # aiohttp form, with patterns
    permission: Permission
    summary: str
    handler: Handler
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    yaml_body: bool = False
    csv_body: bool = False
    errors: tuple[int, ...] = field(default=(401, 403, 404, 422))


def _error_response(status: int, errors: list[ErrorItem]) -> web.Response:
    response = web.json_response(ErrorDocument(errors=errors).model_dump(mode="json"), status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="plaint"'
    return response


async def _read_body(request: web.Request, endpoint: Endpoint) -> Any:
    raw = await request.read()
    content_type = request.content_type
    try:
        if endpoint.yaml_body and content_type in YAML_TYPES:
            document = yaml.safe_load(raw.decode("utf-8"))
        elif endpoint.csv_body and content_type == "text/csv":
            document = catalog_from_csv(raw.decode("utf-8"))
        else:
            document = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, yaml.YAMLError, csv.Error) as error:
        kind = "YAML" if content_type in YAML_TYPES else "CSV" if content_type == "text/csv" else "JSON"
        raise problem(422, f"the body is not valid {kind}: {str(error).splitlines()[0]}") from error
    assert endpoint.body is not None
    if endpoint.body is FlowDefinitionBody:
        if not isinstance(document, dict):
            raise problem(422, "the body must be a flow definition (a mapping with title, start, steps, ...)")
        return document
    if endpoint.body is SettingsDocumentBody:
        if not isinstance(document, dict):
            raise problem(422, "the body must be a mapping (the settings file's shape)")
        return document
    try:
        return endpoint.body.model_validate(document)
    except ValidationError as error:
        raise ApiProblem(422, validation_items(error)) from error


def endpoint_handler(endpoint: Endpoint, via: Via = "api") -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            deps = dependencies(request)
            principal = await deps.authenticator.principal(request, via)
            if principal is None:
                raise problem(401, "authentication required: a bearer token or a console session")
            if not allows(principal.role, endpoint.permission):
                raise problem(403, f"the role {principal.role.value} may not do this ({endpoint.permission.value})")
            if request.method not in ("GET", "HEAD") and not deps.authenticator.csrf_valid(
                principal, request.headers.get(CSRF_HEADER)
            ):
                raise problem(403, f"CSRF token missing or wrong (send the session's token in {CSRF_HEADER})")
            query = None
            if endpoint.query is not None:
                try:
                    query = endpoint.query.model_validate(dict(request.query))
                except ValidationError as error:
                    raise ApiProblem(422, validation_items(error)) from error
            body = await _read_body(request, endpoint) if endpoint.body is not None else None
            result = await endpoint.handler(Call(request, deps, principal, body, query))
            return web.json_response(result.model_dump(mode="json", by_alias=True))
        except ApiProblem as error:
            return _error_response(error.status, error.errors)
        except FlowInvalid as error:
            return _error_response(422, error_items(error.problems))
        except FlowNotFound as error:
            return _error_response(404, [ErrorItem(step=None, field=None, message=str(error))])
        except CaseNotFoundError as error:
            return _error_response(404, [ErrorItem(step=None, field=None, message=str(error))])
        except NothingToPublish as error:
            return _error_response(409, [ErrorItem(step=None, field=None, message=str(error))])
        except CaseActionRefused as error:
            return _error_response(error.status, [ErrorItem(step=None, field=None, message=error.reason)])
        except SettingsInvalid as error:
            return _error_response(422, [ErrorItem(step=None, field=p.path, message=p.message)
                                         for p in error.problems])
        except (SubscriptionNotFound, DeliveryNotFound) as error:
            return _error_response(404, [ErrorItem(step=None, field=None, message=str(error))])

    return handle


# --- flows ----------------------------------------------------------------------------------------------------


async def list_flows(call: Call) -> FlowList:
    return FlowList(
        flows=[
            FlowListItem(flow_id=item.flow_id, title=LocalizedTitle(en=item.title_en, zh=item.title_zh),
                         published_version=item.published_version, has_draft=item.has_draft)
            for item in await call.deps.flows.summaries()
        ]
    )


async def get_flow(call: Call) -> FlowOut:
    detail = await call.deps.flows.detail(call.path("flow_id"))
    draft = None
    if detail.draft is not None:
        draft = DraftOut(definition=detail.draft.definition, updated_by=detail.draft.updated_by,
                         updated_at=detail.draft.updated_at, warnings=error_items(detail.draft.problems, "warning"))
    return FlowOut(
        flow_id=detail.flow_id, published_version=detail.published_version, published=detail.published, draft=draft,
        versions=[VersionItem(version=v.version, published_by=v.published_by, note=v.note, created_at=v.created_at)
                  for v in detail.versions],
    )


async def put_draft(call: Call) -> DraftSaved:
    flow_id = call.path("flow_id")
    problems = await call.deps.flows.save_draft(flow_id, call.body, call.principal.actor)
    return DraftSaved(flow_id=flow_id, warnings=error_items(problems, "warning"))


async def publish_flow(call: Call) -> PublishResult:
    return PublishResult(version=await call.deps.flows.publish(call.path("flow_id"), call.principal.actor))


def _version(call: Call) -> int:
    value = call.path("version")
    if not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise problem(404, f"no version {value!r}")
    return int(value)


async def get_version(call: Call) -> VersionOut:
    flow_id = call.path("flow_id")
    number = _version(call)
    return VersionOut(flow_id=flow_id, version=number, definition=await call.deps.flows.version(flow_id, number))


async def diff_versions(call: Call) -> DiffOut:
    flow_id = call.path("flow_id")
    query: DiffQuery = call.query
    changes = await call.deps.flows.diff(flow_id, query.from_, query.to)
    return DiffOut(flow_id=flow_id, from_version=query.from_, to_version=query.to, changes=changes)


async def rollback_flow(call: Call) -> PublishResult:
    body: RollbackRequest = call.body
    version = await call.deps.flows.rollback(call.path("flow_id"), body.version, call.principal.actor)
    return PublishResult(version=version)


async def simulate_flow(call: Call) -> SimulateOut:
    flow_id = call.path("flow_id")
    body: SimulateRequest = call.body
    if body.source == "draft":
        definition = await call.deps.flows.working_copy(flow_id)
        flow, problems = await call.deps.flows.check(flow_id, definition)
        if flow is None:
            raise FlowInvalid(problems)
        version = None
    else:
        flow = Flow.model_validate(await call.deps.flows.version(flow_id, body.source))
        version = body.source
    turns = await simulate(flow, body.channel, body.lang, body.messages, call.deps.analyzer())
    return SimulateOut(
        flow_id=flow_id, version=version, channel=body.channel,
        turns=[
            SimulatedTurn(
                said=turn.said,
                replies=[RenderedReply(text=part.text, buttons=[ButtonOut(value=b.value, label=b.label)
                                                                for b in part.buttons]) for part in turn.replies],
                proposals=[ProposalOut(field=p.field, value=p.value, label=p.label, confidence=p.confidence)
                           for p in turn.proposals],
                step=turn.step, case_filed=turn.case_filed,
            )
            for turn in turns
        ],
    )


# --- cases ----------------------------------------------------------------------------------------------------


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    before = decode_cursor(value)
    if before is None:
        raise problem(422, "this cursor is not one Plaint gave out", "cursor")
    return before


async def list_cases(call: Call) -> CaseList:
    query: CaseListQuery = call.query
    where = CaseFilter(query.status, query.team, query.category, query.product, query.channel, query.language,
                       query.since, query.until, query.text)
    page = await call.deps.case_search.page(where, query.limit, _cursor(query.cursor))
    masked = not allows(call.principal.role, Permission.CONTACTS_READ)
    if not masked and page.cases:
        await audit_unmasked(call.deps.audit, call.principal.actor, call.request, "cases", "list",
                             {"cases": [case.number for case in page.cases]})
    return CaseList(cases=[list_item(case, masked) for case in page.cases],
                    next_cursor=encode_cursor(page.last_id) if page.last_id else None)


async def get_case(call: Call) -> CaseOut:
    masked = not allows(call.principal.role, Permission.CONTACTS_READ)
    case = await case_out(call.deps, call.path("number"), masked)
    if not masked:
        # Like the console's "Show contact details": who read which case's personal data, through what.
        await audit_unmasked(call.deps.audit, call.principal.actor, call.request, "case", case.number)
    return case


async def case_action(call: Call) -> CaseActionResult:
    body: CaseActionRequest = call.body
    key = call.request.headers.get("Idempotency-Key") or uuid.uuid4().hex
    return await call.deps.case_actions.apply(call.path("number"), body, call.principal.actor, key[:200])


# --- audit ----------------------------------------------------------------------------------------------------


async def list_audit(call: Call) -> AuditList:
    query: AuditQuery = call.query
    where = AuditFilter(query.actor, query.object, query.object_id, query.since, query.until)
    page = await call.deps.audit_log.page(where, query.limit, _cursor(query.cursor))
    return AuditList(
        entries=[
            AuditEntryOut(id=e.id, actor=e.actor, via=e.via, source_ip=e.source_ip, action=e.action,
                          object=e.object_type, object_id=e.object_id, changes=e.changes, before=e.before,
                          after=e.after, created_at=e.created_at)
            for e in page.entries
        ],
        next_cursor=page.next_cursor,
    )


# --- desk settings: catalog, taxonomy, routing, SLA policies ----------------------------------------------------


def _settings_out(current: CurrentSettings) -> SettingsOut:
    return SettingsOut(kind=current.kind, version=current.version, saved_by=current.saved_by,
                       saved_at=current.saved_at, document=current.document)


def settings_handlers(kind: SettingsKind) -> tuple[Handler, Handler]:
    async def get_settings(call: Call) -> SettingsOut:
        return _settings_out(await call.deps.desk_settings.current(kind))

    async def put_settings(call: Call) -> SettingsSaved:
        version = await call.deps.desk_settings.save(kind, call.body, call.principal.actor)
        return SettingsSaved(kind=kind, version=version)

    name = kind.replace("-", "_")
    get_settings.__name__, put_settings.__name__ = f"get_{name}", f"put_{name}"
    return get_settings, put_settings


# --- webhook subscriptions --------------------------------------------------------------------------------------


def webhook_out(record: SubscriptionRecord) -> WebhookOut:
    return WebhookOut(id=record.id, url=record.url, events=list(record.events),
                      personal_data=record.may_see_personal_data, active=record.active, created_at=record.created_at)


def delivery_out(record: DeliveryRecord) -> DeliveryOut:
    return DeliveryOut(id=record.id, webhook_id=record.subscription_id, event_id=record.event_id,
                       event=record.event_type, case_number=record.case_number, status=record.status,
                       attempts=record.attempts, last_status_code=record.last_status_code,
                       last_error=record.last_error, replay_of=record.replay_of, created_at=record.created_at,
                       delivered_at=record.delivered_at)


def _id(call: Call, name: str) -> int:
    value = call.path(name)
    if not value.isdigit() or len(value) > 9:
        raise problem(404, f"no {name.removesuffix('_id')} {value!r}")
    return int(value)


async def list_webhooks(call: Call) -> WebhookList:
    return WebhookList(webhooks=[webhook_out(record) for record in await call.deps.webhooks.subscriptions()])


async def add_webhook(call: Call) -> WebhookWithSecret:
    body: WebhookCreate = call.body
    secret = body.secret or new_webhook_secret()
    record = await call.deps.webhooks.add_subscription(body.url, body.events, secret, body.personal_data)
    after = {"url": record.url, "events": list(record.events), "personal_data": record.may_see_personal_data}
    await call.deps.audit.record(call.principal.actor, "add", "webhook", str(record.id), None, after)
    return WebhookWithSecret(webhook=webhook_out(record), secret=secret)


async def rotate_webhook_secret(call: Call) -> WebhookWithSecret:
    subscription_id = _id(call, "webhook_id")
    secret = new_webhook_secret()
    record = await call.deps.webhooks.update_subscription(subscription_id, secret=secret)
    # The audit says that the secret changed, never what it is.
    await call.deps.audit.record(call.principal.actor, "rotate-secret", "webhook", str(record.id),
                                 {"secret": "(old)"}, {"secret": "(new)"})
    return WebhookWithSecret(webhook=webhook_out(record), secret=secret)


def webhook_switch(active: bool) -> Handler:
    async def switch(call: Call) -> WebhookOut:
        subscription_id = _id(call, "webhook_id")
        before = await call.deps.webhooks.subscription(subscription_id)
        record = await call.deps.webhooks.update_subscription(subscription_id, active=active)
        await call.deps.audit.record(call.principal.actor, "enable" if active else "disable", "webhook",
                                     str(record.id), {"active": before.active}, {"active": record.active})
        return webhook_out(record)

    switch.__name__ = "enable_webhook" if active else "disable_webhook"
    return switch


async def remove_webhook(call: Call) -> Removed:
    subscription_id = _id(call, "webhook_id")
    before = await call.deps.webhooks.subscription(subscription_id)
    await call.deps.webhooks.remove_subscription(subscription_id)
    await call.deps.audit.record(call.principal.actor, "remove", "webhook", str(subscription_id),
                                 {"url": before.url, "events": list(before.events)}, None)
    return Removed(removed=subscription_id)


async def webhook_deliveries(call: Call) -> DeliveryList:
    subscription_id = _id(call, "webhook_id")
    await call.deps.webhooks.subscription(subscription_id)
    query: DeliveryQuery = call.query
    records = await call.deps.webhooks.deliveries(query.status, query.limit, subscription_id)
    return DeliveryList(deliveries=[delivery_out(record) for record in records])


async def replay_delivery(call: Call) -> DeliveryOut:
    delivery_id = _id(call, "delivery_id")
    try:
        record = await call.deps.webhooks.replay(delivery_id)
    except SubscriptionNotFound:
        raise problem(409, f"delivery {delivery_id}'s webhook was removed; nothing to replay to") from None
    await call.deps.audit.record(call.principal.actor, "replay", "webhook-delivery", str(delivery_id),
                                 None, {"replay": record.id})
    return delivery_out(record)


# --- saved case views -------------------------------------------------------------------------------------------


def view_out(view: StoredCaseView) -> CaseViewOut:
    return CaseViewOut(id=view.id, name=view.name, filters=view.query, created_by=view.created_by,
                       created_at=view.created_at)


async def list_case_views(call: Call) -> CaseViewList:
    return CaseViewList(views=[view_out(view) for view in await call.deps.case_views.all()])


async def add_case_view(call: Call) -> CaseViewOut:
    body: CaseViewCreate = call.body
    try:
        view = await call.deps.case_views.create(body.name, body.filters, call.principal.actor.name)
    except CaseViewNameTaken as error:
        raise problem(409, str(error), "name") from None
    await call.deps.audit.record(call.principal.actor, "add", "case-view", str(view.id), None,
                                 {"name": view.name, **view.query})
    return view_out(view)


async def remove_case_view(call: Call) -> Removed:
    view_id = _id(call, "view_id")
    view = await call.deps.case_views.delete(view_id)
    if view is None:
        raise problem(404, f"no saved view {view_id}")
    await call.deps.audit.record(call.principal.actor, "remove", "case-view", str(view_id),
                                 {"name": view.name, **view.query}, None)
    return Removed(removed=view_id)


_CATALOG = settings_handlers("catalog")
_TAXONOMY = settings_handlers("taxonomy")
_ROUTING = settings_handlers("routing")
_SLA = settings_handlers("sla")


_FLOW = r"{flow_id:[A-Za-z][A-Za-z0-9_-]{0,63}}"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/flows", "/flows", Permission.FLOWS_READ, "List flows", list_flows, FlowList,
             errors=(401, 403)),
    Endpoint("GET", "/flows/{flow_id}", f"/flows/{_FLOW}", Permission.FLOWS_READ,
             "A flow: its published version, its draft and its version list", get_flow, FlowOut),
    Endpoint("PUT", "/flows/{flow_id}/draft", f"/flows/{_FLOW}/draft", Permission.FLOWS_WRITE,
             "Save the draft (JSON, or YAML with Content-Type: application/yaml); 422 lists every problem",
             put_draft, DraftSaved, body=FlowDefinitionBody, yaml_body=True),
    Endpoint("POST", "/flows/{flow_id}/publish", f"/flows/{_FLOW}/publish", Permission.FLOWS_WRITE,
             "Publish the draft as a new version", publish_flow, PublishResult, errors=(401, 403, 404, 409, 422)),
    Endpoint("GET", "/flows/{flow_id}/versions/{version}", f"/flows/{_FLOW}/versions/{{version}}",
             Permission.FLOWS_READ, "One published version", get_version, VersionOut),
    Endpoint("GET", "/flows/{flow_id}/diff", f"/flows/{_FLOW}/diff", Permission.FLOWS_READ,
             "What changed between two versions, in words", diff_versions, DiffOut, query=DiffQuery),
    Endpoint("POST", "/flows/{flow_id}/rollback", f"/flows/{_FLOW}/rollback", Permission.FLOWS_WRITE,
             "Publish a copy of an earlier version as a new version", rollback_flow, PublishResult,
             body=RollbackRequest),
    Endpoint("POST", "/flows/{flow_id}/simulate", f"/flows/{_FLOW}/simulate", Permission.FLOWS_READ,
             "Chat with the draft or a version as a channel would show it; nothing is stored", simulate_flow,
             SimulateOut, body=SimulateRequest),
    Endpoint("GET", "/cases", "/cases", Permission.CASES_READ, "Find cases (newest first, cursor pagination)",
             list_cases, CaseList, query=CaseListQuery, errors=(401, 403, 422)),
    Endpoint("GET", "/cases/{number}", "/cases/{number}", Permission.CASES_READ,
             "Every field of a case, evidence with signed links, transcript, events", get_case, CaseOut),
    Endpoint("POST", "/cases/{number}/actions", "/cases/{number}/actions", Permission.CASES_ACT,
             "Act on a case through the agent desk (Slack's message updates in place)", case_action,
             CaseActionResult, body=CaseActionRequest, errors=(401, 403, 404, 409, 422)),
    Endpoint("GET", "/audit", "/audit", Permission.AUDIT_READ, "The audit log, newest first", list_audit,
             AuditList, query=AuditQuery, errors=(401, 403, 422)),
    Endpoint("GET", "/catalog", "/catalog", Permission.SETTINGS_READ, "The product catalog in force", _CATALOG[0],
             SettingsOut, errors=(401, 403)),
    Endpoint("PUT", "/catalog", "/catalog", Permission.SETTINGS_WRITE,
             "Replace the catalog (JSON, YAML or CSV with Content-Type: text/csv); every worker uses it within "
             "seconds", _CATALOG[1], SettingsSaved, body=CatalogDocument, yaml_body=True, csv_body=True,
             errors=(401, 403, 422)),
    Endpoint("GET", "/taxonomy", "/taxonomy", Permission.SETTINGS_READ, "The complaint categories in force",
             _TAXONOMY[0], SettingsOut, errors=(401, 403)),
    Endpoint("PUT", "/taxonomy", "/taxonomy", Permission.SETTINGS_WRITE, "Replace the complaint categories",
             _TAXONOMY[1], SettingsSaved, body=TaxonomyDocument, yaml_body=True, errors=(401, 403, 422)),
    Endpoint("GET", "/routing", "/routing", Permission.SETTINGS_READ, "Teams, their Slack channels, routing rules",
             _ROUTING[0], SettingsOut, errors=(401, 403)),
    Endpoint("PUT", "/routing", "/routing", Permission.SETTINGS_WRITE,
             "Replace teams and routing rules (checked against the taxonomy and the catalog)", _ROUTING[1],
             SettingsSaved, body=SettingsDocumentBody, yaml_body=True, errors=(401, 403, 422)),
    Endpoint("GET", "/sla-policies", "/sla-policies", Permission.SETTINGS_READ,
             "SLA policies, calendars, priority, CSAT and housekeeping settings", _SLA[0], SettingsOut,
             errors=(401, 403)),
    Endpoint("PUT", "/sla-policies", "/sla-policies", Permission.SETTINGS_WRITE,
             "Replace the SLA policies (checked against the routing's teams and the taxonomy); new cases use them",
             _SLA[1], SettingsSaved, body=SettingsDocumentBody, yaml_body=True, errors=(401, 403, 422)),
    Endpoint("GET", "/webhooks", "/webhooks", Permission.WEBHOOKS_MANAGE, "Webhook subscriptions (no secrets)",
             list_webhooks, WebhookList, errors=(401, 403)),
    Endpoint("POST", "/webhooks", "/webhooks", Permission.WEBHOOKS_MANAGE,
             "Subscribe a URL to case events; the secret is shown once", add_webhook, WebhookWithSecret,
             body=WebhookCreate, errors=(401, 403, 422)),
    Endpoint("POST", "/webhooks/{webhook_id}/rotate-secret", "/webhooks/{webhook_id}/rotate-secret",
             Permission.WEBHOOKS_MANAGE, "A new signing secret (shown once); deliveries not yet sent use it",
             rotate_webhook_secret, WebhookWithSecret, errors=(401, 403, 404)),
    Endpoint("POST", "/webhooks/{webhook_id}/disable", "/webhooks/{webhook_id}/disable",
             Permission.WEBHOOKS_MANAGE, "Stop sending (queued deliveries are cancelled, the log stays)",
             webhook_switch(False), WebhookOut, errors=(401, 403, 404)),
    Endpoint("POST", "/webhooks/{webhook_id}/enable", "/webhooks/{webhook_id}/enable",
             Permission.WEBHOOKS_MANAGE, "Send new events again", webhook_switch(True), WebhookOut,
             errors=(401, 403, 404)),
    Endpoint("DELETE", "/webhooks/{webhook_id}", "/webhooks/{webhook_id}", Permission.WEBHOOKS_MANAGE,
             "Remove a subscription", remove_webhook, Removed, errors=(401, 403, 404)),
    Endpoint("GET", "/webhooks/{webhook_id}/deliveries", "/webhooks/{webhook_id}/deliveries",
             Permission.WEBHOOKS_MANAGE, "Recent deliveries of a subscription, newest first", webhook_deliveries,
             DeliveryList, query=DeliveryQuery),
    Endpoint("POST", "/webhook-deliveries/{delivery_id}/replay", "/webhook-deliveries/{delivery_id}/replay",
             Permission.WEBHOOKS_MANAGE, "Send a delivery again (a new delivery marked as a replay)",
             replay_delivery, DeliveryOut, errors=(401, 403, 404, 409)),
    Endpoint("GET", "/case-views", "/case-views", Permission.CASES_READ, "Saved case views", list_case_views,
             CaseViewList, errors=(401, 403)),
    Endpoint("POST", "/case-views", "/case-views", Permission.CASES_ACT, "Save the case list's filters by name",
             add_case_view, CaseViewOut, body=CaseViewCreate, errors=(401, 403, 409, 422)),
    Endpoint("DELETE", "/case-views/{view_id}", "/case-views/{view_id}", Permission.CASES_ACT,
             "Remove a saved case view", remove_case_view, Removed, errors=(401, 403, 404)),
)


def api_routes() -> list[web.RouteDef]:
    from bot.admin.openapi import openapi_document

    async def openapi(request: web.Request) -> web.Response:
        from bot.admin.insight_pages import export_openapi_paths  # a streamed endpoint, outside the JSON table

        document = openapi_document(ENDPOINTS, API_PREFIX)
        return web.json_response({**document, "paths": {**document["paths"], **export_openapi_paths(API_PREFIX)}})

    async def not_found(request: web.Request) -> web.Response:
        return _error_response(404, [ErrorItem(step=None, field=None, message="no such API endpoint")])

    routes = [web.get(f"{API_PREFIX}/openapi.json", openapi)]
    routes += [web.route(e.method, API_PREFIX + e.route, endpoint_handler(e)) for e in ENDPOINTS]
    routes.append(web.route("*", API_PREFIX + "/{tail:.*}", not_found))
    return routes
