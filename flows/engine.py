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

from dataclasses import replace

from flows.commands import SKIP, Command, command_of, typed
from flows.conversation import (
    Answer,
    CaseDraft,
    ConversationEnded,
    ConversationState,
    Effect,
    FileCase,
    FileInfo,
    FileLimits,
    Outcome,
    Reply,
    ShowStatus,
    Turn,
)
from flows.definition import (
    STANDARD_FIELDS,
    ConfirmStep,
    EmailStep,
    EndStep,
    FilesStep,
    Flow,
    PhoneStep,
    ProposalStep,
    Step,
    TextStep,
)
from flows.language import Lang, detect_language, language_from_locale, latin_word_count
from flows.navigation import answered_path, first_open, next_id, path
from flows.prompts import Say, pressed, prompt
from flows.step_kinds import Accepted, Jump, Refused, Stay, best_proposal, display, kind_of, proposal_label

__all__ = ["advance", "build_draft", "file_limits", "pending_analysis", "start"]

_HISTORY_LIMIT = 64


# ---- public API --------------------------------------------------------------------------------------


def start(flow: Flow, turn: Turn) -> Outcome:
    """A new conversation. The language is the platform locale's, else the first message's script."""
    return _start(flow, turn, None)


def advance(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    """Apply one inbound turn to a conversation. Pure: the same inputs always give the same outcome."""
    if _too_long(flow, turn):
        return _refuse_too_long(flow, state, turn)
    if state.flow_id != flow.id:
        return _start(flow, turn, state.lang)
    if state.status != "active":
        return _after_end(flow, state, turn)
    say = Say(flow, state.lang)
    state = _reconcile(flow, state, say)
    step = flow.step(state.step_id)
    if isinstance(step, EndStep):
        return _start(flow, turn, state.lang)
    state = _follow_language(state, turn, step)
    say.lang = state.lang
    command = command_of(turn)
    if command is not None:
        return _run_command(flow, state, command, say)
    if turn.edit and state.history and flow.has_step(state.history[-1]):
        return _apply_edit(flow, state, turn, say)
    return _answer_current(flow, state, step, turn, say)


def pending_analysis(flow: Flow, state: ConversationState, turn: Turn) -> str | None:
    """The text to run NLP on before ``advance`` (this turn answers a step with ``analyze: true``)."""
    if state.status != "active" or state.flow_id != flow.id or turn.text is None or turn.choice is not None:
        return None
    if _too_long(flow, turn) or command_of(turn) is not None:
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
    if step.optional and typed(turn, SKIP):
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
    for step, answer in answered_path(flow, state):
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


def _too_long(flow: Flow, turn: Turn) -> bool:
    return turn.text is not None and len(turn.text) > flow.max_message_length


def _refuse_too_long(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    """A message over the flow's limit is not read at all: say so and ask the current question again."""
    if state.flow_id != flow.id or state.status != "active":
        return _start(flow, turn, state.lang)
    say = Say(flow, state.lang)
    state = _reconcile(flow, state, say)
    step = flow.step(state.step_id)
    if isinstance(step, EndStep):
        return _start(flow, turn, state.lang)
    say.note("message_too_long", max=flow.max_message_length, length=len(turn.text or ""))
    say.prompt(prompt(flow, state, step))
    return Outcome(state, say.done())


def _start(flow: Flow, turn: Turn, fallback: Lang | None) -> Outcome:
    # Of an over-long opener only the language is read (detect_language looks at a bounded sample).
    too_long = _too_long(flow, turn)
    lang = (
        language_from_locale(turn.locale)
        or (detect_language(turn.text) if turn.text else None)
        or fallback
        or flow.default_lang
    )
    state = ConversationState(flow_id=flow.id, flow_version=flow.version, step_id=flow.start, lang=lang)
    say = Say(flow, lang)
    if flow.greeting is not None:
        say.replies.append(Reply(flow.greeting.get(lang)))
    for file in turn.files:
        say.note("file_not_expected", name=file.file_name)
    if too_long:
        say.note("message_too_long", max=flow.max_message_length, length=len(turn.text or ""))
    effects: tuple[Effect, ...] = (ShowStatus(),) if not too_long and command_of(turn) == "status" else ()
    return _enter(flow, state, flow.start, say, effects=effects)


def _after_end(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    if turn.edit:
        # An edited message from a finished conversation changes nothing.
        return Outcome(state, ())
    command = command_of(turn)
    if command == "status":
        return Outcome(state, (), (ShowStatus(),))
    if command == "help":
        lang = _follow_language(state, turn, None).lang
        return Outcome(state, (Reply(flow.message("finished_help", lang)),))
    return _start(flow, turn, state.lang)


def _reconcile(flow: Flow, state: ConversationState, say: Say) -> ConversationState:
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
    resume = path(flow, state)[-1]
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


def _run_command(flow: Flow, state: ConversationState, command: Command, say: Say) -> Outcome:
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
    say.prompt(prompt(flow, state, flow.step(state.step_id)))
    return Outcome(state, say.done(), effects)


def _go_back(flow: Flow, state: ConversationState, say: Say) -> Outcome:
    state = _keep_pending_files(flow, state)
    history = [step_id for step_id in state.history if flow.has_step(step_id)]
    if not history:
        say.note("back_at_first")
        say.prompt(prompt(flow, state, flow.step(state.step_id)))
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


def _interpret(flow: Flow, state: ConversationState, step: Step, turn: Turn) -> Accepted | Refused | Stay | Jump:
    return kind_of(step).interpret(flow, state, step, turn, pressed(flow, state, step, turn))


def _answer_current(flow: Flow, state: ConversationState, step: Step, turn: Turn, say: Say) -> Outcome:
    if not isinstance(step, FilesStep):
        for file in turn.files:
            say.note("file_not_expected", name=file.file_name)
        for rejected in turn.rejected_files:
            say.note("file_not_expected", name=rejected.file_name)
    if turn.location is not None and not (isinstance(step, TextStep) and step.accepts_location):
        say.note("location_not_expected")
        if turn.text is None and turn.choice is None:
            say.prompt(prompt(flow, state, step))
            return Outcome(state, say.done())
    if not isinstance(step, FilesStep) and (turn.files or turn.rejected_files) and turn.text is None:
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done())
    result = _interpret(flow, state, step, turn)
    if isinstance(result, Refused):
        say.text(result.message)
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done())
    if isinstance(result, Stay):
        for note in result.notes:
            say.text(note)
        reply = prompt(flow, result.state, step)
        if not result.repeat_prompt and say.notes:
            reply = Reply(say.notes.pop(), reply.choices)
        say.prompt(reply)
        return Outcome(result.state, say.done())
    if isinstance(result, Jump):
        state = replace(state, editing=True)
        return _enter(flow, state, result.step_id, say, auto=False)
    for note in result.notes:
        say.text(note)
    state = replace(_record(flow, state, step, result.answer, turn), pending_files=(), awaiting_other=False)
    history = (*state.history, step.id)[-_HISTORY_LIMIT:]
    state = replace(state, history=history)
    target = next_id(flow, state, step)
    if state.editing:
        target = first_open(flow, state, target)
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


def _apply_edit(flow: Flow, state: ConversationState, turn: Turn, say: Say) -> Outcome:
    """An edited message replaces the answer to the step it answered (the last one in history)."""
    target = flow.step(state.history[-1])
    current = flow.step(state.step_id)
    at_target = replace(state, step_id=target.id, pending_files=(), awaiting_other=False)
    result = (
        _interpret(flow, at_target, target, turn) if not isinstance(target, FilesStep | ConfirmStep | EndStep) else None
    )
    label = flow.label(target, state.lang)
    if isinstance(result, Accepted):
        # The current step keeps its own progress (files received, "something else" chosen).
        state = _record(flow, state, target, result.answer, turn)
        say.note("edit_applied", label=label, value=display(flow, target, result.answer, state.lang))
        answered = path(flow, state)
        if state.step_id in answered:
            say.prompt(prompt(flow, state, current))
            return Outcome(state, say.done())
        return _enter(flow, _keep_pending_files(flow, state), answered[-1], say)
    if isinstance(result, Refused):
        say.note("edit_rejected", label=label)
        say.text(result.message)
    say.prompt(prompt(flow, state, current))
    return Outcome(state, say.done())


# ---- moving between steps ---------------------------------------------------------------------------------


def _enter(
    flow: Flow,
    state: ConversationState,
    step_id: str,
    say: Say,
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
                step_id = next_id(flow, state, step)
                continue
            proposal = best_proposal(state, step)
            threshold = step.auto_accept_confidence
            if existing is None and proposal is not None and threshold is not None and proposal.confidence >= threshold:
                answer = Answer(step.id, value=proposal.value, source="nlp", confidence=proposal.confidence)
                state = state.with_answer(answer)
                say.note(
                    "auto_accepted",
                    label=flow.label(step, state.lang),
                    value=proposal_label(step, proposal, state.lang),
                )
                step_id = next_id(flow, state, step)
                continue
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done(), effects)
    # A validated flow cannot loop through auto-accepted steps forever; ask where we are.
    say.prompt(prompt(flow, state, flow.step(state.step_id)))
    return Outcome(state, say.done(), effects)
