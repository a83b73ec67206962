"""Spike detection on hand-made histories: a planted spike alerts, noise and small numbers do not."""

from __future__ import annotations

import math
from datetime import date, timedelta

from bot.insight.spikes import SpikeSettings, detect_spikes, poisson_tail, spike_threshold

DAY = date(2026, 11, 28)


def history(*counts: int) -> dict[date, int]:
    """counts[0] is DAY, counts[1] the day before, and so on."""
    return {DAY - timedelta(days=offset): count for offset, count in enumerate(counts)}


def test_a_planted_spike_alerts_with_its_numbers() -> None:
    spikes = detect_spikes({("kettle", "product_quality"): history(24, 5, 6, 4, 5, 7, 5, 6)}, DAY)
    assert len(spikes) == 1
    spike = spikes[0]
    assert (spike.product, spike.category, spike.count) == ("kettle", "product_quality", 24)
    assert spike.baseline_mean == 38 / 7
    assert spike.threshold <= 24


def test_ordinary_noise_on_a_busy_series_does_not_alert() -> None:
    assert detect_spikes({("phone", "billing_refund"): history(58, 50, 44, 61, 47, 55, 52, 49)}, DAY) == []


def test_a_handful_of_complaints_is_never_a_spike_even_from_zero() -> None:
    assert detect_spikes({("blender", "other"): history(4, 0, 0, 0, 0, 0, 0, 0)}, DAY) == []
    assert detect_spikes({("blender", "other"): history(4, 0, 0, 0, 0, 0, 0, 0)}, DAY, SpikeSettings(alpha=0.5)) == []
    assert len(detect_spikes({("blender", "other"): history(6, 0, 0, 0, 0, 0, 0, 0)}, DAY)) == 1


def test_missing_days_count_as_zero_and_the_biggest_excess_comes_first() -> None:
    counts = {("a", None): {DAY: 9}, ("b", None): {DAY: 30, DAY - timedelta(days=3): 2}}
    assert [spike.product for spike in detect_spikes(counts, DAY)] == ["b", "a"]


def test_the_threshold_follows_the_stated_rule() -> None:
    settings = SpikeSettings(min_count=5, ratio=2.0, alpha=1e-4)
    mean, threshold = spike_threshold([16] * 7, settings)
    assert mean == 16.0
    # the smallest count a Poisson(16) reaches less than once in 10,000 days, and at least 2 x 16
    assert poisson_tail(int(threshold), 16.0) < 1e-4 <= poisson_tail(int(threshold) - 1, 16.0)
    assert threshold >= 32
    # a jumpy history (standard deviation far above Poisson noise) needs a bigger jump than a steady one
    _, steady = spike_threshold([10] * 7, settings)
    _, jumpy = spike_threshold([0, 20, 0, 20, 0, 20, 10], settings)
    assert jumpy > steady


def test_poisson_tail_matches_known_values() -> None:
    assert poisson_tail(0, 3.0) == 1.0
    assert abs(poisson_tail(1, 2.0) - (1 - math.exp(-2))) < 1e-12
    assert abs(poisson_tail(3, 1.0) - (1 - math.exp(-1) * (1 + 1 + 0.5))) < 1e-12
