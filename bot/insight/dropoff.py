"""Drop-off per flow step: how many conversations reached each step, answered it, were asked again, or left.

Definitions, shown in the console beside the funnel:
- reached: conversations that were asked the step at least once;
- answered: conversations whose answer to the step was accepted (the flow moved on);
- re-ask rate: refused answers / all answers given to the step (a refused answer is one the step asked again for);
- abandoned: conversations whose last event is this step's question, still unanswered after `abandon_after`
  (default 24 hours) and not finished;
- median time: from the first time the step was asked to the accepted answer, over the conversations that answered.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows import ConversationState
from storage.dropoff import StepEvent, StepOutcome


def turn_step_events(before: ConversationState | None, after: ConversationState) -> list[tuple[str, StepOutcome]]:
    """What one turn did to the funnel, from the conversation's state before and after it."""
    if before is None:
        return [(after.step_id, "asked")]
    ended = after.status != "active"
    if len(after.history) > len(before.history):
        events: list[tuple[str, StepOutcome]] = [(before.step_id, "answered")]
        return events if ended else [*events, (after.step_id, "asked")]
    if after.step_id != before.step_id:
        # `back`, an edit from the summary, a restart: the step now shown is asked (again).
        return [] if ended else [(after.step_id, "asked")]
    return [] if ended else [(before.step_id, "reasked")]


@dataclass(frozen=True)
class StepFunnel:
    step_id: str
    reached: int
    answered: int
    abandoned: int
    answers_given: int
    answers_refused: int
    median_seconds: float | None

    @property
    def reask_rate(self) -> float | None:
        return self.answers_refused / self.answers_given if self.answers_given else None


@dataclass
class _Tally:
    reached: set[int] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    abandoned: int = 0
    answers_refused: int = 0
    answered_turns: int = 0
    durations: list[float] = field(default_factory=list)


@dataclass
class _Conversation:
    first_asked: dict[str, datetime] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    last: StepEvent | None = None


async def funnel(
    events: AsyncIterator[StepEvent], *, now: datetime, step_order: list[str],
    finished: set[int], abandon_after: timedelta = timedelta(hours=24),
) -> list[StepFunnel]:
    """The funnel in `step_order` (steps never reached still appear, with zeros). `finished` are the conversations
    that ended (filed or cancelled): they are never counted as abandoned."""
    tallies = {step: _Tally() for step in step_order}
    conversations: dict[int, _Conversation] = {}
    async for event in events:
        tally = tallies.setdefault(event.step_id, _Tally())
        conversation = conversations.setdefault(event.conversation_id, _Conversation())
        conversation.last = event
        if event.outcome == "asked":
            tally.reached.add(event.conversation_id)
            conversation.first_asked.setdefault(event.step_id, event.at)
        elif event.outcome == "reasked":
            tally.answers_refused += 1
        else:
            tally.answered_turns += 1
            if event.step_id not in conversation.answered:
                conversation.answered.add(event.step_id)
                tally.answered.add(event.conversation_id)
                asked = conversation.first_asked.get(event.step_id)
                if asked is not None:
                    tally.durations.append((event.at - asked).total_seconds())
    for conversation_id, conversation in conversations.items():
        last = conversation.last
        if last is None or conversation_id in finished or last.outcome == "answered":
            continue
        if now - last.at >= abandon_after:
            tallies[last.step_id].abandoned += 1
    ordered = step_order + [step for step in tallies if step not in step_order]
    return [
        StepFunnel(
            step_id=step,
            reached=len(tallies[step].reached),
            answered=len(tallies[step].answered),
            abandoned=tallies[step].abandoned,
            answers_given=tallies[step].answered_turns + tallies[step].answers_refused,
            answers_refused=tallies[step].answers_refused,
            median_seconds=statistics.median(tallies[step].durations) if tallies[step].durations else None,
        )
        for step in ordered
    ]
