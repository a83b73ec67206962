"""A refused answer is re-asked as an error (the reason first, the question short); labels of values the NLP
proposed follow a language switch."""

from __future__ import annotations

from flows import Flow, Proposal
from tests.unit.flows.flow_driver import Conversation
from tests.unit.flows.test_engine_behaviour import walk_to


def test_a_refused_phone_is_re_asked_as_an_error_with_the_reason_first(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "phone")
    assert not conversation.last.error, "a question asked the first time is no error"
    conversation.say("call me maybe")
    reply = conversation.last
    assert reply.error
    assert reply.text.startswith("I couldn't recognise that phone number.")
    # The question in short: the reason already says what the long one explains.
    assert reply.text.endswith("\n\nWhat's your phone number?")
    assert "Include the country code" not in reply.text
    conversation.say("+44 20 7946 0958")
    assert conversation.step == "description" and not conversation.last.error


def test_a_refused_choice_keeps_its_buttons_and_chinese_reads_the_same_way(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh-CN")
    walk_to(conversation, "contact_method")
    conversation.say("随便")
    reply = conversation.last
    assert reply.error and reply.text == "请从选项中选择一个（点击按钮或发送序号）。\n\n我们该怎么联系你？"
    assert reply.text.endswith("我们该怎么联系你？")
    assert conversation.button_labels() == ["电话", "邮箱", "电话和邮箱"]
    conversation.say("2")
    assert conversation.step == "email" and not conversation.last.error


def test_an_over_long_message_and_a_refused_edit_from_the_summary_are_errors_too(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "occurred_where")
    conversation.say("x" * (complaint_flow.max_message_length + 1))
    assert conversation.last.error and conversation.last.text.startswith("That message is too long")
    walk_to(conversation, "confirm")
    conversation.press("_edit:phone")
    conversation.say("not a phone")
    assert conversation.last.error and conversation.step == "phone"
    assert conversation.button_labels() == ["Keep"]


def _bilingual(text: str) -> tuple[Proposal, ...]:
    labels = (("en", "Phone X"), ("zh", "X 型手机"))
    return (
        Proposal("product", "phone_x", "Phone X", 0.72, labels=labels),  # type: ignore[arg-type]
        Proposal("category", "product_quality", "Product quality", 0.97),
    )


def test_a_proposed_product_is_shown_in_the_language_switched_to(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=_bilingual)
    walk_to(conversation, "product")
    assert "Is this about Phone X?" in conversation.text
    conversation.press("_yes")
    conversation.say("中文")
    assert conversation.lang() == "zh"
    walk_to(conversation, "confirm")
    summary = conversation.text
    assert "X 型手机" in summary and "Phone X" not in summary
    assert "产品质量" in summary  # an option of the flow: its own Chinese label


def test_a_proposal_asked_after_the_switch_is_asked_in_the_new_language(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=_bilingual)
    walk_to(conversation, "occurred_where")
    conversation.say("中文")
    conversation.press("_skip")
    assert "X 型手机" in conversation.text
