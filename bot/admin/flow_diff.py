"""What changed between two versions of a flow, in words an editor reads:
"step `order_no`: prompt (zh) changed; new branch to `refund` when product = kettle"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_LOCALIZED = ("en", "zh")


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for key in ("title", "greeting"):
        lines += [f"{key} {change}" for change in _value_changes(before.get(key), after.get(key))]
    if before.get("start") != after.get("start"):
        lines.append(f"the flow now starts at `{after.get('start')}` (was `{before.get('start')}`)")
    if before.get("default_lang") != after.get("default_lang"):
        lines.append(f"default language changed to {after.get('default_lang')}")
    old_messages, new_messages = before.get("messages") or {}, after.get("messages") or {}
    for key in sorted(set(old_messages) | set(new_messages)):
        changed = _value_changes(old_messages.get(key), new_messages.get(key))
        lines += [f"message `{key}` {change}" for change in changed]
    old_steps = {step.get("id"): step for step in before.get("steps") or [] if isinstance(step, Mapping)}
    new_steps = {step.get("id"): step for step in after.get("steps") or [] if isinstance(step, Mapping)}
    for step_id, step in new_steps.items():
        if step_id not in old_steps:
            lines.append(f"new step `{step_id}` ({step.get('kind')})")
            continue
        changes = _step_changes(old_steps[step_id], step)
        if changes:
            lines.append(f"step `{step_id}`: " + "; ".join(changes))
    lines += [f"step `{step_id}` removed" for step_id in old_steps if step_id not in new_steps]
    return lines


def _value_changes(old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if old is None:
        return ["added"]
    if new is None:
        return ["removed"]
    if isinstance(old, Mapping) and isinstance(new, Mapping) and set(old) <= set(_LOCALIZED) >= set(new):
        return [f"({lang}) changed" for lang in _LOCALIZED if old.get(lang) != new.get(lang)]
    return [f"changed from {_short(old)} to {_short(new)}"]


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _step_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    changes: list[str] = []
    for key in sorted((set(old) | set(new)) - {"id", "next", "options"}, key=lambda name: (name != "prompt", name)):
        changes += [f"{key} {change}" for change in _value_changes(old.get(key), new.get(key))]
    changes += _option_changes(old.get("options") or [], new.get("options") or [])
    changes += _next_changes(old.get("next"), new.get("next"))
    return changes


def _option_changes(old: list[Any], new: list[Any]) -> list[str]:
    old_by = {item.get("value"): item for item in old if isinstance(item, Mapping)}
    new_by = {item.get("value"): item for item in new if isinstance(item, Mapping)}
    changes = [f"new option `{value}`" for value in new_by if value not in old_by]
    changes += [f"option `{value}` removed" for value in old_by if value not in new_by]
    for value, item in new_by.items():
        if value in old_by:
            changed = _value_changes(old_by[value].get("label"), item.get("label"))
            changes += [f"option `{value}` label {change}" for change in changed]
    return changes


def _branches(next_value: Any) -> list[tuple[str, str]]:
    """(goto, condition in words) for each way out of a step."""
    if isinstance(next_value, str):
        return [(next_value, "")]
    branches: list[tuple[str, str]] = []
    for branch in next_value or []:
        if not isinstance(branch, Mapping):
            continue
        when = branch.get("when")
        condition = ""
        if isinstance(when, Mapping):
            values = when.get("in") or when.get("in_")
            if when.get("equals") is not None:
                condition = f"{when.get('field')} = {when.get('equals')}"
            elif values:
                condition = f"{when.get('field')} in {', '.join(str(value) for value in values)}"
        branches.append((str(branch.get("goto")), condition))
    return branches


def _next_changes(old: Any, new: Any) -> list[str]:
    old_branches, new_branches = _branches(old), _branches(new)
    if old_branches == new_branches:
        return []
    changes: list[str] = []
    for goto, condition in new_branches:
        if (goto, condition) not in old_branches:
            changes.append(f"new branch to `{goto}` when {condition}" if condition else f"now goes on to `{goto}`")
    for goto, condition in old_branches:
        if (goto, condition) not in new_branches and condition:
            changes.append(f"branch to `{goto}` when {condition} removed")
    if not changes:
        changes.append("branch order changed")
    return changes
