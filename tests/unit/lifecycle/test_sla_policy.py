"""The SLA policy file: validated with errors naming the file, the policy and the reason; policies chosen by
team / category / priority; the shipped file loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.lifecycle.business_hours import add_business_time
from bot.lifecycle.errors import SlaConfigError
from bot.lifecycle.sla_policy import SlaPolicyFile, applied_policy, load_sla_policies, parse_sla_policies

VALID = """
default_calendar: office
calendars:
  office: {timezone: Europe/Berlin, hours: {mon-fri: ["09:00-12:00", "13:00-17:00"], sat: ["10:00-14:00"]},
           holidays: [2026-12-25]}
  always: {always_open: true}
teams:
  quality: {calendar: office, lead: ULEAD0001}
policies:
  - name: urgent-safety
    when: {category: [Safety], priority: [urgent]}
    calendar: always
    first_response: 30m
  - name: quality
    when: {team: [quality]}
    first_response: 2h
    resolution: 1h30m
  - name: default
    first_response: 8h
"""


def test_policies_are_chosen_by_team_category_and_priority() -> None:
    config = parse_sla_policies(VALID, "sla.yaml")
    urgent = applied_policy(config, "quality", "safety", "urgent")
    assert urgent is not None and urgent.name == "urgent-safety" and urgent.calendar.always_open
    assert urgent.targets == {"first_response": 1800}
    assert urgent.lead == "ULEAD0001"
    quality = applied_policy(config, "Quality", "safety", "normal")
    assert quality is not None and quality.name == "quality" and quality.targets["resolution"] == 5400
    fallback = applied_policy(config, "general", None, None)
    assert fallback is not None
    assert (fallback.name, fallback.calendar_name, fallback.lead) == ("default", "office", None)


def test_the_applied_policy_survives_a_round_trip_through_the_database_json() -> None:
    config = parse_sla_policies(VALID, "sla.yaml")
    policy = applied_policy(config, "quality", None, None)
    assert policy is not None
    again = type(policy).model_validate(policy.model_dump(mode="json"))
    assert again == policy
    # Saturday opening hours and the Berlin zone are part of the copy.
    saturday = datetime(2026, 12, 5, 9, tzinfo=UTC)  # 10:00 in Berlin
    assert add_business_time(again.business_calendar(), saturday, timedelta(hours=4)) == datetime(
        2026, 12, 5, 13, tzinfo=UTC
    )


def test_no_matching_policy_means_no_sla() -> None:
    text = VALID.replace("  - name: default\n    first_response: 8h\n", "")
    assert applied_policy(parse_sla_policies(text, "sla.yaml"), "general", None, None) is None


@pytest.mark.parametrize(
    ("change", "policy", "reason"),
    [
        (("first_response: 2h", "first_response: two hours"), "quality", "not a duration like 4h"),
        (("first_response: 30m", "first_respons: 30m"), "urgent-safety", "first_respons"),
        (("priority: [urgent]", "priority: [critical]"), "urgent-safety", "unknown priority 'critical'"),
        (("calendar: always", "calendar: nights"), "urgent-safety", "unknown calendar 'nights'"),
        (("name: default", "name: quality"), "quality", "policy names must be unique"),
        (("    first_response: 8h\n", "    escalation: {warn_at: 0.5}\n"), "default", "needs at least one target"),
    ],
)
def test_errors_name_the_file_the_policy_and_the_reason(change: tuple[str, str], policy: str, reason: str) -> None:
    with pytest.raises(SlaConfigError) as caught:
        parse_sla_policies(VALID.replace(*change, 1), "config/sla.yaml")
    assert caught.value.source == "config/sla.yaml"
    assert caught.value.policy == policy
    assert reason in str(caught.value)
    assert str(caught.value).startswith(f"config/sla.yaml: policy {policy!r}: ")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("Europe/Berlin", "Mars/Olympus"), "not an IANA time zone"),
        (("09:00-12:00", "12:00-09:00"), "starts before it ends"),
        (("mon-fri", "fri-mon"), "runs forward"),
        (("mon-fri", "weekdays"), "not a day or a range of days"),
        (("default_calendar: office", "default_calendar: shop"), "default_calendar 'shop'"),
        (("quality: {calendar: office", "quality: {calendar: shop"), "teams.quality: unknown calendar 'shop'"),
        (("lead: ULEAD0001", "lead: bob"), "teams.quality.lead"),
        (("always: {always_open: true}", 'always: {always_open: true, hours: {mon: ["09:00-10:00"]}}'),
         "either always_open or has hours"),
    ],
)
def test_calendar_and_team_errors_say_where(change: tuple[str, str], reason: str) -> None:
    with pytest.raises(SlaConfigError, match=reason):
        parse_sla_policies(VALID.replace(*change, 1), "sla.yaml")


def test_escalation_needs_its_target() -> None:
    text = VALID.replace("first_response: 8h", "first_response: 8h\n    escalation: {then: reassign}")
    with pytest.raises(SlaConfigError, match="needs reassign_to") as caught:
        parse_sla_policies(text, "sla.yaml")
    assert caught.value.policy == "default"


def test_not_yaml_or_not_a_mapping() -> None:
    with pytest.raises(SlaConfigError, match="not valid YAML"):
        parse_sla_policies("policies: [", "sla.yaml")
    with pytest.raises(SlaConfigError, match="expected a mapping"):
        parse_sla_policies("- 1", "sla.yaml")


def test_the_shipped_policies_load_and_a_file_can_replace_them(tmp_path: Path) -> None:
    shipped = load_sla_policies()
    assert {policy.name for policy in shipped.policies} == {"urgent", "high", "standard"}
    assert shipped.priority.rules
    path = tmp_path / "sla.yaml"
    path.write_text(VALID, encoding="utf-8")
    current = SlaPolicyFile(path)
    assert [policy.name for policy in current().policies] == ["urgent-safety", "quality", "default"]
    path.write_text(VALID.replace("Europe/Berlin", "Nowhere/Else"), encoding="utf-8")
    with pytest.raises(SlaConfigError, match="Nowhere/Else"):
        current.reload()
    # The broken edit is refused; the last valid policies keep serving.
    assert [policy.name for policy in current().policies] == ["urgent-safety", "quality", "default"]
    with pytest.raises(SlaConfigError, match="cannot read"):
        load_sla_policies(tmp_path / "missing.yaml")
