"""The lifecycle room's root exception and its typed subclasses."""

from __future__ import annotations


class LifecycleRoomError(Exception):
    """Root of everything the lifecycle room raises on purpose."""


class SlaConfigError(LifecycleRoomError):
    """The SLA policy file cannot be used; says which file, which policy (when one is at fault) and why."""

    def __init__(self, source: str, reason: str, policy: str | None = None) -> None:
        where = f"{source}: policy {policy!r}" if policy is not None else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.reason = reason
        self.policy = policy


class CalendarError(LifecycleRoomError):
    """A business-hours calendar that can never be open (no hours, or every day a holiday)."""
