"""SLA policies as YAML that admins edit (like the routing file): business-hours calendars, the teams that use
them (and their leads), and policies chosen by team / category / priority, first match wins. Validated at load
with errors that name the file, the policy and the reason; `parse_sla_policies` is what the console reuses.

A case keeps the policy it started with: `AppliedPolicy` is the self-contained copy (calendar included) that
is stored with the case, so a later edit of the file changes new cases only."""

from __future__ import annotations

import re
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bot.lifecycle.business_hours import BusinessCalendar, Opening
from bot.lifecycle.errors import CalendarError, SlaConfigError
from bot.lifecycle.priority import PRIORITY_ORDER, PriorityRules
from bot.settings_documents import DocumentProblem, DocumentProblems, read_yaml_mapping, validated

Metric = Literal["first_response", "next_response", "resolution"]
METRICS: tuple[Metric, ...] = ("first_response", "next_response", "resolution")
PRIORITIES = PRIORITY_ORDER

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")
_OPENING = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _duration_seconds(value: object) -> object:
    """"4h", "30m", "1h30m" of business time, as whole seconds."""
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    if match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration like 4h, 30m or 1h30m")
    hours, minutes = (int(part or 0) for part in match.groups())
    return (hours * 60 + minutes) * 60


Seconds = Annotated[int, BeforeValidator(_duration_seconds), Field(ge=0)]
SlackUser = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackChannel = Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,}$")]


def _day_names(spec: str) -> list[int]:
    """"mon", "mon-fri", "sat-sun" -> weekday numbers (Monday 0)."""
    first, _, last = spec.strip().lower().partition("-")
    if first not in _DAYS or (last and last not in _DAYS):
        raise ValueError(f"{spec!r} is not a day or a range of days (mon, tue, ... sun; mon-fri)")
    start = _DAYS.index(first)
    end = _DAYS.index(last) if last else start
    if end < start:
        raise ValueError(f"{spec!r}: a range of days runs forward (mon-fri)")
    return list(range(start, end + 1))


def _opening(spec: str) -> Opening:
    match = _OPENING.match(spec)
    if match is None:
        raise ValueError(f"{spec!r} is not an opening like 09:00-18:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
        raise ValueError(f"{spec!r}: an opening starts before it ends, within one day (24:00 at the latest)")
    return start, end


class CalendarSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"
    # Days ("mon", "mon-fri") -> openings ("09:00-12:00", "13:00-18:00"); empty with always_open.
    hours: dict[str, list[str]] = {}
    holidays: list[date] = []
    always_open: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @model_validator(mode="after")
    def _usable(self) -> CalendarSpec:
        if self.always_open and self.hours:
            raise ValueError("a calendar is either always_open or has hours, not both")
        self.to_calendar()
        return self

    def to_calendar(self) -> BusinessCalendar:
        zone = ZoneInfo(self.timezone)
        if self.always_open:
            return BusinessCalendar(timezone=zone, always_open=True)
        weekly: list[list[Opening]] = [[] for _ in _DAYS]
        for days, openings in self.hours.items():
            for day in _day_names(days):
                weekly[day].extend(_opening(spec) for spec in openings)
        try:
            return BusinessCalendar(
                timezone=zone,
                weekly=tuple(tuple(sorted(day)) for day in weekly),
                holidays=frozenset(self.holidays),
            )
        except CalendarError as error:
            raise ValueError(str(error)) from None


class TeamSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: str | None = None
    # Mentioned in the case thread when a deadline is missed.
    lead: SlackUser | None = None
    # Language of the daily digest posted in the team's channel.
    lang: Literal["en", "zh"] = "en"


class EscalationSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Warn in the case thread once this share of a target is used (0.75 = at 75%); null: no warning.
    warn_at: float | None = Field(default=0.75, gt=0, lt=1)
    mention_lead: bool = True
    # After a breach (and `after` more business time): reassign the case, or post in an escalation channel.
    then: Literal["nothing", "reassign", "channel"] = "nothing"
    reassign_to: SlackUser | None = None
    channel: SlackChannel | None = None
    after: Seconds = 0

    @model_validator(mode="after")
    def _target_given(self) -> EscalationSpec:
        if self.then == "reassign" and self.reassign_to is None:
            raise ValueError("then: reassign needs reassign_to (a Slack user id)")
        if self.then == "channel" and self.channel is None:
            raise ValueError("then: channel needs channel (a Slack channel id)")
        return self


def _lowered(values: list[str] | None) -> list[str] | None:
    return None if values is None else [value.strip().lower() for value in values]


class PolicyConditions(BaseModel):
    """Every condition given must match (AND); any listed value matches (OR); case is ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team: list[str] | None = None
    category: list[str] | None = None
    priority: list[str] | None = None

    @field_validator("team", "category", "priority")
    @classmethod
    def _normalise(cls, values: list[str] | None) -> list[str] | None:
        return _lowered(values)

    @field_validator("priority")
    @classmethod
    def _known_priorities(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if value not in PRIORITIES:
                raise ValueError(f"unknown priority {value!r} (one of {', '.join(PRIORITIES)})")
        return values


class PolicySpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    when: PolicyConditions | None = None
    # Overrides the team's calendar (e.g. a 24/7 calendar for urgent cases).
    calendar: str | None = None
    first_response: Seconds | None = None
    next_response: Seconds | None = None
    resolution: Seconds | None = None
    escalation: EscalationSpec = EscalationSpec()

    @model_validator(mode="after")
    def _has_a_target(self) -> PolicySpec:
        if all(getattr(self, metric) is None for metric in METRICS):
            raise ValueError("a policy needs at least one target (first_response, next_response, resolution)")
        return self


class CsatSettings(BaseModel):
    """The satisfaction survey asked in the customer's own chat after a case is resolved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    # Wall-clock delay after resolution, so the question follows the resolution message.
    ask_after: Seconds = 60
    # Scores at or below this reopen or escalate the case.
    low_score: int = Field(default=2, ge=1, le=4)
    on_low: Literal["reopen", "escalate"] = "reopen"
    ask_comment: bool = True
    # Answers to a survey older than this are no longer taken as answers.
    answer_within_hours: int = Field(default=168, ge=1)


class DuplicateSettings(BaseModel):
    """Duplicate complaints: a new case that likely repeats an open or recent one of the same customer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    # Earlier cases filed longer ago than this are never taken for the same complaint.
    window_days: int = Field(default=14, ge=1, le=365)
    # Word overlap (0-1) that makes two descriptions of the same product or category "the same complaint";
    # a shared order number is enough on its own.
    min_similarity: float = Field(default=0.3, gt=0, le=1)
    # The customer's typed yes/no counts as an answer for this long after the question.
    answer_within_hours: int = Field(default=72, ge=1)


class HousekeepingSettings(BaseModel):
    """Nothing left to rot: wall-clock delays for reminders and automatic closing (null turns a step off)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A customer who has not answered an agent's question is reminded after this long...
    remind_after: Seconds | None = 24 * 3600
    # ...and the case is closed with a message when they still have not answered this long after the reminder.
    close_unanswered_after: Seconds | None = 72 * 3600
    # A resolved case nobody reopened is closed after this long.
    close_resolved_after: Seconds | None = 7 * 24 * 3600


class DigestSettings(BaseModel):
    """A daily summary in each team's channel at the team's first opening hour of the day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    # Cases whose next deadline is this close (business time) count as at risk.
    at_risk_within: Seconds = 4 * 3600


class SlaPolicies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_calendar: str
    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    teams: dict[str, TeamSpec] = {}
    policies: tuple[PolicySpec, ...] = ()
    priority: PriorityRules = PriorityRules()
    csat: CsatSettings = CsatSettings()
    housekeeping: HousekeepingSettings = HousekeepingSettings()
    digest: DigestSettings = DigestSettings()
    duplicates: DuplicateSettings = DuplicateSettings()

    def team_calendar(self, team: str) -> tuple[str, CalendarSpec]:
        spec = self.teams.get(team, TeamSpec())
        name = spec.calendar or self.default_calendar
        return name, self.calendars[name]


class AppliedPolicy(BaseModel):
    """The policy a case started with, self-contained (calendar and lead copied), stored with the case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    calendar_name: str
    calendar: CalendarSpec
    targets: dict[Metric, int]
    escalation: EscalationSpec
    lead: str | None = None

    def business_calendar(self) -> BusinessCalendar:
        return self.calendar.to_calendar()

    def target(self, metric: Metric) -> timedelta | None:
        seconds = self.targets.get(metric)
        return None if seconds is None else timedelta(seconds=seconds)


def _matches(allowed: list[str] | None, value: str | None) -> bool:
    return allowed is None or (value is not None and value.strip().lower() in allowed)


def applied_policy(
    config: SlaPolicies, team: str | None, category: str | None, priority: str | None
) -> AppliedPolicy | None:
    """The first policy whose conditions match the case, resolved against its team's calendar; None: no SLA."""
    for policy in config.policies:
        when = policy.when
        if when is not None and not (
            _matches(when.team, team) and _matches(when.category, category) and _matches(when.priority, priority)
        ):
            continue
        team_spec = config.teams.get(team or "", TeamSpec())
        calendar_name = policy.calendar or team_spec.calendar or config.default_calendar
        targets: dict[Metric, int] = {}
        for metric in METRICS:
            seconds = getattr(policy, metric)
            if seconds is not None:
                targets[metric] = seconds
        return AppliedPolicy(
            name=policy.name,
            calendar_name=calendar_name,
            calendar=config.calendars[calendar_name],
            targets=targets,
            escalation=policy.escalation,
            lead=team_spec.lead,
        )
    return None


def _policy_name_at(config: Any, location: tuple[int | str, ...]) -> str | None:
    if len(location) > 1 and location[0] == "policies" and isinstance(location[1], int):
        policies = config.get("policies") if isinstance(config, dict) else None
        if isinstance(policies, list | tuple) and location[1] < len(policies):
            entry = policies[location[1]]
            name = entry.get("name") if isinstance(entry, dict) else getattr(entry, "name", None)
            return str(name) if name else f"#{location[1] + 1}"
    return None


def check_sla_policies(raw: object) -> SlaPolicies:
    """An SLA document (parsed YAML or the console's JSON) validated; DocumentProblems lists every problem."""
    return validated(SlaPolicies, raw, _reference_problems)


def parse_sla_policies(text: str, source: str) -> SlaPolicies:
    raw: object = None
    try:
        raw = read_yaml_mapping(text, "default_calendar, calendars, teams and policies")
        return check_sla_policies(raw)
    except DocumentProblems as error:
        first = error.problems[0]
        policy = _policy_name_at(raw, first.location)
        raise SlaConfigError(source, first.describe(), policy) from None


def _reference_problems(config: SlaPolicies) -> list[DocumentProblem]:
    problems: list[DocumentProblem] = []
    if config.default_calendar not in config.calendars:
        problems.append(DocumentProblem(
            ("default_calendar",), f"default_calendar {config.default_calendar!r} is not one of the calendars"
        ))
    for team, spec in config.teams.items():
        if spec.calendar is not None and spec.calendar not in config.calendars:
            problems.append(DocumentProblem(("teams", team), f"unknown calendar {spec.calendar!r}"))
    names = [policy.name for policy in config.policies]
    for index, policy in enumerate(config.policies):
        if names.count(policy.name) > 1:
            problems.append(DocumentProblem(("policies", index, "name"), "policy names must be unique"))
        if policy.calendar is not None and policy.calendar not in config.calendars:
            problems.append(DocumentProblem(("policies", index, "calendar"), f"unknown calendar {policy.calendar!r}"))
    return problems


def load_sla_policies(path: Path | None = None) -> SlaPolicies:
    """The policy file at `path`, or the shipped default."""
    if path is None:
        source = "bot/lifecycle/sla.yaml"
        text = resources.files("bot.lifecycle").joinpath("sla.yaml").read_text(encoding="utf-8")
        return parse_sla_policies(text, source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SlaConfigError(str(path), f"cannot read: {error.strerror}") from None
    return parse_sla_policies(text, str(path))


class SlaPolicyFile:
    """The policies in force: loaded at start-up, reloaded on demand (SIGHUP, the console); a broken edit is
    refused with its reason and the last valid policies keep serving."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._current = load_sla_policies(path)

    def __call__(self) -> SlaPolicies:
        return self._current

    def reload(self) -> SlaPolicies:
        self._current = load_sla_policies(self._path)
        return self._current

    def replace(self, policies: SlaPolicies) -> None:
        """Policies validated elsewhere (the console's editor) take effect for the next cases."""
        self._current = policies
