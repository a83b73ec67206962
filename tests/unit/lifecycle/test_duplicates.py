"""What makes two complaints "likely the same": order numbers, the same product, similar words (en and zh)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.lifecycle.duplicates import (
    best_match,
    duplicate_reasons,
    order_numbers,
    parse_answer_choice,
    parse_typed_answer,
    similarity,
)
from bot.lifecycle.sla_policy import DuplicateSettings
from storage.case_links import ComplaintFacts

SETTINGS = DuplicateSettings()


def complaint(
    n: int, description: str, product: str | None = "kettle", category: str | None = "defect"
) -> ComplaintFacts:
    return ComplaintFacts(
        id=n, number=f"PL-{n:04d}", status="new", customer_id=1, phone_hash=None, email_hash=None, channel="web",
        sender_id="s", lang="en", product=product, category=category, description=description,
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
    )


def test_order_numbers_are_found_in_either_language_and_normalised() -> None:
    assert order_numbers("order KT-55501234 leaks") == {"KT55501234"}
    assert order_numbers("订单号2026113012345还没到") == {"2026113012345"}
    assert order_numbers("ｏｒｄｅｒ １２３４５６７８") == {"12345678"}  # full-width digits from a phone keyboard
    assert order_numbers("on 2026-11-30 at 15:00, 3 pieces") == frozenset()


def test_similarity_counts_shared_words_and_chinese_character_pairs() -> None:
    assert similarity("The kettle leaks at the base", "kettle still leaks at its base") == 1.0
    assert similarity("The kettle leaks", "The toaster burns bread") == 0.0
    assert similarity("电水壶底部漏水", "电水壶还是漏水") >= 0.5
    assert similarity("", "anything") == 0.0


def test_a_shared_order_number_is_enough_a_different_product_never_is() -> None:
    earlier = complaint(1, "Order 55501234: the kettle leaks")
    assert duplicate_reasons(complaint(2, "Where is my refund for 55501234?"), earlier, SETTINGS) == (
        "same_order", "same_product",
    )
    toaster = complaint(2, "Order 55501234: the toaster leaks", product="toaster")
    assert duplicate_reasons(toaster, earlier, SETTINGS) == ()


def test_same_product_needs_similar_words_and_unknown_products_fall_back_to_the_category() -> None:
    earlier = complaint(1, "The kettle leaks at the base")
    assert duplicate_reasons(complaint(2, "Kettle leaks again at the base"), earlier, SETTINGS) == (
        "same_product", "similar_text",
    )
    assert duplicate_reasons(complaint(2, "The lid handle snapped off"), earlier, SETTINGS) == ()
    unknown = replace(earlier, product=None)
    assert duplicate_reasons(complaint(2, "Kettle leaks again", product=None), unknown, SETTINGS) == (
        "same_category", "similar_text",
    )
    other_category = complaint(2, "Kettle leaks again", product=None, category="delivery")
    assert duplicate_reasons(other_category, unknown, SETTINGS) == ()


def test_the_best_match_prefers_a_shared_order_number_then_the_newest() -> None:
    new = complaint(9, "Order 55501234: kettle leaks at the base")
    by_words = complaint(5, "kettle leaks at the base")
    by_order = complaint(3, "order 55501234 never arrived")
    newer_by_words = complaint(6, "kettle leaks at the base")
    found = best_match(new, [newer_by_words, by_words, by_order], SETTINGS)
    assert found is not None and found[0].number == "PL-0003"
    found = best_match(complaint(9, "kettle leaks at the base"), [by_words, newer_by_words], SETTINGS)
    assert found is not None and found[0].number == "PL-0006"
    assert best_match(new, [], SETTINGS) is None


def test_answers_pressed_or_typed() -> None:
    assert parse_answer_choice("dup:PL-0002:yes") == ("PL-0002", True)
    assert parse_answer_choice("dup:PL-0002:no") == ("PL-0002", False)
    assert parse_answer_choice("dup:PL-0002:maybe") is None
    assert parse_answer_choice("csat:PL-0002:5") is None
    assert parse_answer_choice("dup:" + "X" * 40 + ":yes") is None
    assert [parse_typed_answer(text) for text in ("Yes!", "是的", "1", "no", "不是", "2", "perhaps")] == [
        True, True, True, False, False, False, None,
    ]
