"""The editor's words: every problem of a flow at once, and what changed between two versions."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from bot.admin.flow_checks import check_flow
from bot.admin.flow_diff import describe_changes
from flows import default_flow_path


def shipped() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(default_flow_path().read_text(encoding="utf-8"))
    return document


def step(definition: dict[str, Any], step_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in definition["steps"] if item["id"] == step_id)
    return found


def test_the_shipped_flow_has_no_problems() -> None:
    flow, problems = check_flow(shipped())
    assert flow is not None and problems == ()


def test_the_diff_speaks_in_words() -> None:
    before = shipped()
    after = copy.deepcopy(before)
    step(after, "expected_resolution")["prompt"]["zh"] = "您希望怎么处理？"
    step(after, "product")["next"] = [
        {"when": {"field": "product", "equals": "kettle"}, "goto": "expected_resolution"},
        {"goto": "category"},
    ]
    after["steps"].append({"id": "extra", "kind": "text", "prompt": {"en": "More?", "zh": "还有吗？"}, "next": "done"})
    assert describe_changes(before, after) == [
        "step `product`: new branch to `expected_resolution` when product = kettle",
        "step `expected_resolution`: prompt (zh) changed",
        "new step `extra` (text)",
    ]
    assert describe_changes(after, before)[-1] == "step `extra` removed"
    assert describe_changes(before, before) == []


def test_every_problem_of_a_flow_is_listed_on_its_step() -> None:
    definition = shipped()
    step(definition, "name")["prompt"] = {"en": "Name?", "zh": "   "}
    step(definition, "email")["kind"] = "telepathy"
    step(definition, "contact_method")["options"][0]["synonyms"] = {"en": ["call me", " "]}
    definition["greeting"] = {"en": "Hi"}
    flow, problems = check_flow(definition)
    assert flow is None
    found = {(p.step, p.field, p.message) for p in problems}
    assert ("name", "prompt.zh", "translation is empty") in found
    assert ("email", "kind", "unknown step kind: Input tag 'telepathy' found using 'kind' does not match any of "
            "the expected tags: 'text', 'choice', 'email', 'phone', 'datetime', 'files', 'proposal', 'confirm', "
            "'end'") in found
    assert (None, "greeting.zh", "missing") in found
    assert ("contact_method", "options.0.synonyms.en", "a synonym is empty or longer than 64 characters") in found


def test_steps_with_no_way_to_a_filed_case_are_errors_and_missing_standard_fields_warnings() -> None:
    definition = shipped()
    definition["steps"].append(
        {"id": "goodbye", "kind": "end", "prompt": {"en": "Bye", "zh": "再见"}, "file_case": False}
    )
    definition["steps"].append(
        {"id": "loop", "kind": "text", "prompt": {"en": "Again?", "zh": "再说一次？"}, "next": "goodbye"}
    )
    step(definition, "name")["next"] = [
        {"when": {"field": "name", "equals": "nobody"}, "goto": "loop"},
        {"goto": "contact_method"},
    ]
    flow, problems = check_flow(definition)
    assert flow is None
    assert [(p.step, p.message, p.severity) for p in problems] == [
        ("loop", "no path from this step leads to a filed case", "error"),
    ]
    definition = shipped()
    for item in definition["steps"]:
        if item["id"] == "product":
            item["next"] = "category"
    definition["steps"] = [item for item in definition["steps"] if item["id"] != "name"]
    definition["start"] = "contact_method"
    flow, problems = check_flow(definition)
    assert flow is not None
    assert [(p.message, p.severity) for p in problems] == [
        ("no step collects the standard field 'name'", "warning")
    ]
