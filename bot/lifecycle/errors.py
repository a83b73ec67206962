"""The lifecycle room's root exception and its typed subclasses."""

from __future__ import annotations

from bot.errors import ConfigurationError, PlaintError


class LifecycleRoomError(PlaintError):
    """Root of everything the lifecycle room raises on purpose."""


class SlaConfigError(ConfigurationError, LifecycleRoomError):
    """The SLA policy file cannot be used; says which file, which policy (when one is at fault) and why.
    A configuration error: start-up stops with this one line."""

    def __init__(self, source: str, reason: str, policy: str | None = None) -> None:
        where = f"{source}: policy {policy!r}" if policy is not None else source
        ConfigurationError.__init__(self, where, reason)
        self.source = source
        self.policy = policy


class CalendarError(LifecycleRoomError):
    """A business-hours calendar that can never be open (no hours, or every day a holiday)."""
