"""The engine step by step: commands, validation, choices, back/edit, branches, files, proposals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows import (
    ConversationEnded,
    ConversationState,
    ConversationStateError,
    FileInfo,
    FileLimits,
    Flow,
    Proposal,
    RejectedFile,
    ShowStatus,
    Turn,
    advance,
    load_flow_text,
    pending_analysis,
)
from tests.unit.flows.flow_driver import NOW, Conversation, photo

DESCRIPTION = "My phone screen cracked on the first day"


def walk_to(conversation: Conversation, step: str) -> None:
    """Answer the default flow in English until ``step`` is the current one."""
    answers = {
        "name": "Alice",
        "contact_method": "phone",
        "phone": "13812345678",
        "email": "alice@example.com",
        "description": DESCRIPTION,
        "occurred_at": "yesterday 3pm",
        "occurred_where": "Main Street store",
        "product": "_yes",
        "evidence": "_skip",
        "expected_resolution": "refund",
    }
    if conversation.state is None:
        conversation.say("hello")
    while conversation.step != step:
        answer = answers[conversation.step]
        if answer.startswith("_"):
            conversation.press(answer)
        else:
            conversation.say(answer)


# ---- commands -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["cancel", "/cancel", "Cancel!", "取消", "/cancel@PlaintBot"])
def test_cancel_in_both_languages_at_any_step(conversation: Conversation, word: str) -> None:
    walk_to(conversation, "description")
    conversation.say(word)
    assert conversation.status() == "cancelled"
    assert conversation.effects == (ConversationEnded("cancelled"),)
    assert "nothing was filed" in conversation.text or "没有提交" in conversation.text


@pytest.mark.parametrize("word", ["restart", "重新开始", "/start"])
def test_restart_clears_answers(conversation: Conversation, word: str) -> None:
    walk_to(conversation, "occurred_at")
    conversation.say(word)
    assert conversation.step == "name"
    assert conversation.state is not None and conversation.state.answers == ()


@pytest.mark.parametrize("word", ["status", "进度", "查询", "/status"])
def test_status_asks_the_orchestrator_and_re_asks(conversation: Conversation, word: str) -> None:
    walk_to(conversation, "phone")
    conversation.say(word)
    assert conversation.effects == (ShowStatus(),)
    assert conversation.step == "phone"
    assert "phone number" in conversation.last.text or "手机号码" in conversation.last.text


def test_help_in_both_languages(conversation: Conversation) -> None:
    walk_to(conversation, "phone")
    conversation.say("help")
    assert "back – go back" in conversation.text
    assert conversation.text.endswith(conversation.flow.step("phone").prompt.en)
    conversation.say("帮助")
    assert "返回 – 回到上一步" in conversation.text
    assert conversation.lang() == "zh"


def test_unknown_slash_command_gets_help(conversation: Conversation) -> None:
    walk_to(conversation, "phone")
    conversation.say("/refund-me-now")
    assert "don't know that command" in conversation.text
    assert "restart – start again" in conversation.text
    assert conversation.step == "phone"


def test_status_and_help_after_completion_do_not_start_over(conversation: Conversation) -> None:
    walk_to(conversation, "confirm")
    conversation.press("_confirm")
    finished = conversation.state
    conversation.say("status")
    assert conversation.effects == (ShowStatus(),) and conversation.state == finished
    conversation.say("help")
    assert "already closed" in conversation.text and conversation.state == finished
    conversation.say("Alice again", edit=True)
    assert conversation.outcomes[-1].replies == () and conversation.state == finished


# ---- validation ----------------------------------------------------------------------------------------


def test_invalid_answers_are_re_asked_with_the_reason(conversation: Conversation) -> None:
    walk_to(conversation, "phone")
    conversation.say("12345")
    assert conversation.step == "phone"
    assert "couldn't recognise that phone number" in conversation.text
    conversation.say("13812345678")
    conversation.say("Bad")
    assert conversation.step == "description"
    assert "at least 5 characters" in conversation.text
    conversation.say("x" * 4001)
    assert "under 4000 characters (yours has 4001)" in conversation.text
    conversation.say(DESCRIPTION)
    conversation.say("whenever")
    assert "couldn't work out that date" in conversation.text
    conversation.say("tomorrow 9am")
    assert "in the future" in conversation.text
    assert conversation.step == "occurred_at"


def test_chinese_reasons_in_a_chinese_conversation(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh-CN")
    conversation.say("你好")
    conversation.say("李雷")
    conversation.say("邮箱")
    conversation.say("lilei#example.com")
    assert conversation.step == "email"
    assert "邮箱地址好像不正确" in conversation.text
    conversation.say("lilei@example.com")
    conversation.say("手机坏了，屏幕不亮")
    conversation.say("某个时间")
    assert "没看懂这个时间" in conversation.text


def test_wrong_email_in_english_says_why(conversation: Conversation) -> None:
    walk_to(conversation, "contact_method")
    conversation.say("email")
    conversation.say("alice.example.com")
    assert "doesn't look like a valid email address (An email address must have an @-sign)" in conversation.text


def test_optional_step_can_be_skipped_required_cannot(conversation: Conversation) -> None:
    walk_to(conversation, "name")
    conversation.say("skip")
    assert conversation.step == "name"
    assert "can't be skipped" in conversation.text
    walk_to(conversation, "occurred_at")
    assert "Skip" in conversation.button_labels()
    conversation.say("跳过")
    assert conversation.step == "occurred_where"
    assert conversation.lang() == "zh"
    conversation.press("_skip")
    assert conversation.step == "product"


# ---- choices -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["email", "Email", "邮箱", "2", " EMAIL. "])
def test_choice_by_value_label_in_either_language_or_number(conversation: Conversation, answer: str) -> None:
    walk_to(conversation, "contact_method")
    conversation.say(answer)
    assert conversation.step == "email"


@pytest.mark.parametrize(
    ("answer", "next_step"),
    [
        ("just call me", "phone"),
        ("打电话吧", "phone"),
        ("please don't call me, email me", "email"),  # the negated synonym does not count
        ("either is fine", "phone"),  # both: the phone, then the email
        ("call me or email me", "contact_method"),  # two options named: asked again
        ("email is fine", "email"),  # the option's own label in a short answer
        ("邮箱吧", "email"),
    ],
)
def test_a_choice_said_in_other_words(conversation: Conversation, answer: str, next_step: str) -> None:
    walk_to(conversation, "contact_method")
    conversation.say(answer)
    assert conversation.step == next_step
    if answer == "either is fine":
        assert conversation.answer("contact_method").value == "both"


@pytest.mark.parametrize(("answer", "value"), [
    ("想退货", "refund"), ("I just want my money back", "refund"), ("can you fix it", "repair"),
    ("换个新的吧", "replacement"),
    ("我希望尽快退款并补偿运费", "我希望尽快退款并补偿运费"),  # more than an option: kept whole
    ("a refund or a new one", "a refund or a new one"),  # two options named
])
def test_the_resolution_said_in_other_words(conversation: Conversation, answer: str, value: str) -> None:
    walk_to(conversation, "expected_resolution")
    conversation.say(answer)
    assert conversation.step == "confirm"
    assert conversation.answer("expected_resolution").value == value


@pytest.mark.parametrize("answer", ["no", "no photos", "I don't have any", "没有"])
def test_nothing_to_send_at_the_evidence_question_moves_on(conversation: Conversation, answer: str) -> None:
    walk_to(conversation, "evidence")
    conversation.say(answer)
    assert conversation.step == "expected_resolution"
    assert conversation.answer("evidence").skipped


@pytest.mark.parametrize(("step", "answer", "stays"), [
    ("occurred_where", "yes", True),  # was stored as the place
    ("name", "ok", True),
    ("description", "是的", True),
    ("occurred_where", "no", False),  # optional: nothing to say
    ("name", "no", True),  # required
])
def test_yes_or_no_to_an_open_question(conversation: Conversation, step: str, answer: str, stays: bool) -> None:
    walk_to(conversation, step)
    conversation.say(answer)
    assert (conversation.step == step) == stays
    if stays:
        assert conversation.state is not None and conversation.state.answer(step) is None
        assert "in a few words" in conversation.text or "用几个字" in conversation.text
    else:
        assert conversation.answer(step).skipped


def test_i_dont_know_at_a_proposed_category_keeps_the_proposal(conversation: Conversation) -> None:
    walk_to(conversation, "description")
    conversation.say("The parcel arrived a week late and squashed")
    conversation.press("_skip")
    conversation.press("_skip")
    conversation.say("a blender")
    assert conversation.step == "category" and "Is that right?" in conversation.text
    conversation.say("no idea")
    assert conversation.step != "category"
    assert conversation.answer("category").value == "delivery_logistics"
    assert conversation.answer("category").source == "nlp"


@pytest.mark.parametrize(("step", "greeting"), [("name", "Hello!"), ("name", "你好"), ("occurred_where", "hi there")])
def test_a_greeting_answers_no_question(conversation: Conversation, step: str, greeting: str) -> None:
    # The web chat and `plaint chat` greet and ask first: "hello" was stored as the customer's name.
    walk_to(conversation, step)
    conversation.say(greeting)
    assert conversation.step == step
    assert conversation.state is not None and conversation.state.answer(step) is None
    assert conversation.text.startswith(("Hello!", "你好！"))


@pytest.mark.parametrize(("step", "answer", "next_step"), [
    ("occurred_at", "I don't know", "occurred_where"),
    ("occurred_at", "不记得了", "occurred_where"),
    ("occurred_where", "not sure", "product"),
    ("occurred_at", "唔記得", "occurred_where"),  # Cantonese
])
def test_i_dont_know_skips_an_optional_question(conversation: Conversation, step: str, answer: str,
                                                next_step: str) -> None:
    walk_to(conversation, step)
    conversation.say(answer)
    assert conversation.answer(step).skipped
    assert conversation.step == next_step


@pytest.mark.parametrize(("locale", "answer", "example"), [
    ("en", "I don't know", "the kettle leaks from the bottom"),
    ("zh-CN", "不知道", "水壶底部漏水"),
])
def test_i_dont_know_is_no_story_and_an_example_helps(complaint_flow: Flow, locale: str, answer: str,
                                                       example: str) -> None:
    # It was filed as the case's description, for the NLP to read and an agent to puzzle over.
    conversation = Conversation(complaint_flow, locale=locale)
    walk_to(conversation, "description")
    conversation.say(answer)
    assert conversation.step == "description"
    assert conversation.state is not None and conversation.state.answer("description") is None
    assert example in conversation.text
    conversation.say("I don't know why, but the kettle stopped heating after a week")
    assert conversation.answer("description").value.startswith("I don't know why")


@pytest.mark.parametrize("answer", ["looks good", "correct", "没问题", "对"])
def test_a_summary_confirmed_in_other_words_is_filed(conversation: Conversation, answer: str) -> None:
    walk_to(conversation, "confirm")
    conversation.say(answer)
    assert conversation.step == "done"


def test_a_synonym_in_a_long_story_picks_no_option(conversation: Conversation) -> None:
    walk_to(conversation, "contact_method")
    conversation.say("I tried to call your shop five times yesterday and nobody answered, then the line went dead "
                     "and I gave up and came here instead")
    assert conversation.step == "contact_method"


def test_choice_button_press_and_invalid_choice(conversation: Conversation) -> None:
    walk_to(conversation, "contact_method")
    conversation.say("carrier pigeon")
    assert conversation.step == "contact_method"
    assert "pick one of the options" in conversation.text
    conversation.say("7")
    assert conversation.step == "contact_method"
    conversation.press("both")
    assert conversation.step == "phone"


def test_choice_with_free_text(conversation: Conversation) -> None:
    walk_to(conversation, "expected_resolution")
    conversation.say("A voucher for my next order")
    assert conversation.step == "confirm"
    assert "Resolution: A voucher for my next order" in conversation.last.text


# ---- branches --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "asked"),
    [("phone", ["phone"]), ("email", ["email"]), ("both", ["phone", "email"])],
)
def test_contact_branches(conversation: Conversation, method: str, asked: list[str]) -> None:
    walk_to(conversation, "contact_method")
    conversation.press(method)
    seen = []
    while conversation.step != "description":
        seen.append(conversation.step)
        conversation.say("13812345678" if conversation.step == "phone" else "a@example.com")
    assert seen == asked


# ---- back and edit ----------------------------------------------------------------------------------------


def test_back_re_asks_the_previous_step_keeping_the_answer(conversation: Conversation) -> None:
    walk_to(conversation, "description")
    conversation.say("back")
    assert conversation.step == "phone"
    assert "Your current answer: +86 138 1234 5678" in conversation.last.text
    assert "Keep" in conversation.button_labels()
    conversation.say("上一步")
    assert conversation.step == "contact_method"
    conversation.press("_keep")
    assert conversation.step == "phone"
    conversation.say("+44 20 7946 0958")
    assert conversation.step == "description"
    assert conversation.state is not None and conversation.state.answer("phone") is not None
    assert conversation.answer("phone").value == "+442079460958"


def test_back_at_the_first_question(conversation: Conversation) -> None:
    conversation.say("hi")
    conversation.say("返回")
    assert conversation.step == "name"
    assert "已经是第一个问题" in conversation.text


def test_edited_message_replaces_the_previous_answer(conversation: Conversation) -> None:
    walk_to(conversation, "contact_method")
    conversation.say("Alicia", edit=True)
    assert conversation.step == "contact_method"
    assert "Updated name: Alicia." in conversation.text
    assert conversation.last.text.endswith("\n\nHow should we get back to you?")
    walk_to(conversation, "description")
    conversation.say("not a number", edit=True)
    assert "couldn't use your edited answer for phone" in conversation.text
    assert conversation.answer("phone").value == "+8613812345678"


def test_edit_that_changes_a_branch_moves_to_the_new_path(conversation: Conversation) -> None:
    walk_to(conversation, "phone")
    conversation.say("email", edit=True)
    assert conversation.step == "email"
    assert "Updated contact preference: Email." in conversation.text


def test_edit_from_the_confirmation_returns_to_it(conversation: Conversation) -> None:
    walk_to(conversation, "confirm")
    conversation.press("_edit:occurred_at")
    assert conversation.step == "occurred_at"
    assert "Your current answer: Thu 19 Nov, 15:00" in conversation.last.text
    conversation.say("2 days ago")
    assert conversation.step == "confirm"
    # "2 days ago" names a day, not a time: stored and shown as a date.
    assert "When: Wed 18 Nov\n" in conversation.last.text
    assert conversation.answer("occurred_at").value == "2026-11-18"


def test_confirm_edit_typed_and_a_new_branch_asks_what_is_missing(conversation: Conversation) -> None:
    walk_to(conversation, "confirm")
    conversation.say("Edit contact preference")
    assert conversation.step == "contact_method"
    conversation.say("both")
    # Phone is already answered; the e-mail the new branch needs is not.
    assert conversation.step == "email"
    conversation.say("alice@example.com")
    assert conversation.step == "confirm"
    conversation.press("_confirm")
    draft = conversation.filed().draft
    assert (draft.phone, draft.email) == ("+8613812345678", "alice@example.com")


def test_switching_contact_to_email_drops_the_phone_from_the_case(conversation: Conversation) -> None:
    walk_to(conversation, "confirm")
    conversation.press("_edit:contact_method")
    conversation.press("email")
    conversation.say("alice@example.com")
    assert conversation.step == "confirm"
    assert "Phone:" not in conversation.last.text
    conversation.say("confirm")
    assert conversation.filed().draft.phone is None


def test_confirm_step_ignores_unrelated_input(conversation: Conversation) -> None:
    walk_to(conversation, "confirm")
    conversation.say("hmm")
    assert conversation.step == "confirm"
    assert "Confirm and submit" in conversation.text
    conversation.press("_edit:not_a_step")
    assert conversation.step == "confirm"


# ---- files ------------------------------------------------------------------------------------------------


def test_file_checks_state_the_limit(conversation: Conversation) -> None:
    walk_to(conversation, "evidence")
    assert conversation.limits() == FileLimits(
        max_bytes=20 * 1024 * 1024, allowed_kinds=frozenset({"photo", "video", "document"}), max_files=5
    )
    big = FileInfo("ev-big", "video.mp4", "video/mp4", 21 * 1024 * 1024)
    voice = FileInfo("ev-voice", "note.ogg", "audio/ogg", 10_000)
    conversation.upload(big, voice, photo("ev-1"))
    assert "video.mp4 is too large (limit 20 MB per file)" in conversation.text
    assert "can't accept note.ogg: allowed are photos, videos, documents" in conversation.text
    assert "1 of at most 5" in conversation.text
    limits = conversation.limits()
    assert limits is not None and limits.max_files == 4
    conversation.send(Turn(now=NOW, rejected_files=(RejectedFile("huge.mov", "too_large", 20 * 1024 * 1024),)))
    assert "huge.mov is too large (limit 20 MB per file)" in conversation.text
    assert conversation.step == "evidence"


def test_files_stop_at_the_maximum(conversation: Conversation) -> None:
    walk_to(conversation, "evidence")
    conversation.upload(*(photo(f"ev-{n}", f"p{n}.jpg") for n in range(4)))
    conversation.upload(photo("ev-4", "p4.jpg"), photo("ev-5", "p5.jpg"))
    assert "at most 5 files, so I couldn't keep p5.jpg" in conversation.text
    assert conversation.step == "expected_resolution"
    assert conversation.limits() is None
    assert len(conversation.answer("evidence").files) == 5


def test_files_when_not_expected(conversation: Conversation) -> None:
    # After the evidence question there is nothing left to keep a file for.
    walk_to(conversation, "expected_resolution")
    conversation.upload(photo("ev-1", "selfie.jpg"))
    assert "couldn't keep selfie.jpg" in conversation.text
    assert conversation.step == "expected_resolution"
    assert conversation.limits() is None


def test_text_while_collecting_files_gets_a_hint_and_done_finishes(conversation: Conversation) -> None:
    walk_to(conversation, "evidence")
    conversation.say("one moment")
    assert "send photos, videos or documents" in conversation.text
    conversation.upload(photo("ev-1"))
    conversation.say("back")
    assert conversation.step == "product"
    conversation.press("_yes")
    assert conversation.step == "evidence"
    # The file sent before going back is still there.
    assert "Done" in conversation.button_labels()
    conversation.say("done")
    assert conversation.answer("evidence").files == (photo("ev-1"),)


def test_editing_an_earlier_answer_keeps_the_files_received_so_far(conversation: Conversation) -> None:
    walk_to(conversation, "product")
    conversation.press("_other")
    conversation.say("Phone X Pro")
    assert conversation.step == "evidence"
    conversation.upload(photo("ev-1"))
    conversation.say("Phone X Pro Max", edit=True)
    assert "Updated product: Phone X Pro Max." in conversation.text
    assert conversation.step == "evidence"
    assert conversation.state is not None and conversation.state.pending_files == (photo("ev-1"),)
    conversation.press("_done")
    assert conversation.answer("evidence").files == (photo("ev-1"),)


MIN_FILES_FLOW = """\
id: proof
version: 1
title: {en: Proof, zh: 证明}
start: proof
steps:
  - id: proof
    kind: files
    field: evidence
    min_files: 1
    max_files: 2
    allowed_kinds: [document]
    max_bytes: 1048576
    prompt: {en: "Send your receipt", zh: "请发送收据"}
    next: bye
  - id: bye
    kind: end
    file_case: false
    prompt: {en: "Thanks", zh: "谢谢"}
"""


def test_minimum_files_and_allowed_kinds() -> None:
    conversation = Conversation(load_flow_text(MIN_FILES_FLOW, "proof.yaml"))
    conversation.say("hi")
    conversation.say("done")
    assert "at least 1 file(s)" in conversation.text
    conversation.upload(photo("ev-1"))
    assert "allowed are documents" in conversation.text
    conversation.upload(FileInfo("ev-2", "r.pdf", "application/pdf", 2 * 1024 * 1024))
    assert "limit 1 MB" in conversation.text
    conversation.upload(FileInfo("ev-3", "r.pdf", "application/pdf", 1000))
    conversation.press("_done")
    assert conversation.status() == "completed"
    assert conversation.effects == (ConversationEnded("completed"),)


# ---- locations ---------------------------------------------------------------------------------------------


def test_location_answers_where_and_is_refused_elsewhere(conversation: Conversation) -> None:
    walk_to(conversation, "name")
    conversation.share_location(51.5, -0.12)
    assert "don't need a location" in conversation.text
    assert conversation.step == "name"
    walk_to(conversation, "occurred_where")
    conversation.share_location(51.51432, -0.14199)
    assert conversation.step == "product"
    assert conversation.state is not None and conversation.answer("occurred_where").value == "51.51432, -0.14199"


# ---- proposals -------------------------------------------------------------------------------------------


def test_product_something_else_lets_the_customer_type_it(conversation: Conversation) -> None:
    walk_to(conversation, "product")
    conversation.press("_other")
    assert conversation.last.text == "No problem. Which product or service is it?"
    conversation.say("Phone X Pro Max")
    assert conversation.state is not None
    product = conversation.state.answer("product")
    assert product is not None and (product.value, product.source, product.confidence) == (
        "Phone X Pro Max",
        "customer",
        1.0,
    )


def test_without_proposals_the_open_questions_are_asked(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=lambda text: ())
    walk_to(conversation, "product")
    assert conversation.last.text == "Which product or service is this about?"
    assert conversation.button_labels() == []
    conversation.say("Washing machine")
    assert conversation.last.text == "What kind of problem is it?"
    assert conversation.button_labels()[:2] == ["product quality", "service and staff"]
    conversation.say("3")
    assert conversation.state is not None
    category = conversation.state.answer("category")
    assert category is not None and category.value == "delivery_logistics" and category.confidence == 1.0


def test_unsure_category_can_be_rejected_and_picked(complaint_flow: Flow) -> None:
    conversation = Conversation(
        complaint_flow, analyzer=lambda text: (Proposal("category", "billing_refund", "Billing", 0.5),)
    )
    walk_to(conversation, "product")
    conversation.say("Broadband")
    assert conversation.last.text == "This sounds like a problem with billing and refunds. Is that right?"
    conversation.say("no")
    assert conversation.step == "category"
    assert "product quality" in conversation.button_labels()
    conversation.say("服务态度")
    assert conversation.answer("category").value == "service_attitude"


def test_low_confidence_proposals_are_not_offered(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=lambda text: (Proposal("product", "tv", "TV", 0.1),))
    walk_to(conversation, "product")
    assert conversation.last.text == "Which product or service is this about?"


def test_editing_the_description_re_runs_the_analysis(conversation: Conversation) -> None:
    walk_to(conversation, "occurred_at")
    assert conversation.analyzed == [DESCRIPTION]
    conversation.say("The parcel arrived two weeks late", edit=True)
    assert conversation.analyzed == [DESCRIPTION, "The parcel arrived two weeks late"]
    assert conversation.state is not None
    assert [p.field for p in conversation.state.proposals] == ["category"]


def test_pending_analysis_only_for_the_analyze_step(conversation: Conversation) -> None:
    walk_to(conversation, "description")
    state = conversation.state
    assert state is not None
    flow = conversation.flow
    assert pending_analysis(flow, state, Turn(now=NOW, text="  It broke again  ")) == "It broke again"
    assert pending_analysis(flow, state, Turn(now=NOW, text="help")) is None
    assert pending_analysis(flow, state, Turn(now=NOW, text="hi")) is None  # too short to be accepted
    assert pending_analysis(flow, state, Turn(now=NOW, choice="x")) is None
    name_state = replace(state, step_id="name")
    assert pending_analysis(flow, name_state, Turn(now=NOW, text="Alice Smith")) is None


# ---- language -------------------------------------------------------------------------------------------


def test_the_customer_switching_language_switches_the_replies(conversation: Conversation) -> None:
    walk_to(conversation, "name")
    conversation.say("我叫张伟")
    assert conversation.lang() == "zh"
    assert conversation.last.text == "我们该怎么联系你？"
    conversation.say("English")
    assert conversation.lang() == "en"
    assert conversation.text.startswith("Sure, let's continue in English.")
    conversation.say("中文")
    assert conversation.lang() == "zh"
    conversation.say("I would prefer to write in English please")
    assert conversation.lang() == "en"
    assert "pick one of the options" in conversation.text


# ---- persistence and flow changes ----------------------------------------------------------------------


def test_state_from_bad_json_raises_a_flow_error() -> None:
    with pytest.raises(ConversationStateError):
        ConversationState.from_json(["not", "a", "dict"])
    with pytest.raises(ConversationStateError, match="status"):
        ConversationState.from_json(
            {"flow_id": "complaint", "flow_version": 1, "step_id": "name", "lang": "en", "status": "lost"}
        )
    with pytest.raises(ConversationStateError, match="format"):
        ConversationState.from_json({"format": 99})


def test_a_changed_flow_keeps_matching_answers_and_resumes(conversation: Conversation) -> None:
    walk_to(conversation, "occurred_at")
    old_state = conversation.state
    assert old_state is not None
    moved = replace(old_state, step_id="when_was_it", flow_version=0)
    outcome = advance(conversation.flow, moved, Turn(now=NOW, text="hello?"))
    assert outcome.state.flow_version == 1
    assert outcome.state.step_id == "occurred_at"
    assert "form changed" in outcome.replies[-1].text
    assert outcome.state.answer("description") is not None


@pytest.mark.parametrize(("answer", "accepted"), [
    ("that's right", True), ("yup", True), ("确认", True), ("可以", True), ("对啊", True),
    ("nah", False), ("not really", False), ("不是的", False), ("错了", False),
    ("係呀", True), ("啱", True), ("唔系", False), ("唔啱", False),  # Cantonese (唔系 as Guangdong writes it)
])
def test_yes_and_no_in_other_words_at_a_proposal(complaint_flow: Flow, answer: str, accepted: bool) -> None:
    # They were "Please pick one of the options", the question asked again as if nothing had been said.
    conversation = Conversation(
        complaint_flow, analyzer=lambda text: (Proposal("category", "billing_refund", "Billing", 0.5),)
    )
    walk_to(conversation, "product")
    conversation.say("Broadband")
    assert conversation.step == "category"
    conversation.say(answer)
    assert "pick one of the options" not in conversation.text
    if accepted:
        assert conversation.answer("category").value == "billing_refund"
    else:
        # The categories to pick from (in Chinese after a Chinese answer).
        assert conversation.step == "category"
        assert {"product quality", "产品质量"} & set(conversation.button_labels())
        assert conversation.state is not None and conversation.state.answer("category") is None


@pytest.mark.parametrize(("step", "typed", "value"), [
    ("contact_method", "emial", "email"),
    ("contact_method", "phnoe", "phone"),
    ("expected_resolution", "refnud", "refund"),
    ("expected_resolution", "replacment", "replacement"),
])
def test_a_slip_of_the_thumb_in_an_option_picks_it(conversation: Conversation, step: str, typed: str,
                                                   value: str) -> None:
    # "emial" was "Please pick one of the options"; "refnud" was stored as a resolution of its own.
    walk_to(conversation, step)
    conversation.say(typed)
    assert conversation.answer(step).value == value


def test_a_word_near_an_option_is_no_slip(conversation: Conversation) -> None:
    walk_to(conversation, "contact_method")
    conversation.say("bath")  # one letter from "Both", but a name under five letters is too close to other words
    assert conversation.step == "contact_method" and "pick one of the options" in conversation.text


@pytest.mark.parametrize(("step", "question", "answer"), [
    ("name", "why do you need my name?", "how to address you"),
    ("name", "为什么要我的名字", "怎么称呼你"),
    ("phone", "Do I have to give my number?", "stored encrypted"),
    ("occurred_where", "what's that for?", "tap Skip"),  # optional: the customer may skip it
    ("occurred_where", "一定要填吗", "可以点“跳过”"),
])
def test_why_a_question_is_asked_is_answered_and_it_is_asked_again(conversation: Conversation, step: str,
                                                                   question: str, answer: str) -> None:
    # "why do you need my name?" was stored as the customer's name.
    walk_to(conversation, step)
    conversation.say(question)
    assert conversation.step == step
    assert conversation.state is not None and conversation.state.answer(step) is None
    assert answer in conversation.text


def test_a_question_in_the_story_is_the_story(conversation: Conversation) -> None:
    walk_to(conversation, "description")
    conversation.say("why was I charged twice for one parcel?")
    assert conversation.answer("description").value == "why was I charged twice for one parcel?"


def test_traditional_characters_and_full_width_letters_are_understood(complaint_flow: Flow) -> None:
    # "兩個都要" was "please pick one of the options", "上週五下午三點" an unreadable date, a full-width e-mail invalid.
    conversation = Conversation(complaint_flow, locale="zh")
    conversation.say("你好")
    conversation.say("陳大文")
    conversation.say("兩個都要")
    assert conversation.answer("contact_method").value == "both"
    conversation.say("１３８ １２３４ ５６７８")
    conversation.say("ｊｏ＠ｅｘａｍｐｌｅ．ｃｏｍ")
    assert conversation.answer("email").value == "jo@example.com"
    conversation.say("冰箱不製冷了")
    conversation.say("上週五下午三點")
    assert conversation.answer("occurred_at").value == "2026-11-13T15:00:00+08:00"
    # What the customer typed is stored as typed.
    assert conversation.answer("name").value == "陳大文"


def test_a_customer_who_writes_traditional_characters_reads_them(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, locale="zh")
    conversation.say("你好")
    conversation.say("陳大文")  # 陳: traditional
    assert "我們該怎麼聯繫你" in conversation.text and "電話" in conversation.button_labels()
    conversation.say("電話")  # a button's label typed in traditional characters is that button
    assert conversation.answer("contact_method").value == "phone"
    conversation.say("13812345678")
    conversation.say("不是")  # the same in both scripts: the replies stay traditional
    assert "發生了什麼" in conversation.text or "什麼時候" in conversation.text
    conversation.say("冰箱坏了")  # 坏: simplified
    assert "发生" in conversation.text or "时候" in conversation.text
    assert conversation.state is not None and not conversation.state.traditional


def test_a_lone_surrogate_beside_chinese_characters_is_no_crash(complaint_flow: Flow) -> None:
    # Broken JSON from a client: OpenCC (traditional characters) encodes to UTF-8, which a surrogate cannot be.
    conversation = Conversation(complaint_flow)
    conversation.say("你好")
    conversation.say("一\ud800兩")
    assert conversation.step == "contact_method"


@pytest.mark.parametrize("answer", ["not sure", "不知道"])
def test_i_dont_know_the_product_is_asked_in_other_words(complaint_flow: Flow, answer: str) -> None:
    # "not sure" typed to the open product question was filed as a product called "not sure".
    conversation = Conversation(complaint_flow, analyzer=lambda text: ())
    walk_to(conversation, "product")
    conversation.say(answer)
    assert conversation.step == "product"
    assert conversation.state is not None and conversation.state.answer("product") is None
    assert "a few words" in conversation.text or "几个字" in conversation.text
    conversation.say("the blue one I bought in May")
    assert conversation.answer("product").value == "the blue one I bought in May"
