"""Drop-off per step from real turns: the intake records what each committed turn did to the funnel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.insight.dropoff import funnel
from bot.intake import IntakeService
from storage.dropoff import flow_versions, step_events
from storage.models import FlowStepEvent
from tests.integration.intake.test_intake_service import Customer, intake, reach_evidence

__all__ = ["intake"]  # the fixture, shared with the intake's own tests


async def test_each_committed_turn_feeds_the_funnel_once(intake: IntakeService) -> None:
    first = Customer(intake, "ada")
    await first.say("Hello")
    await first.say("Ada")
    await first.say(choice="email")
    refused = await first.say("not an email address")  # refused: the step asks again
    assert "email" in refused.lower()
    second = Customer(intake, "grace")
    await second.say("Hello")
    # A platform retry delivered four times at once is one turn, so one answer in the funnel.
    retried = second.inbound("Grace Hopper")
    await asyncio.gather(*(intake.handle(retried) for _ in range(4)))
    await reach_evidence(Customer(intake, "linus"))

    [(flow_id, version)] = await flow_versions()
    assert flow_id == "complaint"
    steps = ["name", "contact_method", "email", "description", "evidence"]
    rows = {row.step_id: row for row in await funnel(
        step_events(flow_id, version), now=datetime.now(UTC), step_order=steps, finished=set())}
    assert (rows["name"].reached, rows["name"].answered, rows["name"].answers_given) == (3, 3, 3)
    assert (rows["contact_method"].reached, rows["contact_method"].answered) == (3, 2)  # grace stopped there
    assert (rows["email"].reached, rows["email"].answered) == (2, 1)
    assert (rows["email"].answers_given, rows["email"].answers_refused) == (2, 1)
    assert rows["description"].answered == 1 and rows["evidence"].reached == 1
    assert await FlowStepEvent.filter(channel="web").count() == await FlowStepEvent.all().count()
