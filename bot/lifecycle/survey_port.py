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


class CustomerAnswers:
    """Several answer hooks behind the one port: the first that takes the message answers it."""

    def __init__(self, *hooks: SurveyAnswers) -> None:
        self._hooks = hooks

    async def answer(
        self, channel: str, sender_id: str, text: str | None, choice: str | None, *, in_conversation: bool
    ) -> SurveyReply | None:
        for hook in self._hooks:
            reply = await hook.answer(channel, sender_id, text, choice, in_conversation=in_conversation)
            if reply is not None:
                return reply
        return None
