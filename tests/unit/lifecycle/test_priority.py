"""Priority rules: alarming words in either language, categories, products, repeat complaints."""

from __future__ import annotations

import pytest

from bot.lifecycle.priority import PriorityFacts, PriorityRules, decide_priority
from bot.lifecycle.sla_policy import load_sla_policies

RULES = load_sla_policies().priority


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("The charger caught fire on my desk", "urgent"),
        ("My son was injured by the blade", "urgent"),
        ("充电器起火了", "urgent"),
        ("我的孩子受伤了", "urgent"),
        ("The box arrived late", "normal"),
        ("The firewall app crashes", "normal"),  # whole words only in English
        ("送货太慢了", "normal"),
    ],
)
def test_words_in_either_language(text: str, priority: str) -> None:
    assert decide_priority(RULES, PriorityFacts(None, None, text)).priority == priority


def test_category_and_repeat_complaints_raise_priority_with_reasons() -> None:
    safety = decide_priority(RULES, PriorityFacts("safety", None, "The lid is sharp"))
    assert safety.priority == "high" and safety.reasons == ("category safety",)
    repeat = decide_priority(RULES, PriorityFacts("delivery", None, "Late again", (2.0, 20.0)))
    assert repeat.priority == "high" and repeat.reasons == ("2 earlier cases within 30 days",)
    old = decide_priority(RULES, PriorityFacts("delivery", None, "Late again", (2.0, 45.0)))
    assert old.priority == "normal" and old.reasons == ()


def test_the_highest_matching_rule_wins_and_keeps_only_its_reasons() -> None:
    decision = decide_priority(RULES, PriorityFacts("safety", None, "smoke came out", (1.0, 2.0)))
    assert decision.priority == "urgent" and decision.reasons == ("words smoke",)


def test_rules_need_known_priorities_and_a_condition() -> None:
    with pytest.raises(ValueError, match="unknown priority"):
        PriorityRules.model_validate({"rules": [{"priority": "asap", "when": {"words": ["fire"]}}]})
    with pytest.raises(ValueError, match="needs a condition"):
        PriorityRules.model_validate({"rules": [{"priority": "high", "when": {}}]})
    rules = PriorityRules.model_validate(
        {"default": "low", "rules": [{"priority": "high", "when": {"product": ["Kettle X1"]}}]}
    )
    assert decide_priority(rules, PriorityFacts(None, "kettle x1", "")).priority == "high"
    assert decide_priority(rules, PriorityFacts(None, "toaster", "")).priority == "low"
