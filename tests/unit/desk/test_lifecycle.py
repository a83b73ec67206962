"""The lifecycle checked over every (status, action) pair against a grid written from the issue."""

from __future__ import annotations

import itertools

import pytest

from bot.desk.lifecycle import (
    OPEN_STATUSES,
    CaseAction,
    CaseStatus,
    TransitionNotAllowed,
    UnknownStatus,
    allowed_actions,
    is_open,
    parse_status,
    transition,
)

S = CaseStatus
A = CaseAction
N, K, P, W, R, C = (
    S.NEW,
    S.ACKNOWLEDGED,
    S.IN_PROGRESS,
    S.WAITING_FOR_CUSTOMER,
    S.RESOLVED,
    S.CLOSED,
)

# Rows: actions; columns: new, acknowledged, in_progress, waiting, resolved, closed. None = refused.
GRID: dict[CaseAction, tuple[CaseStatus | None, ...]] = {
    A.ACKNOWLEDGE: (K, None, None, None, None, None),
    A.ASSIGN: (K, K, P, W, None, None),
    A.START_WORK: (P, P, None, None, None, None),
    A.AGENT_REPLY: (W, W, W, W, None, None),
    A.CUSTOMER_REPLY: (N, K, P, P, None, None),
    A.RECLASSIFY: (N, K, P, W, R, None),
    A.RESOLVE: (R, R, R, R, None, None),
    A.CLOSE: (None, None, None, None, C, None),
    A.REOPEN: (None, None, None, None, P, P),
}
COLUMNS = (N, K, P, W, R, C)


def test_grid_covers_every_action() -> None:
    assert set(GRID) == set(CaseAction)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(CaseStatus, CaseAction)))
def test_every_pair_follows_the_grid(status: CaseStatus, action: CaseAction) -> None:
    expected = GRID[action][COLUMNS.index(status)]
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as refused:
            transition(status, action)
        assert refused.value.status is status
        assert refused.value.action is action
        assert action not in allowed_actions(status)
    else:
        result = transition(status, action)
        assert (result.source, result.action, result.target) == (status, action, expected)
        assert result.changes_status == (status is not expected)
        assert action in allowed_actions(status)


def test_the_whole_life_of_a_case() -> None:
    status = S.NEW
    path = [
        *(A.ACKNOWLEDGE, A.ASSIGN, A.START_WORK, A.AGENT_REPLY),
        *(A.CUSTOMER_REPLY, A.RESOLVE, A.CLOSE, A.REOPEN),
    ]
    seen = [status]
    for action in path:
        status = transition(status, action).target
        seen.append(status)
    assert seen == [N, K, K, P, W, P, R, C, P]


def test_every_status_is_reachable_from_new() -> None:
    reached = {S.NEW}
    frontier = [S.NEW]
    while frontier:
        status = frontier.pop()
        for action in allowed_actions(status):
            target = transition(status, action).target
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(CaseStatus)


def test_closed_cases_only_reopen() -> None:
    assert allowed_actions(S.CLOSED) == {A.REOPEN}


def test_open_statuses_are_those_that_can_still_be_resolved() -> None:
    assert {status for status in CaseStatus if is_open(status)} == OPEN_STATUSES
    assert {status for status in CaseStatus if A.RESOLVE in allowed_actions(status)} == OPEN_STATUSES


def test_parse_status_names_the_bad_value() -> None:
    assert parse_status("waiting_for_customer") is S.WAITING_FOR_CUSTOMER
    with pytest.raises(UnknownStatus, match="'pending'"):
        parse_status("pending")
