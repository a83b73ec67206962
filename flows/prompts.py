"""What the customer sees: a step's question with its buttons, and the replies collected for one turn."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from flows.commands import KEEP, PICK, SKIP, button, normalize
from flows.conversation import Choice, ConversationState, Reply, Turn
from flows.definition import Flow, Step
from flows.language import Lang
from flows.step_kinds import display, kind_of


@dataclass
class Say:
    """Replies being collected for one outcome: notes are joined with the prompt into one message."""

    flow: Flow
    lang: Lang
    notes: list[str] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def note(self, key: str, **values: object) -> None:
        self.notes.append(self.flow.message(key, self.lang).format(**values))

    def text(self, text: str) -> None:
        self.notes.append(text)

    def prompt(self, reply: Reply) -> None:
        self.replies.append(Reply("\n\n".join([*self.notes, reply.text]), reply.choices))
        self.notes.clear()

    def refuse(self, reason: str, reply: Reply, *, question: bool = True) -> None:
        """Re-ask after a refused answer: the reason first, then what else there is to say, then the
        question in short (its first sentence: the reason already says what was wrong), unless `question` is
        False (the reason is the whole message, with the question's buttons)."""
        lines = [reason, *self.notes, *([short_question(reply.text)] if question else [])]
        self.replies.append(Reply("\n\n".join(lines), reply.choices, True))
        self.notes.clear()

    def done(self) -> tuple[Reply, ...]:
        if self.notes:
            self.replies.append(Reply("\n\n".join(self.notes)))
            self.notes.clear()
        return tuple(self.replies)


_SENTENCE_END = re.compile(r"(?<=[?？。！!])|(?<=[a-z]{2}\.)\s")


def short_question(text: str) -> str:
    """The first sentence of a question ("What's your phone number? Include the country code, ..." -> "What's
    your phone number?"); of a question of several lines, the first line."""
    first_line = text.strip().split("\n", 1)[0]
    match = _SENTENCE_END.search(first_line)
    return first_line[: match.start()].strip() if match and match.start() > 0 else first_line


def prompt(flow: Flow, state: ConversationState, step: Step) -> Reply:
    """The step's question in the conversation's language, with every button it understands."""
    lang = state.lang
    if state.conflict is not None and flow.has_step(state.conflict.step_id):
        return conflict_question(flow, state)
    kind = kind_of(step)
    question = kind.question(flow, state, step)
    if not kind.common_buttons:
        return Reply(question.text, question.choices)
    text = question.text
    choices: list[Choice] = list(question.choices)
    existing = state.answer(step.id)
    if existing is not None and not existing.skipped:
        current = flow.message("current_answer", lang).format(value=display(flow, step, existing, lang))
        text = f"{text}\n{current}"
        choices.append(button(KEEP, flow.message("button_keep", lang)))
    if step.optional:
        choices.append(button(SKIP, flow.message("button_skip", lang)))
    return Reply(text, tuple(choices))


# "二", "第二个", "第2项" pick the second button like "2" does.
_CHINESE_ORDINALS = {char: str(number) for number, char in enumerate("一二三四五六七八九十", start=1)} | {
    str(number): str(number) for number in range(1, 100)
}


def pressed(flow: Flow, state: ConversationState, step: Step, turn: Turn) -> str | None:
    """The button this turn selects: pressed, its label typed in either language, or its number."""
    if turn.choice is not None:
        return turn.choice
    if turn.text is None:
        return None
    typed = normalize(turn.text)
    if not typed:
        return None
    shown = prompt(flow, state, step).choices
    typed = _CHINESE_ORDINALS.get(typed.removeprefix("第").removesuffix("个").removesuffix("项"), typed)
    if typed.isascii() and typed.isdigit():
        # int() of a 5,000-digit string raises; no menu has more than 999 entries.
        number = int(typed) if len(typed) <= 3 else 0
        return shown[number - 1].value if 1 <= number <= len(shown) else None
    other: Lang = "zh" if state.lang == "en" else "en"
    for choices in (shown, prompt(flow, replace(state, lang=other), step).choices):
        for choice in choices:
            if typed == normalize(choice.label):
                return choice.value
    return None


def conflict_question(flow: Flow, state: ConversationState) -> Reply:
    """Two values for one step: which is right? The earlier one first, then the new one."""
    assert state.conflict is not None
    lang = state.lang
    step = flow.step(state.conflict.step_id)
    earlier = state.answer(step.id)
    text = flow.message("conflict", lang).format(label=flow.label(step, lang))
    choices = []
    if earlier is not None and not earlier.skipped:
        choices.append(Choice(PICK + "0", display(flow, step, earlier, lang)))
    choices.append(Choice(PICK + "1", display(flow, step, state.conflict.offered, lang)))
    return Reply(text, tuple(choices))
