"""Reading cases for analysis: one row per case for exports, and the figures of the insight dashboard.

Every figure counts CASES (never events or customers) unless its name says otherwise. Definitions, stated once
here and shown in the console:
- first response: the first agent reply relayed to the customer (event `agent_reply`); acknowledging alone is
  not a response.
- resolved: the FIRST time the case reached `resolved`; a reopened case keeps that first resolution for the
  time-to-resolution figure and is counted once in the reopen rate however often it was reopened.
- a case belongs to the day (in the business's time zone) on which it was filed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import Q, RawSQL
from tortoise.functions import Count, Min, Sum
from tortoise.queryset import QuerySet

from storage.models import Case, CaseEvent, CaseLink, CasePriority, CaseSla, CsatSurvey, Evidence, NlpCorrection

FIRST_RESPONSE_EVENT = "agent_reply"
RESOLVE_EVENT = "resolve"
REOPEN_EVENT = "reopen"
_TIMELINE_EVENTS = (FIRST_RESPONSE_EVENT, RESOLVE_EVENT, REOPEN_EVENT)
OPEN_STATUSES = ("new", "acknowledged", "in_progress", "waiting_for_customer")

Bucket = Literal["day", "week", "month"]
Dimension = Literal["category", "product", "channel", "lang", "team", "status"]


@dataclass(frozen=True)
class CaseQuery:
    """The filters every insight figure and export accepts (None: no filter). Dates are inclusive days in the
    business's time zone, applied to the filing time."""

    date_from: date | None = None
    date_to: date | None = None
    channel: str | None = None
    team: str | None = None
    category: str | None = None
    product: str | None = None
    lang: str | None = None
    status: str | None = None
    # Exact moments (the case list's `since`/`until`): filed at or after / strictly before.
    filed_since: datetime | None = None
    filed_until: datetime | None = None

    def condition(self, timezone: tzinfo) -> Q:
        condition = Q()
        if self.filed_since is not None:
            condition &= Q(created_at__gte=_utc(self.filed_since))
        if self.filed_until is not None:
            condition &= Q(created_at__lt=_utc(self.filed_until))
        if self.date_from is not None:
            condition &= Q(created_at__gte=_start_of_day(self.date_from, timezone))
        if self.date_to is not None:
            condition &= Q(created_at__lt=_start_of_day(self.date_to + timedelta(days=1), timezone))
        for name in ("channel", "team", "category", "product", "lang", "status"):
            value = getattr(self, name)
            if value is not None:
                condition &= Q(**{name: value})
        return condition


def _moment(value: object) -> datetime | None:
    """An aggregated timestamp: SQLite hands MIN() back as text, the other databases as a datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    # A moment without an offset is read as UTC, the offset every stored timestamp carries.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _start_of_day(day: date, timezone: tzinfo) -> datetime:
    # In UTC: SQLite compares stored timestamps as text, so every bound must carry the stored offset.
    return datetime(day.year, day.month, day.day, tzinfo=timezone).astimezone(UTC)


_ASKED_SURVEYS = ("asked", "awaiting_comment", "answered")


@dataclass(frozen=True)
class DatabaseTimings:
    """Counts of cases and seconds from filing (nearest-rank percentiles)."""

    cases: int
    responded: int
    response_median: float | None
    response_p90: float | None
    resolved: int
    resolution_median: float | None
    resolution_p90: float | None
    reopened: int


@dataclass(frozen=True)
class Satisfaction:
    """Counts of cases: surveys asked and answered (with the sum of scores), SLAs hit and missed."""

    surveys_asked: int
    surveys_answered: int
    score_sum: int
    sla_hit: int
    sla_missed: int

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.surveys_answered if self.surveys_answered else None

    @property
    def response_rate(self) -> float | None:
        return self.surveys_answered / self.surveys_asked if self.surveys_asked else None

    @property
    def sla_attainment(self) -> float | None:
        concluded = self.sla_hit + self.sla_missed
        return self.sla_hit / concluded if concluded else None


@dataclass(frozen=True)
class NlpCounts:
    """Cases with one product (or category) value: taken from the NLP's proposal, corrected by an agent."""

    value: str | None
    cases: int
    from_nlp: int
    corrected: int


@dataclass(frozen=True)
class CaseTimeline:
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    reopen_count: int = 0


@dataclass(frozen=True)
class ExportEvidence:
    file_name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CaseExportRow:
    """One case as the exports write it; field order is the documented column order."""

    number: str
    channel: str
    lang: str
    status: str
    team: str | None
    assignee: str | None
    name: str | None
    phone: str | None
    email: str | None
    description: str | None
    occurred_at: str | None
    occurred_where: str | None
    expected_resolution: str | None
    product: str | None
    product_confidence: float | None
    category: str | None
    category_confidence: float | None
    flow_id: str | None
    flow_version: int | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution_seconds: float | None
    reopen_count: int
    resolution_code: str | None
    evidence: tuple[ExportEvidence, ...] = field(default=())
    priority: str | None = None
    sla_outcome: str | None = None
    csat_status: str | None = None
    csat_score: int | None = None
    duplicate_of: str | None = None
    product_source: str | None = None
    category_source: str | None = None
    extra_fields: dict[str, object] = field(default_factory=dict)


@dataclass
class _CaseDetails:
    priority: str | None = None
    sla_outcome: str | None = None
    csat_status: str | None = None
    csat_score: int | None = None
    duplicate_of: str | None = None
    corrected: set[str] = field(default_factory=set)


async def _timelines(case_ids: Sequence[int]) -> dict[int, CaseTimeline]:
    firsts: dict[tuple[int, str], datetime] = {}
    reopens: Counter[int] = Counter()
    rows = await CaseEvent.filter(case_id__in=list(case_ids), kind__in=_TIMELINE_EVENTS).annotate(
        first=Min("created_at"), times=Count("id")
    ).group_by("case_id", "kind").values_list("case_id", "kind", "first", "times")
    for case_id, kind, first, times in rows:
        firsts[(case_id, kind)] = first
        if kind == REOPEN_EVENT:
            reopens[case_id] = int(times)
    return {
        case_id: CaseTimeline(
            firsts.get((case_id, FIRST_RESPONSE_EVENT)), firsts.get((case_id, RESOLVE_EVENT)), reopens[case_id]
        )
        for case_id in case_ids
    }


async def _evidence(case_ids: Sequence[int]) -> dict[int, list[ExportEvidence]]:
    found: dict[int, list[ExportEvidence]] = {case_id: [] for case_id in case_ids}
    rows = await Evidence.filter(case_id__in=list(case_ids)).order_by("id").values_list(
        "case_id", "file_name", "media_type", "size", "sha256"
    )
    for case_id, file_name, media_type, size, sha256 in rows:
        found[case_id].append(ExportEvidence(file_name, media_type, size, sha256))
    return found


async def _details(case_ids: Sequence[int]) -> dict[int, _CaseDetails]:
    """Priority, SLA outcome, survey, the case this one duplicates and the agent-corrected fields, per case."""
    found = {case_id: _CaseDetails() for case_id in case_ids}
    ids = list(case_ids)
    for case_id, priority in await CasePriority.filter(case_id__in=ids).values_list("case_id", "priority"):
        found[case_id].priority = priority
    for case_id, state in await CaseSla.filter(case_id__in=ids).values_list("case_id", "state"):
        found[case_id].sla_outcome = state
    for case_id, status, score in await CsatSurvey.filter(case_id__in=ids).values_list("case_id", "status", "score"):
        found[case_id].csat_status, found[case_id].csat_score = status, score
    for case_id, number in await CaseLink.filter(case_id__in=ids, status="linked").order_by("id").values_list(
        "case_id", "earlier_case__number"
    ):
        found[case_id].duplicate_of = found[case_id].duplicate_of or number
    for case_id, field_name in await NlpCorrection.filter(case_id__in=ids).values_list("case_id", "field"):
        if case_id is not None:
            found[case_id].corrected.add(field_name)
    return found


def classification_source(value: str | None, confidence: float | None, corrected: bool) -> str | None:
    """Who chose a product or category: `agent` (corrected after filing), `nlp` (a proposal taken: the draft keeps
    the NLP's confidence, below 1), `customer` (typed or picked: confidence 1.0); None without a value."""
    if value is None:
        return None
    if corrected:
        return "agent"
    return "nlp" if confidence is not None and confidence < 1.0 else "customer"


class TortoiseInsight:
    """Figures and exports over the case table; memory stays bounded by `batch_size` whatever the count."""

    def __init__(self, timezone: tzinfo, batch_size: int = 500) -> None:
        self._timezone = timezone
        self._batch_size = batch_size

    async def count(self, query: CaseQuery) -> int:
        return await Case.filter(query.condition(self._timezone)).count()

    def _page(self, query: CaseQuery, after_id: int, size: int) -> QuerySet[Case]:
        # Keyset pagination: each page starts after the last id seen, so no page costs more than the first.
        return Case.filter(query.condition(self._timezone), id__gt=after_id).order_by("id").limit(size)

    async def stream(self, query: CaseQuery) -> AsyncIterator[CaseExportRow]:
        """Every matching case in filing order, page by page (never the whole table in memory)."""
        after_id = 0
        while cases := await self._page(query, after_id, self._batch_size).prefetch_related("conversation"):
            ids = [case.id for case in cases]
            timelines = await _timelines(ids)
            evidence = await _evidence(ids)
            details = await _details(ids)
            for case in cases:
                yield _export_row(case, timelines[case.id], evidence[case.id], details[case.id])
            after_id = ids[-1]

    async def timelines(self, query: CaseQuery) -> AsyncIterator[tuple[str, datetime, CaseTimeline]]:
        """(status, filed at, timeline) per matching case, a large page at a time; each page is ONE grouped
        query (the cases joined with their events), not a query per page of ids."""
        after_id = 0
        size = self._batch_size * 20
        while ids := await self._page(query, after_id, size).values_list("id", flat=True):
            # The page as an id range: grouping then never looks past it (an ORDER BY ... LIMIT on the grouped
            # query would aggregate every remaining case for every page).
            last_id = int(str(ids[-1]))
            rows = await Case.filter(
                query.condition(self._timezone), id__gt=after_id, id__lte=last_id
            ).annotate(
                first_response=Min("events__created_at", _filter=Q(events__kind=FIRST_RESPONSE_EVENT)),
                first_resolve=Min("events__created_at", _filter=Q(events__kind=RESOLVE_EVENT)),
                reopens=Count("events__id", _filter=Q(events__kind=REOPEN_EVENT)),
            ).group_by("id", "status", "created_at").values_list(
                "status", "created_at", "first_response", "first_resolve", "reopens"
            )
            for status, created_at, first_response, first_resolve, reopens in rows:
                yield status, created_at, CaseTimeline(_moment(first_response), _moment(first_resolve), int(reopens))
            after_id = last_id

    async def quarter_counts(
        self, query: CaseQuery, dimensions: Sequence[Dimension], statuses: Sequence[str] | None = None
    ) -> list[tuple[datetime, tuple[str | None, ...], int]]:
        """Cases per quarter hour of filing (UTC) and per value of `dimensions`, counted by the database.
        Quarter hours, not days: every time zone's midnight (India's +05:30, Nepal's +05:45) falls on one, so
        the caller re-buckets into the business's days, weeks and months without reading single cases."""
        quarter = RawSQL(_QUARTER_HOUR[connections.get("default").capabilities.dialect])
        selected = Case.filter(query.condition(self._timezone))
        if statuses is not None:
            selected = selected.filter(status__in=list(statuses))
        # COUNT(status), not COUNT(id): status is never null, and with no other column read, the open backlog's
        # edge days (status IN open, created_at in a day) are answered from the (status, created_at) index alone
        # on PostgreSQL (an index-only scan), without visiting the scattered rows of a day's cases.
        rows = await selected.annotate(
            quarter=quarter, cases=Count("status")
        ).group_by("quarter", *dimensions).values_list("quarter", *dimensions, "cases")
        return [
            (datetime.fromtimestamp(int(row[0]) * _QUARTER_SECONDS, UTC), tuple(row[1:-1]), int(row[-1]))
            for row in rows
        ]

    async def day_counts(
        self, query: CaseQuery, dimensions: Sequence[Dimension]
    ) -> list[tuple[date, tuple[str | None, ...], int]]:
        """Cases per day of filing in the business's time zone and per value of `dimensions`. PostgreSQL groups
        by that day itself (time-zone aware, DST included): a tenth of the rows of quarter hours; the other
        databases count quarter hours, re-bucketed here."""
        if connections.get("default").capabilities.dialect == "postgres" and isinstance(self._timezone, ZoneInfo):
            zone = self._timezone.key.replace("'", "")
            day = RawSQL(f"CAST((created_at AT TIME ZONE '{zone}') AS DATE)")
            rows = await Case.filter(query.condition(self._timezone)).annotate(
                filed_day=day, cases=Count("id")
            ).group_by("filed_day", *dimensions).values_list("filed_day", *dimensions, "cases")
            return [(row[0], tuple(row[1:-1]), int(row[-1])) for row in rows]
        counts: Counter[tuple[date, tuple[str | None, ...]]] = Counter()
        for quarter, values, cases in await self.quarter_counts(query, dimensions):
            counts[(quarter.astimezone(self._timezone).date(), values)] += cases
        return [(day, values, cases) for (day, values), cases in counts.items()]

    async def database_timings(self, query: CaseQuery) -> DatabaseTimings | None:
        """First response and resolution medians and 90th percentiles computed by PostgreSQL itself
        (percentile_disc is the nearest-rank percentile, the definition the figures state); None elsewhere, where
        the caller computes them from `timelines`. One statement: no row per case reaches Python."""
        connection = connections.get("default")
        if connection.capabilities.dialect != "postgres":
            return None
        per_case = Case.filter(query.condition(self._timezone)).annotate(
            first_response=Min("events__created_at", _filter=Q(events__kind=FIRST_RESPONSE_EVENT)),
            first_resolve=Min("events__created_at", _filter=Q(events__kind=RESOLVE_EVENT)),
            reopens=Count("events__id", _filter=Q(events__kind=REOPEN_EVENT)),
        ).group_by("id", "created_at").values("created_at", "first_response", "first_resolve", "reopens")
        # The grouped query with its parameters (Tortoise builds it; the values stay bound parameters).
        per_case._choose_db_if_not_chosen()
        per_case._make_query()
        inner, values = per_case.query.get_parameterized_sql()
        response = 'EXTRACT(EPOCH FROM (t."first_response" - t."created_at"))'
        resolution = 'EXTRACT(EPOCH FROM (t."first_resolve" - t."created_at"))'
        sql = (
            f"SELECT COUNT(*), COUNT(t.\"first_response\"), "
            f"percentile_disc(0.5) WITHIN GROUP (ORDER BY {response}), "
            f"percentile_disc(0.9) WITHIN GROUP (ORDER BY {response}), "
            f"COUNT(t.\"first_resolve\"), "
            f"percentile_disc(0.5) WITHIN GROUP (ORDER BY {resolution}), "
            f"percentile_disc(0.9) WITHIN GROUP (ORDER BY {resolution}), "
            f"COUNT(*) FILTER (WHERE t.\"first_resolve\" IS NOT NULL AND t.\"reopens\" > 0) "
            f"FROM ({inner}) t"
        )
        _, rows = await connection.execute_query(sql, list(values))
        row = list(rows[0].values()) if rows and isinstance(rows[0], dict) else list(rows[0])

        def seconds(value: object) -> float | None:
            return None if value is None else float(str(value))

        return DatabaseTimings(
            cases=int(row[0]), responded=int(row[1]), response_median=seconds(row[2]), response_p90=seconds(row[3]),
            resolved=int(row[4]), resolution_median=seconds(row[5]), resolution_p90=seconds(row[6]),
            reopened=int(row[7]),
        )

    async def satisfaction(self, query: CaseQuery) -> Satisfaction:
        """CSAT surveys and SLA outcomes of the matching cases (one survey and one SLA per case at most)."""
        rows = await Case.filter(query.condition(self._timezone)).annotate(
            asked=Count("csat__id", _filter=Q(csat__status__in=list(_ASKED_SURVEYS))),
            answered=Count("csat__score"),
            score_sum=Sum("csat__score"),
            sla_hit=Count("sla__id", _filter=Q(sla__state="hit")),
            sla_missed=Count("sla__id", _filter=Q(sla__state="missed")),
        ).group_by("lang").values_list("asked", "answered", "score_sum", "sla_hit", "sla_missed")
        # Grouped by language only because an aggregate needs a group here: the groups are added up.
        totals = [sum(int(row[index] or 0) for row in rows) for index in range(5)]
        return Satisfaction(*totals)

    async def nlp_counts(self, query: CaseQuery, field_name: Literal["product", "category"]) -> list[NlpCounts]:
        """Per value of the field: cases, cases whose value came from the NLP (confidence below 1: a proposal
        taken; 1.0 is a value the customer typed or picked), cases an agent corrected that field of."""
        selected = Case.filter(query.condition(self._timezone))
        rows = await selected.annotate(
            total=Count("id"), from_nlp=Count("id", _filter=Q(**{f"{field_name}_confidence__lt": 1.0})),  # type: ignore[arg-type]
        ).group_by(field_name).values_list(field_name, "total", "from_nlp")
        corrected = dict(await Case.filter(
            query.condition(self._timezone), corrections__field=field_name
        ).annotate(corrected=Count("id", distinct=True)).group_by(field_name).values_list(field_name, "corrected"))
        return [NlpCounts(value, int(total), int(nlp), int(corrected.get(value, 0))) for value, total, nlp in rows]

    async def group_counts(
        self, query: CaseQuery, dimensions: Sequence[Dimension]
    ) -> list[tuple[tuple[str | None, ...], int]]:
        """Cases per value of `dimensions`, counted by the database."""
        rows = await Case.filter(query.condition(self._timezone)).annotate(cases=Count("id")).group_by(
            *dimensions
        ).values_list(*dimensions, "cases")
        return [(tuple(row[:-1]), int(row[-1])) for row in rows]


_QUARTER_SECONDS = 900
# The filing time as a whole number of quarter hours since 1970 (UTC), in each SQL dialect.
_QUARTER_HOUR = {
    "postgres": f"FLOOR(EXTRACT(EPOCH FROM created_at) / {_QUARTER_SECONDS})",
    "sqlite": f"CAST(strftime('%s', created_at) AS INTEGER) / {_QUARTER_SECONDS}",
    "mysql": f"UNIX_TIMESTAMP(created_at) DIV {_QUARTER_SECONDS}",
}


def _export_row(case: Case, timeline: CaseTimeline, evidence: list[ExportEvidence], details: _CaseDetails
                ) -> CaseExportRow:
    conversation = case.conversation
    resolution_seconds = (
        (timeline.resolved_at - case.created_at).total_seconds() if timeline.resolved_at is not None else None
    )
    return CaseExportRow(
        number=case.number,
        channel=case.channel,
        lang=case.lang,
        status=case.status,
        team=case.team,
        assignee=case.assignee,
        name=case.name,
        phone=case.phone,
        email=case.email,
        description=case.description,
        occurred_at=case.occurred_at,
        occurred_where=case.occurred_where,
        expected_resolution=case.expected_resolution,
        product=case.product,
        product_confidence=case.product_confidence,
        category=case.category,
        category_confidence=case.category_confidence,
        flow_id=conversation.flow_id if conversation is not None else None,
        flow_version=conversation.flow_version if conversation is not None else None,
        created_at=case.created_at,
        first_response_at=timeline.first_response_at,
        resolved_at=timeline.resolved_at,
        resolution_seconds=resolution_seconds,
        reopen_count=timeline.reopen_count,
        resolution_code=case.resolution_code,
        evidence=tuple(evidence),
        priority=details.priority,
        sla_outcome=details.sla_outcome,
        csat_status=details.csat_status,
        csat_score=details.csat_score,
        duplicate_of=details.duplicate_of,
        product_source=classification_source(case.product, case.product_confidence, "product" in details.corrected),
        category_source=classification_source(
            case.category, case.category_confidence, "category" in details.corrected),
        extra_fields=dict(case.extra) if isinstance(case.extra, dict) else {},
    )
