"""Value types the engine exchanges with the orchestrator: turns in, state + replies + effects out.

All frozen dataclasses; ConversationState round-trips through JSON (``to_json`` / ``from_json``) so the
storage layer can persist it as one document.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from flows.errors import ConversationStateError
from flows.language import Lang, to_traditional

ConversationStatus = Literal["active", "completed", "cancelled"]
# "extracted": found in a message by the orchestrator's extractor (Turn.extracted), not asked for.
AnswerSource = Literal["customer", "nlp", "extracted"]
ExtractKind = Literal[
    "name", "phone", "email", "datetime", "order_number", "amount", "product", "location", "resolution"
]


@dataclass(frozen=True)
class FileInfo:
    """An evidence file the orchestrator already stored; the engine only keeps its metadata."""

    evidence_id: str
    file_name: str
    media_type: str
    size: int


@dataclass(frozen=True)
class RejectedFile:
    """A file the orchestrator refused before storing it (e.g. over FileLimits.max_bytes)."""

    file_name: str
    reason: Literal["too_large", "type", "not_expected", "too_many", "unavailable"]
    limit_bytes: int | None = None


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str | None = None


# "proposed": the NLP found it in the text; "catalog": a catalog entry offered as a button when nothing was
# found (the open question), never proposed or accepted on its own.
ProposalRole = Literal["proposed", "catalog"]


@dataclass(frozen=True)
class Proposal:
    """An NLP suggestion for ``product`` or ``category``; ``label`` is what the customer is shown."""

    field: str
    value: str
    label: str
    confidence: float
    role: ProposalRole = "proposed"
    # The label in every language the port knows ("en", "zh"): a conversation that switches language
    # shows the value in the new one.
    labels: tuple[tuple[Lang, str], ...] = ()


@dataclass(frozen=True)
class ExtractedValue:
    """A value the orchestrator's extractor found in the message (the port is filled before ``advance``).

    ``text`` is the span as written, ``value`` its normalised form when the extractor could normalise it
    (else the text), ``start``/``end`` the span's offsets in ``Turn.text``. The engine trusts none of it:
    each value is checked with the parser of the step it would fill. ``label`` is how to show a value
    that is an id (a catalog product's name in the customer's language); None shows the text.
    """

    kind: ExtractKind
    text: str
    value: str
    start: int
    end: int
    label: str | None = None
    # ``label`` in each language the extractor knows (a language switch shows the new one).
    labels: tuple[tuple[Lang, str], ...] = ()


@dataclass(frozen=True)
class Turn:
    """One inbound message, already converted by the channel."""

    now: datetime  # timezone-aware; the engine never reads the clock
    text: str | None = None
    choice: str | None = None  # value of a pressed button (typed labels and numbers are matched too)
    files: tuple[FileInfo, ...] = ()
    rejected_files: tuple[RejectedFile, ...] = ()
    location: Location | None = None
    locale: str | None = None  # platform language code, e.g. "zh-hans", "en-US"
    # NLP results for pending_analysis(...) text, with the catalog's options (role "catalog") for the open question
    proposals: tuple[Proposal, ...] = ()
    edit: bool = False  # this turn REPLACES the answer to the previous step (an edited message)
    extracted: tuple[ExtractedValue, ...] = ()  # values found in ``text`` (names, phones, dates ...)


ChoiceRole = Literal["answer", "yes", "no", "done", "skip", "keep", "confirm", "edit", "cancel", "new_complaint"]


@dataclass(frozen=True)
class Choice:
    """A button. ``role`` says what it does, so a channel can style it without knowing engine values."""

    value: str
    label: str
    role: ChoiceRole = "answer"


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    # A re-ask after a refused answer: the reason first, then the question in short. Channels that can
    # style a message show it as an error (the web chat: colour, icon, role="alert").
    error: bool = False


@dataclass(frozen=True)
class CaseDraft:
    """Everything the customer answered on the path they took, ready to be filed as a case.

    ``*_confidence`` is the NLP confidence when the customer accepted the proposal (or it was accepted
    automatically), 1.0 when the customer typed or picked the value themselves, None when unanswered.
    """

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    description: str | None = None
    # ISO 8601: a date ("2026-11-28") when the customer named no time, else a datetime with offset.
    occurred_at: str | None = None
    occurred_where: str | None = None
    product: str | None = None
    product_confidence: float | None = None
    category: str | None = None
    category_confidence: float | None = None
    expected_resolution: str | None = None
    evidence: tuple[FileInfo, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    lang: Lang | None = None
    flow_id: str | None = None
    flow_version: int | None = None


@dataclass(frozen=True)
class FileCase:
    """The customer confirmed: file this draft. The end reply contains {case_number} to fill in."""

    draft: CaseDraft


@dataclass(frozen=True)
class ShowStatus:
    """The customer asked for the status of their cases (or of the one numbered ``case_number``).

    The orchestrator answers it from storage, before the replies of the same outcome.
    """

    case_number: str | None = None


@dataclass(frozen=True)
class ConversationEnded:
    reason: Literal["completed", "cancelled"]


Effect = FileCase | ShowStatus | ConversationEnded


@dataclass(frozen=True)
class Answer:
    """The answer to one step. ``value`` is the canonical text (option value, E.164, ISO 8601, ...)."""

    step_id: str
    value: str | None = None
    files: tuple[FileInfo, ...] = ()
    skipped: bool = False
    source: AnswerSource = "customer"
    confidence: float | None = None
    location: Location | None = None
    # How to show a value that is not an option (an NLP product id, say): the proposal's label.
    label: str | None = None
    # That label in each language the proposal came with (a language switch shows the new one).
    labels: tuple[tuple[Lang, str], ...] = ()

    def label_in(self, lang: Lang) -> str | None:
        return dict(self.labels).get(lang) or self.label


@dataclass(frozen=True)
class Conflict:
    """A message gave a value that contradicts an earlier answer: the customer is asked which is right."""

    step_id: str
    offered: Answer


@dataclass(frozen=True)
class ConversationState:
    """Where a conversation stands. Persisted by storage as ``to_json()``; read back with ``from_json``."""

    flow_id: str
    flow_version: int
    step_id: str
    lang: Lang
    status: ConversationStatus = "active"
    answers: tuple[Answer, ...] = ()
    # Steps answered in order, most recent last; `back` and edited messages use it.
    history: tuple[str, ...] = ()
    proposals: tuple[Proposal, ...] = ()
    # Files received so far at the current files step (committed as its answer on Done).
    pending_files: tuple[FileInfo, ...] = ()
    # Set by "Edit <field>" on the confirmation: after the answer, return to the confirmation.
    editing: bool = False
    # The customer said the proposal is wrong and is now typing the value.
    awaiting_other: bool = False
    # Asked "which is right?" about two values for one step; the current step is asked after the answer.
    conflict: Conflict | None = None
    # The customer writes traditional Chinese characters: the replies are converted to them.
    traditional: bool = False

    def answer(self, step_id: str) -> Answer | None:
        return next((answer for answer in self.answers if answer.step_id == step_id), None)

    @property
    def reads_traditional(self) -> bool:
        return self.traditional and self.lang == "zh"

    def in_script(self, text: str) -> str:
        """A text of ours (simplified Chinese) in the characters the customer writes."""
        return to_traditional(text) if self.reads_traditional else text

    def with_answer(self, answer: Answer) -> ConversationState:
        kept = tuple(existing for existing in self.answers if existing.step_id != answer.step_id)
        return replace(self, answers=(*kept, answer))

    def without_answer(self, step_id: str) -> ConversationState:
        return replace(self, answers=tuple(a for a in self.answers if a.step_id != step_id))

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable dict (tuples become lists)."""
        dumped = _state_adapter().dump_python(self, mode="json")
        assert isinstance(dumped, dict)
        return {"format": STATE_FORMAT, **dumped}

    @classmethod
    def from_json(cls, data: object) -> ConversationState:
        """Read back what ``to_json`` wrote; ConversationStateError when the data is not a valid state."""
        if not isinstance(data, dict):
            raise ConversationStateError("expected a JSON object")
        if data.get("format", STATE_FORMAT) != STATE_FORMAT:
            raise ConversationStateError(f"unknown state format {data.get('format')!r}")
        fields = {key: value for key, value in data.items() if key != "format"}
        try:
            return _state_adapter().validate_python(fields)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConversationStateError(f"{where}: {first['msg']}") from error


STATE_FORMAT = 1


@cache
def _state_adapter() -> TypeAdapter[ConversationState]:
    return TypeAdapter(ConversationState)


@dataclass(frozen=True)
class Outcome:
    state: ConversationState
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class FileLimits:
    """What the current files step accepts; ``max_files`` is how many more files it can take."""

    max_bytes: int
    allowed_kinds: frozenset[str]
    max_files: int


def media_kind(media_type: str) -> str:
    """photo / video / audio / document for a media type such as "image/jpeg" or "application/pdf"."""
    major = media_type.split("/", 1)[0].strip().lower()
    return {"image": "photo", "video": "video", "audio": "audio"}.get(major, "document")
