"""The dashboard's figures, computed from storage's per-case rows. Each figure says what it counts."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from storage.insight import OPEN_STATUSES, Bucket, CaseQuery, Dimension, NlpCounts, Satisfaction, TortoiseInsight
from storage.insight_rollup import (
    COUNT_COLUMNS,
    RESOLUTION_COLUMNS,
    RESPONSE_COLUMNS,
    TortoiseInsightRollup,
    histogram_percentile,
)

# Open cases by how long they have been open; the last band has no upper end.
AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 1 day", timedelta(days=1)),
    ("1-3 days", timedelta(days=3)),
    ("3-7 days", timedelta(days=7)),
    ("> 7 days", None),
)


def bucket_start(moment: datetime, bucket: Bucket, timezone: tzinfo) -> date:
    """The first day of the day/ISO week/month that `moment` falls in, in the business's time zone."""
    return bucket_start_of_day(moment.astimezone(timezone).date(), bucket)


def bucket_start_of_day(day: date, bucket: Bucket) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def nearest_rank(sorted_values: list[float], percentile: float) -> float | None:
    """The nearest-rank percentile (the value at rank ceil(p/100 * n)): always one of the observed values,
    so a reader can find the case behind it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percentile / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class VolumePoint:
    period: date
    value: str | None
    cases: int


@dataclass(frozen=True)
class DurationSummary:
    """Seconds from filing; `cases` is how many cases have the moment at all (the denominator)."""

    cases: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Timings:
    cases: int
    first_response: DurationSummary
    resolution: DurationSummary
    resolved_cases: int
    reopened_cases: int

    @property
    def reopen_rate(self) -> float | None:
        """Cases reopened at least once / cases resolved at least once (a case reopened twice counts once)."""
        return self.reopened_cases / self.resolved_cases if self.resolved_cases else None


@dataclass(frozen=True)
class HeatCell:
    product: str | None
    category: str | None
    cases: int


@dataclass(frozen=True)
class NlpQuality:
    """Per product (or category) value: CASES with that value, how many took it from the NLP's proposal
    (accepted by the customer or automatically), and how many an agent corrected afterwards."""

    value: str | None
    cases: int
    from_nlp: int
    corrected: int

    @property
    def accepted_share(self) -> float | None:
        return self.from_nlp / self.cases if self.cases else None

    @property
    def corrected_share(self) -> float | None:
        return self.corrected / self.cases if self.cases else None


def _none(value: object) -> str | None:
    # The rollup keeps "no value" as "" (part of its unique key); the figures say None like the cases do.
    return None if value in (None, "") else str(value)


def _band(age: timedelta) -> str:
    for label, upper in AGE_BANDS:
        if upper is None or age < upper:
            return label
    raise AssertionError("the last band has no upper end")


def _summary(durations: list[float]) -> DurationSummary:
    durations.sort()
    return DurationSummary(len(durations), nearest_rank(durations, 50), nearest_rank(durations, 90))


class InsightFigures:
    """The figures, from the daily rollup when it can answer the query (filing days and the five dimensions,
    built for this time zone), else from the cases themselves. Both count the same things; durations from the
    rollup are bucketed (storage/insight_rollup.py states the method)."""

    def __init__(self, insight: TortoiseInsight, timezone: tzinfo,
                 rollup: TortoiseInsightRollup | None = None) -> None:
        self._insight = insight
        self._timezone = timezone
        self._rollup = rollup

    async def _from_rollup(self, query: CaseQuery) -> TortoiseInsightRollup | None:
        if self._rollup is not None and self._rollup.usable_for(query) and await self._rollup.current():
            return self._rollup
        return None

    async def rollup_as_of(self, query: CaseQuery) -> datetime | None:
        """When the rollup that answers `query` was refreshed; None when the figures read the cases."""
        rollup = await self._from_rollup(query)
        return await rollup.as_of() if rollup is not None else None

    async def volume(self, query: CaseQuery, bucket: Bucket, by: Dimension) -> list[VolumePoint]:
        """Cases filed per period, split by one dimension; periods without cases are absent."""
        counts: Counter[tuple[date, str | None]] = Counter()
        rollup = await self._from_rollup(query) if by != "status" else None
        if rollup is not None:
            for (day, value), sums in await rollup.sums(rollup.condition(query, (by,)), ("day", by), ("cases",)):
                assert isinstance(day, date)
                counts[(bucket_start_of_day(day, bucket), _none(value))] += sums["cases"]
        else:
            for day, (value,), cases in await self._insight.day_counts(query, (by,)):
                counts[(bucket_start_of_day(day, bucket), value)] += cases
        return [
            VolumePoint(period, value, cases)
            for (period, value), cases in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        ]

    async def heatmap(self, query: CaseQuery) -> list[HeatCell]:
        """Cases per product x category, largest first."""
        rollup = await self._from_rollup(query)
        if rollup is not None:
            pair = ("product", "category")
            cells: list[tuple[tuple[str | None, ...], int]] = [
                ((_none(product), _none(category)), sums["cases"])
                for (product, category), sums in await rollup.sums(rollup.condition(query, pair), pair, ("cases",))]
        else:
            cells = await self._insight.group_counts(query, ("product", "category"))
        return [HeatCell(product, category, cases) for (product, category), cases in sorted(
            cells, key=lambda cell: (-cell[1], cell[0][0] or "", cell[0][1] or ""))]

    async def backlog(self, query: CaseQuery, now: datetime) -> list[tuple[str, int]]:
        """Cases open now, by age band (filters apply; a status filter other than an open one gives zeros).

        From the rollup: a filing day that no band edge (now - 1, 3, 7 days) cuts through lies wholly in one band
        and is counted from its rows; the (at most three) days an edge cuts through are counted from the cases,
        to the quarter hour, like the figure without a rollup."""
        rollup = await self._from_rollup(query)
        counts: Counter[str] = Counter()
        if rollup is None:
            await self._backlog_from_cases(query, now, counts)
            return [(label, counts[label]) for label, _ in AGE_BANDS]
        edges = {(now - upper).astimezone(self._timezone).date() for _, upper in AGE_BANDS if upper is not None}
        for (day,), sums in await rollup.sums(rollup.condition(query), ("day",), ("open_cases",)):
            assert isinstance(day, date)
            if day in edges or not sums["open_cases"]:
                continue
            start = datetime(day.year, day.month, day.day, tzinfo=self._timezone)
            counts[_band(now - start)] += sums["open_cases"]
        for day in sorted(edges):
            if (query.date_from is None or day >= query.date_from) and (query.date_to is None or day <= query.date_to):
                await self._backlog_from_cases(replace(query, date_from=day, date_to=day), now, counts)
        return [(label, counts[label]) for label, _ in AGE_BANDS]

    async def _backlog_from_cases(self, query: CaseQuery, now: datetime, counts: Counter[str]) -> None:
        # Only open cases are read: the database skips the (many) closed ones.
        for quarter, (status,), cases in await self._insight.quarter_counts(query, ("status",), OPEN_STATUSES):
            if status in OPEN_STATUSES:
                # Ages are taken from the quarter hour of filing: a band's edge is exact to 15 minutes.
                counts[_band(now - quarter)] += cases

    async def _rollup_totals(self, rollup: TortoiseInsightRollup, query: CaseQuery,
                             columns: tuple[str, ...]) -> Counter[str]:
        totals: Counter[str] = Counter()
        for _, sums in await rollup.sums(rollup.condition(query), (), columns):
            totals.update(sums)
        return totals

    async def satisfaction(self, query: CaseQuery) -> Satisfaction:
        rollup = await self._from_rollup(query)
        if rollup is None:
            return await self._insight.satisfaction(query)
        totals = await self._rollup_totals(
            rollup, query, ("csat_asked", "csat_answered", "csat_score_sum", "sla_hit", "sla_missed"))
        return Satisfaction(totals["csat_asked"], totals["csat_answered"], totals["csat_score_sum"],
                            totals["sla_hit"], totals["sla_missed"])

    async def nlp_quality(self, query: CaseQuery, by: Literal["product", "category"]) -> list[NlpQuality]:
        """Per product or per category (cases without one are left out), most cases first."""
        rollup = await self._from_rollup(query)
        rows: list[NlpCounts]
        if rollup is not None:
            rows = [NlpCounts(_none(value), sums["cases"], sums[f"{by}_nlp"], sums[f"{by}_corrected"])
                    for (value,), sums in await rollup.sums(
                        rollup.condition(query, (by,)), (by,), ("cases", f"{by}_nlp", f"{by}_corrected"))]
        else:
            rows = await self._insight.nlp_counts(query, by)
        return sorted((NlpQuality(row.value, row.cases, row.from_nlp, row.corrected) for row in rows
                       if row.value is not None), key=lambda row: (-row.cases, row.value or ""))

    async def timings(self, query: CaseQuery) -> Timings:
        rollup = await self._from_rollup(query)
        if rollup is not None:
            totals = await self._rollup_totals(rollup, query, COUNT_COLUMNS + RESPONSE_COLUMNS + RESOLUTION_COLUMNS)
            responses = [totals[column] for column in RESPONSE_COLUMNS]
            resolutions = [totals[column] for column in RESOLUTION_COLUMNS]
            return Timings(
                totals["cases"],
                DurationSummary(totals["responded"], histogram_percentile(responses, 50),
                                histogram_percentile(responses, 90)),
                DurationSummary(totals["resolved"], histogram_percentile(resolutions, 50),
                                histogram_percentile(resolutions, 90)),
                totals["resolved"], totals["reopened"],
            )
        computed = await self._insight.database_timings(query)
        if computed is not None:
            return Timings(
                computed.cases,
                DurationSummary(computed.responded, computed.response_median, computed.response_p90),
                DurationSummary(computed.resolved, computed.resolution_median, computed.resolution_p90),
                computed.resolved, computed.reopened,
            )
        first_response: list[float] = []
        resolution: list[float] = []
        cases = resolved = reopened = 0
        async for _, filed_at, timeline in self._insight.timelines(query):
            cases += 1
            if timeline.first_response_at is not None:
                first_response.append((timeline.first_response_at - filed_at).total_seconds())
            if timeline.resolved_at is not None:
                resolved += 1
                resolution.append((timeline.resolved_at - filed_at).total_seconds())
                if timeline.reopen_count:
                    reopened += 1
        return Timings(cases, _summary(first_response), _summary(resolution), resolved, reopened)
