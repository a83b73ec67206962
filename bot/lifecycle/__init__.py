"""Lifecycle: what happens to a case over time: timers (SLA, reminders, auto-close), CSAT, duplicates."""
