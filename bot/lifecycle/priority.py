"""Case priority: rules (category, product, alarming words such as injury/fire/受伤/起火, repeat complaints)
decide it when a case is routed; agents may change it later. Rules live in the SLA file (`priority:`), so
policies can depend on the result. Every matching rule counts and the highest priority wins, with the reasons
kept, so an agent can see why a case is urgent."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PRIORITY_ORDER = ("low", "normal", "high", "urgent")
PriorityName = str


def _known(value: str) -> str:
    value = value.strip().lower()
    if value not in PRIORITY_ORDER:
        raise ValueError(f"unknown priority {value!r} (one of {', '.join(PRIORITY_ORDER)})")
    return value


class RepeatCondition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # This many earlier cases of the same customer...
    cases: int = Field(ge=1)
    # ...filed within this many days before this one.
    within_days: int = Field(ge=1, le=3650)


class PriorityConditions(BaseModel):
    """Every condition given must match (AND); any listed value matches (OR); case is ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: list[str] | None = None
    product: list[str] | None = None
    # Looked for in what the customer wrote: whole words in Latin scripts, anywhere in Chinese.
    words: list[str] | None = None
    repeat: RepeatCondition | None = None

    @field_validator("category", "product", "words")
    @classmethod
    def _normalise(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [value.strip().lower() for value in values if value.strip()]

    @model_validator(mode="after")
    def _at_least_one(self) -> PriorityConditions:
        if all(getattr(self, name) is None for name in ("category", "product", "words", "repeat")):
            raise ValueError("a priority rule needs a condition (category, product, words or repeat)")
        return self


class PriorityRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    priority: str
    when: PriorityConditions

    @field_validator("priority")
    @classmethod
    def _known_priority(cls, value: str) -> str:
        return _known(value)


class PriorityRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: str = "normal"
    rules: tuple[PriorityRule, ...] = ()

    @field_validator("default")
    @classmethod
    def _known_default(cls, value: str) -> str:
        return _known(value)


@dataclass(frozen=True)
class PriorityFacts:
    category: str | None
    product: str | None
    text: str
    # Filing times of the customer's earlier cases, as days before this case (0.5 = twelve hours earlier).
    earlier_cases_days_ago: tuple[float, ...] = ()


@dataclass(frozen=True)
class PriorityDecision:
    priority: str
    reasons: tuple[str, ...]


def _word_found(word: str, text: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
    return word in text


def _rule_reason(when: PriorityConditions, facts: PriorityFacts, text: str) -> str | None:
    """Why the rule matches, or None when it does not."""
    reasons = []
    if when.category is not None:
        if (facts.category or "").strip().lower() not in when.category:
            return None
        reasons.append(f"category {facts.category}")
    if when.product is not None:
        if (facts.product or "").strip().lower() not in when.product:
            return None
        reasons.append(f"product {facts.product}")
    if when.words is not None:
        found = [word for word in when.words if _word_found(word, text)]
        if not found:
            return None
        reasons.append("words " + ", ".join(found))
    if when.repeat is not None:
        recent = [days for days in facts.earlier_cases_days_ago if days <= when.repeat.within_days]
        if len(recent) < when.repeat.cases:
            return None
        reasons.append(f"{len(recent)} earlier cases within {when.repeat.within_days} days")
    return "; ".join(reasons)


def decide_priority(rules: PriorityRules, facts: PriorityFacts) -> PriorityDecision:
    text = facts.text.lower()
    best = rules.default
    reasons: list[str] = []
    for rule in rules.rules:
        reason = _rule_reason(rule.when, facts, text)
        if reason is None:
            continue
        rank = PRIORITY_ORDER.index(rule.priority)
        if rank > PRIORITY_ORDER.index(best):
            best, reasons = rule.priority, []
        if rule.priority == best:
            reasons.append(reason)
    return PriorityDecision(best, tuple(reasons))
