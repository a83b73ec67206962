"""The insight dashboard (/admin/insight) and the streamed case export (GET /api/v1/cases/export).

The dashboard is server-rendered like every console page; its charts are drawn by the vendored Apache ECharts
(bot/admin/static/echarts-*.min.js) from a JSON block on the page, because the console's Content-Security-Policy
runs no inline script. A heat-map cell leads to the case list filtered to it; the case list exports what it shows
through the export endpoint, which takes the list's own filters."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from bot.admin.audit import audit_unmasked
from bot.admin.console import Page, page
from bot.admin.dependencies import dependencies
from bot.admin.models import CaseFilters, ErrorDocument, ErrorItem
from bot.admin.roles import Permission, allows
from bot.config import Settings
from bot.desk.vocabulary import CHANNELS, LANGUAGES, STATUSES, DeskVocabulary, label_of
from bot.insight.dropoff import StepFunnel, funnel
from bot.insight.export import MEDIA_TYPES, ExportFormat, export_chunks
from bot.insight.figures import AGE_BANDS, InsightFigures
from storage.dropoff import finished_conversations, flow_versions, step_events
from storage.insight import Bucket, CaseQuery, Dimension, TortoiseInsight
from storage.insight_rollup import TortoiseInsightRollup

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"  # bot/admin/api.py's, which imports this module
EXPORT_PATH = "/cases/export"
_FLUSH_BYTES = 64 * 1024

# --- the export endpoint ---------------------------------------------------------------------------------------


class CaseExportQuery(CaseFilters):
    """The case list's filters (GET /api/v1/cases) and the file format; paging parameters are ignored."""

    format: Literal["csv", "jsonl", "xlsx"] = "csv"

    def case_query(self) -> CaseQuery:
        return CaseQuery(channel=self.channel or None, team=self.team or None, category=self.category or None,
                         product=self.product or None, lang=self.language or None, status=self.status or None,
                         filed_since=self.since, filed_until=self.until)


class _Refused(Exception):
    def __init__(self, status: int, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.items = [ErrorItem(step=None, field=field_name, message=message)]


def _refusal(status: int, items: list[ErrorItem]) -> web.Response:
    response = web.json_response(ErrorDocument(errors=items).model_dump(mode="json"), status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="plaint"'
    return response


async def export_cases(insight: TortoiseInsight, request: web.Request) -> web.StreamResponse:
    """One row per case (docs/export-schema.md) written as it is read: memory stays flat for any count."""
    deps = dependencies(request)
    principal = await deps.authenticator.principal(request, "api")
    if principal is None:
        return _refusal(401, _Refused(401, "authentication required: a bearer token or a console session").items)
    if not allows(principal.role, Permission.CASES_READ):
        message = f"the role {principal.role.value} may not do this ({Permission.CASES_READ.value})"
        return _refusal(403, _Refused(403, message).items)
    if request.query.get("text"):
        return _refusal(422, _Refused(
            422, "free-text search cannot be exported; use the structured filters", "text").items)
    try:
        query = CaseExportQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return _refusal(422, [
            ErrorItem(step=None, field=".".join(str(part) for part in item["loc"]) or None,
                      message=str(item["msg"]))
            for item in error.errors(include_url=False)
        ])
    mask = not allows(principal.role, Permission.CONTACTS_READ)
    filters = query.model_dump(mode="json", exclude_none=True)
    await deps.audit.record(principal.actor, "export", "cases", query.format, after={**filters, "masked": mask})
    if not mask:
        await audit_unmasked(deps.audit, principal.actor, request, "cases", "export",
                             {"format": query.format, "filters": filters})
    export_format: ExportFormat = query.format
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = web.StreamResponse(headers={
        "Content-Type": MEDIA_TYPES[export_format],
        "Content-Disposition": f'attachment; filename="plaint-cases-{stamp}.{export_format}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })
    await response.prepare(request)
    pending = bytearray()
    async for chunk in export_chunks(insight.stream(query.case_query()), export_format, mask=mask):
        pending += chunk
        if len(pending) >= _FLUSH_BYTES:
            await response.write(bytes(pending))
            pending.clear()
    await response.write(bytes(pending))
    await response.write_eof()
    return response


def export_openapi_paths(prefix: str) -> dict[str, Any]:
    """The export's entry in /api/v1/openapi.json (bot/admin/api.py adds it to the generated document)."""
    parameters: list[dict[str, Any]] = [
        {"name": "format", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["csv", "jsonl", "xlsx"], "default": "csv"}},
    ]
    for name, limit in (("status", 32), ("team", 100), ("category", 100), ("product", 200), ("channel", 16),
                        ("language", 8)):
        parameters.append({"name": name, "in": "query", "required": False,
                           "schema": {"type": "string", "maxLength": limit}})
    for name in ("since", "until"):
        parameters.append({"name": name, "in": "query", "required": False,
                           "schema": {"type": "string", "format": "date-time"}})
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDocument"}}}
    binary = {"type": "string", "format": "binary"}
    return {prefix + EXPORT_PATH: {"get": {
        "summary": "Export the matching cases, one row per case (docs/export-schema.md), streamed; audited",
        "operationId": "export_cases",
        "parameters": parameters,
        "responses": {
            "200": {"description": "The file (contact details masked for roles without contacts:read)",
                    "content": {media: {"schema": binary} for media in MEDIA_TYPES.values()}},
            "401": {"description": "Authentication required", "content": error},
            "403": {"description": "The role may not do this", "content": error},
            "422": {"description": "Invalid input: every problem", "content": error},
        },
        "x-required-permission": Permission.CASES_READ.value,
    }}}


# --- the dashboard ---------------------------------------------------------------------------------------------

Lang = Literal["en", "zh"]

TEXTS: dict[str, tuple[str, str]] = {
    "insight": ("Insight", "数据洞察"),
    "from": ("From", "从"),
    "to": ("To", "到"),
    "any": ("any", "全部"),
    "channel": ("Channel", "渠道"),
    "team": ("Team", "团队"),
    "category": ("Category", "类别"),
    "product": ("Product", "产品"),
    "language": ("Language", "语言"),
    "bucket": ("Per", "按"),
    "day": ("day", "天"),
    "week": ("week", "周"),
    "month": ("month", "月"),
    "split_by": ("Split by", "拆分"),
    "lang": ("language", "语言"),
    "apply": ("Apply", "应用"),
    "bad_date": ("Not a date: write it as YYYY-MM-DD.", "日期格式不对：请写成 YYYY-MM-DD。"),
    "bad_range": ("The end is before the start.", "结束日期早于开始日期。"),
    "cases_total": ("{count} cases match these filters.", "符合筛选条件的案件共 {count} 件。"),
    "volume": ("Volume over time", "案件量趋势"),
    "volume_means": (
        "Counts CASES by the day they were filed (business time zone); a reopened case is still one case, on its "
        "filing day. Drag the slider or scroll to zoom.",
        "按立案日期（业务时区）统计案件数；重新打开的案件仍算一件，计在立案当天。拖动滑块或滚轮可缩放。"),
    "heatmap": ("Products × categories", "产品 × 类别"),
    "heatmap_means": (
        "Counts CASES per product and category (as classified now; a reopened case is one case). Click a cell to "
        "see the cases behind it.",
        "按产品和类别统计案件数（按当前分类；重新打开的案件算一件）。点击格子可查看其中的案件。"),
    "backlog": ("Open backlog by age", "未结案件（按时长）"),
    "backlog_means": (
        "Counts CASES open now (new, acknowledged, in progress, waiting for the customer) by time since filing; "
        "a reopened case is open again and aged from its filing.",
        "统计当前未结的案件（新建、已受理、处理中、等待客户），按立案至今的时长分组；重新打开的案件重新计为未结，"
        "时长从立案算起。"),
    "timings": ("Response and resolution", "响应与解决"),
    "timings_means": (
        "Counts CASES. First response: the first agent reply the customer received (acknowledging is not a "
        "response). Resolved: the FIRST time a case was resolved; a reopened case keeps it. Reopen rate: cases "
        "reopened at least once / cases resolved at least once (reopening twice counts once).",
        "按案件统计。首次响应：客户收到的第一条客服回复（仅受理不算响应）。已解决：案件第一次被解决的时间；"
        "重新打开的案件保留这一时间。重开率：至少重开一次的案件 / 至少解决一次的案件（重开两次也只算一次）。"),
    "first_response": ("First response", "首次响应"),
    "resolution": ("Resolution", "解决"),
    "median": ("median", "中位数"),
    "p90": ("90th percentile", "90 分位"),
    "of_cases": ("over {count} cases", "基于 {count} 件案件"),
    "reopen_rate": ("Reopen rate", "重开率"),
    "none": ("—", "—"),
    "satisfaction": ("Satisfaction and SLA", "满意度与时限"),
    "satisfaction_means": (
        "Counts CASES (one survey and one SLA per case; a reopened case keeps both). CSAT: the mean score (1-5) of "
        "answered surveys; response rate: answered / asked (surveys that could not be sent are not asked). SLA "
        "attainment: cases whose SLA was met / cases whose SLA was met or missed (still running: not counted).",
        "按案件统计（每件案件一次调查、一个时限；重新打开的案件沿用）。满意度：已回答调查的平均分（1-5）；"
        "回复率：已回答 / 已发出（无法发出的调查不计）。"
        "时限达成率：时限已达成的案件 / 时限已达成或已超时的案件（仍在计时的不计）。"),
    "csat_score": ("CSAT score", "满意度评分"),
    "csat_response": ("Survey response rate", "调查回复率"),
    "sla_attainment": ("SLA attainment", "时限达成率"),
    "dropoff": ("Drop-off per flow step", "流程各步骤流失"),
    "dropoff_means": (
        "Counts CONVERSATIONS of one flow version (channel and start date filters apply). Reached: asked the step "
        "at least once. Answered: the answer was accepted. Re-ask rate: refused answers / all answers given. "
        "Abandoned: the step is the conversation's last and unanswered for {hours} hours. Median time: from first "
        "asked to accepted.",
        "按对话统计（某一流程版本；渠道和开始日期筛选生效）。到达：至少被问过一次。回答：答案被接受。"
        "重问率：被拒绝的回答 / 全部回答。流失：停在此步骤且 {hours} 小时未回答。"
        "中位用时：从第一次提问到答案被接受。"),
    "flow_version": ("Flow version", "流程版本"),
    "step": ("Step", "步骤"),
    "reached": ("Reached", "到达"),
    "answered": ("Answered", "回答"),
    "abandoned": ("Abandoned", "流失"),
    "reask_rate": ("Re-ask rate", "重问率"),
    "median_time": ("Median time", "中位用时"),
    "no_conversations": ("No conversation has been recorded yet.", "还没有记录到对话。"),
    "cases": ("cases", "件"),
    "cell_cases": ("Cases", "案件"),
    "percentile_exact": (
        "Median and 90th percentile are values of real cases (nearest rank).",
        "中位数和 90 分位数取自真实案件（最近秩法）。"),
    "percentile_bucketed": (
        "Median and 90th percentile come from the daily rollup's duration buckets: the bucket of the nearest-rank "
        "case, and a linear interpolation inside it (off by less than the bucket's width: 1-15 min under an hour, "
        "up to 4 h under a day, days beyond). Figures as of {as_of} (refreshed every {minutes} min).",
        "中位数和 90 分位数取自每日汇总的时长分段：先找到最近秩案件所在的分段，再在分段内线性插值（误差小于分段宽度："
        "一小时内 1-15 分钟，一天内不超过 4 小时，更长按天）。数据截至 {as_of}（每 {minutes} 分钟刷新）。"),
    "team_volume": ("Volume by team", "各团队案件量"),
    "team_volume_means": (
        "Counts CASES by the team that owns them now, per period of filing; a reopened case is still one case. "
        "Reassigning a case moves it to the new team in every period.",
        "按当前负责团队统计案件数（按立案时段）；重新打开的案件仍算一件。案件转派后，各时段都计入新团队。"),
    "nlp_quality": ("NLP quality", "自然语言识别质量"),
    "nlp_quality_means": (
        "Counts CASES with a product (or category). From NLP: the value was the NLP's proposal, accepted by the "
        "customer or automatically (its confidence is kept; a value the customer typed or picked is not counted). "
        "Corrected: an agent changed it after filing. Shares are of the cases with that value; a reopened case "
        "counts once.",
        "按有产品（或类别）的案件统计。来自识别：取值为自然语言识别的建议，由客户或自动接受（客户自己输入或选择的不算）。"
        "已纠正：立案后客服修改过。比例的分母是该取值的案件数；重新打开的案件只算一次。"),
    "from_nlp": ("From NLP", "来自识别"),
    "corrected": ("Corrected by agents", "客服纠正"),
    "no_cases": ("No case matches these filters.", "没有符合筛选条件的案件。"),
}

_DIMENSIONS: tuple[Dimension, ...] = ("category", "product", "channel", "lang", "team")
_BUCKETS: tuple[Bucket, ...] = ("day", "week", "month")
_FILTERS = ("channel", "team", "category", "product", "language")
_ABANDON_AFTER = timedelta(hours=24)


def _t(lang: Lang, key: str, **values: object) -> str:
    en, zh = TEXTS[key]
    template = zh if lang == "zh" else en
    return template.format(**values) if values else template


def _duration(seconds: float | None, lang: Lang) -> str:
    if seconds is None:
        return _t(lang, "none")
    if seconds < 3600:
        return f"{seconds / 60:.0f} min" if lang == "en" else f"{seconds / 60:.0f} 分钟"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h" if lang == "en" else f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86400:.1f} days" if lang == "en" else f"{seconds / 86400:.1f} 天"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class DashboardRequest:
    date_from: date | None
    date_to: date | None
    filters: dict[str, str | None]
    bucket: Bucket
    by: Dimension
    flow_version: str | None
    errors: dict[str, str]

    def case_query(self) -> CaseQuery:
        return CaseQuery(date_from=self.date_from, date_to=self.date_to, channel=self.filters["channel"],
                         team=self.filters["team"], category=self.filters["category"],
                         product=self.filters["product"], lang=self.filters["language"])

    def drill_params(self, timezone: tzinfo) -> dict[str, str]:
        """The case list's parameters for these filters (its dates are exact moments: the business's midnights)."""
        params = {name: value for name, value in self.filters.items() if value}
        if self.date_from is not None:
            params["since"] = datetime.combine(self.date_from, datetime.min.time(), timezone).isoformat()
        if self.date_to is not None:
            params["until"] = datetime.combine(self.date_to + timedelta(days=1), datetime.min.time(),
                                               timezone).isoformat()
        return params


def _read_request(query: Any, lang: Lang) -> DashboardRequest:
    errors: dict[str, str] = {}

    def day(name: str) -> date | None:
        value = (query.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = _t(lang, "bad_date")
            return None

    date_from, date_to = day("from"), day("to")
    if date_from and date_to and date_to < date_from:
        errors["to"] = _t(lang, "bad_range")
    # NUL never matches a stored value and the databases refuse it in text: dropped.
    filters = {name: (query.get(name) or "").replace("\x00", "").strip()[:200] or None for name in _FILTERS}
    bucket: Bucket = next((item for item in _BUCKETS if item == query.get("bucket")), "day")
    by: Dimension = next((item for item in _DIMENSIONS if item == query.get("by")), "category")
    return DashboardRequest(date_from, date_to, filters, bucket, by, query.get("flow") or None, errors)


@dataclass(frozen=True)
class _Names:
    """What the page shows for a product or a category id: its label in the catalog or taxonomy in force, in the
    page's language; an id they no longer hold (an old case, a product typed as free text) as it is. Links and
    filters keep the ids."""

    vocabulary: DeskVocabulary
    lang: Lang

    def __call__(self, dimension: str, value: str | None) -> str:
        if not value:
            return "—"
        table = {"product": self.vocabulary.products, "category": self.vocabulary.categories}.get(dimension, {})
        known = table.get(value)
        if known is not None:
            return known(self.lang)
        # Channels, languages and statuses have the desk's fixed labels ("Web chat", 微信); team names are the
        # admin's own words.
        fixed = {"channel": CHANNELS, "lang": LANGUAGES, "status": STATUSES}.get(dimension)
        return (label_of(fixed, value, self.lang) if fixed is not None else None) or value

    def ordered(self, dimension: str, values: set[str | None]) -> tuple[list[str], list[str]]:
        """The ids (None as "—") in their labels' order, and the labels, told apart where two share one."""
        named = sorted((self(dimension, value), value or "—") for value in values)
        counts: dict[str, int] = {}
        for label, _ in named:
            counts[label] = counts.get(label, 0) + 1
        return ([value for _, value in named],
                [label if counts[label] == 1 else f"{label} ({value})" for label, value in named])


def _choices(names: _Names, dimension: Literal["product", "category"]) -> list[tuple[str, str]]:
    """The filter form's suggestions: (id, label) in the catalog's or the taxonomy's order."""
    table = names.vocabulary.products if dimension == "product" else names.vocabulary.categories
    return [(code, label(names.lang)) for code, label in table.items()]


def _volume_chart(points: list[Any], names: _Names, dimension: Dimension) -> dict[str, Any]:
    periods = sorted({point.period for point in points})
    values, labels = names.ordered(dimension, {point.value for point in points})
    counts = {(point.period, point.value or "—"): point.cases for point in points}
    return {
        "periods": [period.isoformat() for period in periods],
        "series": [{"name": label, "value": value, "data": [counts.get((period, value), 0) for period in periods]}
                   for value, label in zip(values, labels, strict=True)],
    }


def _heat_chart(cells: list[Any], names: _Names) -> dict[str, Any]:
    """Axes labelled; `products` and `categories` keep the ids a click filters the case list by."""
    products, product_labels = names.ordered("product", {cell.product for cell in cells})
    categories, category_labels = names.ordered("category", {cell.category for cell in cells})
    return {
        "products": products,
        "categories": categories,
        "product_labels": product_labels,
        "category_labels": category_labels,
        "cells": [[categories.index(cell.category or "—"), products.index(cell.product or "—"), cell.cases]
                  for cell in cells],
        "max": max((cell.cases for cell in cells), default=0),
    }


async def _dropoff(request: DashboardRequest, timezone: tzinfo, registry_steps: Callable[[str, int], Awaitable[
        list[str]]]) -> tuple[list[str], str | None, list[StepFunnel]]:
    versions = [f"{flow_id}@{version}" for flow_id, version in await flow_versions()]
    if not versions:
        return [], None, []
    chosen = request.flow_version if request.flow_version in versions else versions[-1]
    flow_id, _, version_text = chosen.rpartition("@")
    version = int(version_text)
    since = (datetime.combine(request.date_from, datetime.min.time(), timezone)
             if request.date_from is not None else None)
    rows = await funnel(
        step_events(flow_id, version, channel=request.filters["channel"], since=since),
        now=datetime.now(UTC), step_order=await registry_steps(flow_id, version),
        finished=await finished_conversations(flow_id, version), abandon_after=_ABANDON_AFTER,
    )
    return versions, chosen, rows


def _dashboard_handler(
    figures: InsightFigures, timezone: tzinfo, rollup_minutes: int
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @page(Permission.CASES_READ)
    async def dashboard(current: Page) -> web.StreamResponse:
        lang: Lang = current.lang
        request = _read_request(current.request.query, lang)

        def t(key: str, **values: object) -> str:
            return _t(lang, key, **values)

        names = _Names(await current.deps.desk_settings.vocabulary(), lang)
        choices: dict[str, Any] = {"product_choices": _choices(names, "product"),
                                   "category_choices": _choices(names, "category")}
        if request.errors:
            return current.render("insight.html", 422, ti=t, dashboard=request, figures=None, data_json="{}",
                                  versions=[], chosen_version=None,
                                  bands=[label for label, _ in AGE_BANDS], **choices)
        query = request.case_query()

        async def steps(flow_id: str, version: int) -> list[str]:
            flow = await current.deps.registry.version(flow_id, version)
            return [step.id for step in flow.steps] if flow is not None else []

        volume = await figures.volume(query, request.bucket, request.by)
        team_volume = await figures.volume(query, request.bucket, "team")
        heat = await figures.heatmap(query)
        backlog = await figures.backlog(query, datetime.now(UTC))
        timings = await figures.timings(query)
        satisfaction = await figures.satisfaction(query)
        # Most cases first, then by the label the admin reads.
        nlp_products = sorted(await figures.nlp_quality(query, "product"),
                              key=lambda row: (-row.cases, names("product", row.value)))
        nlp_categories = sorted(await figures.nlp_quality(query, "category"),
                                key=lambda row: (-row.cases, names("category", row.value)))
        as_of = await figures.rollup_as_of(query)
        if as_of is None:
            percentile_means = t("percentile_exact")
        else:
            percentile_means = t("percentile_bucketed", minutes=rollup_minutes,
                                 as_of=as_of.astimezone(timezone).strftime("%Y-%m-%d %H:%M"))
        versions, chosen, steps_funnel = await _dropoff(request, timezone, steps)
        data = {
            "volume": _volume_chart(volume, names, request.by),
            "team_volume": _volume_chart(team_volume, names, "team"),
            "heat": _heat_chart(heat, names),
            "backlog": {"bands": [label for label, _ in backlog], "cases": [count for _, count in backlog]},
            "funnel": {"steps": [row.step_id for row in steps_funnel],
                       "reached": [row.reached for row in steps_funnel],
                       "answered": [row.answered for row in steps_funnel],
                       "abandoned": [row.abandoned for row in steps_funnel]},
            "drill": "/admin/cases?" + urlencode(request.drill_params(timezone)),
            "labels": {key: t(key) for key in ("cell_cases", "reached", "answered", "abandoned", "product",
                                               "category")},
        }
        return current.render(
            "insight.html", ti=t, dashboard=request, figures=True, timings=timings, backlog=backlog,
            satisfaction=satisfaction, nlp_products=nlp_products, nlp_categories=nlp_categories,
            percentile_means=percentile_means,
            heat=heat, total=timings.cases, name_of=names, versions=versions, chosen_version=chosen,
            funnel=steps_funnel, **choices,
            duration=lambda seconds: _duration(seconds, lang), percent=_percent,
            abandon_hours=int(_ABANDON_AFTER.total_seconds() // 3600),
            # Embedded as data, never run: `<` escaped so no value can close the script element.
            data_json=json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),
            bands=[label for label, _ in AGE_BANDS],
        )

    return dashboard


def insight_routes(settings: Settings) -> list[web.RouteDef]:
    """Registered before the API's routes: /api/v1/cases/export must win over /api/v1/cases/{number}."""
    timezone = ZoneInfo(settings.timezone)
    insight = TortoiseInsight(timezone)
    figures = InsightFigures(insight, timezone, TortoiseInsightRollup(timezone))

    async def export(request: web.Request) -> web.StreamResponse:
        return await export_cases(insight, request)

    return [
        web.get(API_PREFIX + EXPORT_PATH, export),
        web.get("/admin/insight", _dashboard_handler(figures, timezone, settings.insight_rollup_minutes)),
    ]
