"""The root of what bot/ raises on purpose. Entry points (the CLI, the web server's start-up) catch
`PlaintError` and answer with its one-line message instead of a traceback."""

from __future__ import annotations


class PlaintError(Exception):
    """Root exception of the bot package."""


class ConfigurationError(PlaintError):
    """Plaint cannot start with this configuration. `source` names the variable or file at fault and
    `reason` says why; the message is exactly one line: "source: reason"."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = " ".join(reason.split())
        super().__init__(f"{source}: {self.reason}")


class NotRunning(PlaintError):
    """A part of the application was used before start-up finished or after shutdown began."""
