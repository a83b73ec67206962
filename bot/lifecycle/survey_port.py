"""The intake service's port into the satisfaction survey: does a customer message answer one? Kept apart
from the survey itself so the intake depends on this contract only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SurveyReply:
    """The message belongs to this case's survey; the intake says these texts back."""

    case_id: int
    texts: tuple[str, ...]


class SurveyAnswers(Protocol):
    async def answer(
        self, channel: str, sender_id: str, text: str | None, choice: str | None, *, in_conversation: bool
    ) -> SurveyReply | None:
        """None when the message is not a survey answer (the flow takes it as usual)."""
