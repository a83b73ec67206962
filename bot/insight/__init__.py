"""Insight: aggregates, drop-off, spike detection and exports, read from what the other rooms stored."""
