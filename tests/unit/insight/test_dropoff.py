"""Drop-off per step: what a turn does to the funnel, and the funnel's figures on a hand-made history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.insight.dropoff import funnel, turn_step_events
from flows import ConversationState
from storage.dropoff import StepEvent, StepOutcome

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ASKED_NAME = ConversationState(flow_id="complaint", flow_version=1, step_id="name", lang="en")
ASKED_CONTACT = replace(ASKED_NAME, step_id="contact", history=("name",))


def test_a_turn_is_an_answer_a_reask_a_step_back_or_the_end() -> None:
    assert turn_step_events(None, ASKED_NAME) == [("name", "asked")]
    assert turn_step_events(ASKED_NAME, ASKED_CONTACT) == [("name", "answered"), ("contact", "asked")]
    assert turn_step_events(ASKED_CONTACT, ASKED_CONTACT) == [("contact", "reasked")]
    assert turn_step_events(ASKED_CONTACT, ASKED_NAME) == [("name", "asked")]  # `back`
    filed = replace(ASKED_CONTACT, step_id="done", history=("name", "contact"), status="completed")
    assert turn_step_events(ASKED_CONTACT, filed) == [("contact", "answered")]
    cancelled = replace(ASKED_CONTACT, status="cancelled")
    assert turn_step_events(ASKED_CONTACT, cancelled) == []


async def events(*items: tuple[int, str, StepOutcome, timedelta]) -> AsyncIterator[StepEvent]:
    for conversation_id, step, outcome, after in items:
        yield StepEvent(conversation_id, step, outcome, T0 + after)


async def test_the_funnel_counts_conversations_refusals_time_and_abandonment() -> None:
    history = events(
        # 1: answers both steps, the second after one refusal; finished.
        (1, "name", "asked", timedelta(0)), (1, "name", "answered", timedelta(seconds=20)),
        (1, "contact", "asked", timedelta(seconds=20)), (1, "contact", "reasked", timedelta(seconds=50)),
        (1, "contact", "answered", timedelta(seconds=80)),
        # 2: answers the name, then leaves at contact for two days: abandoned there.
        (2, "name", "asked", timedelta(0)), (2, "name", "answered", timedelta(seconds=40)),
        (2, "contact", "asked", timedelta(seconds=40)),
        # 3: asked the name an hour ago: still thinking, not abandoned yet.
        (3, "name", "asked", timedelta(days=2, hours=-1)),
    )
    result = await funnel(history, now=T0 + timedelta(days=2), step_order=["name", "contact", "evidence"],
                          finished={1})
    by_step = {row.step_id: row for row in result}
    assert [row.step_id for row in result] == ["name", "contact", "evidence"]
    name, contact, evidence = by_step["name"], by_step["contact"], by_step["evidence"]
    assert (name.reached, name.answered, name.abandoned, name.reask_rate) == (3, 2, 0, 0.0)
    assert name.median_seconds == 30  # 20 s and 40 s
    assert (contact.reached, contact.answered, contact.abandoned) == (2, 1, 1)
    assert (contact.answers_given, contact.answers_refused, contact.reask_rate) == (2, 1, 0.5)
    assert contact.median_seconds == 60
    assert (evidence.reached, evidence.answered, evidence.median_seconds, evidence.reask_rate) == (0, 0, None, None)
