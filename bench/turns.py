"""Turns per complaint: told step by step vs all at once, with the shipped flow, in English and Chinese.

    .venv/bin/python bench/turns.py

Drives the pure engine (flows.start / flows.advance) the way the intake service prepares a turn, with the
REAL NLP port the intake uses (`bot.analysis.ThreadedAnalyzer` over the shipped models and catalog):
every message is scanned by `extract` (Turn.extracted), `pending_analysis` names the text the NLP reads,
its proposals are handed over, then the engine runs. Counts the customer's messages until the case is
filed. "All at once" opens with one message that tells name, phone, when, product and order number.
A customer presses Yes when a proposal is shown (the NLP guessed right for these messages).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.analysis import ThreadedAnalyzer
from flows import (
    ConversationState,
    FileCase,
    Flow,
    Outcome,
    Turn,
    advance,
    default_flow_path,
    load_flow,
    pending_analysis,
    start,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone(timedelta(hours=8)))
MAX_TURNS = 40
REFERENCE = 0.50  # the target: all at once in at most half the turns of step by step


@dataclass(frozen=True)
class Customer:
    lang: str
    opener: str
    answers: dict[str, str]  # what they answer when a step is asked; "_..." presses that button


EN = Customer(
    "en",
    "Hi, I'm Maria Lopez. My AX-300 dryer stopped heating yesterday at 3pm, order 55-1029, "
    "call me on +1 201 555 0123",
    {
        "name": "Maria Lopez",
        "contact_method": "Phone",
        "phone": "+1 201 555 0123",
        "description": "My AX-300 dryer stopped heating, it just tumbles cold.",
        "occurred_at": "yesterday 3pm",
        "occurred_where": "order 55-1029",
        "product": "Tumble dryer",
        "category": "product quality",
        "evidence": "_skip",
        "expected_resolution": "Repair",
        "confirm": "_confirm",
    },
)
ZH = Customer(
    "zh",
    "我叫李娜，手机13800138000，昨天下午三点微波炉坏了，完全不能加热，订单55-1029",
    {
        "name": "李娜",
        "contact_method": "电话",
        "phone": "13800138000",
        "description": "微波炉坏了，完全不能加热。",
        "occurred_at": "昨天下午三点",
        "occurred_where": "订单55-1029",
        "product": "微波炉",
        "category": "产品质量",
        "evidence": "_skip",
        "expected_resolution": "维修",
        "confirm": "_confirm",
    },
)


async def prepared(nlp: ThreadedAnalyzer, flow: Flow, state: ConversationState | None, turn: Turn) -> Turn:
    """What IntakeService._prepare does with the NLP port, without storage."""
    lang = state.lang if state is not None else None
    if turn.text is not None and turn.choice is None:
        turn = replace(turn, extracted=await nlp.extract(turn.text, lang, turn.now))
    text = pending_analysis(flow, state, turn)
    if text:
        turn = replace(turn, proposals=await nlp.propose(text, lang) + nlp.catalog_choices(lang))
    return turn


def next_turn(customer: Customer, state: ConversationState, outcome: Outcome) -> Turn:
    shown = outcome.replies[-1].choices if outcome.replies else ()
    yes = next((choice for choice in shown if choice.role == "yes"), None)
    if yes is not None:
        return Turn(now=NOW, choice=yes.value)
    answer = customer.answers[state.step_id]
    return Turn(now=NOW, choice=answer) if answer.startswith("_") else Turn(now=NOW, text=answer)


async def turns_to_file(nlp: ThreadedAnalyzer, flow: Flow, customer: Customer, *, all_at_once: bool) -> int:
    """Customer messages until the case is filed (the opener counts)."""
    opener = customer.opener if all_at_once else ("Hi" if customer.lang == "en" else "你好")
    outcome = start(flow, await prepared(nlp, flow, None, Turn(now=NOW, text=opener)))
    count = 1
    while count < MAX_TURNS:
        if any(isinstance(effect, FileCase) for effect in outcome.effects):
            return count
        state = outcome.state
        turn = await prepared(nlp, flow, state, next_turn(customer, state, outcome))
        outcome = advance(flow, state, turn)
        count += 1
    raise SystemExit(f"{customer.lang}: no case after {MAX_TURNS} turns (stuck at {outcome.state.step_id})")


async def main() -> None:
    flow = load_flow(default_flow_path())
    nlp = ThreadedAnalyzer.load_default()
    print(f"{'language':<10} {'step by step':>13} {'all at once':>12} {'ratio':>7} {'reference':>10}")
    for customer in (EN, ZH):
        stepwise = await turns_to_file(nlp, flow, customer, all_at_once=False)
        at_once = await turns_to_file(nlp, flow, customer, all_at_once=True)
        print(f"{customer.lang:<10} {stepwise:>13} {at_once:>12} {at_once / stepwise:>7.2f} {REFERENCE:>10.2f}")
    print(f"reference: all at once <= {REFERENCE:.2f} of step by step (issue 11)")


if __name__ == "__main__":
    asyncio.run(main())
