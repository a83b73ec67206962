"""Spike detection: a product x category whose complaints today stand out from its own recent past.

The method, stated for the console and the README: for each product x category, today's count is compared with
the previous `baseline_days` days (default 7). It is a spike when all three hold:
  count >= min_count (default 5): a handful of complaints is never an alert;
  count >= ratio x the baseline mean (default 2x): at least double the usual;
  a Poisson process at the baseline rate would reach the count by chance less often than `alpha` (default
  1 in 10,000 days). The rate is the baseline mean (at least 0.5 a day), raised by however much the history's
  standard deviation exceeds Poisson noise, so a naturally jumpy series needs a bigger jump.
Measured by bench/spikes.py on synthetic histories with planted spikes. Pure: counts in, alerts out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class SpikeSettings:
    baseline_days: int = 7
    min_count: int = 5
    ratio: float = 2.0
    alpha: float = 1e-4


@dataclass(frozen=True)
class Spike:
    product: str | None
    category: str | None
    day: date
    count: int
    baseline_mean: float
    threshold: float


SeriesKey = tuple[str | None, str | None]


def poisson_tail(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate); linear in `count`."""
    term = math.exp(-rate)
    below = 0.0
    for value in range(count):
        below += term
        term *= rate / (value + 1)
    return max(0.0, 1.0 - below)


def spike_threshold(history: Sequence[int], settings: SpikeSettings) -> tuple[float, float]:
    """(baseline mean, the smallest count that is a spike) for a history of daily counts."""
    mean = sum(history) / len(history) if history else 0.0
    variance = sum((value - mean) ** 2 for value in history) / len(history) if history else 0.0
    rate = max(mean, 0.5)
    rate += max(0.0, math.sqrt(variance) - math.sqrt(rate))
    threshold = max(settings.min_count, math.ceil(settings.ratio * mean))
    while poisson_tail(threshold, rate) >= settings.alpha:
        threshold += 1
    return mean, float(threshold)


def detect_spikes(
    daily_counts: Mapping[SeriesKey, Mapping[date, int]], day: date, settings: SpikeSettings = SpikeSettings()
) -> list[Spike]:
    """Spikes on `day`, largest excess first. Days missing from a series count as zero."""
    spikes: list[Spike] = []
    for (product, category), counts in daily_counts.items():
        count = counts.get(day, 0)
        if count < settings.min_count:
            continue
        history = [counts.get(day - timedelta(days=offset), 0) for offset in range(1, settings.baseline_days + 1)]
        mean, threshold = spike_threshold(history, settings)
        if count >= threshold:
            spikes.append(Spike(product, category, day, count, mean, threshold))
    spikes.sort(key=lambda spike: spike.count - spike.threshold, reverse=True)
    return spikes
