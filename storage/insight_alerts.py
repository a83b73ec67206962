"""Spike alerts as rows: one per product x category x day, so an alert is raised once whichever worker checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.models import Case, SpikeAlert, Timer


@dataclass(frozen=True)
class RecordedSpike:
    product: str | None
    category: str | None
    day: date
    cases: int
    baseline_mean: float
    threshold: float
    examples: tuple[str, ...]
    created_at: datetime


class TortoiseSpikeAlerts:
    async def record(
        self, *, product: str | None, category: str | None, day: date, cases: int, baseline_mean: float,
        threshold: float, examples: Sequence[str], at: datetime,
    ) -> bool:
        """False when this product x category already had its alert that day (nothing is written)."""
        try:
            # A savepoint: a refused duplicate must not abort the timer's firing transaction around it.
            async with in_transaction():
                await SpikeAlert.create(product=product or "", category=category or "", day=day, cases=cases,
                                        baseline_mean=baseline_mean, threshold=threshold, examples=list(examples),
                                        created_at=at)
        except IntegrityError:
            return False
        return True

    async def recent(self, limit: int = 20) -> list[RecordedSpike]:
        rows = await SpikeAlert.all().order_by("-id").limit(limit)
        return [
            RecordedSpike(row.product or None, row.category or None, row.day, row.cases, row.baseline_mean,
                          row.threshold, tuple(str(item) for item in row.examples), row.created_at)
            for row in rows
        ]

    async def example_cases(
        self, product: str | None, category: str | None, since: datetime, until: datetime, limit: int = 3
    ) -> list[tuple[str, str]]:
        """(number, status) of the newest cases behind a spike."""
        query = Case.filter(created_at__gte=since, created_at__lt=until)
        query = query.filter(product__isnull=True) if product is None else query.filter(product=product)
        query = query.filter(category__isnull=True) if category is None else query.filter(category=category)
        rows = await query.order_by("-id").limit(limit).values_list("number", "status")
        return [(str(number), str(status)) for number, status in rows]

    async def watch_pending(self, kind: str, key: str) -> bool:
        """Whether the watch's next check is already scheduled (or being fired)."""
        return await Timer.filter(kind=kind, key=key, status__in=("pending", "firing")).exists()
