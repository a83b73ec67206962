"""Teams and routing rules (YAML that admins edit), validated at load, and the pure decisions made with
them: which team gets a case (first matching rule, else the default team) and which member is next in the
round-robin."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.analysis import SHIPPED_NLP_DATA
from bot.errors import ConfigurationError
from bot.settings_documents import (
    SAFE_YAML_LOADER,
    DocumentProblem,
    DocumentProblems,
    read_yaml_mapping,
    validated,
)

# Shipped inside the package, so `plaint serve` finds it from any working directory.
SHIPPED_ROUTING_FILE = Path(__file__).with_name("routing.yaml")


class RoutingConfigError(ConfigurationError):
    """The routing file cannot be used; says which file, which rule (when one is at fault) and why."""

    def __init__(self, source: str, reason: str, rule_index: int | None = None) -> None:
        where = f"{source}: rules[{rule_index}]" if rule_index is not None else source
        super().__init__(where, reason)
        self.source = source
        self.rule_index = rule_index


def _lowered(values: list[str]) -> list[str]:
    return [value.strip().lower() for value in values]


class Team(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    # The Slack channel id (C..., G...) where the team's cases are posted.
    slack_channel: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    # Slack user ids, in round-robin order.
    members: tuple[str, ...] = ()
    max_open_per_agent: int = Field(default=10, ge=1)
    # The language of the team's Slack chrome: labels, buttons, refusals, thread lines.
    language: Literal["en", "zh"] = "en"
    # A reply in the thread of a resolved or closed case: reopen it and relay (true), or refuse and say so.
    reopen_on_reply: bool = False

    @field_validator("members")
    @classmethod
    def _members_are_unique_user_ids(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        for member in members:
            if not member.startswith(("U", "W")):
                raise ValueError(f"member {member!r} is not a Slack user id (U... or W...)")
        if len(set(members)) != len(members):
            raise ValueError("a member is listed twice")
        return members


class RuleConditions(BaseModel):
    """Every condition given must match (AND); within one condition any listed value matches (OR);
    comparisons ignore case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: list[str] | None = None
    product: list[str] | None = None
    channel: list[str] | None = None
    language: list[str] | None = None

    @field_validator("category", "product", "channel", "language")
    @classmethod
    def _normalise(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _lowered(values)

    @model_validator(mode="after")
    def _at_least_one_condition(self) -> RuleConditions:
        if all(value is None for value in (self.category, self.product, self.channel, self.language)):
            raise ValueError("a rule needs at least one condition (category, product, channel or language)")
        return self


class RoutingRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    team: str
    when: RuleConditions


class RoutingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_team: str
    teams: tuple[Team, ...] = Field(min_length=1)
    rules: tuple[RoutingRule, ...] = ()
    # Slack user ids who may use `/plaint` and see every team's cases without being a member of a team.
    admins: tuple[str, ...] = ()

    @field_validator("admins")
    @classmethod
    def _admins_are_user_ids(cls, admins: tuple[str, ...]) -> tuple[str, ...]:
        for admin in admins:
            if not admin.startswith(("U", "W")):
                raise ValueError(f"admin {admin!r} is not a Slack user id (U... or W...)")
        return admins

    def teams_of(self, user_id: str) -> tuple[str, ...]:
        """The names of the teams `user_id` is an agent of."""
        return tuple(team.name for team in self.teams if user_id in team.members)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def may_use_desk(self, user_id: str) -> bool:
        return self.is_admin(user_id) or bool(self.teams_of(user_id))

    def may_see_case(self, user_id: str, case_team: str | None) -> bool:
        """An admin, or an agent of the team that owns the case."""
        return self.is_admin(user_id) or (case_team is not None and case_team in self.teams_of(user_id))

    def team(self, name: str) -> Team:
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(name)

    def team_for_name(self, name: str | None) -> Team | None:
        return next((team for team in self.teams if team.name == name), None)

    def team_for_slack_channel(self, slack_channel: str) -> Team | None:
        return next((team for team in self.teams if team.slack_channel == slack_channel), None)


@dataclass(frozen=True)
class CaseFacts:
    """What routing looks at; `None` never matches a condition."""

    category: str | None
    product: str | None
    channel: str | None
    language: str | None


def _matches(allowed: list[str] | None, value: str | None) -> bool:
    if allowed is None:
        return True
    return value is not None and value.strip().lower() in allowed


def route(config: RoutingConfig, facts: CaseFacts) -> Team:
    """The team of the first rule whose conditions all match, else the default team."""
    for rule in config.rules:
        when = rule.when
        if (
            _matches(when.category, facts.category)
            and _matches(when.product, facts.product)
            and _matches(when.channel, facts.channel)
            and _matches(when.language, facts.language)
        ):
            return config.team(rule.team)
    return config.team(config.default_team)


def next_agent(
    members: Sequence[str], last_agent: str | None, open_cases: Mapping[str, int], max_open: int
) -> str | None:
    """Round-robin: the first member after `last_agent` (wrapping around) with fewer than `max_open` open
    cases; None when everyone is full, so the case waits unassigned."""
    if not members:
        return None
    start = members.index(last_agent) + 1 if last_agent in members else 0
    for offset in range(len(members)):
        candidate = members[(start + offset) % len(members)]
        if open_cases.get(candidate, 0) < max_open:
            return candidate
    return None


def check_routing(raw: object) -> RoutingConfig:
    """A routing document (parsed YAML or the console's JSON) validated; DocumentProblems lists every problem."""
    return validated(RoutingConfig, raw, _reference_problems)


def parse_routing(text: str, source: str) -> RoutingConfig:
    try:
        return check_routing(read_yaml_mapping(text, "default_team, teams and rules"))
    except DocumentProblems as error:
        first = error.problems[0]
        where = first.location
        rule_index = where[1] if len(where) > 1 and where[0] == "rules" and isinstance(where[1], int) else None
        raise RoutingConfigError(source, first.describe(), rule_index) from None


def _reference_problems(config: RoutingConfig) -> list[DocumentProblem]:
    problems: list[DocumentProblem] = []
    names = [team.name for team in config.teams]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(DocumentProblem(("teams",), f"team names must be unique: {', '.join(duplicates)}"))
    if config.default_team not in names:
        problems.append(
            DocumentProblem(("default_team",), f"default_team {config.default_team!r} is not one of the teams")
        )
    for index, rule in enumerate(config.rules):
        if rule.team not in names:
            problems.append(DocumentProblem(("rules", index, "team"), f"unknown team {rule.team!r}"))
    return problems


@dataclass(frozen=True)
class RoutingVocabulary:
    """The values a case can carry: a rule naming anything else would never match and silently mis-route."""

    categories: frozenset[str]
    products: frozenset[str]
    channels: frozenset[str] = frozenset({"web", "telegram", "slack", "wechat", "console"})
    languages: frozenset[str] = frozenset({"en", "zh"})

    @classmethod
    def load(cls, catalog_path: Path | None = None) -> RoutingVocabulary:
        """The taxonomy's category ids and the catalog's product ids, read from the files (start-up reads them:
        importing nlp would import spaCy and jieba, seconds, and race the background model loader)."""
        categories = _ids_in(SHIPPED_NLP_DATA / "taxonomy.yaml", "categories")
        return cls(categories, _catalog_ids(catalog_path or SHIPPED_NLP_DATA / "catalog.yaml"))


def _catalog_ids(path: Path) -> frozenset[str]:
    if path.suffix.lower() == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                return frozenset(str(row.get("id") or "") for row in csv.DictReader(handle)) - {""}
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise RoutingConfigError(str(path), f"cannot read the catalog: {error}") from None
    return _ids_in(path, "products")


def _ids_in(path: Path, key: str) -> frozenset[str]:
    """The `id`s of the entries under `key` in a YAML file (the catalog's products, the taxonomy's categories)."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise RoutingConfigError(str(path), f"cannot read {path.name}: {error}") from None
    entries = document.get(key) if isinstance(document, dict) else None
    return frozenset(str(item["id"]) for item in entries or () if isinstance(item, dict) and item.get("id"))


# The rule conditions a vocabulary checks: the RoutingVocabulary attribute holding their values, and where those
# come from (start-up's words).
VOCABULARY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("category", "categories", "the taxonomy"),
    ("product", "products", "the catalog"),
    ("channel", "channels", "the known channels"),
    ("language", "languages", "the supported languages"),
)


@dataclass(frozen=True)
class UnknownValue:
    """A value a rule names that no case can carry: the rule would never match and silently mis-route."""

    rule_index: int
    field: str  # category, product, channel or language
    value: str
    known: frozenset[str]


def unknown_values(config: RoutingConfig, vocabulary: RoutingVocabulary) -> list[UnknownValue]:
    """Every category, product, channel and language the rules name that is not in `vocabulary`, rule by rule
    (values compared as the rules store them, lower case). Start-up (`check_vocabulary`) and the console's
    routing edit (bot/admin/desk_settings.py) both check with this."""
    unknown: list[UnknownValue] = []
    for index, rule in enumerate(config.rules):
        for name, attribute, _ in VOCABULARY_FIELDS:
            known: frozenset[str] = getattr(vocabulary, attribute)
            lowered = {item.lower() for item in known}
            unknown += [UnknownValue(index, name, value, known)
                        for value in getattr(rule.when, name) or () if value not in lowered]
    return unknown


def check_vocabulary(config: RoutingConfig, source: str, vocabulary: RoutingVocabulary) -> None:
    """Every category, product, channel and language in the rules is one a case can have (the first that is
    not is refused, with what is known)."""
    found = unknown_values(config, vocabulary)
    if found:
        first, where = found[0], {name: words for name, _, words in VOCABULARY_FIELDS}
        raise RoutingConfigError(
            source,
            f"{first.field} {first.value!r} is not in {where[first.field]} (known: {', '.join(sorted(first.known))})",
            rule_index=first.rule_index,
        )


def load_routing(path: Path | None = None, vocabulary: RoutingVocabulary | None = None) -> RoutingConfig:
    """PLAINT_SLACK_ROUTING_FILE when set, else the shipped file; checked against `vocabulary` when given."""
    path = path or SHIPPED_ROUTING_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RoutingConfigError(str(path), f"cannot read: {error.strerror}") from None
    config = parse_routing(text, str(path))
    if vocabulary is not None:
        check_vocabulary(config, str(path), vocabulary)
    return config
