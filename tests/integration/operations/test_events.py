"""Which webhook events a change of a case announces (pure; no database)."""

from __future__ import annotations

import pytest

from bot.case_events import CaseChange, WebhookEvent, case_event_item, events_for

E = WebhookEvent


@pytest.mark.parametrize(
    ("action", "source", "target", "expected"),
    [
        ("file", None, "new", (E.CASE_FILED,)),
        ("assign", "acknowledged", "acknowledged", (E.CASE_UPDATED,)),
        ("reclassify", "resolved", "resolved", (E.CASE_UPDATED,)),
        ("acknowledge", "new", "acknowledged", (E.CASE_STATUS_CHANGED,)),
        ("resolve", "in_progress", "resolved", (E.CASE_STATUS_CHANGED, E.CASE_RESOLVED)),
        ("reopen", "resolved", "in_progress", (E.CASE_STATUS_CHANGED, E.CASE_REOPENED)),
    ],
)
def test_a_change_names_its_events(action: str, source: str | None, target: str, expected: tuple[E, ...]) -> None:
    item = case_event_item("PL-ABC123", action, source, target, "U0AGENT")
    change = CaseChange.from_payload(item["payload"])
    assert events_for(change) == expected
    assert item["ordering_key"] == "case-event:PL-ABC123" and item["kind"] == "case_event"


def test_an_owner_can_name_its_event_explicitly() -> None:
    item = case_event_item("PL-ABC123", "csat", "resolved", "resolved", "customer", E.CSAT_RECEIVED)
    change = CaseChange.from_payload(item["payload"])
    assert events_for(change, item["payload"]["event"]) == (E.CSAT_RECEIVED,)


def test_event_names_are_the_documented_ones() -> None:
    assert [event.value for event in E] == [
        "case.filed", "case.updated", "case.status_changed", "case.resolved", "case.reopened",
        "csat.received", "sla.breached", "spike.detected",
    ]
