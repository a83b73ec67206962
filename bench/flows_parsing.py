"""Time of every text parser in flows/ on huge input, beside one plain Python pass over the same text.

    .venv/bin/python bench/flows_parsing.py [--repeat 3]

Each row: the parser, the input (1 MB of one character, or a 100,000-character word), the best of
--repeat runs in milliseconds, and the reference in the same run: ``sum(1 for _ in text)``, a linear scan.
A parser whose time does not grow past the reference's is bounded (it reads a bounded sample or refuses
the input by its length); "engine.advance" is a whole turn at the given step of the shipped flow.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows import ConversationState, Flow, Turn, advance, default_flow_path, detect_language, load_flow
from flows.contact_parsing import parse_email, parse_phone
from flows.datetime_parsing import parse_chinese_datetime, parse_datetime

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
INPUTS = {
    "1 MB 'a'": "a" * 1_000_000,
    "1 MB ' '": " " * 1_000_000,
    "1 MB '1'": "1" * 1_000_000,
    "1 MB '中'": "中" * 1_000_000,
    "100k word": "x" * 100_000,
}


def best_of(repeat: int, call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def state_at(flow: Flow, step_id: str) -> ConversationState:
    return ConversationState(flow_id=flow.id, flow_version=flow.version, step_id=step_id, lang="en")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    flow = load_flow(default_flow_path())
    parsers: dict[str, Callable[[str], object]] = {
        "detect_language": detect_language,
        "parse_datetime": lambda text: parse_datetime(text, NOW),
        "parse_chinese_datetime": lambda text: parse_chinese_datetime(text, NOW),
        "parse_phone": lambda text: parse_phone(text, "GB"),
        "parse_email": parse_email,
    }
    for step in flow.steps:
        parsers[f"engine.advance at {step.kind} ({step.id})"] = (
            lambda text, step_id=step.id: advance(flow, state_at(flow, step_id), Turn(now=NOW, text=text))
        )
    print(f"{'parser':<50} {'input':<10} {'ms':>9} {'reference scan ms':>18}")
    for label, text in INPUTS.items():
        reference = best_of(args.repeat, lambda text=text: sum(1 for _ in text))
        for name, parse in parsers.items():
            took = best_of(args.repeat, lambda parse=parse, text=text: parse(text))
            print(f"{name:<50} {label:<10} {took:>9.3f} {reference:>18.3f}")


if __name__ == "__main__":
    main()
