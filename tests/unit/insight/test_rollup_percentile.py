"""Percentiles from the rollup's duration histograms: nearest rank, interpolated inside the bucket."""

from __future__ import annotations

from storage.insight_rollup import DURATION_EDGES, ROLLUP_BUCKETS, duration_bucket, histogram_percentile


def histogram(*seconds: float) -> list[int]:
    counts = [0] * ROLLUP_BUCKETS
    for value in seconds:
        counts[duration_bucket(value)] += 1
    return counts


def test_a_value_on_an_edge_is_exact_and_others_fall_inside_their_bucket() -> None:
    assert duration_bucket(3600) == DURATION_EDGES.index(3600)  # an edge belongs to the bucket it closes
    assert histogram_percentile(histogram(3600, 3 * 3600), 50) == 3600
    assert histogram_percentile(histogram(3600, 3 * 3600), 90) == 3 * 3600
    # Four cases between 2 h and 3 h: the median (rank 2 of 4) is half way through that bucket.
    assert histogram_percentile(histogram(7300, 8000, 9000, 10000), 50) == 7200 + 3600 * 2 / 4


def test_empty_and_overflow() -> None:
    assert histogram_percentile([0] * ROLLUP_BUCKETS, 50) is None
    assert histogram_percentile(histogram(10 * 365 * 86400), 90) == DURATION_EDGES[-1]
    assert histogram_percentile(histogram(-5), 50) == 60 * 1 / 1  # a clock skew below zero lands in the first bucket
