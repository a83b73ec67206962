"""Catalog matching as an admin's catalog meets real customer spelling, in English and Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.catalog import Catalog
from nlp.errors import CatalogError

CATALOG_YAML = """
products:
  - id: phone
    label: {en: Mobile phone, zh: 手机}
    names: {en: [mobile phone, smartphone], zh: [手机, 智能手机]}
    aliases: [iphone]
    skus: [PX-9000]
  - id: water_heater
    label: {en: Water heater, zh: 热水器}
    names: {en: [water heater], zh: [热水器, 电热水器]}
  - id: dairy
    label: {en: Dairy, zh: 乳制品}
    names: {en: [milk], zh: [蒙牛, 牛奶]}
  - id: tv
    label: {en: Television, zh: 电视}
    names: {en: [tv], zh: [电视机]}
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    path.write_text(CATALOG_YAML, encoding="utf-8")
    return Catalog.load(path)


@pytest.mark.parametrize(
    ("text", "product", "span", "method"),
    [
        ("My SMARTPHONE screen cracked after a day", "phone", "SMARTPHONE", "exact"),
        ("the iphone i bought won't charge", "phone", "iphone", "exact"),
        ("我的ｉＰｈｏｎｅ坏了", "phone", "iphone", "exact"),  # full-width Latin letters
        ("order PX-9000 arrived broken", "phone", "PX-9000", "exact"),  # SKU
        ("px-9000 arrived broken", "phone", "px-9000", "exact"),
        ("the waterheater leaks everywhere", "water_heater", "waterheater", "exact"),  # spacing
        ("the water  heater leaks", "water_heater", "water heater", "exact"),
        ("my smartphome keeps rebooting", "phone", "smartphome", "fuzzy"),  # substitution
        ("my smarphone keeps rebooting", "phone", "smarphone", "fuzzy"),  # deletion
        ("the water haeter leaks", "water_heater", "water haeter", "fuzzy"),  # swap
        ("买的电热水器用了三天就不热了", "water_heater", "电热水器", "exact"),  # longest Chinese name wins
        ("蒙牛牛奶过期了还在卖", "dairy", "蒙牛", "exact"),
        ("我的智能手机屏幕碎了", "phone", "智能手机", "exact"),
        ("电视机画面有条纹", "tv", "电视机", "exact"),
    ],
)
def test_catalog_finds_the_product(catalog: Catalog, text: str, product: str, span: str, method: str) -> None:
    match = catalog.match(text)
    assert match is not None
    assert (match.product_id, match.span.lower(), match.method) == (product, span.lower(), method)
    assert 0.0 < match.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "nothing about any product here",
        "the tvs",  # short names need an exact token: no fuzzy matching under five characters
        "my mlk went sour",
        "",
        "   ",
        "😡😡😡",
    ],
)
def test_catalog_does_not_invent_products(catalog: Catalog, text: str) -> None:
    assert catalog.match(text) is None


def test_exact_match_beats_fuzzy(catalog: Catalog) -> None:
    match = catalog.match("smarphone? no, my water heater")
    assert match is not None and match.product_id == "water_heater" and match.method == "exact"


def test_catalog_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("id,label_en,label_zh,names_en,names_zh,aliases,skus\n"
                    "shampoo,Shampoo,洗发水,shampoo|conditioner,洗发水|洗发露,,SH-1\n", encoding="utf-8")
    catalog = Catalog.load(path)
    assert catalog.entries["shampoo"].label("zh") == "洗发水"
    found = catalog.match("这瓶洗发露有问题")
    assert found is not None and found.product_id == "shampoo"
    fuzzy = catalog.match("the shampooo smells")
    assert fuzzy is not None and fuzzy.method == "fuzzy"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("products: 3", "products"),
        ("products:\n  - label: {en: X}\n", "missing id"),
        ("products:\n  - id: a\n  - id: a\n", "duplicate"),
        ("products: [\n", "cannot read"),
    ],
)
def test_malformed_catalog_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        Catalog.load(path)


def test_shipped_catalog_covers_the_shopping_product_lines() -> None:
    catalog = Catalog.load(Path(__file__).parents[3] / "nlp" / "data" / "catalog.yaml")
    for word, product in [("书籍", "books"), ("平板", "tablet"), ("手机", "phone"), ("水果", "fruit"),
                          ("洗发水", "shampoo"), ("热水器", "water_heater"), ("蒙牛", "dairy"),
                          ("衣服", "clothes"), ("计算机", "computer"), ("酒店", "hotel"),
                          ("my flight", "flight"), ("debit card", "bank_card")]:
        match = catalog.match(f"{word}有问题" if not word.isascii() else f"problem with {word}")
        assert match is not None and match.product_id == product, word
