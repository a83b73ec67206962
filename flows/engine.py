"""The conversation engine: ``advance(flow, state, turn) -> Outcome``, a pure function.

The engine reads no clock, touches no file or network, and never raises on customer input: every turn
yields a valid state, the replies to send and the effects (file the case, show status, conversation
ended) for the orchestrator to carry out. How each kind of step asks and reads answers is in
``flows.step_kinds``; the words and buttons that work everywhere in ``flows.commands``; where a
conversation goes next in ``flows.navigation``; what the customer sees in ``flows.prompts``.

Protocol with the orchestrator, per inbound message:

1. Fill ``Turn.extracted`` with the values the extractor finds in the text (names, phones, dates, ...):
   the engine checks each with the parser of the step that takes it, so the extractor may over-report.
2. ``text = pending_analysis(flow, state, turn)`` (state None when there is no conversation yet); when
   not None run the NLP on it and pass the results as ``Turn.proposals``.
3. No conversation yet: ``start(flow, turn)``; otherwise ``advance(flow, state, turn)``. On a completed or
   cancelled state ``advance`` itself starts a new conversation (except for ``status``/``help``, and edits
   of old messages, which are ignored), so the orchestrator never has to call ``start`` again for a known
   customer. ``status`` as a first message gives an ended state with the status effect and a "new
   complaint" button, not a new complaint.
4. Carry out the effects first (``FileCase``: store the case; ``ShowStatus``: send the status reply, of
   ``case_number`` when the customer named one), then send ``outcome.replies`` in order.
   ``{case_number}`` is the only placeholder in them: fill it with ``str.replace``, never ``str.format``
   (replies quote customer text, which may contain braces).
5. Before accepting a file upload ask ``file_limits(flow, state)``: None means no files are expected now;
   refuse what breaks the limits early and pass it as ``Turn.rejected_files`` so the customer hears why.

A message longer than ``flow.max_message_length`` is refused (in the customer's language) before
anything else reads it; its length is the only thing of it the replies mention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from flows.commands import (
    DONT_KNOW,
    GREETING,
    NEW_COMPLAINT,
    PICK,
    SKIP,
    Command,
    asks_why,
    bare_number,
    button,
    case_number_asked,
    command_of,
    normalize,
    typed,
)
from flows.conversation import (
    Answer,
    CaseDraft,
    Conflict,
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
    media_kind,
)
from flows.definition import (
    STANDARD_FIELDS,
    ChoiceStep,
    ConfirmStep,
    DatetimeStep,
    EmailStep,
    EndStep,
    FilesStep,
    Flow,
    PhoneStep,
    ProposalStep,
    Step,
    TextStep,
)
from flows.language import (
    Lang,
    detect_language,
    has_han,
    language_from_locale,
    latin_word_count,
    writes_traditional,
)
from flows.navigation import answered_path, first_open, next_id, path
from flows.prompts import Say, pressed, prompt
from flows.step_kinds import (
    Accepted,
    Interpretation,
    Jump,
    Refused,
    Stay,
    after_negation,
    best_proposal,
    display,
    format_size,
    kind_of,
    proposal_label,
    typed_option,
)

__all__ = ["advance", "build_draft", "early_file_limits", "file_limits", "pending_analysis", "start"]

_HISTORY_LIMIT = 64
# More values than any message carries; the rest of a flood of "extracted" values is not looked at.
_EXTRACTED_LIMIT = 32
_EXTRACTED_TEXT_LIMIT = 300
# Values that tell what happened; a message with only a name and a phone number is no story.
_STORY_KINDS = frozenset({"product", "datetime", "order_number", "amount"})


@dataclass(frozen=True)
class _Found:
    """A value found in the message that answers ``step``; ``kind`` None: implied option or the story."""

    step: Step
    answer: Answer
    kind: str | None


# ---- public API --------------------------------------------------------------------------------------


def start(flow: Flow, turn: Turn) -> Outcome:
    """A new conversation. The language is the platform locale's, else the first message's script."""
    return _in_the_customers_script(_start(flow, turn, None), turn, traditional=False)


def advance(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    """Apply one inbound turn to a conversation. Pure: the same inputs always give the same outcome."""
    return _in_the_customers_script(_advance(flow, state, turn), turn, traditional=state.traditional)


def _in_the_customers_script(outcome: Outcome, turn: Turn, *, traditional: bool) -> Outcome:
    """A customer who writes traditional characters reads the replies in them (the flow's texts are simplified);
    a message in characters that say neither ("你好") keeps what the conversation had."""
    said = writes_traditional(turn.text or "")
    traditional = traditional if said is None else said
    state = replace(outcome.state, traditional=traditional)
    if not state.reads_traditional:
        return replace(outcome, state=state)
    replies = tuple(replace(reply, text=state.in_script(reply.text),
                            choices=tuple(replace(choice, label=state.in_script(choice.label))
                                          for choice in reply.choices))
                    for reply in outcome.replies)
    return replace(outcome, state=state, replies=replies)


def _advance(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
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
        return _run_command(flow, state, command, turn, say)
    if turn.edit and state.history and flow.has_step(state.history[-1]):
        return _apply_edit(flow, state, turn, say)
    if state.conflict is not None:
        return _resolve_conflict(flow, state, turn, say)
    return _answer_current(flow, state, step, turn, say)


def pending_analysis(flow: Flow, state: ConversationState | None, turn: Turn) -> str | None:
    """The text to run NLP on before ``advance`` or ``start`` (state None), with ``Turn.extracted`` set.

    Not None when this turn answers a step with ``analyze: true``: the step asked, or a story step the
    message fills on its own (it tells everything at once, the first message included).
    """
    if turn.text is None or turn.choice is not None or _too_long(flow, turn):
        return None
    if state is None or state.status != "active" or state.flow_id != flow.id:
        fresh = _fresh_state(flow, state.lang if state is not None else flow.default_lang)
        if command_of(turn, ended=True) is not None:
            return None
        return _story_text(flow, fresh, turn, current=None)
    if command_of(turn) is not None or state.conflict is not None:
        return None
    step_id = state.history[-1] if turn.edit and state.history else state.step_id
    if not flow.has_step(step_id):
        return None
    step = flow.step(step_id)
    if not isinstance(step, TextStep) or not step.analyze:
        return None if turn.edit else _story_text(flow, state, turn, current=step_id)
    text = turn.text.strip()
    if not step.min_length <= len(text) <= step.max_length or bare_number(text):
        return None
    if step.optional and (typed(turn, SKIP) or typed(turn, DONT_KNOW)):
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
    say.refuse(
        flow.message("message_too_long", state.lang).format(max=flow.max_message_length, length=len(turn.text or "")),
        prompt(flow, state, step),
    )
    return Outcome(state, say.done())


def _fresh_state(flow: Flow, lang: Lang) -> ConversationState:
    return ConversationState(flow_id=flow.id, flow_version=flow.version, step_id=flow.start, lang=lang)


def _start(flow: Flow, turn: Turn, fallback: Lang | None) -> Outcome:
    # Of an over-long opener only the language is read (detect_language looks at a bounded sample).
    too_long = _too_long(flow, turn)
    lang = (
        language_from_locale(turn.locale)
        or (detect_language(turn.text) if turn.text else None)
        or fallback
        or flow.default_lang
    )
    command = None if too_long else command_of(turn, ended=True)
    if command == "status":
        return _status_only(flow, _fresh_state(flow, _command_language(turn, command) or lang), turn)
    if command == "erase_data":
        answer_lang = _command_language(turn, command) or lang
        return _data_request(flow, _fresh_state(flow, answer_lang), turn, in_progress=False)
    if command == "new_complaint":
        turn = replace(turn, text=None, choice=None, extracted=())
    state = _fresh_state(flow, lang)
    say = Say(flow, lang)
    if flow.greeting is not None:
        say.replies.append(Reply(flow.greeting.get(lang)))
    for file in turn.files:
        say.note("file_not_expected", name=file.file_name)
    if too_long:
        say.note("message_too_long", max=flow.max_message_length, length=len(turn.text or ""))
    elif command is None and turn.choice is None:
        # The first message counts too: whatever it already tells is not asked again.
        state = _fill(flow, state, turn, say, _found_values(flow, state, turn, current=None), current=None)
    return _enter(flow, state, flow.start, say)


def _status_only(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    """Status asked outside a conversation: the orchestrator shows it; a new complaint is one tap away.

    The state is an ended conversation (at an end step, nothing filed), so nothing is asked meanwhile.
    """
    ends = [step.id for step in flow.steps if isinstance(step, EndStep)]
    ended = replace(state, step_id=ends[0], status="completed")
    lang = state.lang
    offer = Reply(
        flow.message("status_offer", lang),
        (button(NEW_COMPLAINT, flow.message("button_new_complaint", lang)),),
    )
    return Outcome(ended, (offer,), (ShowStatus(case_number_asked(turn)),))


def _after_end(flow: Flow, state: ConversationState, turn: Turn) -> Outcome:
    if turn.edit:
        # An edited message from a finished conversation changes nothing.
        return Outcome(state, ())
    command = command_of(turn, ended=True)
    lang = _command_language(turn, command) or _follow_language(state, turn, None).lang
    new = (button(NEW_COMPLAINT, flow.message("button_new_complaint", lang)),)
    if command == "status":
        offer = Reply(flow.message("status_offer", lang), new)
        return Outcome(replace(state, lang=lang), (offer,), (ShowStatus(case_number_asked(turn)),))
    if command == "help":
        return Outcome(state, (Reply(flow.message("finished_help", lang), new),))
    if command == "erase_data":
        return _data_request(flow, replace(state, lang=lang), turn, in_progress=False)
    return _start(flow, turn, state.lang)


DATA_ERASURE_CATEGORY = "data_erasure_request"


def _data_request(flow: Flow, state: ConversationState, turn: Turn, *, in_progress: bool) -> Outcome:
    """"Delete my data": filed as a case for the admins (category ``data_erasure_request``, the customer's own
    words as its description), answered with its reference. A complaint being written is cancelled: nothing
    of it is filed, and its answers go with the rest when the request is carried out."""
    draft = CaseDraft(
        description=turn.text or "", category=DATA_ERASURE_CATEGORY, category_confidence=1.0, lang=state.lang,
        flow_id=flow.id, flow_version=flow.version, extra=(("data_request", "erase"),),
    )
    reply = Reply(flow.message("data_request_filed", state.lang))
    if in_progress:
        cancelled = replace(
            state, status="cancelled", pending_files=(), editing=False, awaiting_other=False, conflict=None
        )
        return Outcome(cancelled, (reply,), (FileCase(draft), ConversationEnded("cancelled")))
    ends = [step.id for step in flow.steps if isinstance(step, EndStep)]
    ended = replace(state, step_id=ends[0] if ends else state.step_id, status="completed")
    return Outcome(ended, (reply,), (FileCase(draft),))


def _reconcile(flow: Flow, state: ConversationState, say: Say) -> ConversationState:
    """Carry a conversation over to an edited flow: keep the answers whose steps still exist."""
    if state.flow_version == flow.version and flow.has_step(state.step_id):
        return state
    conflict = state.conflict if state.conflict is not None and flow.has_step(state.conflict.step_id) else None
    state = replace(
        state,
        conflict=conflict,
        flow_version=flow.version,
        answers=tuple(answer for answer in state.answers if flow.has_step(answer.step_id)),
        history=tuple(step_id for step_id in state.history if flow.has_step(step_id)),
    )
    if flow.has_step(state.step_id):
        return state
    say.note("flow_updated")
    resume = path(flow, state)[-1]
    return replace(state, step_id=resume, pending_files=(), editing=False, awaiting_other=False)


def _command_language(turn: Turn, command: str | None) -> Lang | None:
    """"进度 PL-7K2M9Q" asks in Chinese whatever the platform's locale says: the answer follows the word."""
    if command in ("status", "help", "erase_data") and turn.text is not None and has_han(turn.text):
        return "zh"
    return None


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


def _run_command(flow: Flow, state: ConversationState, command: Command, turn: Turn, say: Say) -> Outcome:
    if command == "erase_data":
        return _data_request(flow, state, turn, in_progress=True)
    if command == "cancel":
        cancelled = replace(
            state, status="cancelled", pending_files=(), editing=False, awaiting_other=False, conflict=None
        )
        say.note("cancelled")
        return Outcome(cancelled, say.done(), (ConversationEnded("cancelled"),))
    if command == "restart":
        say.note("restarted")
        return _enter(flow, _fresh_state(flow, state.lang), flow.start, say)
    if command == "back":
        return _go_back(flow, replace(state, conflict=None), say)
    if command in ("lang_en", "lang_zh"):
        state = replace(state, lang="en" if command == "lang_en" else "zh")
        say.lang = state.lang
        say.note("language_switched")
    elif command == "unknown":
        say.note("unknown_command")
        say.note("help")
    elif command == "help":
        say.note("help")
    # "new_complaint" (an old button, "/new"): this conversation already is one, so it is asked again.
    effects: tuple[Effect, ...] = ()
    if command == "status":
        effects = (ShowStatus(case_number_asked(turn)),)
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


def _interpret(flow: Flow, state: ConversationState, step: Step, turn: Turn) -> Interpretation:
    chosen = pressed(flow, state, step, turn)
    kind = kind_of(step)
    if chosen is None and turn.text is not None and not kind.numbers_are_values and bare_number(turn.text):
        # A number is a button's number, never a date, a place or a name.
        count = len(prompt(flow, state, step).choices)
        if count:
            number = normalize(turn.text)[:6]
            return Refused(flow.message("number_not_an_option", state.lang).format(number=number, count=count))
        return Refused(flow.message("number_not_an_answer", state.lang))
    if chosen is None and typed(turn, GREETING):
        return Refused(flow.message("greeting_back", state.lang))
    if chosen is None and asks_why(turn) and not (isinstance(step, TextStep) and step.analyze):
        # "why do you need my name?" was stored as the name: answered, and the question asked again.
        why = step.why.get(state.lang) if step.why is not None else flow.message("why_asked", state.lang)
        if step.optional:
            why += ("" if state.lang == "zh" else " ") + flow.message("why_optional", state.lang)
        return Stay(state, (why,))
    return kind.interpret(flow, state, step, turn, chosen)


def _answer_current(flow: Flow, state: ConversationState, step: Step, turn: Turn, say: Say) -> Outcome:
    if not isinstance(step, FilesStep):
        state = _keep_early_files(flow, state, turn, say)
    if turn.location is not None and not (isinstance(step, TextStep) and step.accepts_location):
        say.note("location_not_expected")
        if turn.text is None and turn.choice is None:
            say.prompt(prompt(flow, state, step))
            return Outcome(state, say.done())
    if not isinstance(step, FilesStep) and (turn.files or turn.rejected_files) and turn.text is None:
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done())
    result = _interpret(flow, state, step, turn)
    # A typed button ("Phone", "2") is a press, not a message carrying values (no product "phone").
    typed_button = turn.choice is None and pressed(flow, state, step, turn) is not None
    found = [] if typed_button else _found_values(flow, state, turn, current=step.id)
    result = _prefer_found(step, turn, result, found)
    if _whole_story_instead(step, result, found):
        # The whole story told at "what's your name?": it is taken as the description, and it is neither
        # the name nor a wrong answer to complain about ("That's too long"): the question is asked again.
        say.note("story_taken")
        state = _fill(flow, state, turn, say, found, current=step.id)
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done())
    told_on = _more_of_the_story(flow, state, step, turn, result)
    if told_on is not None:
        say.note("story_added")
        state = _fill(flow, told_on, turn, say, found, current=step.id)
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done())
    other = _answer_to_another_step(flow, state, step, turn, result, found)
    if other is not None:
        # "monday morning" typed to "Where did it happen?" (the customer a question behind) is the when.
        notes = len(say.notes)
        state = _fill(flow, state, turn, say, found, current=step.id)
        if len(say.notes) == notes and state.conflict is None:
            say.note("taken_as", label=flow.label(other.step, state.lang))
        say.prompt(prompt(flow, state, step))
        return Outcome(state, say.done())
    if isinstance(result, Refused):
        unresolved = state.conflict
        state = _fill(flow, state, turn, say, found, current=step.id)
        if state.conflict is not None and unresolved is None:
            # A correction ("it's not a tumble dryer, it's a hair dryer") is no wrong answer: ask which is right.
            say.prompt(prompt(flow, state, step))
        else:
            # At the summary the reason says what to do; its first sentence ("Thanks.") is no question.
            say.refuse(result.message, prompt(flow, state, step), question=not isinstance(step, ConfirmStep))
        return Outcome(state, say.done())
    if isinstance(result, Stay) and isinstance(step, FilesStep) and found and not turn.files:
        # "actually it was last friday" at the evidence question: a value for another question, or a correction
        # of one (asked about), instead of "please send photos here".
        notes = len(say.notes)
        state = _fill(flow, result.state, turn, say, found, current=step.id)
        if len(say.notes) > notes or state.conflict is not None:
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
    state = _fill(flow, state, turn, say, found, current=step.id)
    target = next_id(flow, state, step)
    if state.editing:
        target = first_open(flow, state, target)
    answered = path(flow, state)
    first_open_step = flow.step(answered[-1])
    if (target not in answered and state.answer(first_open_step.id) is None
            and not isinstance(first_open_step, ConfirmStep | EndStep)):
        # A step filled out of order (noted from a story, then reached by "back") was answered while an earlier
        # question is still open: that question comes next, not the ones after the step just answered.
        target = answered[-1]
    return _enter(flow, state, target, say)


def _story_of(found: list[_Found]) -> _Found | None:
    """The message taken as the story (``_story_step``: only while that step is unanswered), if it was."""
    return next((item for item in found if item.kind is None and isinstance(item.step, TextStep)), None)


def _whole_story_instead(step: Step, result: Interpretation, found: list[_Found]) -> bool:
    story = _story_of(found)
    if story is None:
        return False
    if isinstance(result, Refused):
        return True
    return (isinstance(step, TextStep) and isinstance(result, Accepted)
            and result.answer.value == story.answer.value)


# Words for "little more than a value": a Chinese character counts as one.
_WORDS = re.compile(r"[\u3400-\u9fff]|[^\W\u3400-\u9fff]+")


def _answer_to_another_step(flow: Flow, state: ConversationState, step: Step, turn: Turn, result: Interpretation,
                            found: list[_Found]) -> _Found | None:
    """Another step's value found in the message when the message is little more than that value and, whole, an
    answer to that step, while this free-text step would take it as its answer: a date, an email or a phone
    number parsed by its own kind, two words at most beside it ("monday morning" to "Where did it happen?"); an
    option of a question with options, three words at most beside it ("我要退货" to "Which product is it?")."""
    free_text = isinstance(step, TextStep) or (isinstance(step, ProposalStep) and not step.options)
    if not free_text or not isinstance(result, Accepted) or turn.text is None:
        return None
    text = turn.text.strip()
    words_beside: dict[str, int] = {}
    for value in turn.extracted:
        beside = len(_WORDS.findall(turn.text[: value.start] + " " + turn.text[value.end :]))
        words_beside[value.kind] = min(beside, words_beside.get(value.kind, beside))

    def whole_answer(item: _Found) -> bool:
        if item.kind is None or item.kind in step.extract or item.step.id == step.id or item.kind not in words_beside:
            return False
        if isinstance(item.step, DatetimeStep | EmailStep | PhoneStep):
            return (words_beside[item.kind] <= 2
                    and isinstance(kind_of(item.step).read(flow, state, item.step, turn, text), Accepted))
        return (isinstance(item.step, ChoiceStep) and words_beside[item.kind] <= 3
                and any(option.value == item.answer.value for option in item.step.options))

    return next((item for item in found if whole_answer(item)), None)


def early_file_limits(flow: Flow, state: ConversationState) -> FileLimits | None:
    """What a files step still ahead takes of files sent before it is asked (kept for it); else None."""
    ahead = _files_step_ahead(flow, state)
    if ahead is None:
        return None
    kept = state.answer(ahead.id)
    remaining = ahead.max_files - len(kept.files if kept is not None else ())
    return FileLimits(
        max_bytes=ahead.max_bytes, allowed_kinds=frozenset(ahead.allowed_kinds), max_files=max(remaining, 0)
    )


def _files_step_ahead(flow: Flow, state: ConversationState) -> FilesStep | None:
    if state.status != "active":
        return None
    for step in flow.steps:
        if isinstance(step, FilesStep) and step.id not in state.history and step.id != state.step_id:
            return step
    return None


def _keep_early_files(flow: Flow, state: ConversationState, turn: Turn, say: Say) -> ConversationState:
    """Files sent before the evidence question wait for it (its answer holds them until Done), said so."""
    ahead = _files_step_ahead(flow, state)
    early = state.answer(ahead.id) if ahead is not None else None
    kept = list(early.files) if early is not None else []
    for file in turn.files:
        fits = ahead is not None and media_kind(file.media_type) in ahead.allowed_kinds
        if ahead is not None and fits and file.size <= ahead.max_bytes and len(kept) < ahead.max_files:
            if all(existing.evidence_id != file.evidence_id for existing in kept):
                kept.append(file)
            say.note("file_kept", name=file.file_name)
        else:
            say.note("file_not_expected", name=file.file_name)
    for rejected in turn.rejected_files:
        if rejected.reason == "too_large" and ahead is not None:
            size = format_size(rejected.limit_bytes or ahead.max_bytes)
            say.note("file_too_large", name=rejected.file_name, limit=size)
        else:
            say.note("file_not_expected", name=rejected.file_name)
    if ahead is None or not kept:
        return state
    return state.with_answer(Answer(ahead.id, files=tuple(kept)))


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
        reason = flow.message("edit_rejected", state.lang).format(label=label)
        say.refuse(f"{reason} {result.message}", prompt(flow, state, current))
        return Outcome(state, say.done())
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
        if auto and existing is not None and existing.source == "extracted":
            # Told in an earlier message and already confirmed in one line: not asked again.
            step_id = next_id(flow, state, step)
            continue
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


# ---- values found in a message (slot filling) ----------------------------------------------------------


def _found_values(flow: Flow, state: ConversationState, turn: Turn, *, current: str | None) -> list[_Found]:
    """Values of ``turn.extracted`` that steps take (``extract``), each checked by its step's parser.

    Then the options they imply (``implied_by``) and the story step, when the message tells everything.
    Nothing is found at a confirmation, in an edited message, or in a button press.
    """
    if turn.edit or turn.choice is not None:
        return []
    if current is not None and isinstance(flow.step(current), EndStep):
        return []
    found: list[_Found] = []
    taken: set[str] = set()
    for value in turn.extracted[:_EXTRACTED_LIMIT]:
        if len(value.text) > _EXTRACTED_TEXT_LIMIT or len(value.value) > _EXTRACTED_TEXT_LIMIT:
            continue
        # "it's not a tumble dryer, it's a hair dryer": the negated value is what it is not.
        if turn.text is not None and after_negation(turn.text[max(0, value.start - 40) : value.start]):
            continue
        for step in flow.steps:
            if value.kind not in step.extract or step.id in taken:
                continue
            answer = kind_of(step).extracted_answer(flow, state, step, value, turn.now)
            if answer is not None:
                found.append(_Found(step, answer, value.kind))
                taken.add(step.id)
    kinds = {item.kind for item in found}
    for step in flow.steps:
        if not isinstance(step, ChoiceStep) or step.id in taken:
            continue
        implied = [option for option in step.options if option.implied_by and set(option.implied_by) <= kinds]
        if implied:
            option = max(implied, key=lambda option: len(option.implied_by))
            found.append(_Found(step, Answer(step.id, value=option.value, source="extracted"), None))
    story = _story_step(flow, state, turn, found, current)
    if story is not None:
        found.append(story)
    order = {step.id: index for index, step in enumerate(flow.steps)}
    return sorted(found, key=lambda item: order[item.step.id])


def _story_step(
    flow: Flow, state: ConversationState, turn: Turn, found: list[_Found], current: str | None
) -> _Found | None:
    """The message itself as the answer to a ``fill_from_story`` step: it carries two values or more, one of
    them about what happened (a product, a time, an order, an amount), not only who the customer is; or it is
    typed to the name question and is far too long to be a name ("hey, i was charged twice for my broadband
    bill this month" was stored as the name)."""
    if turn.text is None:
        return None
    kinds = [item.kind for item in found if item.kind is not None]
    told = len(kinds) >= 2 and bool(_STORY_KINDS.intersection(kinds))
    if not told and not (current is not None and _far_too_long_for(flow.step(current), turn)):
        return None
    text = turn.text.strip()
    for step in flow.steps:
        if not isinstance(step, TextStep) or not step.fill_from_story or step.id == current:
            continue
        if state.answer(step.id) is None and step.min_length <= len(text) <= step.max_length:
            return _Found(step, Answer(step.id, value=text, source="extracted"), None)
    return None


# More words than a name has (a Chinese character counts as one: 王小明 is three, 欧阳娜娜 four).
_NAME_WORDS_MAX = 6


# More words than an answer to a question with options has ("whatever works for you, I don't mind" is nine).
_CHOICE_WORDS_MAX = 12


def _far_too_long_for(step: Step, turn: Turn) -> bool:
    """The message cannot be an answer to `step`: far too long for a name or a date, or for a question with
    options when it names none of them ("it just stopped working and nobody in your shop will help" to "How
    should we get back to you?")."""
    found_words = _WORDS.findall(turn.text or "")
    words = len(found_words)
    if isinstance(step, TextStep):
        return step.field == "name" and words > _NAME_WORDS_MAX
    if isinstance(step, DatetimeStep):
        # Chinese dates take more characters than English ones take words (上个月中旬吧，具体哪天记不清了).
        han = sum(1 for word in found_words if has_han(word))
        return words - han / 2 > _DATE_WORDS_MAX
    return (isinstance(step, ChoiceStep) and not step.allow_text and words > _CHOICE_WORDS_MAX
            and typed_option(step.options, turn, labels_in_words=True) is None)


# More words than a date takes ("sometime last week, tuesday or wednesday" is six).
_DATE_WORDS_MAX = 8


def _more_of_the_story(flow: Flow, state: ConversationState, step: Step, turn: Turn,
                       result: Interpretation) -> ConversationState | None:
    """The story told on, at a question it cannot answer ("he threw the parcel over the fence and it broke" to
    "When did it happen?", after "I want to complain about your driver" was taken as what happened): added to
    what happened instead of lost."""
    if not isinstance(result, Refused) or turn.text is None or not _far_too_long_for(step, turn):
        return None
    for story_step in flow.steps:
        told = state.answer(story_step.id)
        if not isinstance(story_step, TextStep) or not story_step.fill_from_story or told is None or told.skipped:
            continue
        text = f"{told.value}\n{turn.text.strip()}"
        if turn.text.strip() in (told.value or "") or len(text) > story_step.max_length:
            return None
        return state.with_answer(replace(told, value=text))
    return None


def _story_text(flow: Flow, state: ConversationState, turn: Turn, *, current: str | None) -> str | None:
    story = _story_of(_found_values(flow, state, turn, current=current))
    if story is None or not isinstance(story.step, TextStep) or not story.step.analyze:
        return None
    return story.answer.value


def _prefer_found(step: Step, turn: Turn, result: Interpretation, found: list[_Found]) -> Interpretation:
    """The current step's own value found in the message beats reading the whole message as the answer.

    "I'm Maria Lopez" answers "what's your name?" with "Maria Lopez"; a phone number answers "phone or
    email?" (an implied option) only when the message names no option itself.
    """
    own = next((item for item in found if item.step.id == step.id), None)
    if own is None or isinstance(result, Stay | Jump):
        return result
    # An accepted typed answer stands ("Oxford Street store, London" is a better place than "London"),
    # except a name or a resolution said in a sentence: "I'd like a replacement please" is the option
    # Replacement, not a free-text resolution; nor is "the blender thing" a product of its own when it names
    # one catalog product (the case is filed, routed and counted under the catalog's).
    one_product = own.kind == "product" and len({v.value for v in turn.extracted if v.kind == "product"}) == 1
    if isinstance(result, Accepted) and own.kind not in ("name", "resolution") and not one_product:
        return result
    if isinstance(result, Accepted) and (result.answer.skipped or result.answer.value == own.answer.value):
        return result
    return Accepted(replace(own.answer, source="customer"))


def _fill(
    flow: Flow, state: ConversationState, turn: Turn, say: Say, found: list[_Found], *, current: str | None
) -> ConversationState:
    """Record what was found for other steps and confirm it in one line; a contradiction is asked about."""
    noted: list[str] = []
    lang = state.lang
    for item in found:
        if item.step.id == current:
            continue
        existing = state.answer(item.step.id)
        if existing is None or existing.skipped:
            state = _record(flow, state, item.step, item.answer, turn)
            # "back" walks through filled steps too, so a wrong value is one "back" away.
            history = (*(step_id for step_id in state.history if step_id != item.step.id), item.step.id)
            state = replace(state, history=history[-_HISTORY_LIMIT:])
            if item.kind is not None or isinstance(item.step, ChoiceStep):
                value = display(flow, item.step, item.answer, lang)
                noted.append(flow.message("noted_item", lang).format(label=flow.label(item.step, lang), value=value))
        elif existing.value != item.answer.value and item.kind is not None and state.conflict is None:
            state = replace(state, conflict=Conflict(item.step.id, replace(item.answer, source="customer")))
    if noted:
        say.note("noted", values=flow.message("noted_separator", lang).join(noted))
    return state


def _typed_resolution(flow: Flow, state: ConversationState, step: Step, turn: Turn) -> Answer | None:
    """A value typed again in answer to "which is right?".

    A step with a parser (phone, email, date, options) takes any value it can read; a free-text step
    takes only one of the two values shown, since any text would pass its check.
    """
    assert state.conflict is not None
    at_step = replace(state, step_id=step.id, conflict=None, pending_files=(), awaiting_other=False)
    result = kind_of(step).interpret(flow, at_step, step, turn, None)
    if not isinstance(result, Accepted) or result.answer.skipped:
        return None
    free_text = isinstance(step, TextStep) or (isinstance(step, ProposalStep) and not step.options)
    if not free_text:
        return result.answer
    typed = normalize(turn.text or "")
    for candidate in (state.answer(step.id), state.conflict.offered):
        if candidate is not None and typed in (
            normalize(candidate.value or ""), normalize(display(flow, step, candidate, state.lang))
        ):
            return candidate
    return None


def _resolve_conflict(flow: Flow, state: ConversationState, turn: Turn, say: Say) -> Outcome:
    """The answer to "which one is right?": a button, its number or label, or the value typed again."""
    assert state.conflict is not None
    conflict = state.conflict
    step = flow.step(conflict.step_id)
    current = flow.step(state.step_id)
    chosen = pressed(flow, state, current, turn)
    answer: Answer | None = None
    if chosen == PICK + "0":
        answer = state.answer(step.id)
    elif chosen == PICK + "1":
        answer = conflict.offered
    elif turn.text is not None and turn.choice is None:
        answer = _typed_resolution(flow, state, step, turn)
        unresolved = replace(state, conflict=None)
        # "I don't know" which one is right is no answer to the current question either.
        if (answer is None and not typed(turn, DONT_KNOW)
                and isinstance(_interpret(flow, unresolved, current, turn), Accepted)):
            # Not about the question at all: the customer answered the current step. The earlier value
            # stands (it was confirmed in one line; "back" reaches it).
            return _answer_current(flow, unresolved, current, turn, say)
    if answer is None:
        say.note("conflict_hint")
        say.prompt(prompt(flow, state, current))
        return Outcome(state, say.done())
    state = replace(_record(flow, state, step, answer, turn), conflict=None)
    say.note("edit_applied", label=flow.label(step, state.lang), value=display(flow, step, answer, state.lang))
    answered = path(flow, state)
    if state.step_id in answered:
        say.prompt(prompt(flow, state, current))
        return Outcome(state, say.done())
    return _enter(flow, _keep_pending_files(flow, state), answered[-1], say)
