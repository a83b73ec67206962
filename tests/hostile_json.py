"""Hostile variations of valid JSON documents, for the webhook fuzz tests: a real-shaped payload with some of
its values replaced by what a broken or malicious sender puts there (NUL, lone surrogates, huge or negative
numbers, 40-digit ids, over-long strings, wrong types, deep nesting), keys dropped or added.

The number of examples per endpoint is PLAINT_FUZZ_EXAMPLES (default 300 so the suite stays fast; the issue's
acceptance run sets 2000); the seed is fixed, so a failure reproduces."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ_EXAMPLES = int(os.environ.get("PLAINT_FUZZ_EXAMPLES", "300"))
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # One server for every example is the point: state left by one input must not break the next.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

hostile_text = st.one_of(
    st.text(max_size=40),
    st.just("\x00"),
    st.just("a\x00b"),
    st.just("\ud800"),
    st.just("x\udfff\ud800y"),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=250, max_size=400),
    st.just("9" * 40),
    st.just(" " * 5000 + "1"),
    st.just("/start@" + "a" * 300),
    st.just("A" * 20_000),
)
hostile_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(10**40),
    st.just(-1),
    st.just(0),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(2**63),
    st.just(253402300800),  # the first second after year 9999
)
scalar = st.one_of(st.none(), st.booleans(), hostile_number, hostile_text)
hostile_value: st.SearchStrategy[Any] = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=8,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any, *, drop: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        copy = dict(document)
        if drop and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(document.get(head), rest, value, drop=drop)
        return copy
    copy_list = list(document)
    copy_list[head] = _replace(document[head], rest, value, drop=drop)
    return copy_list


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid document with one to three of its values replaced, dropped, or given a neighbour."""
    document = draw(valid)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "add":
            if isinstance(_at(document, path[:-1]), dict):
                added = (*path[:-1], draw(st.text(max_size=10)))
                document = _replace(document, added, draw(hostile_value), drop=False)
        else:
            document = _replace(document, path, draw(hostile_value), drop=action == "drop")
    return document


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def draw_examples(strategy: st.SearchStrategy[Any]) -> list[Any]:
    """FUZZ_EXAMPLES seeded draws of `strategy`, for async tests (Hypothesis runs sync test functions only; the
    failing input is printed by the test's assertion instead of shrunk)."""
    examples: list[Any] = []

    @FUZZ_SETTINGS
    @given(strategy)
    def collect(example: Any) -> None:
        examples.append(example)

    collect()
    return examples
