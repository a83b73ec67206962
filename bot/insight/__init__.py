"""Insight: what the complaints say — dashboard figures, drop-off per step, spike alerts, exports."""
