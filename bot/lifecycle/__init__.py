"""Lifecycle: a case over time — database timers, SLA clocks on business hours, escalation, CSAT, reminders."""
