"""The flow drawn as a graph, server-side: steps as nodes in definition order, branches as labelled edges,
and the customer's main way to a filed case (the default branch at every step) highlighted."""

from __future__ import annotations

import itertools

from markupsafe import Markup, escape

from flows import EndStep, Flow, Step

NODE_WIDTH = 240
NODE_HEIGHT = 34
ROW = 54
LEFT = 16


def _exits(step: Step) -> list[tuple[str, str]]:
    if isinstance(step.next, str):
        return [(step.next, "")]
    exits: list[tuple[str, str]] = []
    for branch in step.next or []:
        label = ""
        if branch.when is not None:
            label = f"{branch.when.field} = {', '.join(branch.when.values())}"
        exits.append((branch.goto, label))
    return exits


def main_path(flow: Flow) -> list[str]:
    """From the start, following each step's default way on, until an end step."""
    path: list[str] = []
    step_id: str | None = flow.start
    while step_id is not None and step_id not in path and flow.has_step(step_id):
        path.append(step_id)
        exits = _exits(flow.step(step_id))
        step_id = exits[-1][0] if exits else None
    return path


def flow_svg(flow: Flow, problem_steps: frozenset[str] = frozenset()) -> Markup:
    index = {step.id: number for number, step in enumerate(flow.steps)}
    highlighted = main_path(flow)
    files_case = bool(highlighted) and isinstance(flow.step(highlighted[-1]), EndStep)
    on_path = set(highlighted) if files_case else set()
    path_edges = set(itertools.pairwise(highlighted)) if files_case else set()
    height = ROW * len(flow.steps) + 10
    width = NODE_WIDTH + LEFT + 260
    parts: list[str] = [
        f'<svg class="flow-graph" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker>'
        f"</defs>"
    ]
    for number, step in enumerate(flow.steps):
        for lane, (target, label) in enumerate(_exits(step)):
            if target not in index:
                continue
            y1 = 10 + number * ROW + NODE_HEIGHT / 2
            y2 = 10 + index[target] * ROW + NODE_HEIGHT / 2
            x = LEFT + NODE_WIDTH
            bend = x + 30 + 22 * lane + min(abs(index[target] - number), 8) * 10
            css = "edge main" if (step.id, target) in path_edges else "edge"
            parts.append(
                f'<path class="{css}" d="M {x} {y1} C {bend} {y1}, {bend} {y2}, {x} {y2}" fill="none" '
                f'marker-end="url(#arrow)"><title>{escape(step.id)} → {escape(target)} {escape(label)}</title></path>'
            )
            if label:
                parts.append(
                    f'<text class="edge-label" x="{bend + 4}" y="{(y1 + y2) / 2}">{escape(label)}</text>'
                )
    for number, step in enumerate(flow.steps):
        y = 10 + number * ROW
        classes: list[str] = ["node", str(step.kind)]
        if step.id in on_path:
            classes.append("main")
        if step.id in problem_steps:
            classes.append("problem")
        parts.append(
            f'<g class="{" ".join(classes)}" data-step="{escape(step.id)}"><rect x="{LEFT}" y="{y}" rx="6" '
            f'width="{NODE_WIDTH}" height="{NODE_HEIGHT}"/><text x="{LEFT + 10}" y="{y + 22}">'
            f"{escape(step.id)} · {escape(step.kind)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
