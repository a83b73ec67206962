"""Every problem of a flow definition at once, each on the step and field it concerns.

flows/ validates a definition and stops at the first problem (right for loading files); an editor needs
the whole list, so this module validates each part separately and walks the graph itself, then adds the
publish-time checks that go beyond the schema: steps with no way to a filed case, branches on answers not
collected before them, standard fields never collected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError

from bot.admin.errors import FlowProblem
from flows import EndStep, Flow, Step
from flows.definition import STANDARD_FIELDS

# Step is an Annotated union (a discriminated one): mypy cannot match it to TypeAdapter's type[T] overload.
_STEP: TypeAdapter[Step] = TypeAdapter(cast(Any, Step))
# Fields a complaint flow is expected to collect; a flow without them files cases agents cannot act on.
EXPECTED_FIELDS = ("name", "description", "product", "category")


def check_flow(data: object) -> tuple[Flow | None, tuple[FlowProblem, ...]]:
    """The validated flow (None when it has errors) and every problem found, errors before warnings."""
    if not isinstance(data, Mapping):
        return None, (FlowProblem(None, None, "the flow must be a mapping with id, version, title, start, steps"),)
    try:
        flow = Flow.model_validate(data)
    except ValidationError:
        flow = None
    problems = [*_shape_problems(data)]
    if flow is None and not problems:
        problems += _graph_problems(data)
    if flow is None and not problems:
        # flows/ refused something this module does not know how to spell out: never hide it.
        try:
            Flow.model_validate(data)
        except ValidationError as error:
            problems += [FlowProblem(None, _path(item["loc"]), _message(item)) for item in error.errors()]
    if flow is not None:
        problems += _publish_problems(flow)
    errors = [problem for problem in problems if problem.severity == "error"]
    warnings = [problem for problem in problems if problem.severity == "warning"]
    return (flow if not errors else None), tuple(errors + warnings)


def _message(item: Mapping[str, Any]) -> str:
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "missing":
        return "missing"
    return message


def _path(loc: Iterable[object]) -> str | None:
    parts = [str(part) for part in loc]
    return ".".join(parts) if parts else None


def _shape_problems(data: Mapping[str, Any]) -> list[FlowProblem]:
    """Field-level problems: the flow's own fields, then each step on its own."""
    problems: list[FlowProblem] = []
    top = {key: value for key, value in data.items() if key != "steps"}
    steps = data.get("steps")
    try:
        # Validate the flow's own fields with a stand-in step list, so step problems are not counted twice.
        Flow.model_validate({**top, "steps": [{"id": "x", "kind": "end", "prompt": {"en": "x", "zh": "x"}}],
                             "start": "x"})
    except ValidationError as error:
        for item in error.errors():
            # The stand-in's graph is sound: a flow-level complaint can only be about `messages`.
            problems.append(FlowProblem(None, _path(item["loc"]) or "messages", _message(item)))
    if "start" not in data:
        problems.append(FlowProblem(None, "start", "missing"))
    if not isinstance(steps, list) or not steps:
        problems.append(FlowProblem(None, "steps", "the flow needs at least one step"))
        return problems
    for index, raw in enumerate(steps):
        step_id = str(raw.get("id")) if isinstance(raw, Mapping) and raw.get("id") else f"#{index + 1}"
        try:
            _STEP.validate_python(raw)
        except ValidationError as error:
            for item in error.errors():
                loc = list(item["loc"])
                # The discriminator tag (the step kind) is not part of the path an editor wrote.
                if loc and isinstance(raw, Mapping) and loc[0] == raw.get("kind"):
                    loc = loc[1:]
                message = _message(item)
                if item["type"] == "union_tag_invalid":
                    loc, message = ["kind"], f"unknown step kind: {message}"
                elif item["type"] == "missing" and loc and loc[-1] in ("en", "zh"):
                    message = f"missing {loc[-1]} translation"
                problems.append(FlowProblem(step_id, _path(loc), message))
    return problems


def _graph_problems(data: Mapping[str, Any]) -> list[FlowProblem]:
    """Problems between steps, all of them (the fields of every step are valid when this runs)."""
    steps: list[Step] = [_STEP.validate_python(raw) for raw in data["steps"]]
    problems: list[FlowProblem] = []
    by_id: dict[str, Step] = {}
    for step in steps:
        if step.id in by_id:
            problems.append(FlowProblem(step.id, "id", "duplicate step id"))
        by_id.setdefault(step.id, step)
    start = str(data.get("start"))
    if start not in by_id:
        problems.append(FlowProblem(None, "start", f"start refers to unknown step '{start}'"))
    fields_of: dict[str, list[Step]] = {}
    for step in steps:
        for name in {step.id, step.field}:
            if name:
                fields_of.setdefault(name, []).append(step)
    for step in steps:
        problems += _step_link_problems(step, by_id, fields_of)
    dangling = any("refers to unknown step" in problem.message for problem in problems)
    # Steps cut off by a dangling link are its consequence, not problems of their own: report the link only.
    if start in by_id and not dangling:
        reachable = _reachable(start, by_id)
        for step in steps:
            if step.id not in reachable:
                problems.append(FlowProblem(step.id, None, "unreachable: no path from the start leads to this step"))
        if not any(isinstance(by_id[step_id], EndStep) for step_id in reachable):
            problems.append(FlowProblem(None, "steps", "the flow has no reachable end step"))
    return problems


def _step_link_problems(
    step: Step, by_id: Mapping[str, Step], fields_of: Mapping[str, list[Step]]
) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    if isinstance(step, EndStep):
        if step.next is not None:
            problems.append(FlowProblem(step.id, "next", "an end step cannot have 'next'"))
        return problems
    if step.next is None:
        return [FlowProblem(step.id, "next", "missing 'next' (only end steps may stop the flow)")]
    if step.field == "evidence" and step.kind != "files":
        problems.append(FlowProblem(step.id, "field", "only a files step can fill 'evidence'"))
    if step.kind == "confirm" and step.field is not None:
        problems.append(FlowProblem(step.id, "field", "a confirm step cannot fill a field"))
    if step.field is not None and step.label is None and step.field not in STANDARD_FIELDS:
        problems.append(
            FlowProblem(step.id, "label", f"missing 'label' (en and zh) for the custom field '{step.field}'")
        )
    if isinstance(step.next, str):
        if step.next not in by_id:
            problems.append(FlowProblem(step.id, "next", f"next refers to unknown step '{step.next}'"))
        return problems
    if not step.next:
        return [*problems, FlowProblem(step.id, "next", "the list of branches is empty")]
    for index, branch in enumerate(step.next):
        if branch.goto not in by_id:
            problems.append(FlowProblem(step.id, f"next.{index}.goto", f"goto refers to unknown step '{branch.goto}'"))
        last = index == len(step.next) - 1
        if branch.when is None and not last:
            problems.append(FlowProblem(step.id, f"next.{index}", "a branch without 'when' must be the last one"))
        if branch.when is not None and last:
            problems.append(FlowProblem(step.id, f"next.{index}", "the last branch must be a default without 'when'"))
        if branch.when is None:
            continue
        targets = fields_of.get(branch.when.field, [])
        if not targets:
            problems.append(
                FlowProblem(step.id, f"next.{index}.when.field", f"unknown field '{branch.when.field}'")
            )
        for target in targets:
            if target.kind == "choice" and not target.allow_text:
                valid = {option.value for option in target.options}
                unknown = [value for value in branch.when.values() if value not in valid]
                if unknown:
                    problems.append(
                        FlowProblem(
                            step.id,
                            f"next.{index}.when",
                            f"'{branch.when.field}' is compared with {unknown[0]!r}, which is not one of its "
                            f"options ({', '.join(sorted(valid))})",
                        )
                    )
    return problems


def _successors(step: Step) -> list[str]:
    if isinstance(step.next, str):
        return [step.next]
    return [branch.goto for branch in step.next or []]


def _reachable(start: str, by_id: Mapping[str, Step]) -> set[str]:
    reachable: set[str] = set()
    pending = [start]
    while pending:
        step_id = pending.pop()
        if step_id in reachable or step_id not in by_id:
            continue
        reachable.add(step_id)
        pending.extend(_successors(by_id[step_id]))
    return reachable


def _publish_problems(flow: Flow) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    by_id = {step.id: step for step in flow.steps}
    # Steps with no way to a filed case: walk backwards from every end step that files one.
    predecessors: dict[str, list[str]] = {step.id: [] for step in flow.steps}
    for step in flow.steps:
        for target in _successors(step):
            predecessors[target].append(step.id)
    filing = [step.id for step in flow.steps if isinstance(step, EndStep) and step.file_case]
    leads_to_case: set[str] = set()
    pending = list(filing)
    while pending:
        step_id = pending.pop()
        if step_id in leads_to_case:
            continue
        leads_to_case.add(step_id)
        pending.extend(predecessors[step_id])
    for step in flow.steps:
        if step.id not in leads_to_case and not isinstance(step, EndStep):
            problems.append(FlowProblem(step.id, "next", "no path from this step leads to a filed case"))
    # A branch on an answer must come after a step that collects it, on every path from the start.
    collected = _collected_before(flow, by_id, predecessors)
    for step in flow.steps:
        if isinstance(step.next, list):
            for index, branch in enumerate(step.next):
                if branch.when is None:
                    continue
                names = collected.get(step.id, set()) | {name for name in (step.id, step.field) if name}
                if branch.when.field not in names:
                    problems.append(
                        FlowProblem(
                            step.id,
                            f"next.{index}.when.field",
                            f"'{branch.when.field}' is not always collected before this step",
                        )
                    )
    filled = {step.field for step in flow.steps if step.field}
    for name in EXPECTED_FIELDS:
        if name not in filled:
            problems.append(
                FlowProblem(None, "steps", f"no step collects the standard field '{name}'", severity="warning")
            )
    return problems


def _collected_before(
    flow: Flow, by_id: Mapping[str, Step], predecessors: Mapping[str, list[str]]
) -> dict[str, set[str]]:
    """For each step, the answers collected on EVERY path from the start to it (a must-analysis)."""
    universe = {name for step in flow.steps for name in (step.id, step.field) if name}
    before: dict[str, set[str]] = {step.id: set(universe) for step in flow.steps}
    before[flow.start] = set()
    changed = True
    while changed:
        changed = False
        for step in flow.steps:
            if step.id == flow.start:
                continue
            incoming = [
                before[pred] | {name for name in (pred, by_id[pred].field) if name}
                for pred in predecessors[step.id]
            ]
            new = set.intersection(*incoming) if incoming else set()
            if new != before[step.id]:
                before[step.id] = new
                changed = True
    return before
