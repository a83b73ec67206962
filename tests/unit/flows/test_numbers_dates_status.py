"""Numbers on every step that shows buttons, dates with their precision, status after filing."""

from __future__ import annotations

import pytest

from flows import ConversationEnded, Flow, ShowStatus
from tests.unit.flows.flow_driver import Conversation, photo
from tests.unit.flows.test_engine_behaviour import walk_to

# ---- numbers and words on every step ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "skip_word"), [(None, "skip"), ("zh-CN", "跳过"), (None, "跳过"), ("zh-CN", "Skip")]
)
def test_skip_by_number_or_word_at_the_date_and_place(
    complaint_flow: Flow, locale: str | None, skip_word: str
) -> None:
    conversation = Conversation(complaint_flow, locale=locale)
    walk_to(conversation, "occurred_at")
    conversation.say("1")
    assert conversation.answer("occurred_at").skipped, "1 is the Skip button, not 2026-01-29"
    assert conversation.step == "occurred_where"
    conversation.say(skip_word)
    assert conversation.answer("occurred_where").skipped


@pytest.mark.parametrize("step", ["name", "description", "occurred_at", "occurred_where", "product"])
def test_a_bare_number_is_never_a_date_a_place_or_a_name(complaint_flow: Flow, step: str) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, step)
    conversation.say("7")
    assert conversation.step == step
    assert conversation.state is not None and conversation.state.answer(step) is None
    assert "There's no option 7" in conversation.text or "A number on its own" in conversation.text


def test_numbers_at_the_evidence_step(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "evidence")
    conversation.upload(photo("ev-1"))
    conversation.say("1")
    assert conversation.step == "expected_resolution"
    assert [file.evidence_id for file in conversation.answer("evidence").files] == ["ev-1"]


def test_numbers_at_proposals_confirm_and_keep(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh-CN")
    walk_to(conversation, "product")
    conversation.say("1")  # 是的
    assert conversation.answer("product").value == "phone_x"
    walk_to(conversation, "confirm")
    edit_name = conversation.button_values().index("_edit:name") + 1
    conversation.say(str(edit_name))
    assert conversation.step == "name"
    conversation.say("1")  # 保留
    assert conversation.step == "confirm"
    conversation.say("1")  # 确认提交
    assert conversation.status() == "completed"


def test_a_phone_number_is_a_number_at_the_phone_step(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "phone")
    conversation.say("13812345678")
    assert conversation.answer("phone").value == "+8613812345678"


# ---- dates keep their precision -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "typed", "stored", "shown"),
    [
        (None, "yesterday", "2026-11-19", "When: Thu 19 Nov\n"),
        (None, "yesterday 3pm", "2026-11-19T15:00:00+08:00", "When: Thu 19 Nov, 15:00\n"),
        ("zh-CN", "两天前", "2026-11-18", "时间：11月18日（周三）\n"),
        ("zh-CN", "昨天下午三点", "2026-11-19T15:00:00+08:00", "时间：11月19日（周四）15:00\n"),
        (None, "today", "2026-11-20", "When: Fri 20 Nov\n"),
    ],
)
def test_dates_are_stored_and_shown_with_their_precision(
    complaint_flow: Flow, locale: str | None, typed: str, stored: str, shown: str
) -> None:
    conversation = Conversation(complaint_flow, locale=locale)
    walk_to(conversation, "occurred_at")
    conversation.say(typed)
    assert conversation.answer("occurred_at").value == stored
    walk_to(conversation, "confirm")
    if locale is not None:
        conversation.say("中文")  # walk_to answers in English; the summary is read in Chinese here
    assert shown in conversation.last.text
    conversation.press("_confirm")
    assert conversation.filed().draft.occurred_at == stored


def test_a_day_in_the_future_is_refused(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "occurred_at")
    conversation.say("tomorrow")
    assert "in the future" in conversation.text and conversation.step == "occurred_at"


# ---- status after filing is a conversation -------------------------------------------------------------


def _filed(complaint_flow: Flow, locale: str | None = None) -> Conversation:
    conversation = Conversation(complaint_flow, locale=locale)
    walk_to(conversation, "confirm")
    conversation.press("_confirm")
    assert conversation.status() == "completed"
    return conversation


@pytest.mark.parametrize("word", ["status", "进度", "/status"])
def test_status_after_filing_offers_a_new_complaint_instead_of_starting_one(complaint_flow: Flow, word: str) -> None:
    conversation = _filed(complaint_flow)
    finished = conversation.state
    conversation.say(word)
    assert conversation.effects == (ShowStatus(None),)
    assert conversation.state is not None and conversation.state.answers == finished.answers  # type: ignore[union-attr]
    assert conversation.status() == "completed"
    assert [(choice.value, choice.role) for choice in conversation.last.choices] == [("_new", "new_complaint")]
    assert "first, what's your name" not in conversation.text.lower()


def test_the_new_complaint_button_starts_one(complaint_flow: Flow) -> None:
    conversation = _filed(complaint_flow)
    conversation.say("status")
    conversation.press("_new")
    assert conversation.status() == "active" and conversation.step == "name"
    assert conversation.state is not None and conversation.state.answers == ()
    assert conversation.outcomes[-1].replies[0].text.startswith("Hi, I'm sorry")


def test_new_complaint_typed_in_chinese(complaint_flow: Flow) -> None:
    conversation = _filed(complaint_flow, locale="zh-CN")
    conversation.say("进度")
    assert conversation.last.choices[0].label == "新投诉"
    conversation.say("新投诉")
    assert conversation.step == "name" and conversation.state is not None and conversation.state.answers == ()


@pytest.mark.parametrize("typed", ["status PL-7K2M9Q", "进度 PL-7K2M9Q", "/status pl-7k2m9q", "进度PL-7K2M9Q"])
def test_status_of_one_case_by_its_number(complaint_flow: Flow, typed: str) -> None:
    conversation = _filed(complaint_flow)
    conversation.say(typed)
    assert conversation.effects == (ShowStatus("PL-7K2M9Q"),)


def test_status_by_number_in_the_middle_of_a_complaint_re_asks(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "phone")
    conversation.say("status PL-ABC234")
    assert conversation.effects == (ShowStatus("PL-ABC234"),)
    assert conversation.step == "phone"
    conversation.say("status quo")
    assert conversation.effects == ()


def test_status_as_the_very_first_message(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh-CN")
    conversation.say("进度")
    assert conversation.effects == (ShowStatus(None),)
    assert conversation.status() == "completed"
    assert len(conversation.outcomes[-1].replies) == 1, "no greeting, no first question"
    assert conversation.last.choices[0].role == "new_complaint"
    conversation.press("_new")
    assert conversation.status() == "active" and conversation.step == "name"


def test_an_old_new_complaint_button_mid_conversation_loses_nothing(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "description")
    before = conversation.state
    conversation.press("_new")
    assert conversation.state == before and conversation.step == "description"
    assert conversation.effects == ()
    assert ConversationEnded("cancelled") not in conversation.effects


@pytest.mark.parametrize("typed", ["2", "２", "二", "第二个", "第2项"])
def test_chinese_ordinals_pick_buttons(complaint_flow: Flow, typed: str) -> None:
    conversation = Conversation(complaint_flow, locale="zh-CN")
    walk_to(conversation, "contact_method")
    conversation.say(typed)
    assert conversation.answer("contact_method").value == "email"
