"""Slot filling: values the extractor port found in a message fill their steps, confirmed in one line."""

from __future__ import annotations

from flows import Conflict, Flow, load_flow_text
from tests.unit.flows.flow_driver import Conversation
from tests.unit.flows.test_engine_behaviour import walk_to

ALL_AT_ONCE = "Hi, I'm Maria Lopez. My AX-300 dryer stopped yesterday at 3pm, order 55-1029, call me on +1 201 555 0123"
FOUND_ALL = (
    ("name", "Maria Lopez", "Maria Lopez"),
    ("product", "AX-300 dryer", "AX-300 dryer"),
    ("datetime", "yesterday at 3pm", "yesterday at 3pm"),
    ("order_number", "55-1029", "55-1029"),
    ("phone", "+1 201 555 0123", "+12015550123"),
)


def test_one_first_message_fills_every_field_it_tells(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say(ALL_AT_ONCE, found=FOUND_ALL)
    assert conversation.answer("name").value == "Maria Lopez"
    assert conversation.answer("contact_method").value == "phone"
    assert conversation.answer("phone").value == "+12015550123"
    assert conversation.answer("description").value == ALL_AT_ONCE
    assert conversation.answer("occurred_at").value == "2026-11-19T15:00:00+08:00"
    assert conversation.answer("occurred_where").value == "55-1029"
    assert conversation.answer("product").value == "AX-300 dryer"
    # The story went to the NLP step like a typed description does.
    assert conversation.analyzed == [ALL_AT_ONCE]
    # Confirmed in one line, then straight to what is still missing.
    assert conversation.step == "category"
    noted = conversation.last.text
    assert "I noted name: Maria Lopez; " in noted and "; phone: +1 201-555-0123" in noted
    assert "; when: Thu 19 Nov, 15:00" in noted and "— right?" in noted
    assert noted.endswith("What kind of problem is it?")
    conversation.say("1")
    conversation.press("_skip")
    conversation.say("Refund")
    conversation.say("1")
    draft = conversation.filed().draft
    assert (draft.name, draft.phone, draft.product, draft.occurred_where, draft.expected_resolution) == (
        "Maria Lopez", "+12015550123", "AX-300 dryer", "55-1029", "refund",
    )
    assert draft.category == "product_quality" and draft.email is None


def test_values_in_chinese(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    text = "我叫李娜，手机13800138000，邮箱lina@example.cn，昨天下午三点在门店买的电饭煲坏了"
    conversation.say(
        text,
        found=(
            ("name", "李娜", "李娜"),
            ("phone", "13800138000", "13800138000"),
            ("email", "lina@example.cn", "lina@example.cn"),
            ("datetime", "昨天下午三点", "昨天下午三点"),
            ("product", "电饭煲", "电饭煲"),
        ),
    )
    assert conversation.lang() == "zh"
    assert conversation.answer("contact_method").value == "both"
    assert conversation.answer("email").value == "lina@example.cn"
    assert conversation.answer("occurred_at").value == "2026-11-19T15:00:00+08:00"
    assert "我记下了姓名：李娜；联系方式：电话和邮箱；电话：+86 138 0013 8000" in conversation.last.text
    assert "对吗？" in conversation.last.text
    assert conversation.step == "occurred_where"


def test_a_value_answers_a_choice_it_implies(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "contact_method")
    conversation.say("+1 201 555 0123", found=(("phone", "+1 201 555 0123", "+12015550123"),))
    assert conversation.answer("contact_method").value == "phone"
    assert conversation.answer("phone").value == "+12015550123"
    assert conversation.step == "description"
    assert "Please pick one of the options" not in conversation.text


def test_a_name_found_in_an_introduction_is_the_name(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say("hello")
    conversation.say("I'm Maria Lopez", found=(("name", "Maria Lopez", "Maria Lopez"),))
    assert conversation.answer("name").value == "Maria Lopez"
    assert conversation.step == "contact_method"


def test_values_that_fail_their_steps_parser_are_not_used(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "contact_method")
    conversation.say("try 12345 tomorrow", found=(("phone", "12345", "12345"), ("datetime", "tomorrow", "tomorrow")))
    assert conversation.step == "contact_method"
    assert conversation.state is not None and conversation.state.answer("phone") is None
    assert conversation.state.answer("occurred_at") is None, "a future date is refused as it is when typed"
    assert "Please pick one of the options" in conversation.text


def test_a_contradicting_value_asks_which_is_right(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "description")
    assert conversation.answer("phone").value == "+8613812345678"
    text = "The screen cracked on my phone, please call +1 201 555 0123 instead"
    conversation.say(text, found=(("phone", "+1 201 555 0123", "+12015550123"),))
    assert conversation.answer("description").value == text
    assert conversation.state is not None and isinstance(conversation.state.conflict, Conflict)
    assert "two different answers for phone. Which one is right?" in conversation.last.text
    assert conversation.button_labels() == ["+86 138 1234 5678", "+1 201-555-0123"]
    conversation.say("2")
    assert conversation.answer("phone").value == "+12015550123"
    assert conversation.state.conflict is None
    assert "Updated phone: +1 201-555-0123." in conversation.text
    assert conversation.step == "occurred_at"


def test_a_contradiction_can_be_answered_by_typing_the_value_again(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh-CN")
    walk_to(conversation, "description")
    conversation.say("屏幕裂了，打这个电话 13900139000", found=(("phone", "13900139000", "13900139000"),))
    assert "你给了两个不同的电话，哪个是对的？" in conversation.last.text
    conversation.say("不知道")
    assert "请点击正确的一项" in conversation.last.text
    conversation.say("138 1234 5678")
    assert conversation.answer("phone").value == "+8613812345678"
    assert conversation.step == "occurred_at"


def test_the_same_value_again_is_no_contradiction(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "description")
    conversation.say("Broken screen, my number is 13812345678", found=(("phone", "13812345678", "13812345678"),))
    assert conversation.state is not None and conversation.state.conflict is None
    assert conversation.step == "occurred_at"


def test_back_returns_to_a_filled_step_with_its_value_kept(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say(ALL_AT_ONCE, found=FOUND_ALL)
    conversation.say("back")
    assert conversation.step == "product"
    assert "Your current answer: AX-300 dryer" in conversation.last.text
    conversation.say("1")  # Keep
    assert conversation.step == "category"
    conversation.say("back")
    conversation.say("back")
    assert conversation.step == "occurred_where"
    conversation.say("restart")
    assert conversation.state is not None and conversation.state.answers == ()


NO_EXTRACTION = """
id: plain
version: 1
title: {en: Plain, zh: 简单}
start: name
steps:
  - id: name
    kind: text
    prompt: {en: "Name?", zh: "姓名？"}
    next: end
  - id: end
    kind: end
    prompt: {en: "Bye", zh: "再见"}
"""


def test_a_flow_without_extract_ignores_extracted_values() -> None:
    conversation = Conversation(load_flow_text(NO_EXTRACTION, "plain.yaml"))
    conversation.say("hi")
    conversation.say("I'm Maria Lopez", found=(("name", "Maria Lopez", "Maria Lopez"),))
    assert conversation.filed().draft.name == "I'm Maria Lopez"


def test_a_typed_answer_stands_when_a_value_inside_it_is_found(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "occurred_where")
    conversation.say("Oxford Street store, London", found=(("location", "London", "London"),))
    assert conversation.answer("occurred_where").value == "Oxford Street store, London"


def test_a_bare_number_found_as_a_name_is_not_a_name(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say("2", found=(("name", "2", "2"),))
    assert conversation.step == "name"
    assert conversation.state is not None and conversation.state.answer("name") is None


def test_a_name_and_a_phone_are_no_story(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    text = "I'm Maria Lopez, call me on 13800138000"
    conversation.say(text, found=(("name", "Maria Lopez", "Maria Lopez"), ("phone", "13800138000", "13800138000")))
    assert conversation.answer("name").value == "Maria Lopez"
    assert conversation.answer("phone").value == "+8613800138000"
    assert conversation.state is not None and conversation.state.answer("description") is None
    assert conversation.step == "description"


def test_a_typed_button_is_a_press_not_a_message_with_values(complaint_flow: Flow) -> None:
    # "Phone" typed to "phone or email?" is the button, though the extractor reads a product "phone" in it.
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "contact_method")
    conversation.say("Phone", found=(("product", "Phone", "phone"),))
    assert conversation.answer("contact_method").value == "phone"
    assert conversation.state is not None and conversation.state.answer("product") is None
    assert "I noted" not in conversation.last.text
    assert conversation.step == "phone"


def test_answering_the_current_question_instead_keeps_the_earlier_value(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "description")
    conversation.say("The kettle leaks, call +1 201 555 0123", found=(("phone", "+1 201 555 0123", "+12015550123"),))
    assert conversation.state is not None and conversation.state.conflict is not None
    # The customer ignores "which is right?" and answers "When did it happen?": that is the answer it gets.
    conversation.say("yesterday 3pm")
    assert conversation.state.conflict is None
    assert conversation.answer("phone").value == "+8613812345678"
    assert conversation.answer("occurred_at").value == "2026-11-19T15:00:00+08:00"
    assert conversation.step == "occurred_where"


def test_a_free_text_value_is_not_overwritten_by_an_unrelated_answer(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "occurred_at")
    conversation.say("yesterday at 3pm")
    conversation.say("Oxford Street store")
    conversation.say("Is this the AX-300 dryer? Order 55-1029", found=(("order_number", "55-1029", "55-1029"),))
    conflict = conversation.state.conflict if conversation.state else None
    assert conflict is not None and conflict.step_id == "occurred_where"
    # Free text does not resolve a question about a free-text answer unless it is one of the two values.
    conversation.say("the new one please")
    assert conversation.answer("occurred_where").value == "Oxford Street store"
    assert "Please tap the right one" in conversation.last.text


def test_files_sent_before_the_evidence_question_are_kept_for_it(complaint_flow: Flow) -> None:
    from flows import FileInfo, early_file_limits

    conversation = Conversation(complaint_flow)
    walk_to(conversation, "occurred_at")
    assert conversation.state is not None
    limits = early_file_limits(complaint_flow, conversation.state)
    assert limits is not None and limits.max_files == 5 and limits.max_bytes == 20 * 1024 * 1024
    conversation.upload(FileInfo("e1", "receipt.jpg", "image/jpeg", 1000))
    assert "I'll keep receipt.jpg for the evidence question." in conversation.text
    assert conversation.step == "occurred_at"  # the question is asked again, nothing skipped
    conversation.say("yesterday 3pm")
    conversation.say("Main Street store")
    walk_to(conversation, "evidence")
    # The evidence question starts with the early file: Done files it, no need to send it again.
    assert [button.role for button in conversation.last.choices] == ["done"]
    conversation.press("_done")
    assert [file.file_name for file in conversation.answer("evidence").files] == ["receipt.jpg"]


def test_a_resolution_asked_for_early_is_taken_and_one_said_in_a_sentence_is_the_option(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say("hello")
    conversation.say("Alice, and I want a refund", found=(("resolution", "refund", "refund"),))
    assert "resolution: Refund" in conversation.last.text
    assert conversation.answer("expected_resolution").value == "refund"
    walk_to(conversation, "evidence")
    conversation.press("_skip")
    assert conversation.step == "confirm"  # the resolution question is not asked again

    typed = Conversation(complaint_flow)
    walk_to(typed, "expected_resolution")
    typed.say("I'd like a replacement please", found=(("resolution", "replacement", "replacement"),))
    assert typed.answer("expected_resolution").value == "replacement"

    own_words = Conversation(complaint_flow)
    walk_to(own_words, "expected_resolution")
    own_words.say("A voucher for next time")  # no option named: the customer's words are the answer
    assert own_words.answer("expected_resolution").value == "A voucher for next time"


def test_the_whole_story_at_the_name_question_is_the_description_not_the_name(complaint_flow: Flow) -> None:
    # The greeting asked for the name first; the customer answers with everything that happened instead.
    for story, found in [
        ("Hi, my hair dryer from your online store stopped working after two weeks and smells of burning, "
         "I'd like my money back please", (("product", "hair dryer", "hair_dryer"), ("resolution", "my money back",
                                                                                    "refund"))),
        ("我上周在你们京东旗舰店买的吹风机用了两次就坏了，我要退款",
         (("product", "吹风机", "hair_dryer"), ("resolution", "退款", "refund"))),
    ]:
        conversation = Conversation(complaint_flow)
        conversation.say("hello")
        assert conversation.step == "name"
        conversation.say(story, found=found)
        # Neither the name (short Chinese story) nor "That's too long" for it (long English one).
        assert conversation.step == "name"
        assert conversation.state is not None and conversation.state.answer("name") is None
        assert conversation.answer("description").value == story
        assert "too long" not in conversation.text and "太长" not in conversation.text
        assert "what happened" in conversation.text or "事情经过" in conversation.text
        conversation.say("Li Na")
        assert conversation.answer("name").value == "Li Na"
        assert conversation.step == "contact_method"


def test_a_whole_answer_to_another_question_answers_that_one(complaint_flow: Flow) -> None:
    # A question behind: the date typed to "Where did it happen?" is the when, not the place.
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "occurred_at")
    conversation.press("_skip")
    assert conversation.step == "occurred_where"
    conversation.say("monday morning", found=(("datetime", "monday", "monday"),))
    assert conversation.step == "occurred_where"
    assert conversation.state is not None and conversation.state.answer("occurred_where") is None
    assert not conversation.answer("occurred_at").skipped
    assert "I noted when:" in conversation.text
    # The same date again: said so, still not a place.
    conversation.say("monday morning", found=(("datetime", "monday", "monday"),))
    assert conversation.step == "occurred_where" and 'I have that for "when"' in conversation.text
    # A place that mentions a day is a place.
    conversation.say("your King Street shop on monday", found=(("datetime", "monday", "monday"),))
    assert conversation.answer("occurred_where").value == "your King Street shop on monday"


def test_a_correction_names_what_it_is_not_and_what_it_is(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "name")
    conversation.say("Tom")
    text = "The dryer I bought burns my clothes, I want a replacement"
    conversation.say(text, found=(("product", "dryer", "dryer"), ("resolution", "a replacement", "replacement")))
    assert conversation.answer("product").value == "dryer"
    # Answering the contact question with a correction: the negated product is not taken, the other one is asked
    # about (not "pick one of the options").
    text = "no it's not a tumble dryer, it's a hair dryer"
    conversation.say(text, found=(("product", "tumble dryer", "dryer"), ("product", "hair dryer", "hair_dryer")))
    assert "two different answers for product" in conversation.text
    assert "pick one of the options" not in conversation.text
    conversation.say("2")
    assert conversation.answer("product").value == "hair_dryer"
    assert conversation.step == "contact_method"


def test_a_sentence_with_one_value_at_the_name_question_is_the_story_not_the_name(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    conversation.say("hello")
    story = "hey, i was charged twice for my parcel delivery this month"
    conversation.say(story, found=(("product", "parcel delivery", "delivery_service"),))
    assert conversation.step == "name" and conversation.state is not None
    assert conversation.state.answer("name") is None
    assert conversation.answer("description").value == story
    assert conversation.analyzed == [story]  # the NLP read it as the description
    conversation.say("Sam Lee")
    assert conversation.answer("name").value == "Sam Lee"
    # A long name is still a name.
    other = Conversation(complaint_flow)
    other.say("hello")
    other.say("Maria José García de la Vega")
    assert other.answer("name").value == "Maria José García de la Vega"


def test_back_to_a_noted_value_then_on_to_the_question_still_open(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "description")
    story = "The driver threw my parcel over the fence, order 55-8812"
    conversation.say(story, found=(("order_number", "55-8812", "55-8812"), ("product", "parcel", "parcel")))
    assert conversation.step == "occurred_at"
    # "back" reaches the value noted last (the product); answering it returns to "when", which is still open,
    # instead of going on past it.
    conversation.say("back")
    assert conversation.step == "product"
    conversation.press("_keep")
    assert conversation.step == "occurred_at"
    conversation.say("2 days ago around 6pm")
    assert conversation.answer("occurred_at").value == "2026-11-18T18:00:00+08:00"


def test_a_story_with_no_value_in_it_is_the_story_at_the_name_and_at_a_question_with_options(
    complaint_flow: Flow,
) -> None:
    # Nothing in it the NLP could name (no product, no date): it was stored as the customer's name.
    story = "it just stopped working and nobody in your shop wants to help me at all"
    conversation = Conversation(complaint_flow)
    conversation.say("hello")
    conversation.say(story)
    assert conversation.step == "name" and conversation.state is not None
    assert conversation.state.answer("name") is None
    assert conversation.answer("description").value == story
    assert "taken that down as what happened" in conversation.text
    # At "How should we get back to you?" it was "Please pick one of the options" and the story was lost.
    for locale, name, told in [
        ("en", "Ada", "the bags I bought from you melted at the seams the very first time I used them"),
        ("zh", "李娜", "买的袋子第一次用就在接缝处化掉了，真的太差劲了"),
    ]:
        conversation = Conversation(complaint_flow, locale=locale)
        conversation.say("hello")
        conversation.say(name)
        assert conversation.step == "contact_method"
        conversation.say(told)
        assert conversation.step == "contact_method"
        assert conversation.answer("description").value == told
        assert "pick one of the options" not in conversation.text and "请选择" not in conversation.text
        conversation.say("2")
        assert conversation.answer("contact_method").value == "email"
    # A short answer that names no option is still asked again, not taken as the story.
    conversation = Conversation(complaint_flow)
    conversation.say("hello")
    conversation.say("Ada")
    conversation.say("whatever works for you, I don't really mind")
    assert conversation.step == "contact_method" and "pick one of the options" in conversation.text
    assert conversation.state is not None and conversation.state.answer("description") is None


def test_what_the_customer_wants_typed_to_the_product_question_is_noted_as_that(complaint_flow: Flow) -> None:
    # "我要退货" typed to "Which product or service is it?" was stored as the product.
    for text, found in [("我要退货", (("resolution", "退货", "refund"),)),
                        ("refund please", (("resolution", "refund", "refund"),))]:
        conversation = Conversation(complaint_flow, analyzer=lambda text: ())
        walk_to(conversation, "product")
        conversation.say(text, found=found)
        assert conversation.step == "product"
        assert conversation.state is not None and conversation.state.answer("product") is None
        assert conversation.answer("expected_resolution").value == "refund"
        conversation.say("Washing machine")
        assert conversation.answer("product").value == "Washing machine"
    # A product named with a resolution word beside it is the product.
    conversation = Conversation(complaint_flow, analyzer=lambda text: ())
    walk_to(conversation, "product")
    conversation.say("the washing machine I want to return", found=(("resolution", "return", "refund"),))
    assert conversation.answer("product").value == "the washing machine I want to return"


def test_a_correction_typed_at_the_evidence_question_is_asked_about(complaint_flow: Flow) -> None:
    # It got "Please send photos, videos or documents here" and the correction was lost.
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "evidence")
    conversation.say("actually the date is wrong, it was last monday", found=(("datetime", "last monday", "monday"),))
    assert "two different answers for when" in conversation.text
    assert "send photos" not in conversation.text
    conversation.say("2")
    assert conversation.answer("occurred_at").value.startswith("2026-11-16")
    assert conversation.step == "evidence"
    # A value for a question not answered yet is noted there, and the evidence question asked again.
    conversation.say("i'd like a refund", found=(("resolution", "a refund", "refund"),))
    assert "I noted" in conversation.text and conversation.step == "evidence"
    assert conversation.answer("expected_resolution").value == "refund"


def test_a_typed_answer_naming_one_catalog_product_is_that_product(complaint_flow: Flow) -> None:
    # "the blender thing" typed to the open product question was filed as a product called "the blender thing".
    conversation = Conversation(complaint_flow, analyzer=lambda text: ())
    walk_to(conversation, "product")
    conversation.say("the blender thing", found=(("product", "blender", "blender"),))
    assert conversation.answer("product").value == "blender"
    # Two products named: the customer's words stand.
    conversation = Conversation(complaint_flow, analyzer=lambda text: ())
    walk_to(conversation, "product")
    text = "a kettle and a toaster, both from you"
    conversation.say(text, found=(("product", "kettle", "kettle"), ("product", "toaster", "toaster")))
    assert conversation.answer("product").value == text


def test_the_story_told_on_at_the_date_question_is_added_to_what_happened(complaint_flow: Flow) -> None:
    # "I want to complain about your delivery driver" was taken as what happened; the story itself, typed to "When
    # did it happen?", got "I couldn't work out that date" and was lost.
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "description")
    conversation.say("I want to complain about your delivery driver")
    assert conversation.step == "occurred_at"
    told = "he threw the parcel over the fence and it broke, nobody even knocked"
    conversation.say(told, found=(("product", "parcel", "parcel"),))
    assert "added that to what happened" in conversation.text and "work out that date" not in conversation.text
    assert conversation.answer("description").value == f"I want to complain about your delivery driver\n{told}"
    assert conversation.step == "occurred_at"
    # A date with a few words around it is still a date question's answer (or its refusal), not the story.
    conversation.say("上个月中旬吧，具体哪天记不清了")
    assert conversation.answer("description").value.endswith("nobody even knocked")
    conversation.say("I think it was around 3 weeks ago")
    assert conversation.answer("occurred_at") is not None


def test_a_correction_typed_at_the_summary_is_asked_about_and_the_summary_shown_again(complaint_flow: Flow) -> None:
    # It got 'Please tap "Confirm and submit", or choose what to change.' followed by "Thanks." (the summary's first
    # sentence taken for its question), the correction ignored.
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "confirm")
    conversation.say("the date is wrong, it was last thursday", found=(("datetime", "last thursday", "thursday"),))
    assert "two different answers for when" in conversation.text
    conversation.say("2")
    assert conversation.answer("occurred_at").value.startswith("2026-11-19")
    assert conversation.step == "confirm" and "When: Thu 19 Nov" in conversation.text
    conversation.say("hmm")
    assert conversation.last.text == 'Please tap "Confirm and submit", or choose what to change.'
    assert conversation.last.error and "Confirm and submit" in conversation.button_labels()
