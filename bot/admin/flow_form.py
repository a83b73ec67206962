"""The flow editor's form <-> a flow definition. The form edits what non-programmers change (texts in both
languages: prompts and why each step is asked; option labels, where each step goes next); every other setting is
kept from the working copy."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Empty branch rows offered under each step for adding a branch.
SPARE_BRANCH_ROWS = 1
MAX_BRANCH_ROWS = 20


def branch_rows(step: Mapping[str, Any]) -> list[dict[str, str]]:
    """The step's ways on as editable rows: condition field, value(s), target; the default row last."""
    next_value = step.get("next")
    rows: list[dict[str, str]] = []
    if isinstance(next_value, str):
        rows.append({"field": "", "equals": "", "goto": next_value})
    elif isinstance(next_value, list):
        for branch in next_value:
            when = branch.get("when") or {}
            values = when.get("in") or ([when["equals"]] if when.get("equals") is not None else [])
            rows.append({"field": str(when.get("field") or ""), "equals": ", ".join(str(v) for v in values),
                         "goto": str(branch.get("goto") or "")})
    return rows + [{"field": "", "equals": "", "goto": ""}] * SPARE_BRANCH_ROWS


def _localized(form: Mapping[str, str], prefix: str, base: Any) -> Any:
    en, zh = form.get(f"{prefix}.en"), form.get(f"{prefix}.zh")
    if en is None and zh is None:
        return base
    if not (en or "").strip() and not (zh or "").strip() and base is None:
        return None
    return {"en": en or "", "zh": zh or ""}


def definition_from_form(base: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    definition = copy.deepcopy(dict(base))
    for key in ("title", "greeting"):
        value = _localized(form, key, definition.get(key))
        if value is None:
            definition.pop(key, None)
        else:
            definition[key] = value
    for step in definition.get("steps") or []:
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        prefix = f"step.{step['id']}"
        for key in ("prompt", "confirm_prompt", "why"):
            if key in step or f"{prefix}.{key}.en" in form:
                step[key] = _localized(form, f"{prefix}.{key}", step.get(key))
        for option in step.get("options") or []:
            if isinstance(option, dict):
                option["label"] = _localized(form, f"{prefix}.option.{option.get('value')}", option.get("label"))
        if f"{prefix}.next.0.goto" in form:
            next_value = _next_from_rows(form, prefix)
            if next_value is None:
                step.pop("next", None)
            else:
                step["next"] = next_value
    return definition


def _next_from_rows(form: Mapping[str, str], prefix: str) -> str | list[dict[str, Any]] | None:
    branches: list[dict[str, Any]] = []
    for row in range(MAX_BRANCH_ROWS):
        goto = (form.get(f"{prefix}.next.{row}.goto") or "").strip()
        field = (form.get(f"{prefix}.next.{row}.field") or "").strip()
        equals = (form.get(f"{prefix}.next.{row}.equals") or "").strip()
        if f"{prefix}.next.{row}.goto" not in form:
            break
        if not goto and not field:
            continue
        branch: dict[str, Any] = {"goto": goto}
        if field:
            values = [value.strip() for value in equals.split(",") if value.strip()]
            branch["when"] = {"field": field, "in": values} if len(values) > 1 else {"field": field, "equals": equals}
        branches.append(branch)
    if not branches:
        return None
    if len(branches) == 1 and "when" not in branches[0]:
        return str(branches[0]["goto"])
    return branches
