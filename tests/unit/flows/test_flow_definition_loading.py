"""Loading flow files: valid ones load, broken ones are refused naming file, step and reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flows import FlowDefinitionError, TextStep, flow_json_schema, load_flow, load_flow_text

VALID = """\
id: tiny
version: 3
title: {en: Tiny, zh: 小}
start: ask_name
steps:
  - id: ask_name
    kind: text
    field: name
    prompt: {en: "Name?", zh: "姓名？"}
    next: pick
  - id: pick
    kind: choice
    field: mood
    label: {en: mood, zh: 心情}
    prompt: {en: "Mood?", zh: "心情？"}
    options:
      - {value: good, label: {en: Good, zh: 好}}
      - {value: bad, label: {en: Bad, zh: 差}}
    next:
      - {when: {field: mood, equals: bad}, goto: why}
      - {goto: finish}
  - id: why
    kind: text
    field: description
    prompt: {en: "Why?", zh: "为什么？"}
    next: finish
  - id: finish
    kind: end
    prompt: {en: "Bye {case_number}", zh: "再见 {case_number}"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> FlowDefinitionError:
    path = write(tmp_path, text)
    with pytest.raises(FlowDefinitionError) as caught:
        load_flow(path)
    error = caught.value
    assert error.source == str(path)
    assert str(error).startswith(f"{path}: ")
    return error


def test_a_valid_file_loads(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, VALID))
    assert (flow.id, flow.version, flow.start) == ("tiny", 3, "ask_name")
    step = flow.step("ask_name")
    assert isinstance(step, TextStep) and step.prompt.zh == "姓名？"
    with pytest.raises(KeyError):
        flow.step("nope")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("    next: pick", "    next: [pick"))
    assert error.step is None
    assert "YAML syntax error at line" in error.reason


def test_unknown_next_step_names_the_step(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("next: pick", "next: pik"))
    assert error.step == "ask_name"
    assert "next refers to unknown step 'pik'" in error.reason
    assert "line 6" in error.reason
    assert str(error) == f"{error.source}: step 'ask_name': {error.reason}"


def test_unknown_branch_target(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("goto: why}", "goto: whyy}"))
    assert error.step == "pick"
    assert "next[0].goto refers to unknown step 'whyy'" in error.reason


def test_branch_on_a_value_that_is_not_an_option(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("equals: bad", "equals: awful"))
    assert error.step == "pick"
    assert "'awful'" in error.reason and "not one of its options" in error.reason


def test_branch_on_an_unknown_field(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("field: mood, equals", "field: colour, equals"))
    assert error.step == "pick"
    assert "unknown field 'colour'" in error.reason


def test_branches_need_a_default_last(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("      - {goto: finish}\n", ""))
    assert error.step == "pick"
    assert "last branch must be a default" in error.reason


def test_unknown_start(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("start: ask_name", "start: begin"))
    assert error.step is None
    assert "start refers to unknown step 'begin'" in error.reason


def test_duplicate_step_ids(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("id: why", "id: pick"))
    assert error.step == "pick"
    assert "duplicate step id" in error.reason


def test_unreachable_step(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("goto: why}", "goto: finish}"))
    assert error.step == "why"
    assert "unreachable" in error.reason


def test_missing_translation_names_step_and_text(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace('prompt: {en: "Why?", zh: "为什么？"}', 'prompt: {en: "Why?"}'))
    assert error.step == "why"
    assert "missing zh translation of prompt" in error.reason


def test_empty_translation(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace('zh: "心情？"', 'zh: "  "'))
    assert error.step == "pick"
    assert "prompt.zh" in error.reason and "empty" in error.reason


def test_a_flow_without_an_end(tmp_path: Path) -> None:
    text = VALID.replace("    kind: end\n", "    kind: text\n    next: ask_name\n")
    error = refused(tmp_path, text)
    assert error.step is None
    assert "no reachable end step" in error.reason


def test_only_end_steps_may_stop(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("    next: finish\n  - id: finish", "  - id: finish"))
    assert error.step == "why"
    assert "missing 'next'" in error.reason


def test_unknown_step_kind(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("kind: choice", "kind: slider"))
    assert error.step == "pick"
    assert "unknown step kind" in error.reason


def test_field_level_validation_names_the_step(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("    field: description\n", "    field: description\n    min_length: -1\n"))
    assert error.step == "why"
    assert error.reason.startswith("min_length: ")


def test_custom_field_needs_a_label(tmp_path: Path) -> None:
    error = refused(tmp_path, VALID.replace("    label: {en: mood, zh: 心情}\n", ""))
    assert error.step == "pick"
    assert "missing 'label'" in error.reason


def test_files_limits_are_checked(tmp_path: Path) -> None:
    text = VALID.replace(
        "  - id: why\n    kind: text\n    field: description\n",
        "  - id: why\n    kind: files\n    field: evidence\n    min_files: 3\n    max_files: 2\n",
    )
    error = refused(tmp_path, text)
    assert error.step == "why"
    assert "min_files 3 is greater than max_files 2" in error.reason


def test_message_override_must_keep_placeholders(tmp_path: Path) -> None:
    text = VALID + 'messages:\n  too_short: {en: "Longer please", zh: "再写长一点，至少 {min} 个字"}\n'
    error = refused(tmp_path, text)
    assert "messages.too_short.en" in error.reason


def test_not_a_mapping_and_unreadable_file(tmp_path: Path) -> None:
    assert "must contain a mapping" in refused(tmp_path, "- just\n- a list\n").reason
    with pytest.raises(FlowDefinitionError) as caught:
        load_flow(tmp_path / "missing.yaml")
    assert "cannot read the file" in caught.value.reason


def test_load_flow_text_uses_the_given_source_name() -> None:
    with pytest.raises(FlowDefinitionError) as caught:
        load_flow_text(VALID.replace("next: pick", "next: nowhere"), "admin upload #7")
    assert str(caught.value).startswith("admin upload #7: step 'ask_name': ")


def test_json_schema_for_editors() -> None:
    schema = flow_json_schema()
    assert schema["title"] == "Flow"
    assert "steps" in schema["properties"]  # type: ignore[operator]
    kinds = str(schema)
    for kind in ("text", "choice", "email", "phone", "datetime", "files", "proposal", "confirm", "end"):
        assert f"'{kind}'" in kinds
