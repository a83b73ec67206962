"""Huge input: every parser of flows/ and the engine on every step kind return on 1 MB of one character.

Timing is measured by bench/flows_parsing.py, not here; this test checks the outcome: nothing raises,
nothing of the text is stored, and the customer is told the limit in their language.
"""

from __future__ import annotations

import pytest

from flows import Flow, detect_language, language_from_locale, load_flow_text
from flows.contact_parsing import InvalidAnswer, parse_email, parse_phone
from flows.datetime_parsing import parse_chinese_datetime, parse_datetime
from flows.language import has_han, latin_word_count
from tests.unit.flows.flow_driver import NOW, Conversation
from tests.unit.flows.test_engine_behaviour import walk_to

MEGABYTE_INPUTS = {
    "a": "a" * 1_000_000,
    "space": " " * 1_000_000,
    "digit": "1" * 1_000_000,
    "han": "中" * 1_000_000,
    "at": "@" * 1_000_000,
    "word_100k": "x" * 100_000,
    "email_like": "a@" * 50_000,
}


@pytest.mark.parametrize("name", sorted(MEGABYTE_INPUTS))
def test_parsers_return_on_huge_input(name: str) -> None:
    text = MEGABYTE_INPUTS[name]
    assert parse_datetime(text, NOW) is None
    assert parse_chinese_datetime(text, NOW) is None
    assert isinstance(parse_phone(text, "GB"), InvalidAnswer)
    assert isinstance(parse_email(text), InvalidAnswer)
    assert detect_language(text) in ("en", "zh", None)
    assert isinstance(has_han(text), bool)
    assert latin_word_count(text) >= 0
    assert language_from_locale(text) is None


def test_language_is_read_from_a_sample() -> None:
    assert detect_language("x" * 100_000) == "en"
    assert detect_language("中" * 1_000_000) == "zh"
    assert detect_language("1" * 1_000_000) is None
    # Addresses say nothing about the language, however many there are.
    assert detect_language("a@b.cn " * 100_000) is None


STEPS = ["name", "contact_method", "phone", "email", "description", "occurred_at", "occurred_where", "product",
         "category", "evidence", "expected_resolution", "confirm"]


def _walk(flow: Flow, step: str, locale: str | None = None) -> Conversation:
    conversation = Conversation(flow, locale=locale)
    if step == "email":
        walk_to(conversation, "contact_method")
        conversation.say("email")
    elif step == "category":
        walk_to(conversation, "description")
        conversation.say("The heater smells of burning")
        conversation.say("yesterday")
        conversation.say("Main Street")
        conversation.say("Heater 3000")
    else:
        walk_to(conversation, step)
    assert conversation.step == step
    return conversation


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("name", ["a", "space", "han", "word_100k"])
def test_engine_refuses_an_over_long_answer_at_every_step(complaint_flow: Flow, step: str, name: str) -> None:
    conversation = _walk(complaint_flow, step)
    before = conversation.state
    text = MEGABYTE_INPUTS[name]
    conversation.say(text)
    assert conversation.step == step
    assert conversation.state == before, "nothing of an over-long message is kept"
    assert f"under 4000 characters (yours has {len(text)})" in conversation.text
    assert conversation.effects == ()


def test_over_long_message_is_refused_in_chinese(complaint_flow: Flow) -> None:
    conversation = _walk(complaint_flow, "phone", locale="zh-CN")
    conversation.say("中" * 1_000_000)
    assert "请控制在 4000 个字以内（目前 1000000 个字）" in conversation.text
    assert conversation.step == "phone"


def test_over_long_first_message_greets_and_asks_the_first_question(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say("status " * 200_000)
    assert conversation.step == "name"
    assert conversation.effects == ()
    assert "too long" in conversation.text and conversation.text.endswith("what's your name?")


def test_over_long_message_after_the_end_starts_a_new_complaint_without_reading_it(complaint_flow: Flow) -> None:
    conversation = _walk(complaint_flow, "confirm")
    conversation.press("_confirm")
    conversation.say("a" * 1_000_000)
    assert conversation.status() == "active" and conversation.step == "name"
    assert "too long" in conversation.text


LIMITED = """
id: limited
version: 1
title: {en: Limited, zh: 限制}
start: note
max_message_length: 100000
messages:
  message_too_long: {en: "Max {max}, got {length}.", zh: "最多 {max}，收到 {length}。"}
steps:
  - id: note
    kind: text
    max_length: 100000
    prompt: {en: "Note?", zh: "备注？"}
    next: when
  - id: when
    kind: datetime
    prompt: {en: "When?", zh: "何时？"}
    next: phone
  - id: phone
    kind: phone
    prompt: {en: "Phone?", zh: "电话？"}
    next: email
  - id: email
    kind: email
    prompt: {en: "Email?", zh: "邮箱？"}
    next: pick
  - id: pick
    kind: choice
    allow_text: true
    max_text_length: 50
    prompt: {en: "Pick?", zh: "选择？"}
    options: [{value: a, label: {en: A, zh: 甲}}]
    next: end
  - id: end
    kind: end
    file_case: false
    prompt: {en: "Bye", zh: "再见"}
"""


def test_the_limit_is_configurable_and_every_parser_reads_a_100k_word() -> None:
    flow = load_flow_text(LIMITED, "limited.yaml")
    word = "x" * 100_000
    conversation = Conversation(flow)
    conversation.say("hi")
    conversation.say(word + "x")
    assert conversation.text.startswith("Max 100000, got 100001.")
    conversation.say(word)
    assert conversation.step == "when"
    valid = {"when": "yesterday", "phone": "+44 20 7946 0958", "email": "a@example.com", "pick": "A"}
    for step, answer in valid.items():
        for junk in (word, "1" * 100_000, " " * 100_000):
            conversation.say(junk)
            assert conversation.step == step, conversation.text
            assert conversation.state is not None and conversation.state.answer(step) is None
        conversation.say(answer)
    assert conversation.status() == "completed"
