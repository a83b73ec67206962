"""Walks the default complaint flow the way a customer would: reads the last question and its buttons and
answers it. Channel-neutral: the caller says how to send and what came back."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SeenReply:
    text: str
    button_values: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    text: str | None = None
    choice: str | None = None
    # Platform file objects to share with this answer (Slack file_share).
    files: tuple[dict[str, Any], ...] = ()


# Typed answers, by words of the question they answer.
TYPED_ANSWERS = (
    ("your name", "Ada Lovelace"),
    ("phone number", "+44 20 7946 0958"),
    ("email address", "ada@example.com"),
    ("what happened", "My new kettle started leaking after two days and burned the counter."),
    ("when did it happen", "yesterday 3pm"),
    ("where did it happen", "Oxford Street store"),
    ("which product", "kettle"),
)
# Buttons pressed when no typed answer fits, best first.
PREFERRED_BUTTONS = ("_confirm", "_yes", "phone", "product_quality", "refund", "_skip", "_done")
CASE_NUMBER = re.compile(r"case number is ([A-Z0-9-]+)")

Send = Callable[[Answer], Awaitable[list[SeenReply]]]


def next_answer(question: SeenReply) -> Answer:
    # A summary to confirm quotes earlier questions' labels: confirming wins over typing.
    for value in ("_confirm", "_yes"):
        if value in question.button_values:
            return Answer(choice=value)
    lowered = question.text.lower()
    for words, text in TYPED_ANSWERS:
        if words in lowered:
            return Answer(text=text)
    for value in PREFERRED_BUTTONS:
        if value in question.button_values:
            return Answer(choice=value)
    raise AssertionError(f"the driver does not know how to answer {question.text!r}")


async def file_complaint(send: Send, first: Answer, once: dict[str, Answer] | None = None, max_turns: int = 30) -> str:
    """Drives the flow to the end and returns the case number. `once` answers the first question containing
    the given words differently (for instance with a file), one time each."""
    pending = dict(once or {})
    replies = await send(first)
    for _ in range(max_turns):
        assert replies, "the bot said nothing"
        for reply in replies:
            found = CASE_NUMBER.search(reply.text)
            if found:
                return found.group(1).rstrip(".")
        question = replies[-1]
        special = next((words for words in pending if words in question.text.lower()), None)
        answer = pending.pop(special) if special is not None else next_answer(question)
        replies = await send(answer)
    raise AssertionError("the complaint was not filed within the expected number of turns")
