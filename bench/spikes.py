"""Spike detection on synthetic histories: planted spikes in Poisson noise, precision and recall.

    python bench/spikes.py [--series 300] [--days 90] [--seed 2026]

Each series is a product x category with its own base rate (0.2 to 30 complaints a day, weekly seasonality).
A tenth of the series get one planted spike (the day's rate multiplied by 3 to 8, at least +6 complaints).
Every day after the first baseline window is scored; a detection on a planted day is a true positive.
The reference printed beside the method is a naive rule (count >= 2 x the 7-day mean and >= 5, i.e. alpha = 1).
The default alpha was chosen on seeds 1 and 2; the default run reports seed 2026."""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.insight.spikes import SeriesKey, SpikeSettings, detect_spikes

Planted = set[tuple[SeriesKey, date]]


def synthetic(series: int, days: int, seed: int) -> tuple[dict[SeriesKey, dict[date, int]], Planted]:
    rng = np.random.default_rng(seed)
    chooser = random.Random(seed)
    start = date(2026, 1, 1)
    counts: dict[SeriesKey, dict[date, int]] = {}
    planted: Planted = set()
    for index in range(series):
        category = chooser.choice(["product_quality", "delivery_logistics", "billing_refund"])
        key: SeriesKey = (f"product_{index}", category)
        base = float(np.exp(rng.uniform(np.log(0.2), np.log(30))))
        rates = [base * (0.7 if (start + timedelta(days=d)).weekday() >= 5 else 1.0) for d in range(days)]
        spike_day = chooser.randrange(14, days) if index % 10 == 0 else None
        if spike_day is not None:
            rates[spike_day] = max(rates[spike_day] * chooser.uniform(3, 8), rates[spike_day] + 6)
            planted.add((key, start + timedelta(days=spike_day)))
        counts[key] = {start + timedelta(days=d): int(rng.poisson(rate)) for d, rate in enumerate(rates)}
    return counts, planted


def score(counts: dict[SeriesKey, dict[date, int]], planted: Planted, days: int,
          settings: SpikeSettings) -> tuple[float, float, int]:
    start = date(2026, 1, 1)
    found: set[tuple[SeriesKey, date]] = set()
    for offset in range(settings.baseline_days, days):
        day = start + timedelta(days=offset)
        found.update(((spike.product, spike.category), day) for spike in detect_spikes(counts, day, settings))
    true_positives = len(found & planted)
    precision = true_positives / len(found) if found else 1.0
    recall = true_positives / len(planted) if planted else 1.0
    return precision, recall, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    counts, planted = synthetic(args.series, args.days, args.seed)
    print(f"{args.series} series x {args.days} days, {len(planted)} planted spikes, seed {args.seed}")
    print(f"{'rule':<46} {'precision':>9} {'recall':>7} {'alerts':>7}")
    for name, settings in (
        ("Plaint (2x mean, Poisson tail < 1e-4, min 5)", SpikeSettings()),
        ("naive reference (2x mean, min 5)", SpikeSettings(alpha=1.0)),
    ):
        precision, recall, alerts = score(counts, planted, args.days, settings)
        print(f"{name:<46} {precision:>9.3f} {recall:>7.3f} {alerts:>7}")


if __name__ == "__main__":
    main()
