"""The conversation engine: ``advance(flow, state, turn) -> Outcome``, a pure function.

The engine reads no clock, touches no file or network, and never raises on customer input: every turn
yields a valid state, the replies to send and the effects (file the case, show status, conversation
ended) for the orchestrator to carry out.

Protocol with the orchestrator, per inbound message:

1. No conversation yet: ``start(flow, turn)``. Otherwise:
2. ``text = pending_analysis(flow, state, turn)``; when not None run the NLP on it and pass the results as
   ``Turn.proposals``.
3. ``advance(flow, state, turn)``. On a completed or cancelled state ``advance`` itself starts a new
   conversation (except for ``status``/``help``, and edits of old messages, which are ignored), so the
   orchestrator never has to call ``start`` again for a known customer.
4. Carry out the effects first (``FileCase``: store the case; ``ShowStatus``: send the status reply), then
   send ``outcome.replies`` in order. ``{case_number}`` is the only placeholder in them: fill it with
   ``str.replace``, never ``str.format`` (replies quote customer text, which may contain braces).
5. Before accepting a file upload ask ``file_limits(flow, state)``: None means no files are expected now;
   refuse what breaks the limits early and pass it as ``Turn.rejected_files`` so the customer hears why.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from flows.contact_parsing import InvalidAnswer, format_phone, parse_email, parse_phone
from flows.conversation import (
    Answer,
    CaseDraft,
    Choice,
    ChoiceRole,
    ConversationEnded,
    ConversationState,
    Effect,
    FileCase,
    FileInfo,
    FileLimits,
    Location,
    Outcome,
    Proposal,
    RejectedFile,
    Reply,
    ShowStatus,
    Turn,
    media_kind,
)
from flows.datetime_parsing import parse_datetime
from flows.definition import (
    MEBIBYTE,
    STANDARD_FIELDS,
    ChoiceStep,
    Condition,
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
from flows.language import Lang, detect_language, language_from_locale, latin_word_count

__all__ = [
    "CaseDraft",
    "Choice",
    "ConversationEnded",
    "ConversationState",
    "Effect",
    "FileCase",
    "FileInfo",
    "FileLimits",
    "Location",
    "Outcome",
    "Proposal",
    "RejectedFile",
    "Reply",
    "ShowStatus",
    "Turn",
    "advance",
    "build_draft",
    "file_limits",
    "pending_analysis",
    "start",
]

_HISTORY_LIMIT = 64
# A little slack for clocks: "just now" typed a minute after the turn's timestamp is not "the future".
_FUTURE_TOLERANCE = timedelta(minutes=10)

Command = Literal["cancel", "restart", "back", "status", "help", "unknown", "lang_en", "lang_zh"]

_COMMAND_WORDS: dict[str, Command] = {
    "cancel": "cancel",
    "取消": "cancel",
    "restart": "restart",
    "重新开始": "restart",
    "重来": "restart",
    "back": "back",
    "返回": "back",
    "上一步": "back",
    "status": "status",
    "进度": "status",
    "查询": "status",
    "help": "help",
    "帮助": "help",
    "english": "lang_en",
    "英文": "lang_en",
    "中文": "lang_zh",
    "chinese": "lang_zh",
    "简体中文": "lang_zh",
}
# Only as slash commands, since a bare word could be an answer.
_SLASH_ONLY: dict[str, Command] = {"start": "restart", "en": "lang_en", "zh": "lang_zh"}
_BUTTON_COMMANDS: dict[str, Command] = {
    "_cancel": "cancel",
    "_restart": "restart",
    "_back": "back",
    "_status": "status",
    "_help": "help",
}

_KEEP = "_keep"
_SKIP = "_skip"
_DONE = "_done"
_YES = "_yes"
_OTHER = "_other"
_CONFIRM = "_confirm"
_EDIT = "_edit:"

_TYPED_INTENTS: dict[str, frozenset[str]] = {
    _KEEP: frozenset({"keep", "keep it", "same", "保留", "不变", "不用改"}),
    _SKIP: frozenset({"skip", "跳过", "略过"}),
    _DONE: frozenset(
        {
            "done",
            "finished",
            "finish",
            "no more",
            "that's all",
            "thats all",
            "完成",
            "好了",
            "没有了",
            "就这些",
        }
    ),
    _YES: frozenset(
        {
            "yes",
            "y",
            "yeah",
            "yep",
            "correct",
            "right",
            "ok",
            "okay",
            "sure",
            "是",
            "是的",
            "对",
            "对的",
            "没错",
            "正确",
            "好",
            "好的",
            "嗯",
        }
    ),
    _OTHER: frozenset(
        {"no", "n", "nope", "wrong", "other", "something else", "不是", "不对", "错", "其他", "其它", "别的"}
    ),
    _CONFIRM: frozenset(
        {"confirm", "submit", "yes", "ok", "okay", "确认", "提交", "确认提交", "是", "是的", "好", "好的"}
    ),
}


def _normalize(text: str) -> str:
    """Case-, width- and punctuation-insensitive form for matching commands, labels and intents."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return folded.strip(" \t\r\n.!?,;:。！？，；：~'\"“”‘’").strip()


def _command(turn: Turn) -> Command | None:
    if turn.choice is not None:
        return _BUTTON_COMMANDS.get(turn.choice)
    if turn.text is None:
        return None
    word = _normalize(turn.text)
    if word.startswith("/"):
        # "/cancel@PlaintBot" is how Telegram groups address a bot.
        name = word[1:].split("@", 1)[0].strip()
        return _COMMAND_WORDS.get(name) or _SLASH_ONLY.get(name) or "unknown"
    return _COMMAND_WORDS.get(word)


# ---- results of interpreting one turn at one step ----------------------------------------------------


@dataclass(frozen=True)
class _Accepted:
    answer: Answer
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Refused:
    message: str


@dataclass(frozen=True)
class _Stay:
    """The step is not finished yet (files still coming, proposal rejected): new state and what to say."""

    state: ConversationState
    notes: tuple[str, ...]
    # Files arriving one by one: acknowledge with the buttons instead of repeating the whole question.
    repeat_prompt: bool = True


@dataclass(frozen=True)
class _Jump:
    """Go to another step to change its answer (Edit <field> on the confirmation)."""

    step_id: str


_Interpretation = _Accepted | _Refused | _Stay | _Jump


@dataclass
class _Say:
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

    def done(self) -> tuple[Reply, ...]:
        if self.notes:
            self.replies.append(Reply("\n\n".join(self.notes)))
            self.notes.clear()
        return tuple(self.replies)


# ---- public API --------------------------------------------------------------------------------------


def start(flow: Flow, turn: Turn) -> Outcome:
    """A new conversation. The language is the platform locale's, else the first message's script."""
    return _start(flow, turn, None)


def advance(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    """Apply one inbound turn to a conversation. Pure: the same inputs always give the same outcome."""
    if state.flow_id != flow.id:
        return _start(flow, turn, state.lang)
    if state.status != "active":
        return _after_end(flow, state, turn)
    say = _Say(flow, state.lang)
    state = _reconcile(flow, state, say)
    step = flow.step(state.step_id)
    if isinstance(step, EndStep):
        return _start(flow, turn, state.lang)
    state = _follow_language(state, turn, step)
    say.lang = state.lang
    command = _command(turn)
    if command is not None:
        return _run_command(flow, state, command, say)
    if turn.edit and state.history and flow.has_step(state.history[-1]):
        return _apply_edit(flow, state, turn, say)
    return _answer_current(flow, state, step, turn, say)


def pending_analysis(flow: Flow, state: ConversationState, turn: Turn) -> str | None:
    """The text to run NLP on before ``advance`` (this turn answers a step with ``analyze: true``)."""
    if state.status != "active" or state.flow_id != flow.id or turn.text is None or turn.choice is not None:
        return None
    if _command(turn) is not None:
        return None
    step_id = state.history[-1] if turn.edit and state.history else state.step_id
    if not flow.has_step(step_id):
        return None
    step = flow.step(step_id)
    if not isinstance(step, TextStep) or not step.analyze:
        return None
    text = turn.text.strip()
    if not step.min_length <= len(text) <= step.max_length:
        return None
    if step.optional and _typed(turn, _SKIP):
        return None
    return text


def file_limits(flow: Flow, state: ConversationState) -> FileLimits | None:
    """What the current step accepts as files, so the orchestrator can cap and refuse early; else None."""
    if state.status != "active" or not flow.has_step(state.step_id):
        return None
    step = flow.step(state.step_id)
    if not isinstance(step, FilesStep):
        return None
    remaining = max(step.max_files - len(state.pending_files), 0)
    return FileLimits(max_bytes=step.max_bytes, allowed_kinds=frozenset(step.allowed_kinds), max_files=remaining)


def build_draft(flow: Flow, state: ConversationState) -> CaseDraft:
    """The case as answered so far, from the answers on the path the customer actually took."""
    values: dict[str, str | None] = {}
    confidences: dict[str, float | None] = {}
    evidence: list[FileInfo] = []
    extra: list[tuple[str, str]] = []
    for step, answer in _answered_path(flow, state):
        name = step.field or step.id
        if isinstance(step, FilesStep):
            evidence.extend(answer.files)
            continue
        if answer.skipped or answer.value is None:
            continue
        if name in STANDARD_FIELDS:
            values[name] = answer.value
            if name in ("product", "category"):
                confidences[name] = answer.confidence
        else:
            extra.append((name, answer.value))
        if answer.location is not None:
            extra.append((f"{name}_coordinates", f"{answer.location.latitude},{answer.location.longitude}"))
    return CaseDraft(
        name=values.get("name"),
        phone=values.get("phone"),
        email=values.get("email"),
        description=values.get("description"),
        occurred_at=values.get("occurred_at"),
        occurred_where=values.get("occurred_where"),
        product=values.get("product"),
        product_confidence=confidences.get("product"),
        category=values.get("category"),
        category_confidence=confidences.get("category"),
        expected_resolution=values.get("expected_resolution"),
        evidence=tuple(evidence),
        extra=tuple(extra),
        lang=state.lang,
        flow_id=flow.id,
        flow_version=flow.version,
    )


# ---- conversation lifecycle ----------------------------------------------------------------------------


def _start(flow: Flow, turn: Turn, fallback: Lang | None) -> Outcome:
    lang = (
        language_from_locale(turn.locale)
        or (detect_language(turn.text) if turn.text else None)
        or fallback
        or flow.default_lang
    )
    state = ConversationState(flow_id=flow.id, flow_version=flow.version, step_id=flow.start, lang=lang)
    say = _Say(flow, lang)
    if flow.greeting is not None:
        say.replies.append(Reply(flow.greeting.get(lang)))
    for file in turn.files:
        say.note("file_not_expected", name=file.file_name)
    effects: tuple[Effect, ...] = (ShowStatus(),) if _command(turn) == "status" else ()
    return _enter(flow, state, flow.start, say, effects=effects)


def _after_end(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    if turn.edit:
        # An edited message from a finished conversation changes nothing.
        return Outcome(state, ())
    command = _command(turn)
    if command == "status":
        return Outcome(state, (), (ShowStatus(),))
    if command == "help":
        lang = _follow_language(state, turn, None).lang
        return Outcome(state, (Reply(flow.message("finished_help", lang)),))
    return _start(flow, turn, state.lang)


def _reconcile(flow: Flow, state: ConversationState, say: _Say) -> ConversationState:
    """Carry a conversation over to an edited flow: keep the answers whose steps still exist."""
    if state.flow_version == flow.version and flow.has_step(state.step_id):
        return state
    state = replace(
        state,
        flow_version=flow.version,
        answers=tuple(answer for answer in state.answers if flow.has_step(answer.step_id)),
        history=tuple(step_id for step_id in state.history if flow.has_step(step_id)),
    )
    if flow.has_step(state.step_id):
        return state
    say.note("flow_updated")
    resume = _path(flow, state)[-1]
    return replace(state, step_id=resume, pending_files=(), editing=False, awaiting_other=False)


def _follow_language(state: ConversationState, turn: Turn, step: Step | None) -> ConversationState:
    """Switch language when the customer clearly writes in the other one."""
    if turn.text is None or turn.choice is not None:
        return state
    detected = detect_language(turn.text)
    if detected == "zh" and state.lang == "en":
        return replace(state, lang="zh")
    contact_step = isinstance(step, EmailStep | PhoneStep)
    if detected == "en" and state.lang == "zh" and not contact_step and latin_word_count(turn.text) >= 3:
        return replace(state, lang="en")
    return state


def _run_command(flow: Flow, state: ConversationState, command: Command, say: _Say) -> Outcome:
    if command == "cancel":
        cancelled = replace(state, status="cancelled", pending_files=(), editing=False, awaiting_other=False)
        say.note("cancelled")
        return Outcome(cancelled, say.done(), (ConversationEnded("cancelled"),))
    if command == "restart":
        fresh = ConversationState(flow_id=flow.id, flow_version=flow.version, step_id=flow.start, lang=state.lang)
        say.note("restarted")
        return _enter(flow, fresh, flow.start, say)
    if command == "back":
        return _go_back(flow, state, say)
    if command in ("lang_en", "lang_zh"):
        state = replace(state, lang="en" if command == "lang_en" else "zh")
        say.lang = state.lang
        say.note("language_switched")
    elif command == "unknown":
        say.note("unknown_command")
        say.note("help")
    elif command == "help":
        say.note("help")
    effects: tuple[Effect, ...] = (ShowStatus(),) if command == "status" else ()
    say.prompt(_prompt(flow, state, flow.step(state.step_id)))
    return Outcome(state, say.done(), effects)


def _go_back(flow: Flow, state: ConversationState, say: _Say) -> Outcome:
    state = _keep_pending_files(flow, state)
    history = [step_id for step_id in state.history if flow.has_step(step_id)]
    if not history:
        say.note("back_at_first")
        say.prompt(_prompt(flow, state, flow.step(state.step_id)))
        return Outcome(state, say.done())
    previous = history.pop()
    state = replace(state, history=tuple(history), editing=False)
    return _enter(flow, state, previous, say, auto=False)


def _keep_pending_files(flow: Flow, state: ConversationState) -> ConversationState:
    """Files already received at a step the customer leaves unfinished stay with that step's answer."""
    if not state.pending_files or not isinstance(flow.step(state.step_id), FilesStep):
        return state
    state = state.with_answer(Answer(state.step_id, files=state.pending_files))
    return replace(state, pending_files=())


# ---- answering ------------------------------------------------------------------------------------------


def _answer_current(flow: Flow, state: ConversationState, step: Step, turn: Turn, say: _Say) -> Outcome:
    if not isinstance(step, FilesStep):
        for file in turn.files:
            say.note("file_not_expected", name=file.file_name)
        for rejected in turn.rejected_files:
            say.note("file_not_expected", name=rejected.file_name)
    if turn.location is not None and not (isinstance(step, TextStep) and step.accepts_location):
        say.note("location_not_expected")
        if turn.text is None and turn.choice is None:
            say.prompt(_prompt(flow, state, step))
            return Outcome(state, say.done())
    if not isinstance(step, FilesStep) and (turn.files or turn.rejected_files) and turn.text is None:
        say.prompt(_prompt(flow, state, step))
        return Outcome(state, say.done())
    result = _interpret(flow, state, step, turn)
    if isinstance(result, _Refused):
        say.text(result.message)
        say.prompt(_prompt(flow, state, step))
        return Outcome(state, say.done())
    if isinstance(result, _Stay):
        for note in result.notes:
            say.text(note)
        prompt = _prompt(flow, result.state, step)
        if not result.repeat_prompt and say.notes:
            prompt = Reply(say.notes.pop(), prompt.choices)
        say.prompt(prompt)
        return Outcome(result.state, say.done())
    if isinstance(result, _Jump):
        state = replace(state, editing=True)
        return _enter(flow, state, result.step_id, say, auto=False)
    for note in result.notes:
        say.text(note)
    state = replace(_record(flow, state, step, result.answer, turn), pending_files=(), awaiting_other=False)
    history = (*state.history, step.id)[-_HISTORY_LIMIT:]
    state = replace(state, history=history)
    target = _next_id(flow, state, step)
    if state.editing:
        target = _first_open(flow, state, target)
    return _enter(flow, state, target, say)


def _record(flow: Flow, state: ConversationState, step: Step, answer: Answer, turn: Turn) -> ConversationState:
    state = state.with_answer(answer)
    if isinstance(step, TextStep) and step.analyze:
        # A new description means new proposals; values the NLP chose on its own are no longer valid.
        state = replace(state, proposals=turn.proposals)
        stale = [a.step_id for a in state.answers if a.source == "nlp"]
        for step_id in stale:
            state = state.without_answer(step_id)
    return state


def _apply_edit(flow: Flow, state: ConversationState, turn: Turn, say: _Say) -> Outcome:
    """An edited message replaces the answer to the step it answered (the last one in history)."""
    target = flow.step(state.history[-1])
    current = flow.step(state.step_id)
    at_target = replace(state, step_id=target.id, pending_files=(), awaiting_other=False)
    result = (
        _interpret(flow, at_target, target, turn) if not isinstance(target, FilesStep | ConfirmStep | EndStep) else None
    )
    label = flow.label(target, state.lang)
    if isinstance(result, _Accepted):
        # The current step keeps its own progress (files received, "something else" chosen).
        state = _record(flow, state, target, result.answer, turn)
        say.note("edit_applied", label=label, value=_display(flow, target, result.answer, state.lang))
        path = _path(flow, state)
        if state.step_id in path:
            say.prompt(_prompt(flow, state, current))
            return Outcome(state, say.done())
        return _enter(flow, _keep_pending_files(flow, state), path[-1], say)
    if isinstance(result, _Refused):
        say.note("edit_rejected", label=label)
        say.text(result.message)
    say.prompt(_prompt(flow, state, current))
    return Outcome(state, say.done())


def _typed(turn: Turn, intent: str) -> bool:
    """The customer typed one of the words for an intent (e.g. "skip", "跳过")."""
    return turn.choice is None and turn.text is not None and _normalize(turn.text) in _TYPED_INTENTS[intent]


def _pressed(flow: Flow, state: ConversationState, step: Step, turn: Turn) -> str | None:
    """The button this turn selects: pressed, its label typed in either language, or its number."""
    if turn.choice is not None:
        return turn.choice
    if turn.text is None:
        return None
    typed = _normalize(turn.text)
    if not typed:
        return None
    shown = _prompt(flow, state, step).choices
    if isinstance(step, ChoiceStep | ProposalStep | ConfirmStep) and typed.isdigit():
        number = int(typed)
        return shown[number - 1].value if 1 <= number <= len(shown) else None
    other: Lang = "zh" if state.lang == "en" else "en"
    for choices in (shown, _prompt(flow, replace(state, lang=other), step).choices):
        for choice in choices:
            if typed == _normalize(choice.label):
                return choice.value
    return None


def _interpret(flow: Flow, state: ConversationState, step: Step, turn: Turn) -> _Interpretation:
    lang = state.lang
    if isinstance(step, FilesStep):
        return _interpret_files(flow, state, step, turn)
    if isinstance(step, EndStep):
        return _Refused(flow.message("need_answer", lang))
    pressed = _pressed(flow, state, step, turn)
    if isinstance(step, ConfirmStep):
        return _interpret_confirm(flow, state, step, turn, pressed)
    existing = state.answer(step.id)
    if existing is not None and (pressed == _KEEP or _typed(turn, _KEEP)):
        return _Accepted(existing)
    if pressed == _SKIP or _typed(turn, _SKIP):
        if step.optional:
            return _Accepted(Answer(step.id, skipped=True))
        return _Refused(flow.message("not_optional", lang))
    if isinstance(step, ChoiceStep):
        return _interpret_choice(flow, state, step, turn, pressed)
    if isinstance(step, ProposalStep):
        return _interpret_proposal(flow, state, step, turn, pressed)
    if isinstance(step, TextStep) and step.accepts_location and turn.location is not None:
        return _Accepted(Answer(step.id, value=_location_text(turn.location), location=turn.location))
    if turn.choice is not None:
        # A button from an earlier question.
        return _Refused(flow.message("invalid_choice", lang))
    text = (turn.text or "").strip()
    if not text:
        return _Refused(flow.message("need_answer", lang))
    if isinstance(step, TextStep):
        if len(text) < step.min_length:
            return _Refused(flow.message("too_short", lang).format(min=step.min_length))
        if len(text) > step.max_length:
            return _Refused(flow.message("too_long", lang).format(max=step.max_length, length=len(text)))
        return _Accepted(Answer(step.id, value=text))
    if isinstance(step, EmailStep):
        email = parse_email(text)
        if isinstance(email, InvalidAnswer):
            return _Refused(flow.message("invalid_email", lang).format(detail=email.detail.rstrip(".")))
        return _Accepted(Answer(step.id, value=email))
    if isinstance(step, PhoneStep):
        phone = parse_phone(text, step.default_region)
        if isinstance(phone, InvalidAnswer):
            return _Refused(flow.message("invalid_phone", lang))
        return _Accepted(Answer(step.id, value=phone))
    return _interpret_datetime(flow, state, step, turn, text)


def _interpret_datetime(
    flow: Flow, state: ConversationState, step: DatetimeStep, turn: Turn, text: str
) -> _Interpretation:
    when = parse_datetime(text, turn.now)
    if when is None:
        return _Refused(flow.message("invalid_date", state.lang))
    if not step.allow_future and when > turn.now + _FUTURE_TOLERANCE:
        return _Refused(flow.message("future_date", state.lang))
    return _Accepted(Answer(step.id, value=when.isoformat()))


def _interpret_choice(
    flow: Flow, state: ConversationState, step: ChoiceStep, turn: Turn, pressed: str | None
) -> _Interpretation:
    option = step_option(step.options, pressed) or _typed_option(step.options, turn)
    if option is not None:
        return _Accepted(Answer(step.id, value=option.value))
    text = (turn.text or "").strip()
    if step.allow_text and turn.choice is None and text:
        if len(text) > step.max_text_length:
            return _Refused(flow.message("too_long", state.lang).format(max=step.max_text_length, length=len(text)))
        return _Accepted(Answer(step.id, value=text))
    return _Refused(flow.message("invalid_choice", state.lang))


def step_option(options: Sequence[Option], value: str | None) -> Option | None:
    return next((option for option in options if option.value == value), None) if value else None


def _typed_option(options: Sequence[Option], turn: Turn) -> Option | None:
    """An option named by its value or its label in either language, even when not shown as a button."""
    if turn.choice is not None or turn.text is None:
        return None
    typed = _normalize(turn.text)
    for option in options:
        if typed and typed in (
            _normalize(option.value),
            _normalize(option.label.en),
            _normalize(option.label.zh),
        ):
            return option
    return None


def best_proposal(state: ConversationState, step: ProposalStep) -> Proposal | None:
    """The most confident NLP proposal for the step's field, if it clears ``propose_min_confidence``."""
    candidates = [
        proposal
        for proposal in state.proposals
        if proposal.field == step.field
        and proposal.confidence >= step.propose_min_confidence
        and (not step.options or step.option(proposal.value) is not None)
    ]
    return max(candidates, key=lambda proposal: proposal.confidence, default=None)


def _proposal_label(step: ProposalStep, proposal: Proposal, lang: Lang) -> str:
    option = step.option(proposal.value)
    return option.label.get(lang) if option is not None else proposal.label


def _accept_proposal(step: ProposalStep, proposal: Proposal) -> _Accepted:
    return _Accepted(
        Answer(step.id, value=proposal.value, source="nlp", confidence=proposal.confidence, label=proposal.label)
    )


def _interpret_proposal(
    flow: Flow, state: ConversationState, step: ProposalStep, turn: Turn, pressed: str | None
) -> _Interpretation:
    lang = state.lang
    proposal = best_proposal(state, step) if not state.awaiting_other else None
    if proposal is not None and (pressed == _YES or _typed(turn, _YES)):
        return _accept_proposal(step, proposal)
    wants_other = proposal is not None and (pressed == _OTHER or _typed(turn, _OTHER))
    if step.options:
        option = step_option(step.options, pressed) or _typed_option(step.options, turn)
        if option is not None:
            if proposal is not None and option.value == proposal.value:
                return _accept_proposal(step, proposal)
            return _Accepted(Answer(step.id, value=option.value, confidence=1.0))
        if wants_other:
            return _Stay(replace(state, awaiting_other=True), ())
        return _Refused(flow.message("invalid_choice", lang))
    if wants_other:
        return _Stay(replace(state, awaiting_other=True), ())
    if turn.choice is not None:
        return _Refused(flow.message("invalid_choice", lang))
    text = (turn.text or "").strip()
    if not text:
        return _Refused(flow.message("need_answer", lang))
    if len(text) > step.max_text_length:
        return _Refused(flow.message("too_long", lang).format(max=step.max_text_length, length=len(text)))
    if proposal is not None and _normalize(text) in (_normalize(proposal.label), _normalize(proposal.value)):
        return _accept_proposal(step, proposal)
    return _Accepted(Answer(step.id, value=text, confidence=1.0))


def _interpret_files(flow: Flow, state: ConversationState, step: FilesStep, turn: Turn) -> _Interpretation:
    lang = state.lang
    notes: list[str] = []
    pending = list(state.pending_files)
    limit = _format_size(step.max_bytes)
    kinds = _kinds_text(flow, step, lang)
    for rejected in turn.rejected_files:
        if rejected.reason == "too_large":
            size = _format_size(rejected.limit_bytes or step.max_bytes)
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
        return _Accepted(Answer(step.id, files=tuple(pending)), tuple(notes))
    pressed = turn.choice
    finishing = pressed in (_DONE, _KEEP, _SKIP) or any(_typed(turn, i) for i in (_DONE, _KEEP, _SKIP))
    if finishing and not received:
        if len(pending) < step.min_files:
            return _Refused(flow.message("files_need_more", lang).format(min=step.min_files))
        if not pending:
            return _Accepted(Answer(step.id, skipped=True))
        return _Accepted(Answer(step.id, files=tuple(pending)))
    if received:
        notes.append(flow.message("files_received", lang).format(count=len(pending), max=step.max_files))
    elif not notes:
        notes.append(flow.message("files_hint", lang))
    return _Stay(replace(state, pending_files=tuple(pending)), tuple(notes), repeat_prompt=not received)


def _interpret_confirm(
    flow: Flow, state: ConversationState, step: ConfirmStep, turn: Turn, pressed: str | None
) -> _Interpretation:
    if pressed == _CONFIRM or (pressed is None and _typed(turn, _CONFIRM)):
        return _Accepted(Answer(step.id, value="confirmed"))
    if pressed is not None and pressed.startswith(_EDIT):
        target = pressed[len(_EDIT) :]
        if target in {answered.id for answered, _ in _answered_path(flow, state)}:
            return _Jump(target)
    return _Refused(flow.message("confirm_hint", state.lang))


# ---- moving between steps ---------------------------------------------------------------------------------


def _holds(flow: Flow, state: ConversationState, condition: Condition) -> bool:
    for step in flow.steps_for(condition.field):
        answer = state.answer(step.id)
        if answer is not None and not answer.skipped and answer.value in condition.values():
            return True
    return False


def _next_id(flow: Flow, state: ConversationState, step: Step) -> str:
    if isinstance(step.next, str):
        return step.next
    for branch in step.next or ():
        if branch.when is None or _holds(flow, state, branch.when):
            return branch.goto
    # Unreachable for a validated flow (the last branch is a default); stay put rather than crash.
    return step.id


def _path(flow: Flow, state: ConversationState) -> list[str]:
    """Step ids from the start along the answers, up to the first unanswered step (or confirm/end)."""
    ids: list[str] = []
    step_id = flow.start
    while step_id not in ids:
        ids.append(step_id)
        step = flow.step(step_id)
        if isinstance(step, ConfirmStep | EndStep) or state.answer(step_id) is None:
            break
        step_id = _next_id(flow, state, step)
    return ids


def _answered_path(flow: Flow, state: ConversationState) -> list[tuple[Step, Answer]]:
    pairs: list[tuple[Step, Answer]] = []
    for step_id in _path(flow, state):
        step = flow.step(step_id)
        answer = state.answer(step_id)
        if answer is not None and not isinstance(step, ConfirmStep | EndStep):
            pairs.append((step, answer))
    return pairs


def _first_open(flow: Flow, state: ConversationState, step_id: str) -> str:
    """From ``step_id`` on, the first step still without an answer (or the confirmation)."""
    seen: set[str] = set()
    while step_id not in seen:
        seen.add(step_id)
        step = flow.step(step_id)
        if isinstance(step, ConfirmStep | EndStep) or state.answer(step_id) is None:
            return step_id
        step_id = _next_id(flow, state, step)
    return step_id


def _enter(
    flow: Flow,
    state: ConversationState,
    step_id: str,
    say: _Say,
    *,
    auto: bool = True,
    effects: tuple[Effect, ...] = (),
) -> Outcome:
    """Make ``step_id`` current and ask it; proposals confident enough are accepted on the way."""
    for _ in range(len(flow.steps) + 1):
        step = flow.step(step_id)
        existing = state.answer(step_id)
        pending = existing.files if isinstance(step, FilesStep) and existing is not None else ()
        state = replace(state, step_id=step_id, pending_files=pending, awaiting_other=False)
        if isinstance(step, EndStep):
            state = replace(state, status="completed", editing=False)
            finished: list[Effect] = list(effects)
            if step.file_case:
                finished.append(FileCase(build_draft(flow, state)))
            finished.append(ConversationEnded("completed"))
            say.prompt(Reply(step.prompt.get(state.lang)))
            return Outcome(state, say.done(), tuple(finished))
        if isinstance(step, ConfirmStep):
            state = replace(state, editing=False)
        if auto and isinstance(step, ProposalStep):
            if existing is not None and existing.source == "nlp":
                step_id = _next_id(flow, state, step)
                continue
            proposal = best_proposal(state, step)
            threshold = step.auto_accept_confidence
            if existing is None and proposal is not None and threshold is not None and proposal.confidence >= threshold:
                answer = Answer(step.id, value=proposal.value, source="nlp", confidence=proposal.confidence)
                state = state.with_answer(answer)
                say.note(
                    "auto_accepted",
                    label=flow.label(step, state.lang),
                    value=_proposal_label(step, proposal, state.lang),
                )
                step_id = _next_id(flow, state, step)
                continue
        say.prompt(_prompt(flow, state, step))
        return Outcome(state, say.done(), effects)
    # A validated flow cannot loop through auto-accepted steps forever; ask where we are.
    say.prompt(_prompt(flow, state, flow.step(state.step_id)))
    return Outcome(state, say.done(), effects)


# ---- what the customer sees -----------------------------------------------------------------------------


def _prompt(flow: Flow, state: ConversationState, step: Step) -> Reply:
    lang = state.lang
    text = step.prompt.get(lang)
    choices: list[Choice] = []
    existing = state.answer(step.id)

    def button(value: str, key: str, role: ChoiceRole) -> Choice:
        return Choice(value, flow.message(key, lang), role)

    if isinstance(step, ConfirmStep):
        lines = [
            flow.message("summary_line", lang).format(
                label=_capitalize(flow.label(s, lang)), value=_display(flow, s, a, lang)
            )
            for s, a in _answered_path(flow, state)
        ]
        text = "\n".join([text, "", *lines]) if lines else text
        choices.append(button(_CONFIRM, "button_confirm", "confirm"))
        for s, _ in _answered_path(flow, state):
            label = flow.message("button_edit", lang).format(label=flow.label(s, lang))
            choices.append(Choice(_EDIT + s.id, label, "edit"))
        choices.append(button("_cancel", "button_cancel", "cancel"))
        return Reply(text, tuple(choices))
    if isinstance(step, EndStep):
        return Reply(text)
    if isinstance(step, FilesStep):
        if state.pending_files or step.min_files > 0:
            choices.append(button(_DONE, "button_done", "done"))
        else:
            choices.append(button(_SKIP, "button_skip", "skip"))
        return Reply(text, tuple(choices))
    if isinstance(step, ChoiceStep):
        choices.extend(Choice(option.value, option.label.get(lang)) for option in step.options)
    if isinstance(step, ProposalStep):
        proposal = best_proposal(state, step)
        if state.awaiting_other:
            text = step.other_prompt.get(lang) if step.other_prompt else flow.message("other_prompt", lang)
            choices.extend(Choice(option.value, option.label.get(lang)) for option in step.options)
        elif proposal is not None:
            text = step.confirm_prompt.get(lang).replace("{value}", _proposal_label(step, proposal, lang))
            choices.append(button(_YES, "button_yes", "yes"))
            if step.options:
                choices.extend(
                    Choice(option.value, option.label.get(lang))
                    for option in step.options
                    if option.value != proposal.value
                )
            else:
                choices.append(button(_OTHER, "button_other", "no"))
        else:
            choices.extend(Choice(option.value, option.label.get(lang)) for option in step.options)
    if existing is not None and not existing.skipped:
        current = flow.message("current_answer", lang).format(value=_display(flow, step, existing, lang))
        text = f"{text}\n{current}"
        choices.append(button(_KEEP, "button_keep", "keep"))
    if step.optional:
        choices.append(button(_SKIP, "button_skip", "skip"))
    return Reply(text, tuple(choices))


def _display(flow: Flow, step: Step, answer: Answer, lang: Lang) -> str:
    """An answer as the customer reads it in the summary."""
    if answer.skipped:
        return flow.message("summary_skipped", lang)
    if isinstance(step, FilesStep):
        if not answer.files:
            return flow.message("summary_no_files", lang)
        names = ", ".join(file.file_name for file in answer.files)
        return flow.message("summary_files", lang).format(count=len(answer.files), names=names)
    value = answer.value or ""
    if isinstance(step, ChoiceStep | ProposalStep):
        option = next((o for o in step.options if o.value == value), None)
        if option is not None:
            return option.label.get(lang)
        return answer.label or value
    if isinstance(step, PhoneStep):
        return format_phone(value)
    if isinstance(step, DatetimeStep):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return value


def _capitalize(label: str) -> str:
    return label[:1].upper() + label[1:]


def _format_size(size: int) -> str:
    if size >= MEBIBYTE:
        return f"{size / MEBIBYTE:.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


def _kinds_text(flow: Flow, step: FilesStep, lang: Lang) -> str:
    names = [flow.message(f"kind_{kind}", lang) for kind in step.allowed_kinds]
    return flow.message("kinds_separator", lang).join(names)


def _location_text(location: Location) -> str:
    return location.label or f"{location.latitude:.5f}, {location.longitude:.5f}"
