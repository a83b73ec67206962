"""The shipped complaint flow walked end to end, as a customer would, in English and in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import CaseDraft, ConversationEnded, Flow, default_flow_path, load_flow
from tests.unit.flows.flow_driver import Conversation, document, photo


def test_every_shipped_definition_loads() -> None:
    definitions = sorted(Path(default_flow_path()).parent.glob("*.yaml"))
    assert default_flow_path() in definitions
    for path in definitions:
        flow = load_flow(path)
        assert flow.steps, path


def test_english_complaint_end_to_end(conversation: Conversation) -> None:
    conversation.say("Hello")
    assert conversation.step == "name"
    assert "sorry" in conversation.outcomes[0].replies[0].text
    conversation.say("Alice Wong")
    assert conversation.button_labels() == ["Phone", "Email", "Both"]
    conversation.press("both")
    assert conversation.step == "phone"
    conversation.say("+44 20 7946 0958")
    assert conversation.step == "email"
    conversation.say("Alice@Example.com")
    conversation.say("My new phone stopped charging after two days and the shop refused to help.")
    assert conversation.analyzed == ["My new phone stopped charging after two days and the shop refused to help."]
    assert conversation.step == "occurred_at"
    conversation.say("yesterday 3pm")
    assert conversation.step == "occurred_where"
    conversation.say("Oxford Street store, London")
    # Product: the NLP proposal is confirmed with one tap.
    assert conversation.step == "product"
    assert conversation.last.text == "Is this about Phone X?"
    assert conversation.button_labels() == ["Yes", "Something else"]
    conversation.press("_yes")
    # Category: confident enough (0.97 >= 0.95) to be accepted without asking, and said so.
    assert conversation.step == "evidence"
    assert "I've noted category: product quality" in conversation.text
    conversation.upload(photo("ev-1", "charger.jpg"))
    assert "1 of at most 5" in conversation.text
    conversation.upload(document("ev-2", "receipt.pdf"))
    assert conversation.button_labels() == ["Done"]
    conversation.press("_done")
    assert conversation.step == "expected_resolution"
    conversation.say("Replacement")
    assert conversation.step == "confirm"
    summary = conversation.last.text
    for line in (
        "Name: Alice Wong",
        "Phone: +44 20 7946 0958",
        "Email: Alice@example.com",
        "When: Thu 19 Nov, 15:00",
        "Where: Oxford Street store, London",
        "Product: Phone X",
        "Category: product quality",
        "Evidence: 2 file(s): charger.jpg, receipt.pdf",
        "Resolution: Replacement",
    ):
        assert line in summary
    assert conversation.button_labels()[0] == "Confirm and submit"
    assert "Edit product" in conversation.button_labels()
    assert conversation.button_labels()[-1] == "Cancel"
    conversation.press("_confirm")

    assert conversation.status() == "completed"
    assert "{case_number}" in conversation.text
    assert ConversationEnded("completed") in conversation.effects
    assert conversation.filed().draft == CaseDraft(
        name="Alice Wong",
        phone="+442079460958",
        email="Alice@example.com",
        description="My new phone stopped charging after two days and the shop refused to help.",
        occurred_at="2026-11-19T15:00:00+08:00",
        occurred_where="Oxford Street store, London",
        product="phone_x",
        product_confidence=0.72,
        category="product_quality",
        category_confidence=0.97,
        expected_resolution="replacement",
        evidence=(photo("ev-1", "charger.jpg"), document("ev-2", "receipt.pdf")),
        extra=(("contact_method", "both"),),
        lang="en",
        flow_id="complaint",
        flow_version=1,
    )


def test_chinese_complaint_end_to_end(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh-hans")
    conversation.say("/start")
    assert conversation.lang() == "zh"
    assert conversation.last.text == "首先，请问怎么称呼你？"
    conversation.say("王小明")
    assert conversation.button_labels() == ["电话", "邮箱", "电话和邮箱"]
    conversation.say("电话")
    conversation.say("138 1234 5678")
    assert conversation.step == "description"
    conversation.say("上周买的快递一直没送到，客服也不回复")
    conversation.say("上周五上午10点")
    conversation.share_location(31.2304, 121.4737, "上海市静安区")
    # No product was proposed: the open question is asked and answered in the customer's words.
    assert conversation.last.text == "这和哪个产品或服务有关？"
    conversation.say("电饭煲")
    # Category proposed with 0.55: asked, the proposal first, the other categories as buttons.
    assert conversation.last.text == "这听起来属于“物流配送”方面的问题，对吗？"
    assert conversation.button_labels()[0] == "是的"
    assert "产品质量" in conversation.button_labels()
    conversation.say("是")
    assert conversation.step == "evidence"
    conversation.upload(photo("ev-1", "快递单.jpg"), photo("ev-2", "聊天记录.png"))
    conversation.say("完成")
    conversation.say("我希望尽快退款并补偿运费")
    assert conversation.step == "confirm"
    summary = conversation.last.text
    for line in (
        "姓名：王小明",
        "电话：+86 138 1234 5678",
        "时间：11月13日（周五）10:00",
        "地点：上海市静安区",
        "产品：电饭煲",
        "类别：物流配送",
        "证据：2 个文件：快递单.jpg, 聊天记录.png",
        "期望的处理方式：我希望尽快退款并补偿运费",
    ):
        assert line in summary
    assert conversation.button_labels()[0] == "确认提交"
    conversation.say("确认")

    draft = conversation.filed().draft
    assert draft.name == "王小明"
    assert draft.phone == "+8613812345678"
    assert draft.email is None
    assert draft.occurred_at == "2026-11-13T10:00:00+08:00"
    assert draft.occurred_where == "上海市静安区"
    assert draft.product == "电饭煲" and draft.product_confidence == 1.0
    assert draft.category == "delivery_logistics" and draft.category_confidence == 0.55
    assert draft.expected_resolution == "我希望尽快退款并补偿运费"
    assert [file.evidence_id for file in draft.evidence] == ["ev-1", "ev-2"]
    assert ("occurred_where_coordinates", "31.2304,121.4737") in draft.extra
    assert draft.lang == "zh"
    assert "编号是 {case_number}" in conversation.text


@pytest.mark.parametrize(("first", "lang"), [("你好，我要投诉", "zh"), ("Hi there", "en"), ("123", "en")])
def test_language_of_the_first_message_without_locale(complaint_flow: Flow, first: str, lang: str) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say(first)
    assert conversation.lang() == lang


def test_a_new_message_after_completion_starts_a_new_complaint(conversation: Conversation) -> None:
    conversation.say("hi")
    conversation.say("cancel")
    assert conversation.status() == "cancelled"
    assert conversation.effects == (ConversationEnded("cancelled"),)
    conversation.say("I have another problem")
    assert conversation.status() == "active"
    assert conversation.step == "name"
    assert conversation.state is not None and conversation.state.answers == ()
