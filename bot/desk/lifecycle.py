"""The case lifecycle as a pure state machine: no Slack, no database (the status vocabulary is storage's).
The desk service asks it whether an action is allowed and what the new status is, then stores the
transition as a CaseEvent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import PlaintError
from storage.cases import OPEN_STATUSES, CaseStatus

__all__ = [
    "OPEN_STATUSES",
    "CaseAction",
    "CaseStatus",
    "LifecycleError",
    "Transition",
    "TransitionNotAllowed",
    "UnknownStatus",
    "allowed_actions",
    "is_open",
    "parse_status",
    "transition",
]


class CaseAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    START_WORK = "start_work"
    AGENT_REPLY = "agent_reply"
    CUSTOMER_REPLY = "customer_reply"
    RECLASSIFY = "reclassify"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


_S = CaseStatus
_A = CaseAction

# Every allowed (status, action) pair and where it leads; anything missing is refused. Actions that keep the
# status (assign, reclassify, a customer writing while the agent works) are still transitions, so they are
# recorded with actor and time like the others.
_TRANSITIONS: dict[tuple[CaseStatus, CaseAction], CaseStatus] = {
    (_S.NEW, _A.ACKNOWLEDGE): _S.ACKNOWLEDGED,
    # Taking a new case acknowledges it; taking over a case in progress leaves its status alone.
    (_S.NEW, _A.ASSIGN): _S.ACKNOWLEDGED,
    (_S.ACKNOWLEDGED, _A.ASSIGN): _S.ACKNOWLEDGED,
    (_S.IN_PROGRESS, _A.ASSIGN): _S.IN_PROGRESS,
    (_S.WAITING_FOR_CUSTOMER, _A.ASSIGN): _S.WAITING_FOR_CUSTOMER,
    (_S.NEW, _A.START_WORK): _S.IN_PROGRESS,
    (_S.ACKNOWLEDGED, _A.START_WORK): _S.IN_PROGRESS,
    # An answer to the customer means the ball is in their court, whatever the case was doing.
    (_S.NEW, _A.AGENT_REPLY): _S.WAITING_FOR_CUSTOMER,
    (_S.ACKNOWLEDGED, _A.AGENT_REPLY): _S.WAITING_FOR_CUSTOMER,
    (_S.IN_PROGRESS, _A.AGENT_REPLY): _S.WAITING_FOR_CUSTOMER,
    (_S.WAITING_FOR_CUSTOMER, _A.AGENT_REPLY): _S.WAITING_FOR_CUSTOMER,
    (_S.NEW, _A.CUSTOMER_REPLY): _S.NEW,
    (_S.ACKNOWLEDGED, _A.CUSTOMER_REPLY): _S.ACKNOWLEDGED,
    (_S.IN_PROGRESS, _A.CUSTOMER_REPLY): _S.IN_PROGRESS,
    (_S.WAITING_FOR_CUSTOMER, _A.CUSTOMER_REPLY): _S.IN_PROGRESS,
    # Corrections feed NLP retraining, so they stay possible after resolution, not after closing.
    (_S.NEW, _A.RECLASSIFY): _S.NEW,
    (_S.ACKNOWLEDGED, _A.RECLASSIFY): _S.ACKNOWLEDGED,
    (_S.IN_PROGRESS, _A.RECLASSIFY): _S.IN_PROGRESS,
    (_S.WAITING_FOR_CUSTOMER, _A.RECLASSIFY): _S.WAITING_FOR_CUSTOMER,
    (_S.RESOLVED, _A.RECLASSIFY): _S.RESOLVED,
    (_S.NEW, _A.RESOLVE): _S.RESOLVED,
    (_S.ACKNOWLEDGED, _A.RESOLVE): _S.RESOLVED,
    (_S.IN_PROGRESS, _A.RESOLVE): _S.RESOLVED,
    (_S.WAITING_FOR_CUSTOMER, _A.RESOLVE): _S.RESOLVED,
    (_S.RESOLVED, _A.CLOSE): _S.CLOSED,
    (_S.RESOLVED, _A.REOPEN): _S.IN_PROGRESS,
    (_S.CLOSED, _A.REOPEN): _S.IN_PROGRESS,
}


class LifecycleError(PlaintError):
    """Root of the lifecycle's errors."""


class TransitionNotAllowed(LifecycleError):
    def __init__(self, status: CaseStatus, action: CaseAction) -> None:
        super().__init__(f"cannot {action.value} a case that is {status.value}")
        self.status = status
        self.action = action


class UnknownStatus(LifecycleError):
    def __init__(self, value: str) -> None:
        super().__init__(f"unknown case status {value!r}")
        self.value = value


@dataclass(frozen=True)
class Transition:
    action: CaseAction
    source: CaseStatus
    target: CaseStatus

    @property
    def changes_status(self) -> bool:
        return self.source is not self.target


def parse_status(value: str) -> CaseStatus:
    try:
        return CaseStatus(value)
    except ValueError:
        raise UnknownStatus(value) from None


def transition(status: CaseStatus, action: CaseAction) -> Transition:
    """Where `action` takes a case in `status`; raises TransitionNotAllowed when it may not happen."""
    target = _TRANSITIONS.get((status, action))
    if target is None:
        raise TransitionNotAllowed(status, action)
    return Transition(action=action, source=status, target=target)


def allowed_actions(status: CaseStatus) -> frozenset[CaseAction]:
    return frozenset(action for (source, action) in _TRANSITIONS if source is status)


def is_open(status: CaseStatus) -> bool:
    """Open cases count against an agent's capacity."""
    return status in OPEN_STATUSES
