"""The clock port: everything in the lifecycle room asks it for the time, so tests can drive days in
milliseconds and every worker of a deployment agrees on what "due" means (UTC, timezone-aware)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
