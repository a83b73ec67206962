"""The insight dashboard's daily rollup: cases pre-aggregated per day (business time zone) x channel x language x
team x product x category, so a figure over a million cases sums a few thousand rows instead of joining every
case with its events.

What a row holds: cases, cases with a first response / a first resolution / a reopen, open cases, CSAT asked /
answered / score sum, SLA hit / missed, NLP-proposed and agent-corrected products and categories, and two histograms
(first response and first resolution) of case counts per duration bucket. Medians and 90th percentiles cannot be
summed; histograms can: a percentile is the nearest-rank case found by walking the summed histogram, placed inside
its bucket by linear interpolation (histogram_percentile). The edges (DURATION_EDGES) are 1-15 minutes apart under
an hour, 30 min-4 h under a day, days beyond, so the error is under that width.

How it stays current: `refresh(now)` runs on the worker's timer (bot/insight/rollup_watch.py, every minute by
default) rather than inside the intake and lifecycle transactions, because a case's row changes with a dozen kinds
of writes in four rooms (events, reclassification, team moves, CSAT, SLA, corrections): one reader that finds
what changed is one place to get right, and it never lengthens a customer's turn. It finds the filing days of every
case changed since its last run (case rows, case events, surveys, SLAs, corrections; looking back `LAG` before the
watermark so that a transaction committing late is still seen) and recomputes those whole days: recomputing a day
is idempotent, so overlaps cost time, never correctness. A deleted case leaves nothing to find: every delete of
cases goes through `delete_cases`, which records their filing days (`InsightDirtyDay`) in the delete's own
transaction, and the next refresh recomputes those days too. The timer refreshes at most `chunk_days` days per firing
(one transaction each, resumable from the stored pass), so a refresh after a long pause never outlasts its lease.
`rebuild()` is the backfill (`plaint insight rollup --rebuild`); a rollup built for another time zone is not used
(the figures read the cases directly) until rebuilt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import combinations
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.expressions import Q
from tortoise.functions import Count, Min, Sum
from tortoise.transactions import in_transaction

from storage.insight import OPEN_STATUSES, CaseQuery
from storage.models import (
    ROLLUP_BUCKETS,
    Case,
    CaseSla,
    CsatSurvey,
    InsightDaily,
    InsightDirtyDay,
    InsightRollupState,
    NlpCorrection,
)

# Upper edges of the duration buckets, in seconds; the last bucket (a year or more) reports the last edge.
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
DURATION_EDGES: tuple[int, ...] = (
    1 * _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE, 45 * _MINUTE,
    1 * _HOUR, 90 * _MINUTE, 2 * _HOUR, 3 * _HOUR, 4 * _HOUR, 6 * _HOUR, 8 * _HOUR, 10 * _HOUR, 12 * _HOUR,
    16 * _HOUR, 20 * _HOUR, 1 * _DAY, 36 * _HOUR, 2 * _DAY, 3 * _DAY, 4 * _DAY, 5 * _DAY, 7 * _DAY, 10 * _DAY,
    14 * _DAY, 21 * _DAY, 30 * _DAY, 60 * _DAY, 90 * _DAY, 180 * _DAY, 365 * _DAY,
)
assert len(DURATION_EDGES) + 1 == ROLLUP_BUCKETS
RESPONSE_COLUMNS = tuple(f"r{index:02d}" for index in range(ROLLUP_BUCKETS))
RESOLUTION_COLUMNS = tuple(f"s{index:02d}" for index in range(ROLLUP_BUCKETS))
COUNT_COLUMNS = (
    "cases", "responded", "resolved", "reopened", "csat_asked", "csat_answered", "csat_score_sum", "sla_hit",
    "sla_missed", "product_nlp", "product_corrected", "category_nlp", "category_corrected", "open_cases",
)
DIMENSION_COLUMNS = ("channel", "lang", "team", "product", "category")
# The grains kept: the day's total, every single dimension, every pair, and all five. A query reads the one grain
# that holds exactly the dimensions it filters or splits by (any three or more: the full grain), so the dashboard's
# usual questions (no filter, one filter, one split) read at most a few hundred rows a day whatever the volume.
FULL_GRAIN = DIMENSION_COLUMNS
GRAINS: tuple[tuple[str, ...], ...] = (
    (), *((name,) for name in DIMENSION_COLUMNS), *combinations(DIMENSION_COLUMNS, 2), FULL_GRAIN,
)


def grain_name(dimensions: Iterable[str]) -> str:
    wanted = set(dimensions)
    return ",".join(name for name in DIMENSION_COLUMNS if name in wanted)


def grain_for(dimensions: Iterable[str]) -> str:
    """The grain that answers a query over these dimensions."""
    wanted = set(dimensions)
    return grain_name(wanted) if len(wanted) <= 2 else grain_name(FULL_GRAIN)

STATE_NAME = "daily"
# How far before the watermark a refresh looks again: a transaction that took longer to commit is still seen.
LAG = timedelta(minutes=10)
_ASKED_SURVEYS = ("asked", "awaiting_comment", "answered")


def duration_bucket(seconds: float) -> int:
    for index, edge in enumerate(DURATION_EDGES):
        if seconds <= edge:
            return index
    return len(DURATION_EDGES)


def bucket_value(index: int) -> float:
    """What a bucket reports: its upper edge (the overflow bucket: the last edge)."""
    return float(DURATION_EDGES[min(index, len(DURATION_EDGES) - 1)])


def histogram_percentile(counts: Sequence[int], percentile: int) -> float | None:
    """The nearest-rank percentile (rank ceil(p/100 * n)) of a histogram: the bucket holding that rank, and within
    it a linear interpolation by rank (the k-th of a bucket's c cases at k/c of its width), so a bucket's last case
    is its upper edge. Off by less than the bucket's width; the overflow bucket reports the last edge."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, -(-percentile * total // 100))
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(DURATION_EDGES):
                return bucket_value(index)
            lower = float(DURATION_EDGES[index - 1]) if index else 0.0
            return lower + (DURATION_EDGES[index] - lower) * (rank - seen) / count
        seen += count
    return bucket_value(len(counts) - 1)


def _utc(moment: object) -> datetime | None:
    if moment is None:
        return None
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _start_of_day(day: date, timezone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone).astimezone(UTC)


def _day(moment: object, timezone: tzinfo) -> date:
    found = _utc(moment)
    assert found is not None
    return found.astimezone(timezone).date()


def zone_name(timezone: tzinfo) -> str:
    return timezone.key if isinstance(timezone, ZoneInfo) else str(timezone)


async def delete_cases(case_ids: Sequence[int]) -> int:
    """Deletes these cases (their events, SLA clocks, surveys... go with them: ON DELETE CASCADE) and records their
    filing days, in the rollup's time zone, for the rollup's next refresh. Every delete of cases goes through here,
    inside the caller's transaction so that the days and the delete commit together. Returns the cases deleted."""
    ids = list(case_ids)
    if not ids:
        return 0
    state = await InsightRollupState.get_or_none(name=STATE_NAME)
    if state is not None:  # without a rollup, its first refresh is a whole rebuild anyway
        moments = await Case.filter(id__in=ids).values_list("created_at", flat=True)
        try:
            timezone = ZoneInfo(state.timezone)
            days = {_day(moment, timezone) for moment in moments}
        except (ValueError, ZoneInfoNotFoundError):  # a fixed offset: its day is within one of the UTC day
            days = {_day(moment, UTC) + timedelta(days=shift) for moment in moments for shift in (-1, 0, 1)}
        await InsightDirtyDay.bulk_create([InsightDirtyDay(day=day) for day in sorted(days)])
    return await Case.filter(id__in=ids).delete()


@dataclass
class _Row:
    counts: Counter[str]
    response: list[int]
    resolution: list[int]


class TortoiseInsightRollup:
    def __init__(self, timezone: tzinfo, lag: timedelta = LAG) -> None:
        self._timezone = timezone
        self._lag = lag

    async def current(self) -> bool:
        """Whether the rollup was built for this time zone (else the figures read the cases directly)."""
        state = await InsightRollupState.get_or_none(name=STATE_NAME)
        return state is not None and state.timezone == zone_name(self._timezone)

    async def as_of(self) -> datetime | None:
        """The moment of the last refresh, when the rollup is current for this time zone."""
        state = await InsightRollupState.get_or_none(name=STATE_NAME)
        if state is None or state.timezone != zone_name(self._timezone):
            return None
        return _utc(state.watermark)

    async def rebuild(self, now: datetime) -> list[date]:
        """The backfill: every day from the first case's to the last case's, recomputed; returns the days."""
        dirty = await InsightDirtyDay.all().values_list("id", flat=True)
        # Moments only: reading whole cases would decrypt their personal data for nothing.
        first = await Case.all().order_by("created_at").limit(1).values_list("created_at", flat=True)
        last = await Case.all().order_by("-created_at").limit(1).values_list("created_at", flat=True)
        days: list[date] = []
        if first and last:
            day = _day(first[0], self._timezone)
            end = _day(last[0], self._timezone)
            while day <= end:
                days.append(day)
                day += timedelta(days=1)
        # Days without cases any more (erased, or before the first case) keep no rows.
        stale = InsightDaily.filter(Q(day__lt=days[0]) | Q(day__gt=days[-1])) if days else InsightDaily.all()
        await stale.delete()
        for day in days:
            await self.recompute_day(day)
        # Only the rows read before the days were recomputed: a delete committed since stays for the next refresh.
        await InsightDirtyDay.filter(id__in=list(dirty)).delete()
        await self._mark(now, rebuilt=True)
        return days

    async def refresh(self, now: datetime, max_days: int | None = None) -> list[date]:
        """Recompute the days of every case changed since the last refresh; returns the days recomputed. Without a
        rollup for this time zone: the whole backfill.

        With `max_days`, a call recomputes at most that many days (the earliest first) and, if days remain, stores
        where the pass stands (`pass_next`, the first day still to do, and `pass_until`, the moment the pass began):
        the next call goes on from there, and the watermark moves to the pass's start only when its last day is
        done, so a change made during a pass on a day already done is seen by the next pass. Each day is its own
        transaction; the caller (the worker's timer) bounds its own transaction by calling again (`behind()`)."""
        if max_days is not None and max_days < 1:
            raise ValueError("max_days must be at least 1")
        state = await InsightRollupState.get_or_none(name=STATE_NAME)
        if state is None or state.timezone != zone_name(self._timezone):
            return await self.rebuild(now)
        # Days that lost cases (read first: a delete committing during this refresh leaves a row for the next one).
        dirty: list[tuple[int, date]] = list(await InsightDirtyDay.all().values_list("id", "day"))
        since = state.watermark - self._lag
        until = _utc(state.pass_until) or now
        filed: set[datetime] = set()
        for changed in (
            Case.filter(Q(created_at__gte=since) | Q(updated_at__gte=since)),
            Case.filter(events__created_at__gte=since),
            Case.filter(Q(csat__asked_at__gte=since) | Q(csat__answered_at__gte=since)),
            Case.filter(sla__updated_at__gte=since),
            Case.filter(corrections__created_at__gte=since),
        ):
            moments: list[object] = list(await changed.distinct().values_list("created_at", flat=True))
            filed.update(moment for moment in moments if isinstance(moment, datetime))
        days = sorted({moment.astimezone(self._timezone).date() for moment in filed})
        if state.pass_next is not None:
            days = [day for day in days if day >= state.pass_next]
        days = sorted({*days, *(day for _, day in dirty)})
        chunk = days if max_days is None else days[:max_days]
        for day in chunk:
            await self.recompute_day(day)
        done = set(chunk)
        await InsightDirtyDay.filter(id__in=[row for row, day in dirty if day in done]).delete()
        if len(chunk) < len(days):
            await InsightRollupState.filter(name=STATE_NAME).update(
                pass_until=until, pass_next=chunk[-1] + timedelta(days=1))
        else:
            await self._mark(until, rebuilt=False)
        return chunk

    async def behind(self) -> bool:
        """Whether a refresh done in chunks has days left (the next `refresh` goes on with them)."""
        state = await InsightRollupState.get_or_none(name=STATE_NAME)
        return state is not None and state.pass_until is not None

    async def _mark(self, now: datetime, *, rebuilt: bool) -> None:
        updated = await InsightRollupState.filter(name=STATE_NAME).update(
            timezone=zone_name(self._timezone), watermark=now, pass_until=None, pass_next=None,
            **({"rebuilt_at": now} if rebuilt else {})
        )
        if not updated:
            await InsightRollupState.create(name=STATE_NAME, timezone=zone_name(self._timezone), watermark=now,
                                            rebuilt_at=now)

    async def recompute_day(self, day: date) -> int:
        """The rows of one filing day, recomputed from the cases in one transaction; returns the cases counted."""
        start, end = _start_of_day(day, self._timezone), _start_of_day(day + timedelta(days=1), self._timezone)
        filed = Q(created_at__gte=start, created_at__lt=end)
        rows: dict[tuple[str, tuple[str, ...]], _Row] = {}
        # For each grain: its name and the positions of the dimensions it keeps.
        grains = [(grain_name(grain), tuple(DIMENSION_COLUMNS.index(name) for name in grain)) for grain in GRAINS]
        cases = await Case.filter(filed).annotate(
            first_response=Min("events__created_at", _filter=Q(events__kind="agent_reply")),
            first_resolve=Min("events__created_at", _filter=Q(events__kind="resolve")),
            reopens=Count("events__id", _filter=Q(events__kind="reopen")),
        ).group_by(
            "id", "created_at", "status", *DIMENSION_COLUMNS, "product_confidence", "category_confidence"
        ).values_list("id", "created_at", "status", *DIMENSION_COLUMNS, "product_confidence", "category_confidence",
                      "first_response", "first_resolve", "reopens")
        key_of: dict[int, list[_Row]] = {}
        for (case_id, created, status, channel, lang, team, product, category, p_conf, c_conf, response, resolve,
             reopens) in cases:
            values = (channel or "", lang or "", team or "", product or "", category or "")
            targets: list[_Row] = []
            for name, kept in grains:
                key = (name, tuple(values[index] if index in kept else "" for index in range(len(values))))
                row = rows.get(key)
                if row is None:
                    row = rows[key] = _Row(Counter(), [0] * ROLLUP_BUCKETS, [0] * ROLLUP_BUCKETS)
                targets.append(row)
            key_of[case_id] = targets
            filed_at = _utc(created)
            assert filed_at is not None
            found: Counter[str] = Counter(cases=1, open_cases=int(status in OPEN_STATUSES))
            response_bucket = resolution_bucket = None
            if (responded := _utc(response)) is not None:
                found["responded"] += 1
                response_bucket = duration_bucket((responded - filed_at).total_seconds())
            if (resolved := _utc(resolve)) is not None:
                found["resolved"] += 1
                resolution_bucket = duration_bucket((resolved - filed_at).total_seconds())
                if int(reopens):
                    found["reopened"] += 1
            # The case's draft keeps the NLP's confidence when the value was a proposal taken (by the customer or
            # automatically) and 1.0 when the customer typed or picked it: below 1 means "from the NLP".
            if product and p_conf is not None and float(p_conf) < 1.0:
                found["product_nlp"] += 1
            if category and c_conf is not None and float(c_conf) < 1.0:
                found["category_nlp"] += 1
            for row in targets:
                row.counts.update(found)
                if response_bucket is not None:
                    row.response[response_bucket] += 1
                if resolution_bucket is not None:
                    row.resolution[resolution_bucket] += 1
        for case_id, status, score in await CsatSurvey.filter(
            case__created_at__gte=start, case__created_at__lt=end
        ).values_list("case_id", "status", "score"):
            answered = Counter(csat_asked=int(status in _ASKED_SURVEYS))
            if score is not None:
                answered.update(csat_answered=1, csat_score_sum=int(score))
            for row in key_of.get(case_id, ()):
                row.counts.update(answered)
        for case_id, state in await CaseSla.filter(
            case__created_at__gte=start, case__created_at__lt=end, state__in=("hit", "missed")
        ).values_list("case_id", "state"):
            for row in key_of.get(case_id, ()):
                row.counts["sla_hit" if state == "hit" else "sla_missed"] += 1
        for case_id, field in set(await NlpCorrection.filter(
            case__created_at__gte=start, case__created_at__lt=end
        ).values_list("case_id", "field")):
            for row in key_of.get(case_id, ()) if field in ("product", "category") else ():
                row.counts[f"{field}_corrected"] += 1
        async with in_transaction():
            await InsightDaily.filter(day=day).delete()
            await InsightDaily.bulk_create([
                InsightDaily(
                    grain=grain, day=day, **dict(zip(DIMENSION_COLUMNS, key, strict=True)),
                    **{column: row.counts[column] for column in COUNT_COLUMNS},
                    **dict(zip(RESPONSE_COLUMNS, row.response, strict=True)),
                    **dict(zip(RESOLUTION_COLUMNS, row.resolution, strict=True)),
                )
                for (grain, key), row in rows.items()
            ], batch_size=1000)
        return len(cases)

    def usable_for(self, query: CaseQuery) -> bool:
        """The rollup answers queries by filing day and the five dimensions; exact moments and statuses do not."""
        return query.filed_since is None and query.filed_until is None and query.status is None

    def condition(self, query: CaseQuery, split: Iterable[str] = ()) -> Q:
        """The rows of the one grain that answers `query` split by the dimensions `split`."""
        filtered = [name for name in DIMENSION_COLUMNS if getattr(query, name) is not None]
        condition = Q(grain=grain_for([*filtered, *(name for name in split if name in DIMENSION_COLUMNS)]))
        if query.date_from is not None:
            condition &= Q(day__gte=query.date_from)
        if query.date_to is not None:
            condition &= Q(day__lte=query.date_to)
        for name in filtered:
            condition &= Q(**{name: getattr(query, name)})
        return condition

    async def sums(self, condition: Q, group: Sequence[str], columns: Iterable[str]
                   ) -> list[tuple[tuple[object, ...], dict[str, int]]]:
        """SUM of `columns` over the rows matching `condition`, per value of `group` (the database adds up)."""
        wanted = list(columns)
        # `day` is always grouped: an aggregate needs a group, and days are few (the caller adds them up).
        grouping = list(group) if group else ["day"]
        aliases = {f"total_{column}": column for column in wanted}
        rows = await InsightDaily.filter(condition).annotate(
            **{alias: Sum(column) for alias, column in aliases.items()}
        ).group_by(*grouping).values_list(*grouping, *aliases)
        width = len(grouping)
        found: list[tuple[tuple[object, ...], dict[str, int]]] = []
        for row in rows:
            values = {column: int(row[width + index] or 0) for index, column in enumerate(wanted)}
            found.append((tuple(row[:width]) if group else (), values))
        return found
