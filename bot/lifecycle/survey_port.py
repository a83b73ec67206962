"""The intake service's port into the satisfaction survey: does a customer message answer one? Kept apart
from the survey itself so the intake depends on this contract only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class SurveyReply:
    """The message belongs to this case's survey; the intake says these texts back."""

    case_id: int
    texts: tuple[str, ...]
    # The case's customer writes traditional Chinese characters: the intake says the texts in them (set by
    # CustomerAnswers, for every hook).
    traditional: bool = False


class SurveyAnswers(Protocol):
    async def answer(
        self, channel: str, sender_id: str, text: str | None, choice: str | None, *, in_conversation: bool
    ) -> SurveyReply | None:
        """None when the message is not a survey answer (the flow takes it as usual)."""


class CustomerAnswers:
    """Several answer hooks behind the one port: the first that takes the message answers it, in the characters
    the case's customer writes (``reads_traditional(case_id)``)."""

    def __init__(self, *hooks: SurveyAnswers, reads_traditional: Callable[[int], Awaitable[bool]]) -> None:
        self._hooks = hooks
        self._reads_traditional = reads_traditional

    async def answer(
        self, channel: str, sender_id: str, text: str | None, choice: str | None, *, in_conversation: bool
    ) -> SurveyReply | None:
        for hook in self._hooks:
            reply = await hook.answer(channel, sender_id, text, choice, in_conversation=in_conversation)
            if reply is not None:
                return replace(reply, traditional=await self._reads_traditional(reply.case_id))
        return None
