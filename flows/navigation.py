"""Where a conversation goes next: branches, the path the answers took, the first open step."""

from __future__ import annotations

from flows.conversation import Answer, ConversationState
from flows.definition import Condition, ConfirmStep, EndStep, Flow, Step


def holds(flow: Flow, state: ConversationState, condition: Condition) -> bool:
    for step in flow.steps_for(condition.field):
        answer = state.answer(step.id)
        if answer is not None and not answer.skipped and answer.value in condition.values():
            return True
    return False


def next_id(flow: Flow, state: ConversationState, step: Step) -> str:
    if isinstance(step.next, str):
        return step.next
    for branch in step.next or ():
        if branch.when is None or holds(flow, state, branch.when):
            return branch.goto
    # Unreachable for a validated flow (the last branch is a default); stay put rather than crash.
    return step.id


def path(flow: Flow, state: ConversationState) -> list[str]:
    """Step ids from the start along the answers, up to the first unanswered step (or confirm/end)."""
    ids: list[str] = []
    step_id = flow.start
    while step_id not in ids:
        ids.append(step_id)
        step = flow.step(step_id)
        if isinstance(step, ConfirmStep | EndStep) or state.answer(step_id) is None:
            break
        step_id = next_id(flow, state, step)
    return ids


def answered_path(flow: Flow, state: ConversationState) -> list[tuple[Step, Answer]]:
    pairs: list[tuple[Step, Answer]] = []
    for step_id in path(flow, state):
        step = flow.step(step_id)
        answer = state.answer(step_id)
        if answer is not None and not isinstance(step, ConfirmStep | EndStep):
            pairs.append((step, answer))
    return pairs


def first_open(flow: Flow, state: ConversationState, step_id: str) -> str:
    """From ``step_id`` on, the first step still without an answer (or the confirmation)."""
    seen: set[str] = set()
    while step_id not in seen:
        seen.add(step_id)
        step = flow.step(step_id)
        if isinstance(step, ConfirmStep | EndStep) or state.answer(step_id) is None:
            return step_id
        step_id = next_id(flow, state, step)
    return step_id
