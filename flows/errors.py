"""The flows package's exceptions: one root, typed subclasses that carry data."""

from __future__ import annotations


class FlowError(Exception):
    """Root of every error raised by the flows package."""


class FlowDefinitionError(FlowError):
    """A flow definition is invalid.

    ``str()`` reads ``"<source>: step '<id>': <reason>"`` (the step part only when one step is to blame),
    so an admin sees at once which file and which step to fix.
    """

    def __init__(self, source: str, step: str | None, reason: str) -> None:
        self.source = source
        self.step = step
        self.reason = reason
        where = f"{source}: step '{step}'" if step is not None else source
        super().__init__(f"{where}: {reason}")


class ConversationStateError(FlowError):
    """A persisted conversation state could not be read back (corrupt or from an unknown format)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid conversation state: {reason}")
