"""Insight: what the complaints say — dashboard figures, spike alerts and exports analysts can use."""
