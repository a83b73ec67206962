"""The case lifecycle room: database timers, SLA clocks on business hours, the escalation ladder."""
