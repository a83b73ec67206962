"""Flow definitions: pydantic v2 models of the YAML files, and their loading with precise errors.

A flow is data: a list of steps (a discriminated union on ``kind``) with ``next`` links, optionally
conditional on earlier answers. Everything JSON Schema cannot express (references between steps,
reachability, an end) is checked in :meth:`Flow._check_graph`, so a loaded flow is always walkable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from flows.conversation import ExtractKind
from flows.errors import FlowDefinitionError
from flows.language import Lang
from flows.messages import BUILTIN_MESSAGES, placeholders

# libyaml's parser (PyYAML's wheels carry it), several times faster than the pure-Python one.
SAFE_YAML_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

FileKind = Literal["photo", "video", "document", "audio"]
ProposalField = Literal["product", "category"]

# CaseDraft fields a step may fill directly; any other `field` ends up in CaseDraft.extra.
STANDARD_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "phone",
        "email",
        "description",
        "occurred_at",
        "occurred_where",
        "product",
        "category",
        "expected_resolution",
        "evidence",
    }
)

_STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
MEBIBYTE = 1024 * 1024
DEFAULT_MAX_MESSAGE_LENGTH = 4000
MAX_MESSAGE_LENGTH_CEILING = 100_000
_EVIDENCE_KINDS: tuple[FileKind, ...] = ("photo", "video", "document")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedText(_Frozen):
    """A text in both conversation languages; neither may be missing or blank."""

    en: str
    zh: str

    @field_validator("en", "zh")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("translation is empty")
        return value

    def get(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


class Condition(_Frozen):
    """Compares an earlier answer (named by step field or step id) with a value or a set of values."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    field: str
    equals: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _exactly_one_test(self) -> Self:
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("a condition needs exactly one of 'equals' or 'in'")
        return self

    def values(self) -> tuple[str, ...]:
        return (self.equals,) if self.equals is not None else (self.in_ or ())


class Branch(_Frozen):
    """One conditional jump; a branch without ``when`` is the default and must come last."""

    when: Condition | None = None
    goto: str


class OptionSynonyms(_Frozen):
    """Phrases that pick an option when a typed answer contains one of them ("call me" -> Phone)."""

    en: list[str] = Field(default_factory=list, max_length=50)
    zh: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("en", "zh")
    @classmethod
    def _phrases(cls, phrases: list[str]) -> list[str]:
        if any(not phrase.strip() or len(phrase) > 64 for phrase in phrases):
            raise ValueError("a synonym is empty or longer than 64 characters")
        return phrases


class Option(_Frozen):
    value: str = Field(pattern=r"^[^_\s][^\s]*$", max_length=64)
    label: LocalizedText
    # A typed answer containing one of these phrases (and no other option's) picks this option.
    synonyms: OptionSynonyms = Field(default_factory=OptionSynonyms)
    # Values found in a message that mean this option without naming it: a phone number answers
    # "phone or email?" with phone. The option whose kinds were ALL found wins (the one with most kinds).
    implied_by: list[ExtractKind] = Field(default_factory=list)

    @field_validator("implied_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class _StepBase(_Frozen):
    id: str = Field(pattern=_STEP_ID)
    field: str | None = None
    prompt: LocalizedText
    # Short name for the confirmation summary and its "Edit ..." buttons; standard fields have one built in.
    label: LocalizedText | None = None
    # The answer to "why do you need that?" asked at this step (a built-in one otherwise).
    why: LocalizedText | None = None
    next: str | list[Branch] | None = None
    optional: bool = False
    # Values of these kinds found in any message fill this step without asking it (see Turn.extracted);
    # each is checked with this step's own parser first.
    extract: list[ExtractKind] = Field(default_factory=list)

    @field_validator("extract", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class TextStep(_StepBase):
    kind: Literal["text"]
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=2000, ge=1)
    # Run NLP on the answer (the orchestrator asks via engine.pending_analysis).
    analyze: bool = False
    # A shared location (latitude/longitude) is a valid answer, e.g. for "where did it happen?".
    accepts_location: bool = False
    # The customer's story: a message long enough for this step that also carries two or more values for
    # other steps (the customer told everything at once) answers this step too, even when not asked.
    fill_from_story: bool = False

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is greater than max_length {self.max_length}")
        return self


class ChoiceStep(_StepBase):
    kind: Literal["choice"]
    options: list[Option] = Field(min_length=1)
    # Accept free text that matches no option as the answer itself (e.g. "other: I want a voucher").
    allow_text: bool = False
    max_text_length: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _unique_values(self) -> Self:
        values = [option.value for option in self.options]
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            raise ValueError(f"duplicate option values: {', '.join(duplicates)}")
        return self


class EmailStep(_StepBase):
    kind: Literal["email"]


class PhoneStep(_StepBase):
    kind: Literal["phone"]
    # Region for numbers typed without a country code (ISO 3166 alpha-2); CN mobiles are always recognised.
    default_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class DatetimeStep(_StepBase):
    kind: Literal["datetime"]
    allow_future: bool = False


class FilesStep(_StepBase):
    kind: Literal["files"]
    min_files: int = Field(default=0, ge=0)
    max_files: int = Field(default=5, ge=1, le=50)
    allowed_kinds: list[FileKind] = Field(default_factory=lambda: [*_EVIDENCE_KINDS], min_length=1)
    max_bytes: int = Field(default=20 * MEBIBYTE, ge=1)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_files > self.max_files:
            raise ValueError(f"min_files {self.min_files} is greater than max_files {self.max_files}")
        return self


class ProposalStep(_StepBase):
    """Confirm or replace a value the NLP proposed for ``product`` or ``category``.

    Without a proposal (or one below ``propose_min_confidence``) the plain ``prompt`` is asked; with one,
    ``confirm_prompt`` (``{value}`` is the proposed label) with a Yes button; at or above
    ``auto_accept_confidence`` the step is not asked at all and the value shows up in the summary.
    With ``options`` the answer must be one of them; without, the customer may type any value.
    """

    kind: Literal["proposal"]
    field: ProposalField
    confirm_prompt: LocalizedText
    # Asked after "Something else" (defaults to the built-in "please type it in your own words").
    other_prompt: LocalizedText | None = None
    options: list[Option] = Field(default_factory=list)
    propose_min_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    auto_accept_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    max_text_length: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if "{value}" not in self.confirm_prompt.en or "{value}" not in self.confirm_prompt.zh:
            raise ValueError("confirm_prompt must contain {value} in both languages")
        values = [option.value for option in self.options]
        if len(values) != len(set(values)):
            raise ValueError("duplicate option values")
        return self

    def option(self, value: str) -> Option | None:
        return next((option for option in self.options if option.value == value), None)


class ConfirmStep(_StepBase):
    """Shows every answer so far with Confirm / Edit <field> / Cancel buttons."""

    kind: Literal["confirm"]


class EndStep(_StepBase):
    """Ends the conversation; with ``file_case`` the draft is filed (the prompt may use {case_number})."""

    kind: Literal["end"]
    file_case: bool = True


Step = Annotated[
    TextStep | ChoiceStep | EmailStep | PhoneStep | DatetimeStep | FilesStep | ProposalStep | ConfirmStep | EndStep,
    Field(discriminator="kind"),
]

# Which step kinds can check a value of each extracted kind with their own parser.
_EXTRACT_FITS: dict[str, tuple[type, ...]] = {
    "phone": (PhoneStep,),
    "email": (EmailStep,),
    "datetime": (DatetimeStep,),
    "name": (TextStep,),
    "order_number": (TextStep, ChoiceStep),
    "amount": (TextStep, ChoiceStep),
    "location": (TextStep,),
    "product": (TextStep, ProposalStep),
    "resolution": (TextStep, ChoiceStep),
}

BUILTIN_FIELD_LABELS: dict[str, LocalizedText] = {
    "name": LocalizedText(en="name", zh="姓名"),
    "phone": LocalizedText(en="phone", zh="电话"),
    "email": LocalizedText(en="email", zh="邮箱"),
    "description": LocalizedText(en="what happened", zh="事情经过"),
    "occurred_at": LocalizedText(en="when", zh="时间"),
    "occurred_where": LocalizedText(en="where", zh="地点"),
    "product": LocalizedText(en="product", zh="产品"),
    "category": LocalizedText(en="category", zh="类别"),
    "expected_resolution": LocalizedText(en="resolution", zh="期望的处理方式"),
    "evidence": LocalizedText(en="evidence", zh="证据"),
}


class StepProblem(ValueError):
    """Raised inside validation to blame one step; load_flow_text turns it into a FlowDefinitionError."""

    def __init__(self, step: str | None, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(reason)


class Flow(_Frozen):
    id: str = Field(pattern=_STEP_ID)
    version: int = Field(ge=1)
    title: LocalizedText
    start: str
    steps: list[Step] = Field(min_length=1)
    # Said once before the first question.
    greeting: LocalizedText | None = None
    # Used when neither the platform locale nor the first message tells the language.
    default_lang: Lang = "en"
    # Overrides of the engine's built-in texts, by key (see flows.messages.BUILTIN_MESSAGES).
    messages: dict[str, LocalizedText] = Field(default_factory=dict)
    # The longest message the engine reads; a longer one is refused (message_too_long) before any parsing,
    # so no customer can make one turn expensive.
    max_message_length: int = Field(default=DEFAULT_MAX_MESSAGE_LENGTH, ge=1, le=MAX_MESSAGE_LENGTH_CEILING)

    _by_id: dict[str, Step] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        self._by_id = {step.id: step for step in self.steps}

    def step(self, step_id: str) -> Step:
        """The step with this id; KeyError when the flow has none."""
        return self._by_id[step_id]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._by_id

    def message(self, key: str, lang: Lang) -> str:
        override = self.messages.get(key)
        if override is not None:
            return override.get(lang)
        en, zh = BUILTIN_MESSAGES[key]
        return zh if lang == "zh" else en

    def label(self, step: Step, lang: Lang) -> str:
        """The short name of what a step asks, for summaries and edit buttons."""
        if step.label is not None:
            return step.label.get(lang)
        builtin = BUILTIN_FIELD_LABELS.get(step.field or "")
        return builtin.get(lang) if builtin is not None else step.id

    def steps_for(self, name: str) -> list[Step]:
        """Steps a condition's ``field`` may name: by field, or by id."""
        return [step for step in self.steps if name in (step.field, step.id)]

    @model_validator(mode="after")
    def _check_graph(self) -> Self:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise StepProblem(step.id, "duplicate step id")
            seen.add(step.id)
        if self.start not in seen:
            raise StepProblem(None, f"start refers to unknown step '{self.start}'")
        for key, text in self.messages.items():
            if key not in BUILTIN_MESSAGES:
                raise StepProblem(None, f"messages: unknown message key '{key}'")
            en, _ = BUILTIN_MESSAGES[key]
            for lang in ("en", "zh"):
                if placeholders(text.get(lang)) != placeholders(en):
                    raise StepProblem(
                        None,
                        f"messages.{key}.{lang}: must use the placeholders {sorted(placeholders(en))}",
                    )
        for step in self.steps:
            self._check_step(step, seen)
        reachable = self._reachable()
        for step in self.steps:
            if step.id not in reachable:
                raise StepProblem(step.id, "unreachable: no path from the start leads to this step")
        if not any(isinstance(self._by_id[step_id], EndStep) for step_id in reachable):
            raise StepProblem(None, "the flow has no reachable end step")
        return self

    def _check_step(self, step: Step, known: set[str]) -> None:
        self._check_extract(step)
        if isinstance(step, EndStep):
            if step.next is not None:
                raise StepProblem(step.id, "an end step cannot have 'next'")
            return
        if step.next is None:
            raise StepProblem(step.id, "missing 'next' (only end steps may stop the flow)")
        if isinstance(step, ConfirmStep | EndStep) and step.field is not None:
            raise StepProblem(step.id, f"a {step.kind} step cannot fill a field")
        if step.field == "evidence" and not isinstance(step, FilesStep):
            raise StepProblem(step.id, "only a files step can fill 'evidence'")
        if (
            step.field is not None
            and step.label is None
            and step.field not in BUILTIN_FIELD_LABELS
            and not isinstance(step, ConfirmStep)
        ):
            raise StepProblem(step.id, f"missing 'label' (en and zh) for the custom field '{step.field}'")
        if isinstance(step.next, str):
            if step.next not in known:
                raise StepProblem(step.id, f"next refers to unknown step '{step.next}'")
            return
        if not step.next:
            raise StepProblem(step.id, "next: the list of branches is empty")
        for index, branch in enumerate(step.next):
            if branch.goto not in known:
                raise StepProblem(step.id, f"next[{index}].goto refers to unknown step '{branch.goto}'")
            last = index == len(step.next) - 1
            if branch.when is None and not last:
                raise StepProblem(step.id, f"next[{index}]: a branch without 'when' must be the last one")
            if branch.when is not None and last:
                raise StepProblem(step.id, "next: the last branch must be a default without 'when'")
            if branch.when is not None:
                self._check_condition(step, index, branch.when)

    def _check_extract(self, step: Step) -> None:
        """Each extracted kind fills at most one step, and only a step whose parser can read it."""
        for kind in step.extract:
            fitting = _EXTRACT_FITS.get(kind, ())
            if not isinstance(step, fitting) or (isinstance(step, ChoiceStep) and not step.allow_text):
                raise StepProblem(step.id, f"extract: a {step.kind} step cannot take '{kind}' values")
            if isinstance(step, ProposalStep) and step.field != "product":
                raise StepProblem(step.id, f"extract: only the product step can take '{kind}' values")
            others = [other.id for other in self.steps if other is not step and kind in other.extract]
            if others:
                raise StepProblem(step.id, f"extract: '{kind}' is already filled by step '{others[0]}'")
        if isinstance(step, TextStep) and step.fill_from_story and step.extract:
            raise StepProblem(step.id, "a step filled from the story cannot also take extracted values")

    def _check_condition(self, step: Step, index: int, condition: Condition) -> None:
        targets = self.steps_for(condition.field)
        if not targets:
            raise StepProblem(step.id, f"next[{index}].when refers to unknown field '{condition.field}'")
        for target in targets:
            if isinstance(target, ChoiceStep) and not target.allow_text:
                valid = {option.value for option in target.options}
                unknown = [value for value in condition.values() if value not in valid]
                if unknown:
                    raise StepProblem(
                        step.id,
                        f"next[{index}].when compares '{condition.field}' with {unknown[0]!r}, "
                        f"which is not one of its options ({', '.join(sorted(valid))})",
                    )

    def successors(self, step: Step) -> Iterator[str]:
        if isinstance(step.next, str):
            yield step.next
        elif step.next:
            for branch in step.next:
                yield branch.goto

    def _reachable(self) -> set[str]:
        reachable: set[str] = set()
        pending = [self.start]
        while pending:
            step_id = pending.pop()
            if step_id in reachable:
                continue
            reachable.add(step_id)
            pending.extend(self.successors(self._by_id[step_id]))
        return reachable


def flow_json_schema() -> dict[str, object]:
    """JSON Schema of a flow file, for editors (cross-references are checked only at load time)."""
    return Flow.model_json_schema(by_alias=True)


def load_flow(path: str | Path) -> Flow:
    """Read and validate one flow YAML file (the only I/O of this package)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise FlowDefinitionError(source, None, f"cannot read the file: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise FlowDefinitionError(source, None, f"the file is not UTF-8: {error.reason}") from error
    return load_flow_text(text, source)


def load_flow_text(text: str, source: str) -> Flow:
    """Validate a flow given as YAML text; ``source`` names it in errors (a file path or any label)."""
    try:
        data = yaml.load(text, Loader=SAFE_YAML_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        raise FlowDefinitionError(source, None, f"YAML syntax error at {where}{problem}") from error
    except yaml.YAMLError as error:
        raise FlowDefinitionError(source, None, f"YAML syntax error: {error}") from error
    if not isinstance(data, dict):
        raise FlowDefinitionError(source, None, "the file must contain a mapping with id, version, steps, ...")
    try:
        return Flow.model_validate(data)
    except ValidationError as error:
        raise _definition_error(source, text, data, error) from error


def _definition_error(
    source: str, text: str, data: dict[object, object], error: ValidationError
) -> FlowDefinitionError:
    first = error.errors(include_url=False)[0]
    context = first.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, StepProblem):
        line = _step_line(text, cause.step) if cause.step is not None else None
        reason = f"{cause.reason} (line {line})" if line is not None else cause.reason
        return FlowDefinitionError(source, cause.step, reason)
    loc = list(first["loc"])
    step_id: str | None = None
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        raw_steps = data.get("steps")
        raw_step = raw_steps[loc[1]] if isinstance(raw_steps, list) and loc[1] < len(raw_steps) else None
        step_id = str(raw_step.get("id")) if isinstance(raw_step, dict) and raw_step.get("id") else None
        loc = loc[2:]
        # The discriminator tag (the step kind) is not part of the path an author wrote.
        if loc and isinstance(raw_step, dict) and loc[0] == raw_step.get("kind"):
            loc = loc[1:]
        if step_id is None:
            step_id = f"#{first['loc'][1]}"
    path = ".".join(str(part) for part in loc)
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing" and loc and loc[-1] in ("en", "zh"):
        reason = f"missing {loc[-1]} translation of {'.'.join(str(p) for p in loc[:-1])}"
    elif first["type"] == "union_tag_invalid":
        reason = f"unknown step kind: {message}"
    else:
        reason = f"{path}: {message}" if path else message
    line = _step_line(text, step_id) if step_id is not None else None
    if line is not None:
        reason = f"{reason} (line {line})"
    return FlowDefinitionError(source, step_id, reason)


def _step_line(text: str, step_id: str) -> int | None:
    """The 1-based line where the step with this id starts, for error messages."""
    pattern = re.compile(rf"^\s*(?:-\s*)?id:\s*['\"]?{re.escape(step_id)}['\"]?\s*(?:#.*)?$")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None
