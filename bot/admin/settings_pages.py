"""Console pages for the desk settings (catalog, categories, routing, SLA policies), webhook subscriptions and
saved case views. Settings are edited in forms of rows (one product, category, team or rule per row; lists as
comma-separated words); what is saved goes through the same DeskSettings as the API, and every problem is shown
on the row and field it concerns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import urlencode

import yaml
from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from bot.admin.api import new_webhook_secret
from bot.admin.console import Page, page, see_other
from bot.admin.console_texts import text
from bot.admin.desk_settings import SettingsInvalid, SettingsKind, catalog_csv, catalog_from_csv
from bot.admin.models import CASE_VIEW_FILTERS, CaseViewCreate, WebhookCreate, WebhookEventName
from bot.admin.roles import Permission
from bot.settings_documents import DocumentProblem, DocumentProblems, read_yaml_mapping
from storage.settings_versions import CaseViewNameTaken
from storage.webhooks import DeliveryNotFound, SubscriptionNotFound

_ROW_KEY = re.compile(r"^(\w+)\.(\d{1,4})\.(\w+)$")
# How many empty rows a form offers for additions.
BLANK_ROWS = 2


def words(value: str) -> list[str]:
    """"kettle, electric kettle，电水壶" -> the list (English and Chinese commas both separate)."""
    return [part.strip() for part in re.split(r"[,，、]", value) if part.strip()]


def form_rows(form: MultiDictProxy[str], section: str) -> list[dict[str, str]]:
    """The form's rows of one section ("products.3.id" -> row 3's "id"), in order; rows left blank or marked
    for removal are dropped."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _ROW_KEY.match(key)
        if match and match.group(1) == section:
            rows.setdefault(int(match.group(2)), {})[match.group(3)] = value.strip()
    return [row for _, row in sorted(rows.items())
            if not row.get("remove") and any(v for k, v in row.items() if k != "remove")]


def problems_by_field(problems: tuple[DocumentProblem, ...]) -> tuple[dict[str, list[str]], list[str]]:
    """Problems keyed by the form field they concern ("products.3.label.zh"), and the rest."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for item in problems:
        if len(item.location) >= 2 and isinstance(item.location[1], int):
            by_field.setdefault(item.path or "", []).append(item.message)
            by_field.setdefault(f"{item.location[0]}.{item.location[1]}", []).append(item.describe())
        else:
            general.append(item.describe())
    return by_field, general


# --- the catalog and the categories ------------------------------------------------------------------------------


def catalog_from_form(form: MultiDictProxy[str]) -> dict[str, Any]:
    # A checkbox: unticked, the browser sends nothing.
    return {"services_under_product": form.get("services_under_product") == "1", "products": [
        {"id": row.get("id", ""), "label": {"en": row.get("label_en", ""), "zh": row.get("label_zh", "")},
         "names": {"en": words(row.get("names_en", "")), "zh": words(row.get("names_zh", ""))},
         "aliases": words(row.get("aliases", "")), "skus": words(row.get("skus", "")),
         "model_prefixes": words(row.get("model_prefixes", "")),
         "related": {"en": words(row.get("related_en", "")), "zh": words(row.get("related_zh", ""))}}
        for row in form_rows(form, "products")
    ]}


def taxonomy_from_form(form: MultiDictProxy[str]) -> dict[str, Any]:
    return {"categories": [
        {"id": row.get("id", ""), "label": {"en": row.get("label_en", ""), "zh": row.get("label_zh", "")}}
        for row in form_rows(form, "categories")
    ]}


def routing_from_form(form: MultiDictProxy[str], base: Mapping[str, Any]) -> dict[str, Any]:
    teams = []
    for row in form_rows(form, "teams"):
        team: dict[str, Any] = {"name": row.get("name", ""), "slack_channel": row.get("slack_channel", ""),
                                "members": words(row.get("members", ""))}
        limit = row.get("max_open_per_agent", "")
        team["max_open_per_agent"] = int(limit) if limit.isdigit() else limit or 10
        teams.append(team)
    rules = []
    for row in form_rows(form, "rules"):
        when = {key: words(row[key]) for key in ("category", "product", "channel", "language") if row.get(key)}
        rules.append({"team": row.get("team", ""), "when": when})
    return {**base, "default_team": form.get("default_team", ""), "teams": teams, "rules": rules}


_POLICY_FIELDS = ("first_response", "next_response", "resolution")


def sla_from_form(form: MultiDictProxy[str], rest: dict[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The policies' rows (escalation settings kept by policy name) over the rest of the document (YAML)."""
    if not any(_ROW_KEY.match(key) and key.startswith("policies.") for key in form):
        return rest  # no rows sent: the YAML is the whole document
    escalations = {p.get("name"): p["escalation"] for p in base.get("policies") or []
                   if isinstance(p, Mapping) and "escalation" in p}
    policies = []
    for row in form_rows(form, "policies"):
        policy: dict[str, Any] = {"name": row.get("name", "")}
        when = {key: words(row[key]) for key in ("team", "category", "priority") if row.get(key)}
        if when:
            policy["when"] = when
        if row.get("calendar"):
            policy["calendar"] = row["calendar"]
        # Seconds as stored by the API, or "4h"-style durations as typed.
        policy |= {key: int(row[key]) if row[key].isdigit() else row[key] for key in _POLICY_FIELDS if row.get(key)}
        if policy["name"] in escalations:
            policy["escalation"] = escalations[policy["name"]]
        policies.append(policy)
    return {**rest, "policies": policies}


async def _save(current: Page, kind: SettingsKind, document: object) -> tuple[DocumentProblem, ...]:
    try:
        await current.deps.desk_settings.save(kind, document, current.principal.actor)
    except SettingsInvalid as error:
        return error.problems
    return ()


_TEMPLATES: dict[SettingsKind, str] = {
    "catalog": "catalog.html", "taxonomy": "taxonomy.html", "routing": "routing.html", "sla": "sla.html",
}
_PATHS: dict[SettingsKind, str] = {
    "catalog": "/admin/catalog", "taxonomy": "/admin/categories", "routing": "/admin/routing", "sla": "/admin/sla",
}


async def _settings_page(
    current: Page, kind: SettingsKind, document: Mapping[str, Any] | None = None,
    problems: tuple[DocumentProblem, ...] = (), source: str | None = None,
) -> web.Response:
    settings = await current.deps.desk_settings.current(kind)
    by_field, general = problems_by_field(problems)
    notice = text("saved_version", current.lang, version=settings.version) if "saved" in current.request.query else None
    return current.render(
        _TEMPLATES[kind], 422 if problems else 200, settings=settings,
        document=document if document is not None else settings.document,
        errors=by_field, general_errors=general, notice=notice, blank_rows=BLANK_ROWS,
        all_problems=[item.describe() for item in problems],
        source=source if source is not None else yaml.safe_dump(
            {k: v for k, v in settings.document.items() if not (kind == "sla" and k == "policies")},
            allow_unicode=True, sort_keys=False),
        teams=current.deps.desk_settings.team_names(),
    )


def _settings_view(kind: SettingsKind) -> Any:
    @page(Permission.SETTINGS_READ)
    async def view(current: Page) -> web.StreamResponse:
        return await _settings_page(current, kind)

    return view


def _settings_save(kind: SettingsKind) -> Any:
    @page(Permission.SETTINGS_WRITE)
    async def save(current: Page) -> web.StreamResponse:
        form = current.form
        source = None
        if kind == "catalog":
            document: dict[str, Any] = catalog_from_form(form)
        elif kind == "taxonomy":
            document = taxonomy_from_form(form)
        elif kind == "routing":
            document = routing_from_form(form, (await current.deps.desk_settings.current("routing")).document)
        else:
            source = form.get("source", "")
            try:
                rest = read_yaml_mapping(source, "default_calendar, calendars, teams and policies")
            except DocumentProblems as error:
                return await _settings_page(current, kind, {}, error.problems, source)
            document = sla_from_form(form, rest, (await current.deps.desk_settings.current("sla")).document)
        problems = await _save(current, kind, document)
        if problems:
            return await _settings_page(current, kind, document, problems, source)
        return see_other(f"{_PATHS[kind]}?saved=1")

    return save


@page(Permission.SETTINGS_READ)
async def catalog_export(current: Page) -> web.StreamResponse:
    settings = await current.deps.desk_settings.current("catalog")
    return web.Response(
        text=catalog_csv(settings.document), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog.csv"', "Cache-Control": "no-store"},
    )


def _settings_yaml(kind: SettingsKind) -> Any:
    @page(Permission.SETTINGS_READ)
    async def export(current: Page) -> web.StreamResponse:
        settings = await current.deps.desk_settings.current(kind)
        name = f"{_PATHS[kind].rsplit('/', 1)[-1]}.yaml"
        return web.Response(
            text=yaml.safe_dump(settings.document, allow_unicode=True, sort_keys=False),
            content_type="application/yaml", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    return export


@page(Permission.SETTINGS_WRITE)
async def catalog_import(current: Page) -> web.StreamResponse:
    upload = (await current.request.post()).get("file")
    raw = upload.file.read(5_000_001) if isinstance(upload, web.FileField) else b""
    if not raw or len(raw) > 5_000_000:
        problem = DocumentProblem((), text("csv_needed", current.lang))
        return await _settings_page(current, "catalog", None, (problem,))
    try:
        # CSV holds the products only: the catalog's line for services stays as it is.
        current_line = (await current.deps.desk_settings.current("catalog")).document.get("services_under_product")
        document = {**catalog_from_csv(raw.decode("utf-8")), "services_under_product": current_line is not False}
    except (UnicodeDecodeError, ValueError) as error:
        problem = DocumentProblem((), f"{text('csv_needed', current.lang)} ({error})")
        return await _settings_page(current, "catalog", None, (problem,))
    problems = await _save(current, "catalog", document)
    if problems:
        return await _settings_page(current, "catalog", document, problems)
    return see_other("/admin/catalog?saved=1")


# --- webhook subscriptions --------------------------------------------------------------------------------------


async def _webhooks_page(current: Page, status: int = 200, secret: str | None = None,
                         errors: list[str] | None = None) -> web.Response:
    return current.render(
        "webhooks.html", status, webhooks=await current.deps.webhooks.subscriptions(), secret=secret,
        errors=errors or [], events=get_args(WebhookEventName),
    )


@page(Permission.WEBHOOKS_MANAGE)
async def webhooks_page(current: Page) -> web.StreamResponse:
    return await _webhooks_page(current)


@page(Permission.WEBHOOKS_MANAGE)
async def webhook_add(current: Page) -> web.StreamResponse:
    form = current.form
    try:
        request = WebhookCreate.model_validate({
            "url": form.get("url", "").strip(), "events": form.getall("events", []),
            "personal_data": form.get("personal_data") == "on",
        })
    except ValidationError as error:
        errors = [f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}".removeprefix("Value error, ")
                  for item in error.errors(include_url=False)]
        return await _webhooks_page(current, 422, errors=errors)
    secret = new_webhook_secret()
    record = await current.deps.webhooks.add_subscription(request.url, request.events, secret, request.personal_data)
    await current.deps.audit.record(current.principal.actor, "add", "webhook", str(record.id), None,
                                    {"url": record.url, "events": list(record.events),
                                     "personal_data": record.may_see_personal_data})
    return await _webhooks_page(current, secret=secret)


def _webhook_id(current: Page) -> int | None:
    value = current.request.match_info["webhook_id"]
    return int(value) if value.isdigit() and len(value) < 10 else None


@page(Permission.WEBHOOKS_MANAGE)
async def webhook_change(current: Page) -> web.StreamResponse:
    webhook_id = _webhook_id(current)
    change = current.request.match_info["change"]
    if webhook_id is None or change not in ("rotate", "disable", "enable", "remove"):
        return current.render("message.html", 404, message=text("not_found", current.lang))
    store, actor = current.deps.webhooks, current.principal.actor
    try:
        before = await store.subscription(webhook_id)
        if change == "remove":
            await store.remove_subscription(webhook_id)
            await current.deps.audit.record(actor, "remove", "webhook", str(webhook_id),
                                            {"url": before.url, "events": list(before.events)}, None)
        elif change == "rotate":
            secret = new_webhook_secret()
            await store.update_subscription(webhook_id, secret=secret)
            await current.deps.audit.record(actor, "rotate-secret", "webhook", str(webhook_id),
                                            {"secret": "(old)"}, {"secret": "(new)"})
            return await _webhooks_page(current, secret=secret)
        else:
            after = await store.update_subscription(webhook_id, active=change == "enable")
            await current.deps.audit.record(actor, change, "webhook", str(webhook_id), {"active": before.active},
                                            {"active": after.active})
    except SubscriptionNotFound:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    return see_other("/admin/webhooks")


@page(Permission.WEBHOOKS_MANAGE)
async def webhook_deliveries_page(current: Page) -> web.StreamResponse:
    webhook_id = _webhook_id(current)
    try:
        webhook = await current.deps.webhooks.subscription(webhook_id or 0)
    except SubscriptionNotFound:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    deliveries = await current.deps.webhooks.deliveries(None, 100, webhook.id)
    return current.render("webhook_deliveries.html", webhook=webhook, deliveries=deliveries,
                          notice=current.request.query.get("replayed"))


@page(Permission.WEBHOOKS_MANAGE)
async def delivery_replay(current: Page) -> web.StreamResponse:
    value = current.request.match_info["delivery_id"]
    try:
        delivery, _ = await current.deps.webhooks.delivery(int(value) if value.isdigit() and len(value) < 10 else 0)
        replay = await current.deps.webhooks.replay(delivery.id)
    except (DeliveryNotFound, SubscriptionNotFound):
        return current.render("message.html", 404, message=text("not_found", current.lang))
    await current.deps.audit.record(current.principal.actor, "replay", "webhook-delivery", str(delivery.id),
                                    None, {"replay": replay.id})
    return see_other(f"/admin/webhooks/{delivery.subscription_id}?{urlencode({'replayed': replay.id})}")


# --- saved case views -------------------------------------------------------------------------------------------


@page(Permission.CASES_ACT)
async def case_view_add(current: Page) -> web.StreamResponse:
    filters = {name: current.form.get(name, "") for name in CASE_VIEW_FILTERS if current.form.get(name)}
    try:
        request = CaseViewCreate.model_validate({"name": current.form.get("view_name", "").strip(),
                                                 "filters": filters})
        view = await current.deps.case_views.create(request.name, request.filters, current.principal.actor.name)
    except ValidationError:
        return current.render("message.html", 422, message=text("view_name_needed", current.lang))
    except CaseViewNameTaken:
        return current.render("message.html", 409, message=text("view_name_taken", current.lang))
    await current.deps.audit.record(current.principal.actor, "add", "case-view", str(view.id), None,
                                    {"name": view.name, **view.query})
    return see_other(f"/admin/cases?{urlencode(view.query)}")


@page(Permission.CASES_ACT)
async def case_view_remove(current: Page) -> web.StreamResponse:
    value = current.request.match_info["view_id"]
    view = await current.deps.case_views.delete(int(value)) if value.isdigit() and len(value) < 10 else None
    if view is None:
        return current.render("message.html", 404, message=text("not_found", current.lang))
    await current.deps.audit.record(current.principal.actor, "remove", "case-view", str(view.id),
                                    {"name": view.name, **view.query}, None)
    return see_other("/admin/cases")


def settings_routes() -> list[web.RouteDef]:
    routes = [web.get("/admin/catalog.csv", catalog_export), web.post("/admin/catalog/import", catalog_import)]
    for kind, path in _PATHS.items():
        routes += [web.get(path, _settings_view(kind)), web.post(path, _settings_save(kind)),
                   web.get(f"{path}.yaml", _settings_yaml(kind))]
    return [
        *routes,
        web.get("/admin/webhooks", webhooks_page),
        web.post("/admin/webhooks", webhook_add),
        web.get("/admin/webhooks/{webhook_id}", webhook_deliveries_page),
        web.post("/admin/webhooks/{webhook_id}/{change}", webhook_change),
        web.post("/admin/webhook-deliveries/{delivery_id}/replay", delivery_replay),
        web.post("/admin/case-views", case_view_add),
        web.post("/admin/case-views/{view_id}/remove", case_view_remove),
    ]
