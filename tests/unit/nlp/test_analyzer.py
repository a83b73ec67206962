"""The shipped default Analyzer on real-looking complaints and on bad input."""

from __future__ import annotations

import time

import pytest

import nlp
from nlp import Analysis, Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return nlp.default_analyzer()


def test_catalog_product_and_category_in_english(analyzer: Analyzer) -> None:
    result = analyzer.analyze("I was charged twice for my debit card payment, I want a refund")
    assert (result.lang, result.product, result.product_source) == ("en", "bank_card", "catalog")
    assert result.product_span == "debit card" and result.product_label == "Bank card / account"
    assert result.category == "billing_refund" and result.category_label == "Billing / refund"
    assert 0.5 < result.category_confidence <= 1.0


def test_catalog_product_in_chinese_with_a_chinese_label(analyzer: Analyzer) -> None:
    result = analyzer.analyze("买的热水器用了一个星期就漏水，质量太差")
    assert (result.lang, result.product, result.product_label) == ("zh", "water_heater", "热水器")
    assert result.product_source == "catalog" and result.product_span == "热水器"
    assert result.category == "product_quality" and result.category_label == "产品质量"


def test_classifier_finds_the_product_line_when_no_catalog_name_occurs(analyzer: Analyzer) -> None:
    # No catalog name here ("房间", "前台" are not in it): the shopping_zh product model decides.
    result = analyzer.analyze("房间又小又潮，隔音很差，前台办理入住等了一个小时")
    assert (result.product, result.product_source, result.product_span) == ("hotel", "classifier", None)
    assert result.product_confidence >= 0.5


def test_flight_complaint_in_english(analyzer: Analyzer) -> None:
    result = analyzer.analyze("@united you lost my bag again and nobody at the desk will help")
    assert result.product == "flight"
    assert result.category in {"delivery_logistics", "service_attitude"}


@pytest.mark.parametrize("text", ["", "   \n\t ", "😡😡😡🙄", "?!?!...", "\u200b\u200b"])
def test_nothing_to_read_gives_a_zero_confidence_analysis(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze(text)
    assert result == Analysis.nothing(result.lang)


def test_non_utf8_bytes_give_a_zero_confidence_analysis(analyzer: Analyzer) -> None:
    result = analyzer.analyze(b"\xff\xfe\xfa broken \xc3")
    assert result.product is None and result.category is None and result.category_confidence == 0.0


def test_lone_surrogates_do_not_crash(analyzer: Analyzer) -> None:
    result = analyzer.analyze("my phone \udc80 is broken")
    assert result.product == "phone"


def test_mixed_language_text_is_analysed(analyzer: Analyzer) -> None:
    # Mostly English letters: English pipeline, but the Latin name inside the Chinese part is found.
    result = analyzer.analyze("我的iPhone屏幕坏了 and support never answered")
    assert result.lang == "en" and result.product == "phone" and result.product_span == "iPhone"
    assert result.category is not None and 0.0 < result.category_confidence <= 1.0


def test_100kb_text_is_fast(analyzer: Analyzer) -> None:
    text = "The delivery was late and the box was crushed. " * 2200
    assert len(text) > 100_000
    start = time.perf_counter()
    result = analyzer.analyze(text)
    assert time.perf_counter() - start < 1.0
    assert result.category is not None


def test_to_json_has_the_documented_fields(analyzer: Analyzer) -> None:
    data = analyzer.analyze("my laptop screen flickers").to_json()
    assert set(data) == {"lang", "product", "product_label", "product_confidence", "product_source",
                         "product_span", "category", "category_label", "category_confidence"}
    assert data["product"] == "computer"


def test_module_level_analyze_uses_the_default_models() -> None:
    assert nlp.analyze("蒙牛牛奶喝了拉肚子").product == "dairy"
