""""Delete my data" in either language, at any point: one FileCase for the admins (category
data_erasure_request, the customer's words), a reference in their language, the complaint being written
cancelled and nothing of it filed."""

from __future__ import annotations

import pytest

from flows import ConversationEnded, FileCase
from flows.engine import DATA_ERASURE_CATEGORY
from tests.unit.flows.flow_driver import Conversation


@pytest.mark.parametrize(("text", "lang", "words"), [
    ("delete my data", "en", "request to delete your personal data"),
    ("Forget me!", "en", "request to delete your personal data"),
    ("删除我的数据", "zh", "删除个人数据的请求"),
    ("删除我的个人信息。", "zh", "删除个人数据的请求"),
])
def test_first_message_files_the_request(conversation: Conversation, text: str, lang: str, words: str) -> None:
    outcome = conversation.say(text)
    filed = [effect for effect in outcome.effects if isinstance(effect, FileCase)]
    assert len(filed) == 1
    draft = filed[0].draft
    assert (draft.category, draft.description, draft.lang, draft.name) == (DATA_ERASURE_CATEGORY, text, lang, None)
    assert words in outcome.replies[0].text and "{case_number}" in outcome.replies[0].text
    assert outcome.state.status == "completed"


def test_mid_complaint_the_complaint_is_cancelled_and_only_the_request_filed(conversation: Conversation) -> None:
    conversation.say("hello")
    conversation.say("Alice")
    outcome = conversation.say("erase my data")
    assert [type(effect) for effect in outcome.effects] == [FileCase, ConversationEnded]
    draft = next(effect for effect in outcome.effects if isinstance(effect, FileCase)).draft
    assert draft.category == DATA_ERASURE_CATEGORY and draft.name is None
    assert outcome.state.status == "cancelled"
    # Afterwards a message starts a new complaint as usual.
    assert conversation.say("my phone screen cracked").state.status == "active"


def test_words_that_merely_mention_data_are_answers(conversation: Conversation) -> None:
    conversation.say("hello")
    outcome = conversation.say("Please delete my data about the old order and fix the phone")
    assert not any(isinstance(effect, FileCase) for effect in outcome.effects)
