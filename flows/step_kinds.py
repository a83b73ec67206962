"""Step kinds: how each kind of step asks, reads an answer and shows it, one class per kind.

``KINDS`` maps a step's ``kind`` to its behaviour. A new step kind is its pydantic model in
``flows.definition`` and one class here; the engine itself never branches on step kinds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from rapidfuzz.distance import OSA

from flows.commands import (
    CONFIRM,
    DONE,
    DONT_KNOW,
    EDIT,
    KEEP,
    NOTHING_TO_SEND,
    OTHER,
    SKIP,
    YES,
    bare_number,
    button,
    normalize,
    typed,
)
from flows.contact_parsing import InvalidAnswer, format_phone, parse_email, parse_phone
from flows.conversation import (
    Answer,
    Choice,
    ConversationState,
    ExtractedValue,
    Location,
    Proposal,
    Turn,
    media_kind,
)
from flows.datetime_parsing import parse_when
from flows.definition import (
    MEBIBYTE,
    ChoiceStep,
    ConfirmStep,
    DatetimeStep,
    EmailStep,
    EndStep,
    FilesStep,
    Flow,
    Option,
    PhoneStep,
    ProposalStep,
    Step,
    TextStep,
)
from flows.language import Lang
from flows.navigation import answered_path

# Kinds whose values may be digits only (an order number is a fine answer to "where?").
_NUMERIC_KINDS = frozenset({"order_number", "amount"})
# A little slack for clocks: "just now" typed a minute after the turn's timestamp is not "the future".
_FUTURE_TOLERANCE = timedelta(minutes=10)


# ---- results of interpreting one turn at one step ----------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    answer: Answer
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    message: str


@dataclass(frozen=True)
class Stay:
    """The step is not finished yet (files still coming, proposal rejected): new state and what to say."""

    state: ConversationState
    notes: tuple[str, ...]
    # Files arriving one by one: acknowledge with the buttons instead of repeating the whole question.
    repeat_prompt: bool = True


@dataclass(frozen=True)
class Jump:
    """Go to another step to change its answer (Edit <field> on the confirmation)."""

    step_id: str


Interpretation = Accepted | Refused | Stay | Jump


@dataclass(frozen=True)
class Question:
    """What a step kind asks: its text and its own buttons (Keep and Skip are added by the engine)."""

    text: str
    choices: tuple[Choice, ...] = ()


S = TypeVar("S", bound=Step)


class StepKind(Generic[S]):
    """The behaviour of one kind of step. Subclasses override what differs from a plain question."""

    # Keep (when answered) and Skip (when optional) buttons are offered and understood.
    common_buttons: ClassVar[bool] = True
    # A bare number is a value here (a phone number), not a wrong button number.
    numbers_are_values: ClassVar[bool] = False

    def question(self, flow: Flow, state: ConversationState, step: S) -> Question:
        return Question(step.prompt.get(state.lang))

    def interpret(
        self, flow: Flow, state: ConversationState, step: S, turn: Turn, pressed: str | None
    ) -> Interpretation:
        lang = state.lang
        existing = state.answer(step.id)
        if existing is not None and (pressed == KEEP or typed(turn, KEEP)):
            return Accepted(existing)
        if step.optional and typed(turn, DONT_KNOW):
            return Accepted(Answer(step.id, skipped=True))
        if pressed == SKIP or typed(turn, SKIP):
            if step.optional:
                return Accepted(Answer(step.id, skipped=True))
            return Refused(flow.message("not_optional", lang))
        return self.answer(flow, state, step, turn, pressed)

    def answer(
        self, flow: Flow, state: ConversationState, step: S, turn: Turn, pressed: str | None
    ) -> Interpretation:
        """Read a typed answer (buttons of earlier questions are refused)."""
        if turn.choice is not None:
            return Refused(flow.message("invalid_choice", state.lang))
        text = (turn.text or "").strip()
        if not text:
            return Refused(flow.message("need_answer", state.lang))
        return self.read(flow, state, step, turn, text)

    def read(self, flow: Flow, state: ConversationState, step: S, turn: Turn, text: str) -> Interpretation:
        return Accepted(Answer(step.id, value=text))

    def display(self, flow: Flow, step: S, answer: Answer, lang: Lang) -> str:
        """An answer as the customer reads it in the summary (skipped answers are handled by the caller)."""
        return answer.value or ""

    def extracted_answer(
        self, flow: Flow, state: ConversationState, step: S, value: ExtractedValue, now: datetime
    ) -> Answer | None:
        """The answer a value found in a message gives this step, checked with the step's own parser."""
        for candidate in dict.fromkeys((value.value.strip(), value.text.strip())):
            if not candidate:
                continue
            if bare_number(candidate) and not self.numbers_are_values and value.kind not in _NUMERIC_KINDS:
                continue
            result = self.read(flow, state, step, Turn(now=now, text=candidate), candidate)
            if isinstance(result, Accepted):
                return replace(result.answer, source="extracted")
        return None


class TextKind(StepKind[TextStep]):
    def answer(
        self, flow: Flow, state: ConversationState, step: TextStep, turn: Turn, pressed: str | None
    ) -> Interpretation:
        if step.accepts_location and turn.location is not None:
            return Accepted(Answer(step.id, value=location_text(turn.location), location=turn.location))
        return super().answer(flow, state, step, turn, pressed)

    def read(self, flow: Flow, state: ConversationState, step: TextStep, turn: Turn, text: str) -> Interpretation:
        # "yes" to "Where did it happen?" was stored as the place; "no" there means nothing to say.
        if step.optional and typed(turn, NOTHING_TO_SEND):
            return Accepted(Answer(step.id, skipped=True))
        if typed(turn, YES) or typed(turn, NOTHING_TO_SEND):
            return Refused(flow.message("yes_no_not_an_answer", state.lang))
        # "I don't know" was filed as the complaint's story: an example of one helps the customer start.
        if step.analyze and typed(turn, DONT_KNOW):
            return Refused(flow.message("dont_know_story", state.lang))
        if len(text) < step.min_length:
            return Refused(flow.message("too_short", state.lang).format(min=step.min_length))
        if len(text) > step.max_length:
            return Refused(flow.message("too_long", state.lang).format(max=step.max_length, length=len(text)))
        return Accepted(Answer(step.id, value=text))


class EmailKind(StepKind[EmailStep]):
    def read(self, flow: Flow, state: ConversationState, step: EmailStep, turn: Turn, text: str) -> Interpretation:
        email = parse_email(text)
        if isinstance(email, InvalidAnswer):
            return Refused(flow.message("invalid_email", state.lang).format(detail=email.detail.rstrip(".")))
        return Accepted(Answer(step.id, value=email))


class PhoneKind(StepKind[PhoneStep]):
    numbers_are_values = True

    def read(self, flow: Flow, state: ConversationState, step: PhoneStep, turn: Turn, text: str) -> Interpretation:
        phone = parse_phone(text, step.default_region, state.lang)
        if isinstance(phone, InvalidAnswer):
            return Refused(flow.message("invalid_phone", state.lang))
        return Accepted(Answer(step.id, value=phone))

    def display(self, flow: Flow, step: PhoneStep, answer: Answer, lang: Lang) -> str:
        return format_phone(answer.value or "")


class DatetimeKind(StepKind[DatetimeStep]):
    def read(self, flow: Flow, state: ConversationState, step: DatetimeStep, turn: Turn, text: str) -> Interpretation:
        when = parse_when(text, turn.now)
        if when is None:
            return Refused(flow.message("invalid_date", state.lang))
        future = (
            when.moment > turn.now + _FUTURE_TOLERANCE if when.has_time else when.moment.date() > turn.now.date()
        )
        if not step.allow_future and future:
            return Refused(flow.message("future_date", state.lang))
        return Accepted(Answer(step.id, value=when.iso()))

    def display(self, flow: Flow, step: DatetimeStep, answer: Answer, lang: Lang) -> str:
        return format_when(answer.value or "", lang)


def _option_choices(options: Sequence[Option], lang: Lang, leave_out: str | None = None) -> tuple[Choice, ...]:
    return tuple(Choice(option.value, option.label.get(lang)) for option in options if option.value != leave_out)


def _option_label(options: Sequence[Option], answer: Answer, lang: Lang) -> str:
    value = answer.value or ""
    option = next((o for o in options if o.value == value), None)
    if option is not None:
        return option.label.get(lang)
    return answer.label_in(lang) or value


class ChoiceKind(StepKind[ChoiceStep]):
    def question(self, flow: Flow, state: ConversationState, step: ChoiceStep) -> Question:
        return Question(step.prompt.get(state.lang), _option_choices(step.options, state.lang))

    def answer(
        self, flow: Flow, state: ConversationState, step: ChoiceStep, turn: Turn, pressed: str | None
    ) -> Interpretation:
        option = step_option(step.options, pressed) or typed_option(step.options, turn,
                                                                     labels_in_words=not step.allow_text)
        if option is not None:
            return Accepted(Answer(step.id, value=option.value))
        text = (turn.text or "").strip()
        if step.allow_text and turn.choice is None and text:
            if len(text) > step.max_text_length:
                return Refused(
                    flow.message("too_long", state.lang).format(max=step.max_text_length, length=len(text))
                )
            return Accepted(Answer(step.id, value=text))
        return Refused(flow.message("invalid_choice", state.lang))

    def display(self, flow: Flow, step: ChoiceStep, answer: Answer, lang: Lang) -> str:
        return _option_label(step.options, answer, lang)


def best_proposal(state: ConversationState, step: ProposalStep) -> Proposal | None:
    """The most confident NLP proposal for the step's field, if it clears ``propose_min_confidence``."""
    candidates = [
        proposal
        for proposal in state.proposals
        if proposal.field == step.field
        and proposal.role == "proposed"
        and proposal.confidence >= step.propose_min_confidence
        and (not step.options or step.option(proposal.value) is not None)
    ]
    return max(candidates, key=lambda proposal: proposal.confidence, default=None)


def catalog_options(state: ConversationState, step: ProposalStep) -> tuple[Proposal, ...]:
    """The catalog entries the orchestrator offered for the step's field (its open question's buttons).

    Only for steps without options of their own: a step's options are the whole set it accepts.
    """
    if step.options:
        return ()
    return tuple(p for p in state.proposals if p.field == step.field and p.role == "catalog")


def _catalog_choices(state: ConversationState, step: ProposalStep, leave_out: str | None = None) -> tuple[Choice, ...]:
    return tuple(
        Choice(p.value, dict(p.labels).get(state.lang) or p.label)
        for p in catalog_options(state, step)
        if p.value != leave_out
    )


def proposal_label(step: ProposalStep, proposal: Proposal, lang: Lang) -> str:
    option = step.option(proposal.value)
    return option.label.get(lang) if option is not None else dict(proposal.labels).get(lang) or proposal.label


def _accept_proposal(step: ProposalStep, proposal: Proposal) -> Accepted:
    return Accepted(
        Answer(step.id, value=proposal.value, source="nlp", confidence=proposal.confidence, label=proposal.label,
               labels=proposal.labels)
    )


class ProposalKind(StepKind[ProposalStep]):
    def question(self, flow: Flow, state: ConversationState, step: ProposalStep) -> Question:
        lang = state.lang
        proposal = best_proposal(state, step)
        if state.awaiting_other:
            text = step.other_prompt.get(lang) if step.other_prompt else flow.message("other_prompt", lang)
            # The product just turned down is not offered again among the catalog's.
            rejected = proposal.value if proposal is not None else None
            return Question(text, _option_choices(step.options, lang) + _catalog_choices(state, step, rejected))
        if proposal is not None:
            text = step.confirm_prompt.get(lang).replace("{value}", proposal_label(step, proposal, lang))
            yes = button(YES, flow.message("button_yes", lang))
            if step.options:
                return Question(text, (yes, *_option_choices(step.options, lang, leave_out=proposal.value)))
            return Question(text, (yes, button(OTHER, flow.message("button_other", lang))))
        # Nothing proposed: an open question, with the catalog's products as buttons when it sent some.
        return Question(step.prompt.get(lang), _option_choices(step.options, lang) + _catalog_choices(state, step))

    def answer(
        self, flow: Flow, state: ConversationState, step: ProposalStep, turn: Turn, pressed: str | None
    ) -> Interpretation:
        lang = state.lang
        proposal = best_proposal(state, step) if not state.awaiting_other else None
        # "I don't know" what kind of problem it is: the proposal stands (agents reclassify; it was re-asked).
        if proposal is not None and (pressed == YES or typed(turn, YES) or typed(turn, DONT_KNOW)):
            return _accept_proposal(step, proposal)
        if proposal is None and not step.options and typed(turn, DONT_KNOW):
            # "not sure" typed to "Which product or service is it?" was filed as a product called "not sure".
            return Refused(flow.message("dont_know_in_words", lang))
        wants_other = proposal is not None and (pressed == OTHER or typed(turn, OTHER))
        if step.options:
            option = step_option(step.options, pressed) or typed_option(step.options, turn)
            if option is not None:
                if proposal is not None and option.value == proposal.value:
                    return _accept_proposal(step, proposal)
                return Accepted(Answer(step.id, value=option.value, confidence=1.0))
            if wants_other:
                return Stay(replace(state, awaiting_other=True), ())
            return Refused(flow.message("invalid_choice", lang))
        if wants_other:
            return Stay(replace(state, awaiting_other=True), ())
        offered = next((p for p in catalog_options(state, step) if pressed is not None and p.value == pressed), None)
        if offered is not None:
            # The customer picked the catalog entry themselves: its id, shown by its label.
            return Accepted(
                Answer(step.id, value=offered.value, confidence=1.0, label=offered.label, labels=offered.labels)
            )
        if turn.choice is not None:
            return Refused(flow.message("invalid_choice", lang))
        text = (turn.text or "").strip()
        if not text:
            return Refused(flow.message("need_answer", lang))
        if len(text) > step.max_text_length:
            return Refused(flow.message("too_long", lang).format(max=step.max_text_length, length=len(text)))
        if proposal is not None and normalize(text) in (normalize(proposal.label), normalize(proposal.value)):
            return _accept_proposal(step, proposal)
        return Accepted(Answer(step.id, value=text, confidence=1.0))

    def display(self, flow: Flow, step: ProposalStep, answer: Answer, lang: Lang) -> str:
        return _option_label(step.options, answer, lang)

    def extracted_answer(
        self, flow: Flow, state: ConversationState, step: ProposalStep, value: ExtractedValue, now: datetime
    ) -> Answer | None:
        if step.options:
            for candidate in (value.value, value.text):
                option = typed_option(step.options, Turn(now=now, text=candidate))
                if option is not None:
                    return Answer(step.id, value=option.value, source="extracted", confidence=1.0)
            return None
        text = value.text.strip()
        if not text or len(value.value) > step.max_text_length or len(text) > step.max_text_length:
            return None
        label = (value.label or "").strip()[: step.max_text_length] or text
        return Answer(step.id, value=value.value.strip() or text, source="extracted", confidence=1.0, label=label,
                      labels=value.labels)


class FilesKind(StepKind[FilesStep]):
    common_buttons = False

    def question(self, flow: Flow, state: ConversationState, step: FilesStep) -> Question:
        lang = state.lang
        if state.pending_files or step.min_files > 0:
            return Question(step.prompt.get(lang), (button(DONE, flow.message("button_done", lang)),))
        return Question(step.prompt.get(lang), (button(SKIP, flow.message("button_skip", lang)),))

    def interpret(
        self, flow: Flow, state: ConversationState, step: FilesStep, turn: Turn, pressed: str | None
    ) -> Interpretation:
        lang = state.lang
        notes: list[str] = []
        pending = list(state.pending_files)
        limit = format_size(step.max_bytes)
        kinds = _kinds_text(flow, step, lang)
        for rejected in turn.rejected_files:
            if rejected.reason == "too_large":
                size = format_size(rejected.limit_bytes or step.max_bytes)
                notes.append(flow.message("file_too_large", lang).format(name=rejected.file_name, limit=size))
            elif rejected.reason == "type":
                notes.append(flow.message("file_type", lang).format(name=rejected.file_name, kinds=kinds))
            elif rejected.reason == "too_many":
                notes.append(flow.message("file_too_many", lang).format(name=rejected.file_name, max=step.max_files))
            elif rejected.reason == "unavailable":
                notes.append(flow.message("file_unavailable", lang).format(name=rejected.file_name))
            else:
                notes.append(flow.message("file_not_expected", lang).format(name=rejected.file_name))
        for file in turn.files:
            if media_kind(file.media_type) not in step.allowed_kinds:
                notes.append(flow.message("file_type", lang).format(name=file.file_name, kinds=kinds))
            elif file.size > step.max_bytes:
                notes.append(flow.message("file_too_large", lang).format(name=file.file_name, limit=limit))
            elif len(pending) >= step.max_files:
                notes.append(flow.message("file_too_many", lang).format(name=file.file_name, max=step.max_files))
            elif all(existing.evidence_id != file.evidence_id for existing in pending):
                pending.append(file)
        received = len(pending) > len(state.pending_files)
        if received and len(pending) >= step.max_files:
            return Accepted(Answer(step.id, files=tuple(pending)), tuple(notes))
        finishing = pressed in (DONE, KEEP, SKIP) or any(typed(turn, i) for i in (DONE, KEEP, SKIP, NOTHING_TO_SEND))
        if finishing and not received:
            if len(pending) < step.min_files:
                return Refused(flow.message("files_need_more", lang).format(min=step.min_files))
            if not pending:
                return Accepted(Answer(step.id, skipped=True))
            return Accepted(Answer(step.id, files=tuple(pending)))
        if received:
            notes.append(flow.message("files_received", lang).format(count=len(pending), max=step.max_files))
        elif not notes:
            notes.append(flow.message("files_hint", lang))
        return Stay(replace(state, pending_files=tuple(pending)), tuple(notes), repeat_prompt=not received)

    def display(self, flow: Flow, step: FilesStep, answer: Answer, lang: Lang) -> str:
        if not answer.files:
            return flow.message("summary_no_files", lang)
        names = ", ".join(file.file_name for file in answer.files)
        return flow.message("summary_files", lang).format(count=len(answer.files), names=names)


class ConfirmKind(StepKind[ConfirmStep]):
    common_buttons = False

    def question(self, flow: Flow, state: ConversationState, step: ConfirmStep) -> Question:
        lang = state.lang
        answered = answered_path(flow, state)
        lines = [
            flow.message("summary_line", lang).format(
                label=_capitalize(flow.label(s, lang)), value=display(flow, s, a, lang)
            )
            for s, a in answered
        ]
        text = step.prompt.get(lang)
        text = "\n".join([text, "", *lines]) if lines else text
        edit = flow.message("button_edit", lang)
        choices = [
            button(CONFIRM, flow.message("button_confirm", lang)),
            *(button(EDIT + s.id, edit.format(label=flow.label(s, lang))) for s, _ in answered),
            button("_cancel", flow.message("button_cancel", lang)),
        ]
        return Question(text, tuple(choices))

    def interpret(
        self, flow: Flow, state: ConversationState, step: ConfirmStep, turn: Turn, pressed: str | None
    ) -> Interpretation:
        if pressed == CONFIRM or (pressed is None and typed(turn, CONFIRM)):
            return Accepted(Answer(step.id, value="confirmed"))
        if pressed is not None and pressed.startswith(EDIT):
            target = pressed[len(EDIT) :]
            if target in {answered.id for answered, _ in answered_path(flow, state)}:
                return Jump(target)
        return Refused(flow.message("confirm_hint", state.lang))


class EndKind(StepKind[EndStep]):
    common_buttons = False

    def interpret(
        self, flow: Flow, state: ConversationState, step: EndStep, turn: Turn, pressed: str | None
    ) -> Interpretation:
        return Refused(flow.message("need_answer", state.lang))


# Dispatch is by the step's kind tag, so the table holds each kind with its own step type (hence Any).
KINDS: dict[str, StepKind[Any]] = {
    "text": TextKind(),
    "choice": ChoiceKind(),
    "email": EmailKind(),
    "phone": PhoneKind(),
    "datetime": DatetimeKind(),
    "files": FilesKind(),
    "proposal": ProposalKind(),
    "confirm": ConfirmKind(),
    "end": EndKind(),
}


def kind_of(step: Step) -> StepKind[Any]:
    return KINDS[step.kind]


def display(flow: Flow, step: Step, answer: Answer, lang: Lang) -> str:
    """An answer as the customer reads it in the summary."""
    if answer.skipped:
        return flow.message("summary_skipped", lang)
    return kind_of(step).display(flow, step, answer, lang)


def step_option(options: Sequence[Option], value: str | None) -> Option | None:
    return next((option for option in options if option.value == value), None) if value else None


def typed_option(options: Sequence[Option], turn: Turn, *, labels_in_words: bool = False) -> Option | None:
    """An option named by its value or its label in either language, even when not shown as a button; else the
    one option whose synonym (or label, with `labels_in_words`: where no free text is taken, which would keep
    "a refund and the postage" whole) a short answer contains ("call me" -> Phone, "email is fine" -> Email;
    "don't call me, email me" names two)."""
    if turn.choice is not None or turn.text is None:
        return None
    typed_text = normalize(turn.text)
    if not typed_text:
        return None
    for option in options:
        if typed_text in (normalize(option.value), normalize(option.label.en), normalize(option.label.zh)):
            return option
    # A one-letter slip in an option's name typed alone ("emial", "refnud", "replacment"), on a phone keyboard.
    slipped = [option for option in options
               if any(_one_slip(typed_text, normalize(name)) for name in (option.value, option.label.en,
                                                                           *option.synonyms.en))]
    if len(slipped) == 1:
        return slipped[0]
    if len(typed_text) > _SYNONYM_TEXT_LIMIT:
        return None
    by_synonym = [option for option in options
                  if any(_says(typed_text, normalize(phrase)) for phrase in (*option.synonyms.en, *option.synonyms.zh))]
    by_label = [option for option in options
                if any(_says(typed_text, normalize(label)) for label in (option.label.en, option.label.zh))]
    named = [*by_synonym, *(option for option in by_label if option not in by_synonym)]
    # A label said beside a synonym of another option names two ("a refund or a new one"), even where labels
    # alone pick nothing.
    if len(named) != 1 or not (labels_in_words or by_synonym):
        return None
    return named[0]


# A story is not an answer to a choice: synonyms are looked for in short answers only.
_SYNONYM_TEXT_LIMIT = 120
# Names shorter than this are too close to other words for one letter to be a slip ("call" / "cell").
_SLIP_MIN_CHARS = 5


def _one_slip(typed_text: str, name: str) -> bool:
    """One insertion, deletion, substitution or swap of two letters away from `name` (Latin letters only)."""
    return (len(name) >= _SLIP_MIN_CHARS and abs(len(typed_text) - len(name)) <= 1 and typed_text != name
            and name.isascii() and name.replace(" ", "").isalpha()
            and OSA.distance(typed_text, name, score_cutoff=1) <= 1)


_NEGATIONS = ("don't ", "dont ", "do not ", "not ", "never ", "no ", "isn't ", "wasn't ", "不要", "不用", "别", "不",
              "勿", "不是")
_ARTICLE = re.compile(r"(?:\b(?:a|an|the|my)\s+|一个|个)$")


def after_negation(before: str) -> bool:
    """Whether text ending with `before` negates what follows ("don't call", "not a tumble dryer", 不是)."""
    return _ARTICLE.sub("", before.lower()).endswith(_NEGATIONS)


def _says(text: str, phrase: str) -> bool:
    """Whether `text` contains `phrase` as whole words (any place for Chinese), not right after a negation."""
    start = text.find(phrase)
    while start >= 0 and phrase:
        end = start + len(phrase)
        bounded = phrase[0] > "\u2e7f" or ((start == 0 or not text[start - 1].isalnum())
                                          and (end == len(text) or not text[end].isalnum()))
        if bounded and not after_negation(text[:start]):
            return True
        start = text.find(phrase, start + 1)
    return False


_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def format_when(value: str, lang: Lang) -> str:
    """A stored date or datetime in the customer's locale: "Sat 28 Nov, 15:00" / "11月28日（周六）15:00".

    A date without a time is shown without one ("Sat 28 Nov" / "11月28日（周六）").
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    has_time = "T" in value
    if lang == "zh":
        day = f"{moment.month}月{moment.day}日（{_WEEKDAYS_ZH[moment.weekday()]}）"
        return f"{day}{moment:%H:%M}" if has_time else day
    day = f"{_WEEKDAYS_EN[moment.weekday()]} {moment.day} {_MONTHS_EN[moment.month - 1]}"
    return f"{day}, {moment:%H:%M}" if has_time else day


def location_text(location: Location) -> str:
    return location.label or f"{location.latitude:.5f}, {location.longitude:.5f}"


def format_size(size: int) -> str:
    if size >= MEBIBYTE:
        return f"{size / MEBIBYTE:.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


def _kinds_text(flow: Flow, step: FilesStep, lang: Lang) -> str:
    names = [flow.message(f"kind_{kind}", lang) for kind in step.allowed_kinds]
    return flow.message("kinds_separator", lang).join(names)


def _capitalize(label: str) -> str:
    return label[:1].upper() + label[1:]
