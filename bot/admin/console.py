"""The console pages under /admin: server-rendered (Jinja2, autoescaped), htmx for checking a flow as it is
typed and for the preview pane. Every page checks the role; every form carries the session's CSRF token."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from bot.admin.audit import audit_unmasked
from bot.admin.auth import CSRF_FIELD, LoginRefused, LoginThrottled, Principal, source_ip
from bot.admin.cases import CaseNotFoundError, case_out, list_item
from bot.admin.console_texts import ConsoleLang, text
from bot.admin.dependencies import AdminDependencies, dependencies
from bot.admin.errors import CaseActionRefused, FlowInvalid, FlowNotFound, FlowProblem
from bot.admin.flow_admin import NothingToPublish
from bot.admin.flow_checks import check_flow
from bot.admin.flow_form import branch_rows, definition_from_form
from bot.admin.flow_graph import flow_svg
from bot.admin.models import CaseActionRequest
from bot.admin.roles import Permission, allows
from bot.admin.simulate import PreviewChannelName, simulate
from flows import Flow
from storage.audit import AuditFilter, decode_cursor, encode_cursor
from storage.case_search import CaseFilter

log = logging.getLogger(__name__)

LANG_COOKIE = "plaint_admin_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def console_lang(request: web.Request) -> ConsoleLang:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("en", "zh"):
        return "zh" if chosen == "zh" else "en"
    return "zh" if request.headers.get("Accept-Language", "").lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Page:
    request: web.Request
    deps: AdminDependencies
    principal: Principal
    lang: ConsoleLang
    form: MultiDictProxy[str]

    def can(self, permission: Permission) -> bool:
        return allows(self.principal.role, permission)

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        return render(self.request, self.deps, template, status, principal=self.principal, **values)


def render(
    request: web.Request, deps: AdminDependencies, template: str, status: int = 200, **values: Any
) -> web.Response:
    lang = console_lang(request)
    principal: Principal | None = values.pop("principal", None)

    def t(key: str, **more: object) -> str:
        return text(key, lang, **more)

    def can(name: str) -> bool:
        return principal is not None and allows(principal.role, Permission(name))

    html = deps.pages.get_template(template).render(
        t=t, lang=lang, principal=principal, can=can, csrf=principal.csrf_token if principal else "",
        path=request.path_qs, **values,
    )
    return web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)


PageHandler = Callable[[Page], Awaitable[web.StreamResponse]]


def page(permission: Permission) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    def wrap(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            deps = dependencies(request)
            principal = await deps.authenticator.principal(request, "console")
            if principal is None or not principal.by_session:
                raise web.HTTPSeeOther(f"/admin/login?{urlencode({'next': request.path_qs})}")
            lang = console_lang(request)
            form = await request.post()
            fields = [(key, value) for key, value in form.items() if isinstance(value, str)]
            string_form = MultiDictProxy(MultiDict(fields))
            current = Page(request, deps, principal, lang, string_form)
            if request.method == "POST" and not deps.authenticator.csrf_valid(principal, string_form.get(CSRF_FIELD)):
                return current.render("message.html", 403, message=text("csrf", lang))
            if not allows(principal.role, permission):
                return current.render("message.html", 403, message=text("forbidden", lang))
            return await handler(current)

        return handle

    return wrap


def see_other(location: str) -> web.Response:
    """A redirect that carries cookies (raising HTTPSeeOther would drop the ones set on it)."""
    return web.Response(status=303, headers={"Location": location})


def _safe_next(value: str | None) -> str:
    # Only our own pages: never an open redirect to another site.
    if value and value.startswith("/admin") and not value.startswith("//"):
        return value
    return "/admin"


# --- login, language ------------------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    deps = dependencies(request)
    return render(request, deps, "login.html", next=_safe_next(request.query.get("next")), error=None)


async def login_submit(request: web.Request) -> web.StreamResponse:
    deps = dependencies(request)
    form = await request.post()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    lang = console_lang(request)
    try:
        session = await deps.authenticator.login(email, password, source_ip(request))
    except LoginThrottled:
        return render(request, deps, "login.html", 429, next=target, error=text("throttled", lang))
    except LoginRefused:
        return render(request, deps, "login.html", 401, next=target, error=text("wrong_login", lang))
    response = see_other(target)
    deps.authenticator.set_cookie(response, session)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    deps = dependencies(request)
    principal = await deps.authenticator.principal(request, "console")
    form = await request.post()
    response = see_other("/admin/login")
    if principal is not None and deps.authenticator.csrf_valid(principal, str(form.get(CSRF_FIELD, ""))):
        await deps.authenticator.logout(request, response)
    return response


async def switch_lang(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    response = see_other(_safe_next(request.query.get("next")))
    if lang in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/admin", samesite="Lax", httponly=True)
    return response


@page(Permission.FLOWS_READ)
async def home(current: Page) -> web.StreamResponse:
    if current.can(Permission.FLOWS_WRITE) or not current.can(Permission.CASES_READ):
        raise web.HTTPSeeOther("/admin/flows")
    raise web.HTTPSeeOther("/admin/cases")


# --- flows ----------------------------------------------------------------------------------------------------


@page(Permission.FLOWS_READ)
async def flows_page(current: Page) -> web.StreamResponse:
    return current.render("flows.html", flows=await current.deps.flows.summaries())


def _problems_by_step(problems: tuple[FlowProblem, ...]) -> dict[str | None, list[FlowProblem]]:
    grouped: dict[str | None, list[FlowProblem]] = {}
    for item in problems:
        grouped.setdefault(item.step, []).append(item)
    return grouped


async def _editor(
    current: Page, flow_id: str, definition: dict[str, Any], problems: tuple[FlowProblem, ...], status: int = 200,
    notice: str | None = None,
) -> web.Response:
    detail = await current.deps.flows.detail(flow_id)
    flow, _ = check_flow({**definition, "version": definition.get("version") or 1})
    graph_flow: Flow | None = flow
    if graph_flow is None and detail.published is not None:
        graph_flow = Flow.model_validate(detail.published)
    grouped = _problems_by_step(problems)
    step_ids = {str(step.get("id")) for step in definition.get("steps") or [] if isinstance(step, dict)}
    return current.render(
        "flow_edit.html", status,
        flow_id=flow_id, definition=definition, detail=detail, problems=grouped,
        other_problems=[p for step, items in grouped.items() if step not in step_ids for p in items],
        graph=flow_svg(graph_flow, frozenset(s for s in grouped if s)) if graph_flow else None,
        branch_rows=branch_rows, notice=notice,
    )


@page(Permission.FLOWS_READ)
async def flow_page(current: Page) -> web.StreamResponse:
    flow_id = current.request.match_info["flow_id"]
    try:
        definition = await current.deps.flows.working_copy(flow_id)
    except FlowNotFound:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    _, problems = await current.deps.flows.check(flow_id, definition)
    query = current.request.query
    notice = None
    if "saved" in query:
        notice = text("saved", current.lang)
    elif query.get("published", "").isdigit():
        notice = text("published", current.lang, version=query["published"])
    elif query.get("rolled_back", "").isdigit():
        notice = text("rolled_back", current.lang, version=query["rolled_back"])
    return await _editor(current, flow_id, definition, problems, notice=notice)


@page(Permission.FLOWS_WRITE)
async def flow_save(current: Page) -> web.StreamResponse:
    flow_id = current.request.match_info["flow_id"]
    base = await current.deps.flows.working_copy(flow_id)
    definition = definition_from_form(base, current.form)
    try:
        await current.deps.flows.save_draft(flow_id, definition, current.principal.actor)
    except FlowInvalid as error:
        return await _editor(current, flow_id, definition, error.problems, 422)
    raise web.HTTPSeeOther(f"/admin/flows/{quote(flow_id)}?saved=1")


@page(Permission.FLOWS_WRITE)
async def flow_check(current: Page) -> web.StreamResponse:
    """htmx, as the editor types: the problems of the form's content, each swapped onto its step."""
    flow_id = current.request.match_info["flow_id"]
    base = await current.deps.flows.working_copy(flow_id)
    definition = definition_from_form(base, current.form)
    _, problems = await current.deps.flows.check(flow_id, definition)
    grouped = _problems_by_step(problems)
    step_ids = [str(step.get("id")) for step in definition.get("steps") or [] if isinstance(step, dict)]
    return current.render(
        "flow_problems.html", problems=grouped, step_ids=step_ids,
        other_problems=[p for step, items in grouped.items() if step not in step_ids for p in items],
    )


@page(Permission.FLOWS_WRITE)
async def flow_publish(current: Page) -> web.StreamResponse:
    flow_id = current.request.match_info["flow_id"]
    try:
        version = await current.deps.flows.publish(flow_id, current.principal.actor)
    except FlowInvalid as error:
        return await _editor(current, flow_id, await current.deps.flows.working_copy(flow_id), error.problems, 422)
    except NothingToPublish:
        raise web.HTTPSeeOther(f"/admin/flows/{quote(flow_id)}") from None
    raise web.HTTPSeeOther(f"/admin/flows/{quote(flow_id)}?published={version}")


@page(Permission.FLOWS_WRITE)
async def flow_rollback(current: Page) -> web.StreamResponse:
    flow_id = current.request.match_info["flow_id"]
    target = current.form.get("version", "")
    if not target.isdigit():
        return current.render("message.html", 422, message=text("not_found", current.lang))
    try:
        version = await current.deps.flows.rollback(flow_id, int(target), current.principal.actor)
    except FlowNotFound:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    raise web.HTTPSeeOther(f"/admin/flows/{quote(flow_id)}?rolled_back={version}")


@page(Permission.FLOWS_READ)
async def flow_diff_page(current: Page) -> web.StreamResponse:
    flow_id = current.request.match_info["flow_id"]
    query = current.request.query
    first, second = query.get("from", ""), query.get("to", "")
    if not (first.isdigit() and second.isdigit()):
        return current.render("message.html", 422, message=text("not_found", current.lang))
    try:
        changes = await current.deps.flows.diff(flow_id, int(first), int(second))
    except FlowNotFound:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    return current.render("flow_diff.html", flow_id=flow_id, first=first, second=second, changes=changes)


_PREVIEW_CHANNELS: dict[str, PreviewChannelName] = {
    "web": "web", "telegram": "telegram", "wechat": "wechat", "slack": "slack"
}


@page(Permission.FLOWS_READ)
async def flow_preview(current: Page) -> web.StreamResponse:
    flow_id = current.request.match_info["flow_id"]
    channel = _PREVIEW_CHANNELS.get(current.form.get("channel", "web"))
    lang = current.form.get("lang", "en")
    messages = [line for line in current.form.get("messages", "").splitlines() if line.strip()][:60]
    if channel is None or lang not in ("en", "zh") or not messages:
        return current.render("flow_preview.html", 422, turns=[], problems=[], channel="web")
    definition = await current.deps.flows.working_copy(flow_id)
    flow, problems = await current.deps.flows.check(flow_id, definition)
    if flow is None:
        return current.render("flow_preview.html", 422, turns=[], problems=list(problems), channel=channel)
    turns = await simulate(flow, channel, "zh" if lang == "zh" else "en", messages, current.deps.analyzer())
    return current.render("flow_preview.html", turns=turns, problems=[], channel=channel)


# --- cases ----------------------------------------------------------------------------------------------------

_CASE_FILTERS = ("status", "team", "category", "product", "channel", "language", "text")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@page(Permission.CASES_READ)
async def cases_page(current: Page) -> web.StreamResponse:
    query = current.request.query
    values = {name: (query.get(name) or "").strip()[:200] or None for name in _CASE_FILTERS}
    where = CaseFilter(
        values["status"], values["team"], values["category"], values["product"], values["channel"],
        values["language"], _date(query.get("since")), _date(query.get("until")), values["text"],
    )
    before = decode_cursor(query.get("cursor", "")) if query.get("cursor") else None
    result = await current.deps.case_search.page(where, 50, before)
    masked = not current.can(Permission.CONTACTS_READ)
    if not masked and result.cases:
        # The names on this page are personal data read unmasked: one entry per page view, like the API's list.
        await audit_unmasked(current.deps.audit, current.principal.actor, current.request, "cases", "list",
                             {"cases": [case.number for case in result.cases]})
    more = None
    if result.last_id:
        more = "?" + urlencode({**{k: v for k, v in values.items() if v}, "cursor": encode_cursor(result.last_id)})
    return current.render("cases.html", cases=[list_item(case, masked) for case in result.cases],
                          filters=values, more=more, views=await current.deps.case_views.all(),
                          view_query=urlencode)


@page(Permission.CASES_READ)
async def case_page(current: Page) -> web.StreamResponse:
    number = current.request.match_info["number"]
    # Masked for every role: who may see contacts unmasks them on request, audited (bot/admin/privacy_console.py).
    masked = True
    try:
        case = await case_out(current.deps, number, masked)
    except CaseNotFoundError:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    notice = current.request.query.get("notice")
    duplicates = current.deps.duplicates
    duplicate_of = await duplicates.possible_duplicate_of(case.number) if duplicates is not None else None
    return current.render("case.html", case=case, notice=notice, nonce=secrets.token_hex(8),
                          duplicate_of=duplicate_of)


_DUPLICATE_DECISIONS = {"link": True, "not_duplicate": False}


@page(Permission.CASES_ACT)
async def case_duplicate_submit(current: Page) -> web.StreamResponse:
    """Link / Not a duplicate: the same decision as the Slack thread's buttons (the lifecycle room's service)."""
    number = current.request.match_info["number"]
    linked = _DUPLICATE_DECISIONS.get(current.form.get("decision", ""))
    duplicates = current.deps.duplicates
    if linked is None or duplicates is None:
        return current.render("message.html", 422, message=text("refused", current.lang,
                                                                reason=text("duplicate_unknown", current.lang)))
    try:
        refused = await duplicates.decide(number, linked, current.principal.actor)
    except CaseNotFoundError:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    if refused is not None:
        # Someone (an agent in Slack, the customer, another admin) decided first, or there is nothing to decide.
        return current.render("message.html", 409, message=text("duplicate_refused", current.lang))
    raise web.HTTPSeeOther(f"/admin/cases/{quote(number)}?{urlencode({'notice': text('done', current.lang)})}")


@page(Permission.CASES_ACT)
async def case_action_submit(current: Page) -> web.StreamResponse:
    number = current.request.match_info["number"]
    fields = {key: value.strip() for key, value in current.form.items()
              if key not in (CSRF_FIELD, "nonce") and value.strip()}
    # The form's nonce makes a double-submitted form one action, and two separate forms two.
    nonce = current.form.get("nonce") or secrets.token_hex(8)
    try:
        request = CaseActionRequest.model_validate(fields)
        await current.deps.case_actions.apply(number, request, current.principal.actor, nonce[:64])
    except ValidationError as error:
        message = "; ".join(str(item["msg"]) for item in error.errors())
        return current.render("message.html", 422, message=text("refused", current.lang, reason=message))
    except CaseNotFoundError:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    except CaseActionRefused as error:
        return current.render("message.html", error.status, message=text("refused", current.lang, reason=error.reason))
    raise web.HTTPSeeOther(f"/admin/cases/{quote(number)}?{urlencode({'notice': text('done', current.lang)})}")


# --- audit ----------------------------------------------------------------------------------------------------


@page(Permission.AUDIT_READ)
async def audit_page(current: Page) -> web.StreamResponse:
    query = current.request.query
    actor = (query.get("actor") or "").strip()[:300] or None
    object_type = (query.get("object") or "").strip()[:32] or None
    before = decode_cursor(query.get("cursor", "")) if query.get("cursor") else None
    result = await current.deps.audit_log.page(
        AuditFilter(actor, object_type, None, _date(query.get("since")), _date(query.get("until"))), 50, before
    )
    more = None
    if result.next_cursor:
        more = "?" + urlencode({k: v for k, v in (("actor", actor), ("object", object_type)) if v}
                               | {"cursor": result.next_cursor})
    return current.render("audit.html", entries=result.entries, actor=actor or "", object_type=object_type or "",
                          more=more)


def console_routes() -> list[web.RouteDef]:
    return [
        web.get("/admin", home),
        web.get("/admin/", home),
        web.get("/admin/login", login_page),
        web.post("/admin/login", login_submit),
        web.post("/admin/logout", logout),
        web.get("/admin/lang/{lang}", switch_lang),
        web.get("/admin/flows", flows_page),
        web.get("/admin/flows/{flow_id}", flow_page),
        web.post("/admin/flows/{flow_id}/draft", flow_save),
        web.post("/admin/flows/{flow_id}/check", flow_check),
        web.post("/admin/flows/{flow_id}/publish", flow_publish),
        web.post("/admin/flows/{flow_id}/rollback", flow_rollback),
        web.get("/admin/flows/{flow_id}/diff", flow_diff_page),
        web.post("/admin/flows/{flow_id}/preview", flow_preview),
        web.get("/admin/cases", cases_page),
        web.get("/admin/cases/{number}", case_page),
        web.post("/admin/cases/{number}/actions", case_action_submit),
        web.post("/admin/cases/{number}/duplicate", case_duplicate_submit),
        web.get("/admin/audit", audit_page),
    ]
