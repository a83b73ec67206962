"""The open product question: nothing in the catalog was confident, so the customer is asked with the
catalog's products as buttons (role "catalog" proposals the orchestrator hands over), and may type instead."""

from __future__ import annotations

from flows import Flow, Proposal
from tests.unit.flows.flow_driver import Conversation

CATALOG = (
    Proposal("product", "washer_w7", "Washing machine W7", 0.0, role="catalog"),
    Proposal("product", "router_ax", "Wi-Fi router AX", 0.0, role="catalog"),
    Proposal("product", "credit_card", "Credit card", 0.0, role="catalog"),
)


def to_product(conversation: Conversation) -> None:
    for answer in ("hello", "Alice", "phone", "13812345678", "The electric kettle I bought leaks",
                   "yesterday 3pm", "Main Street store"):
        conversation.say(answer)
    assert conversation.step == "product"


def test_nothing_proposed_asks_openly_with_the_catalog_as_buttons(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=lambda text: CATALOG)
    to_product(conversation)
    assert conversation.last.text == "Which product or service is this about?"
    labels = conversation.button_labels()
    assert labels[:3] == ["Washing machine W7", "Wi-Fi router AX", "Credit card"]
    assert "Yes" not in labels
    assert [choice.role for choice in conversation.last.choices[:3]] == ["answer"] * 3

    conversation.press("router_ax")
    answer = conversation.answer("product")
    assert (answer.value, answer.label, answer.source, answer.confidence) == (
        "router_ax", "Wi-Fi router AX", "customer", 1.0
    )
    assert conversation.step == "category"


def test_a_button_number_or_label_picks_the_catalog_entry(complaint_flow: Flow) -> None:
    by_number = Conversation(complaint_flow, analyzer=lambda text: CATALOG)
    to_product(by_number)
    by_number.say("3")
    assert (by_number.answer("product").value, by_number.answer("product").label) == ("credit_card", "Credit card")

    by_label = Conversation(complaint_flow, analyzer=lambda text: CATALOG)
    to_product(by_label)
    by_label.say("wi-fi router ax")
    assert by_label.answer("product").value == "router_ax"


def test_typed_text_is_stored_as_typed(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=lambda text: CATALOG)
    to_product(conversation)
    conversation.say("Electric kettle")
    answer = conversation.answer("product")
    assert (answer.value, answer.label, answer.source) == ("Electric kettle", None, "customer")


def test_a_pressed_value_the_catalog_did_not_offer_is_refused(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=lambda text: CATALOG)
    to_product(conversation)
    conversation.press("flight")
    assert conversation.step == "product"
    assert conversation.state is not None and conversation.state.answer("product") is None


def test_catalog_options_are_never_proposed_or_accepted_on_their_own(complaint_flow: Flow) -> None:
    confident = (Proposal("product", "router_ax", "Wi-Fi router AX", 0.99, role="catalog"),)
    conversation = Conversation(complaint_flow, analyzer=lambda text: confident)
    to_product(conversation)
    assert conversation.last.text == "Which product or service is this about?"
    assert conversation.state is not None and conversation.state.answer("product") is None


def test_a_real_proposal_is_confirmed_and_the_catalog_follows_a_no(complaint_flow: Flow) -> None:
    found = (Proposal("product", "washer_w7", "Washing machine W7", 0.8), *CATALOG)
    conversation = Conversation(complaint_flow, analyzer=lambda text: found)
    to_product(conversation)
    assert conversation.last.text == "Is this about Washing machine W7?"
    assert "Wi-Fi router AX" not in conversation.button_labels()
    conversation.say("no")
    assert conversation.last.text == "No problem. Which product or service is it?"
    # The product just turned down is not offered again.
    assert conversation.button_labels()[:2] == ["Wi-Fi router AX", "Credit card"]
    conversation.press("credit_card")
    assert conversation.answer("product").value == "credit_card"


def test_the_summary_shows_the_catalog_label(complaint_flow: Flow) -> None:
    conversation = Conversation(complaint_flow, analyzer=lambda text: CATALOG)
    to_product(conversation)
    conversation.press("washer_w7")
    conversation.say("1")  # category: product quality
    conversation.press("_skip")  # evidence
    conversation.say("refund")
    assert conversation.step == "confirm"
    assert "Washing machine W7" in conversation.text
    assert "washer_w7" not in conversation.text
