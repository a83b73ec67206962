"""Entities for the flow's slots, in English and Chinese, with spans into the customer's own text."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from nlp.entities import (
    MAX_ENTITY_CHARS,
    DateTimeMention,
    MoneyAmount,
    extract_entities,
    parse_number,
    without_resolution_requests,
)

NOW = datetime(2026, 11, 29, 10, 0)  # a Sunday


def _found(text: str, lang: str = "en") -> list[tuple[str, str, str]]:
    entities = extract_entities(text, "zh" if lang == "zh" else "en", NOW)
    assert all(text[e.start : e.end] == e.text for e in entities)
    return [(e.kind, e.text, e.value) for e in entities]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("I'm Maria Lopez, order 55-1029 is late", "en",
         [("person", "Maria Lopez", "Maria Lopez"), ("order_number", "55-1029", "55-1029")]),
        ("my name is li wei", "en", [("person", "li wei", "Li Wei")]),
        ("I'm so angry about this", "en", []),
        ("This is Terrible", "en", []),
        ("我叫李娜，我的订单号 2026112812345", "zh",
         [("person", "李娜", "李娜"), ("order_number", "2026112812345", "2026112812345")]),
        ("我是王先生", "zh", [("person", "王先生", "王先生")]),
        ("我是来投诉的", "zh", []),
        ("call me on 415-555-0132", "en", [("phone", "415-555-0132", "+14155550132")]),
        ("电话13812345678", "zh", [("phone", "13812345678", "+8613812345678")]),
        ("write to Ann.Lee@Example.COM now", "en", [("email", "Ann.Lee@Example.COM", "Ann.Lee@example.com")]),
        ("I paid $45 and 45 EUR", "en", [("money", "$45", "45.00 USD"), ("money", "45 EUR", "45.00 EUR")]),
        ("退了300元，又扣了¥300，还有三百块", "zh", [("money", "300元", "300.00 CNY"), ("money", "¥300", "300.00 CNY"),
                                       ("money", "三百块", "300.00 CNY")]),
        ("昨天下午三点打的电话", "zh", [("datetime", "昨天下午三点", "2026-11-28T15:00")]),
        ("两天前买的", "zh", [("datetime", "两天前", "2026-11-27")]),
        ("it came yesterday at 3pm", "en", [("datetime", "yesterday at 3pm", "2026-11-28T15:00")]),
        ("ordered on November 3rd", "en", [("datetime", "November 3rd", "2026-11-03")]),
        ("since last Monday", "en", [("datetime", "last Monday", "2026-11-23")]),
    ],
)
def test_entities(text: str, lang: str, expected: list[tuple[str, str, str]]) -> None:
    assert _found(text, lang) == expected


def test_date_precision_and_money_fields() -> None:
    entities = extract_entities("昨天下午三点 花了 99.5 元, 11月20日", "zh", NOW)
    dates = [e for e in entities if isinstance(e, DateTimeMention)]
    assert [(d.value, d.precision) for d in dates] == [("2026-11-28T15:00", "datetime"), ("2026-11-20", "date")]
    money = [e for e in entities if isinstance(e, MoneyAmount)]
    assert [(m.amount, m.currency) for m in money] == [(Decimal("99.50"), "CNY")]
    assert money[0].to_json()["amount"] == "99.50"


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("I demand a full refund!", "en", [("resolution", "refund", "refund")]),
        ("I would like my money back", "en", [("resolution", "money back", "refund")]),
        ("Could you send someone to repair it?", "en", [("resolution", "repair", "repair")]),
        ("We'd like an exchange", "en", [("resolution", "exchange", "replacement")]),
        ("i expect an apology", "en", [("resolution", "apology", "apology")]),
        ("I'd like someone to come and fix it", "en", [("resolution", "fix it", "repair")]),
        ("could you send an engineer to come round and repair it", "en", [("resolution", "repair", "repair")]),
        ("they refused to come and fix it", "en", []),
        # What happened, not what is wanted: no asking words, a negation, or the word naming something else.
        ("They refused to give me a refund", "en", []),
        ("I don't want a replacement", "en", []),
        ("please do not replace it", "en", []),
        ("I want to know why my refund is late", "en", []),
        ("I want the repair shop to call me", "en", []),
        ("我要退款", "zh", [("resolution", "退款", "refund")]),
        ("请尽快安排维修", "zh", [("resolution", "维修", "repair")]),
        ("能不能给我换个新的", "zh", [("resolution", "换个新的", "replacement")]),
        ("客服说不能退款", "zh", []),
        ("我不想换货", "zh", []),
    ],
)
def test_the_resolution_asked_for(text: str, lang: str, expected: list[tuple[str, str, str]]) -> None:
    assert _found(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("I bought it at your Oxford Street store", "en", [("location", "Oxford Street store", "Oxford Street store")]),
        ("bought at the Tesco Extra superstore", "en",
         [("location", "Tesco Extra superstore", "Tesco Extra superstore")]),
        ("It happened in your shop on King Street", "en",
         [("location", "shop on King Street", "shop on King Street")]),
        ("从上海浦东机场店买的", "zh", [("location", "上海浦东机场店", "上海浦东机场店")]),
        # No name, or a day or month where the name would be: no place.
        ("I'm not happy with Mr Brown at your store", "en", []),
        ("I went to the store in May", "en", []),
        ("在你们店买的东西坏了", "zh", []),
        ("我在家里等了一天", "zh", []),
        ("在这家店", "zh", []),
        # Online places: the shop's own site or app, a marketplace after a buying verb, "online".
        ("I paid in your app and got nothing", "en", [("location", "app", "app")]),
        ("it was listed on the Currys website at half the price", "en",
         [("location", "Currys website", "Currys website")]),
        ("I ordered the kettle from ebay", "en", [("location", "ebay", "ebay")]),
        ("bought it online two weeks ago", "en",
         [("location", "online", "online"), ("datetime", "two weeks ago", "2026-11-15")]),
        ("从拼多多买的", "zh", [("location", "拼多多", "拼多多")]),
        ("在你们的公众号上提交了三次", "zh", [("location", "公众号", "公众号")]),
        ("在京东旗舰店买的", "zh", [("location", "京东旗舰店", "京东旗舰店")]),  # the store, not also 京东
        ("I posted about it on Amazon", "en", []),  # no buying verb
        ("your app keeps crashing", "en", []),  # what broke, not where
    ],
)
def test_the_store_where_it_happened(text: str, lang: str, expected: list[tuple[str, str, str]]) -> None:
    assert _found(text, lang) == expected


def test_requests_are_blanked_for_the_category_unless_nothing_else_is_left() -> None:
    assert without_resolution_requests("The kettle leaks, I want a refund").strip() == "The kettle leaks,"
    assert without_resolution_requests("电水壶漏水，我要退款") == "电水壶漏水， "
    assert without_resolution_requests("I want a refund") == "I want a refund"
    assert without_resolution_requests("They refused a refund") == "They refused a refund"


@pytest.mark.parametrize(("text", "value"), [("三", 3), ("十五", 15), ("两百", 200), ("一千二百", 1200),
                                             ("3", 3), ("１２", 12), ("二十万", 200000), ("x", None)])
def test_parse_number(text: str, value: int | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["a" * 50_000, "1" * 50_000, "@" * 50_000, "order " * 10_000, "我叫" * 20_000,
                                  "$1," * 20_000, "a.b@" * 20_000, "please " * 8_000,
                                  "I want a " * 6_000, "please" + " " * 50_000 + "refund", "我要" * 20_000,
                                  "at the " + "Big " * 12_000, "在" + "南" * 40_000,
                                  "your store on " + "King " * 10_000, "bought " + "it " * 20_000 + "on amazon",
                                  "在你们的" * 10_000])
def test_hostile_long_input_is_capped_and_does_not_crash(text: str) -> None:
    entities = extract_entities(text, "en", NOW)
    assert all(e.end <= MAX_ENTITY_CHARS for e in entities)


@pytest.mark.parametrize(("text", "name"), [
    ("hi it's Jo", "Jo"), ("Hello, this is Peter, my broadband keeps dropping", "Peter"), ("hey it's Jo here", "Jo"),
    ("it's Jo Smith", "Jo Smith"),
    # Without a greeting before it, or with more words after it, one capitalised word is no name.
    ("This is Terrible", None), ("hi, this is Terrible service", None),
])
def test_a_first_name_after_a_greeting(text: str, name: str | None) -> None:
    # "hi it's Jo" answered "what's your name?" with the name "hi it's Jo".
    found = [e.text for e in extract_entities(text, "en", NOW, []) if e.kind == "person"]
    assert found == ([name] if name else [])


def test_traditional_characters() -> None:
    text = "我叫陳大文，上週五下午三點買的雪櫃不製冷，我要換貨，花了三千塊"
    found = [(e.kind, e.text, e.value) for e in extract_entities(text, "zh", NOW, [])]
    assert found == [("person", "陳大文", "陳大文"), ("datetime", "上週五下午三點", "2026-11-20T15:00"),
                     ("resolution", "換貨", "replacement"), ("money", "三千塊", "3000.00 CNY")]
