"""The admin package's root exception and its typed subclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class AdminError(Exception):
    """Root of everything bot.admin raises on purpose."""


class UnknownRole(AdminError):
    def __init__(self, role: str) -> None:
        super().__init__(f"unknown role {role!r} (admin, editor, supervisor or viewer)")
        self.role = role


class WeakPassword(AdminError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FlowNotFound(AdminError):
    def __init__(self, flow_id: str, version: int | None = None) -> None:
        what = f"flow {flow_id!r} has no version {version}" if version is not None else f"no flow {flow_id!r}"
        super().__init__(what)
        self.flow_id = flow_id
        self.version = version


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow: the step it concerns (None for the flow as a whole), the field path
    inside it, and what is wrong, in words an editor understands."""

    step: str | None
    field: str | None
    message: str
    severity: Literal["error", "warning"] = "error"


class FlowInvalid(AdminError):
    """A definition with problems; every one of them is listed."""

    def __init__(self, problems: tuple[FlowProblem, ...]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the flow")
        self.problems = problems


class CaseActionRefused(AdminError):
    def __init__(self, number: str, status: int, reason: str) -> None:
        super().__init__(reason)
        self.number = number
        self.status = status
        self.reason = reason
