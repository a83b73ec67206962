"""Every button the engine builds says what it does (ChoiceRole), so channels never read engine values."""

from __future__ import annotations

from flows import Choice, ChoiceRole, Flow, Proposal
from tests.unit.flows.flow_driver import Conversation, photo
from tests.unit.flows.test_engine_behaviour import walk_to


def roles(conversation: Conversation) -> list[tuple[str, ChoiceRole]]:
    return [(choice.value, choice.role) for choice in conversation.last.choices]


def test_choice_is_value_label_role_with_answer_as_default() -> None:
    assert Choice("refund", "Refund") == Choice("refund", "Refund", "answer")
    assert Choice("_skip", "Skip", role="skip").role == "skip"


def test_roles_on_every_kind_of_button(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow)
    walk_to(conversation, "contact_method")
    assert roles(conversation) == [("phone", "answer"), ("email", "answer"), ("both", "answer")]
    walk_to(conversation, "occurred_at")
    assert roles(conversation) == [("_skip", "skip")]
    walk_to(conversation, "product")
    assert roles(conversation) == [("_yes", "yes"), ("_other", "no")]
    walk_to(conversation, "evidence")
    assert roles(conversation) == [("_skip", "skip")]
    conversation.upload(photo("ev-1"))
    assert roles(conversation) == [("_done", "done")]
    conversation.press("_done")
    conversation.press("refund")
    assert conversation.step == "confirm"
    shown = roles(conversation)
    assert shown[0] == ("_confirm", "confirm") and shown[-1] == ("_cancel", "cancel")
    assert {role for _, role in shown[1:-1]} == {"edit"}
    conversation.press("_edit:name")
    assert roles(conversation) == [("_keep", "keep")]


def test_a_proposal_with_options_offers_yes_and_the_other_options(complaint_flow: Flow) -> None:
    proposals = (Proposal("product", "phone_x", "Phone X", 0.72), Proposal("category", "delivery_logistics", "", 0.6))
    conversation = Conversation(complaint_flow, analyzer=lambda text: proposals)
    walk_to(conversation, "category")
    shown = roles(conversation)
    assert shown[0] == ("_yes", "yes")
    assert all(role == "answer" for _, role in shown[1:]) and len(shown) == 6
