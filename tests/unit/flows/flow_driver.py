"""Drives the engine the way the orchestrator does: start, pending_analysis -> NLP, advance."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from flows import (
    Answer,
    ConversationState,
    Effect,
    ExtractedValue,
    ExtractKind,
    FileCase,
    FileInfo,
    FileLimits,
    Flow,
    Location,
    Outcome,
    Proposal,
    Reply,
    Turn,
    advance,
    file_limits,
    pending_analysis,
    start,
)

# Friday 20 November 2026, 14:00 in Shanghai.
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=timezone(timedelta(hours=8)))

Analyzer = Callable[[str], tuple[Proposal, ...]]


def keyword_analyzer(text: str) -> tuple[Proposal, ...]:
    """A stand-in for the NLP step so engine tests do not depend on a model: fixed proposals by keyword."""
    lowered = text.lower()
    proposals: list[Proposal] = []
    if "phone" in lowered or "手机" in text:
        proposals.append(Proposal("product", "phone_x", "Phone X", 0.72))
        proposals.append(Proposal("category", "product_quality", "Product quality", 0.97))
    if "parcel" in lowered or "快递" in text:
        proposals.append(Proposal("category", "delivery_logistics", "Delivery", 0.55))
    return tuple(proposals)


@dataclass
class Conversation:
    flow: Flow
    analyzer: Analyzer = keyword_analyzer
    locale: str | None = None
    now: datetime = NOW
    state: ConversationState | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    analyzed: list[str] = field(default_factory=list)

    def send(self, turn: Turn) -> Outcome:
        turn = replace(turn, locale=turn.locale or self.locale)
        text = pending_analysis(self.flow, self.state, turn)
        if text is not None:
            self.analyzed.append(text)
            turn = replace(turn, proposals=self.analyzer(text))
        outcome = start(self.flow, turn) if self.state is None else advance(self.flow, self.state, turn)
        # Every state must survive the trip through storage unchanged.
        encoded = json.dumps(outcome.state.to_json())
        assert ConversationState.from_json(json.loads(encoded)) == outcome.state
        self.state = outcome.state
        self.outcomes.append(outcome)
        return outcome

    def say(self, text: str, *, edit: bool = False, found: tuple[tuple[ExtractKind, str, str], ...] = ()) -> Outcome:
        """Send ``text``; ``found`` is what the extractor port would report: (kind, span as written, value)."""
        return self.send(Turn(now=self.now, text=text, edit=edit, extracted=extracted(text, *found)))

    def press(self, value: str) -> Outcome:
        return self.send(Turn(now=self.now, choice=value))

    def upload(self, *files: FileInfo) -> Outcome:
        return self.send(Turn(now=self.now, files=files))

    def share_location(self, latitude: float, longitude: float, label: str | None = None) -> Outcome:
        return self.send(Turn(now=self.now, location=Location(latitude, longitude, label)))

    @property
    def step(self) -> str:
        assert self.state is not None
        return self.state.step_id

    def answer(self, step_id: str) -> Answer:
        assert self.state is not None
        answer = self.state.answer(step_id)
        assert answer is not None, f"no answer for {step_id}"
        return answer

    def limits(self) -> FileLimits | None:
        assert self.state is not None
        return file_limits(self.flow, self.state)

    def lang(self) -> str:
        assert self.state is not None
        return self.state.lang

    def status(self) -> str:
        assert self.state is not None
        return self.state.status

    @property
    def last(self) -> Reply:
        return self.outcomes[-1].replies[-1]

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.outcomes[-1].replies)

    @property
    def effects(self) -> tuple[Effect, ...]:
        return self.outcomes[-1].effects

    def button_labels(self) -> list[str]:
        return [choice.label for choice in self.last.choices]

    def button_values(self) -> list[str]:
        return [choice.value for choice in self.last.choices]

    def filed(self) -> FileCase:
        cases = [effect for effect in self.effects if isinstance(effect, FileCase)]
        assert len(cases) == 1, self.effects
        return cases[0]


def photo(evidence_id: str, name: str = "photo.jpg", size: int = 150_000) -> FileInfo:
    return FileInfo(evidence_id=evidence_id, file_name=name, media_type="image/jpeg", size=size)


def document(evidence_id: str, name: str = "receipt.pdf", size: int = 80_000) -> FileInfo:
    return FileInfo(evidence_id=evidence_id, file_name=name, media_type="application/pdf", size=size)


def extracted(text: str, *found: tuple[ExtractKind, str, str]) -> tuple[ExtractedValue, ...]:
    """ExtractedValues for spans of ``text``, built by hand the way the intake's extractor reports them."""
    values = []
    for kind, span, value in found:
        start = text.index(span)
        values.append(ExtractedValue(kind=kind, text=span, value=value, start=start, end=start + len(span)))
    return tuple(values)
