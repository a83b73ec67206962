"""Routing rules, team validation errors and round-robin assignment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.desk.routing import (
    SHIPPED_ROUTING_FILE,
    CaseFacts,
    RoutingConfigError,
    RoutingVocabulary,
    check_vocabulary,
    load_routing,
    next_agent,
    parse_routing,
    route,
    unknown_values,
)

CONFIG = """
default_team: general
teams:
  - {name: general, slack_channel: C0GENERAL, members: [U1, U2]}
  - {name: quality, slack_channel: C0QUALITY, members: [U3], max_open_per_agent: 2}
  - {name: china, slack_channel: C0CHINA}
rules:
  - team: quality
    when: {category: [Product_Defect, safety], channel: [web, telegram]}
  - team: china
    when: {language: [zh]}
  - team: quality
    when: {product: [kettle]}
"""


def facts(
    category: str | None = None, product: str | None = None, channel: str = "web", language: str = "en"
) -> CaseFacts:
    return CaseFacts(category=category, product=product, channel=channel, language=language)


def test_first_matching_rule_wins_and_conditions_combine() -> None:
    config = parse_routing(CONFIG, "routing.yaml")
    assert route(config, facts(category="product_defect", language="zh")).name == "quality"
    # channel does not match rule 0, so the language rule picks the team
    assert route(config, facts(category="product_defect", channel="slack", language="zh")).name == "china"
    assert route(config, facts(category="billing", product="KETTLE ")).name == "quality"


def test_default_team_when_nothing_matches_or_facts_are_missing() -> None:
    config = parse_routing(CONFIG, "routing.yaml")
    assert route(config, facts(category="billing")).name == "general"
    assert route(config, CaseFacts(None, None, None, None)).name == "general"


def test_team_lookup_by_slack_channel() -> None:
    config = parse_routing(CONFIG, "routing.yaml")
    found = config.team_for_slack_channel("C0QUALITY")
    assert found is not None
    assert (found.name, found.max_open_per_agent) == ("quality", 2)
    assert config.team_for_slack_channel("C0NOPE") is None


@pytest.mark.parametrize(
    ("text", "rule_index", "reason"),
    [
        (CONFIG.replace("team: china\n", "team: chinaa\n"), 1, "unknown team 'chinaa'"),
        (CONFIG.replace("{language: [zh]}", "{}"), 1, "at least one condition"),
        (CONFIG.replace("{product: [kettle]}", "{colour: [red]}"), 2, "rules.2.when.colour"),
        (CONFIG.replace("default_team: general", "default_team: nobody"), None, "default_team 'nobody'"),
        (CONFIG.replace("C0CHINA", "c0china"), None, "teams.2.slack_channel"),
        (CONFIG.replace("[U1, U2]", "[U1, U1]"), None, "listed twice"),
        (CONFIG.replace("[U1, U2]", "[alice]"), None, "'alice' is not a Slack user id"),
        (CONFIG.replace("name: china", "name: general"), None, "unique: general"),
        (CONFIG.replace("max_open_per_agent: 2", "max_open_per_agent: 0"), None, "max_open_per_agent"),
        ("teams: [", None, "not valid YAML"),
        ("- just a list", None, "expected a mapping"),
    ],
)
def test_clear_errors_name_file_rule_and_reason(text: str, rule_index: int | None, reason: str) -> None:
    with pytest.raises(RoutingConfigError) as raised:
        parse_routing(text, "routing.yaml")
    assert raised.value.rule_index == rule_index
    assert reason in str(raised.value)
    assert str(raised.value).startswith("routing.yaml")
    if rule_index is not None:
        assert f"rules[{rule_index}]" in str(raised.value)


def test_shipped_routing_file_is_valid() -> None:
    config = load_routing(SHIPPED_ROUTING_FILE)
    assert config.team(config.default_team).name == config.default_team


def test_missing_file_is_a_routing_error(tmp_path: Path) -> None:
    with pytest.raises(RoutingConfigError, match="cannot read"):
        load_routing(tmp_path / "absent.yaml")


def test_round_robin_continues_after_the_last_agent_and_wraps() -> None:
    members = ["U1", "U2", "U3"]
    assert next_agent(members, None, {}, 5) == "U1"
    assert next_agent(members, "U1", {}, 5) == "U2"
    assert next_agent(members, "U3", {}, 5) == "U1"
    # someone who left the team no longer anchors the cursor
    assert next_agent(members, "U9", {}, 5) == "U1"


def test_round_robin_skips_agents_at_capacity_and_waits_when_all_are_full() -> None:
    members = ["U1", "U2", "U3"]
    assert next_agent(members, "U1", {"U2": 2}, 2) == "U3"
    assert next_agent(members, "U2", {"U3": 2, "U1": 3}, 2) == "U2"
    assert next_agent(members, "U1", {"U1": 2, "U2": 2, "U3": 2}, 2) is None
    assert next_agent([], None, {}, 2) is None


def test_round_robin_is_fair_over_many_cases() -> None:
    members = ["U1", "U2", "U3"]
    last: str | None = None
    counts = {member: 0 for member in members}
    for _ in range(30):
        last = next_agent(members, last, {}, 100)
        assert last is not None
        counts[last] += 1
    assert counts == {"U1": 10, "U2": 10, "U3": 10}


def test_the_shipped_file_names_only_what_cases_can_carry() -> None:
    # The shipped rules use the taxonomy's ids, so every team can get a case.
    config = load_routing(SHIPPED_ROUTING_FILE, RoutingVocabulary.load())
    categories = {value for rule in config.rules for value in rule.when.category or ()}
    assert categories == {"product_quality", "delivery_logistics"}


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("category: [product_defect]", "category 'product_defect' is not in the taxonomy (known: billing_refund,"),
        ("product: [sewing_machine]", "product 'sewing_machine' is not in the catalog"),
        ("channel: [whatsapp]", "channel 'whatsapp' is not in the known channels"),
        ("language: [fr]", "language 'fr' is not in the supported languages (known: en, zh)"),
    ],
)
def test_a_rule_that_could_never_match_is_refused(tmp_path: Path, condition: str, problem: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "default_team: a\nteams:\n  - {name: a, slack_channel: C0000AAAA}\n"
        f"rules:\n  - {{team: a, when: {{channel: [web]}}}}\n  - {{team: a, when: {{{condition}}}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(RoutingConfigError) as raised:
        load_routing(path, RoutingVocabulary.load())
    assert f"{path}: rules[1]: {problem}" in str(raised.value)
    # Products come from the business's catalog (PLAINT_CATALOG_PATH), ids only.
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("products:\n  - {id: sewing_machine, label: {en: Sewing machine, zh: 缝纫机}}\n",
                       encoding="utf-8")
    if condition.startswith("product"):
        assert load_routing(path, RoutingVocabulary.load(catalog)).rules[1].when.product == ["sewing_machine"]


def test_one_check_finds_every_unknown_value_for_start_up_and_the_console() -> None:
    config = parse_routing(
        "default_team: a\nteams:\n  - {name: a, slack_channel: C0000AAAA}\nrules:\n"
        "  - {team: a, when: {category: [nonsense, product_quality], channel: [fax]}}\n"
        "  - {team: a, when: {product: [spaceship], language: [EN, fr]}}\n",
        "routing.yaml",
    )
    vocabulary = RoutingVocabulary(frozenset({"product_quality"}), frozenset({"kettle"}))
    assert [(u.rule_index, u.field, u.value) for u in unknown_values(config, vocabulary)] == [
        (0, "category", "nonsense"), (0, "channel", "fax"), (1, "product", "spaceship"), (1, "language", "fr"),
    ]
    with pytest.raises(RoutingConfigError) as raised:
        check_vocabulary(config, "routing.yaml", vocabulary)
    assert str(raised.value) == (
        "routing.yaml: rules[0]: category 'nonsense' is not in the taxonomy (known: product_quality)"
    )
