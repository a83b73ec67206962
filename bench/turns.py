"""Turns per complaint: told step by step vs all at once, with the shipped flow, in English and Chinese.

    .venv/bin/python bench/turns.py

Drives the pure engine (flows.start / flows.advance) the way the intake service does and counts the
customer's messages until the case is filed. "All at once" opens with one message that tells everything;
its ``Turn.extracted`` values are BUILT BY HAND here (span, kind, value), standing in for the extractor
the intake service will run (the integrator switches this bench to the real one). NLP proposals are left
out in both versions, so product and category are asked or filled the same way in each.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows import (
    ConversationState,
    ExtractedValue,
    ExtractKind,
    FileCase,
    Flow,
    Turn,
    advance,
    default_flow_path,
    load_flow,
    start,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone(timedelta(hours=8)))
MAX_TURNS = 40


@dataclass(frozen=True)
class Customer:
    lang: str
    opener: str
    found: tuple[tuple[ExtractKind, str, str], ...]  # (kind, span as written, value) in the opener
    answers: dict[str, str]  # what they answer when a step is asked; "_..." presses that button


EN = Customer(
    "en",
    "Hi, I'm Maria Lopez. My AX-300 dryer stopped heating yesterday at 3pm, order 55-1029, "
    "call me on +1 201 555 0123",
    (
        ("name", "Maria Lopez", "Maria Lopez"),
        ("product", "AX-300 dryer", "AX-300 dryer"),
        ("datetime", "yesterday at 3pm", "yesterday at 3pm"),
        ("order_number", "55-1029", "55-1029"),
        ("phone", "+1 201 555 0123", "+12015550123"),
    ),
    {
        "name": "Maria Lopez",
        "contact_method": "Phone",
        "phone": "+1 201 555 0123",
        "description": "My AX-300 dryer stopped heating, it just tumbles cold.",
        "occurred_at": "yesterday 3pm",
        "occurred_where": "order 55-1029",
        "product": "AX-300 dryer",
        "category": "product quality",
        "evidence": "_skip",
        "expected_resolution": "Repair",
        "confirm": "_confirm",
    },
)
ZH = Customer(
    "zh",
    "我叫李娜，手机13800138000，昨天下午三点电饭煲坏了，完全不能加热，订单55-1029",
    (
        ("name", "李娜", "李娜"),
        ("phone", "13800138000", "13800138000"),
        ("datetime", "昨天下午三点", "昨天下午三点"),
        ("product", "电饭煲", "电饭煲"),
        ("order_number", "55-1029", "55-1029"),
    ),
    {
        "name": "李娜",
        "contact_method": "电话",
        "phone": "13800138000",
        "description": "电饭煲坏了，完全不能加热。",
        "occurred_at": "昨天下午三点",
        "occurred_where": "订单55-1029",
        "product": "电饭煲",
        "category": "产品质量",
        "evidence": "_skip",
        "expected_resolution": "维修",
        "confirm": "_confirm",
    },
)


def extracted(text: str, found: tuple[tuple[ExtractKind, str, str], ...]) -> tuple[ExtractedValue, ...]:
    values = []
    for kind, span, value in found:
        start_at = text.index(span)
        values.append(ExtractedValue(kind, span, value, start_at, start_at + len(span)))
    return tuple(values)


def turns_to_file(flow: Flow, customer: Customer, *, all_at_once: bool) -> int:
    """Customer messages until the case is filed (the opener counts)."""
    if all_at_once:
        first = Turn(now=NOW, text=customer.opener, extracted=extracted(customer.opener, customer.found))
    else:
        first = Turn(now=NOW, text="Hi" if customer.lang == "en" else "你好")
    outcome = start(flow, first)
    state: ConversationState = outcome.state
    count = 1
    while count < MAX_TURNS:
        if any(isinstance(effect, FileCase) for effect in outcome.effects):
            return count
        answer = customer.answers[state.step_id]
        turn = Turn(now=NOW, choice=answer) if answer.startswith("_") else Turn(now=NOW, text=answer)
        outcome = advance(flow, state, turn)
        state = outcome.state
        count += 1
    raise SystemExit(f"{customer.lang}: no case after {MAX_TURNS} turns (stuck at {state.step_id})")


def main() -> None:
    flow = load_flow(default_flow_path())
    print(f"{'language':<10} {'step by step':>13} {'all at once':>12} {'ratio':>7}")
    for customer in (EN, ZH):
        stepwise = turns_to_file(flow, customer, all_at_once=False)
        at_once = turns_to_file(flow, customer, all_at_once=True)
        print(f"{customer.lang:<10} {stepwise:>13} {at_once:>12} {at_once / stepwise:>7.2f}")
    print("target: all at once <= 0.50 of step by step")


if __name__ == "__main__":
    main()
