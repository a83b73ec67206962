"""The subject check: a product the catalog rules find is proposed only when the complaint is about it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nlp import Analyzer
from nlp.catalog import Catalog, catalog_document
from nlp.errors import ModelLoadError
from nlp.subject_check import SHIPPED_SUBJECT_CHECK_PATH, SubjectCheck

ROOT = Path(__file__).resolve().parents[3]
RETAILER_CATALOG = ROOT / "data" / "open_set" / "retailer_catalog.yaml"


@pytest.fixture(scope="module")
def retailer_analyzer() -> Analyzer:
    return Analyzer.load_default(RETAILER_CATALOG)


@pytest.fixture(scope="module")
def services_under_product(retailer_analyzer: Analyzer) -> Analyzer:
    """The retailer's catalog with the other line for services (`services_under_product: true`, the default)."""
    catalog = Catalog.from_document(catalog_document(RETAILER_CATALOG), services_under_product=True)
    return retailer_analyzer.with_catalog(catalog, None)


# Written for this test (no training set holds them): services sold around a product, not the product.
@pytest.mark.parametrize(("text", "named"), [
    ("The extended warranty on my fridge was never registered and now you want me to pay for the repair.",
     "refrigerator"),
    ("I paid for a two year care plan with my laptop and your website says it has expired.", "laptop"),
    ("The store charged me a £40 delivery fee for the microwave even though the site said free delivery.",
     "microwave"),
    ("My gift card was rejected when I tried to buy a toaster online.", "toaster"),
    ("The voucher for 10% off a coffee machine would not work at checkout.", "coffee_machine"),
])
def test_a_complaint_about_a_service_around_a_product_gets_no_product(
        retailer_analyzer: Analyzer, text: str, named: str) -> None:
    assert retailer_analyzer.catalog is not None
    rules_alone = retailer_analyzer.catalog.match(text)
    assert rules_alone is not None and rules_alone.product_id == named  # what the rules alone would propose
    analysis = retailer_analyzer.analyze(text, "en")
    assert analysis.product is None
    assert analysis.to_json()["product"] is None


@pytest.mark.parametrize(("text", "named"), [
    ("The engineer booked to repair my tumble dryer never turned up.", "dryer"),
    ("Delivery of my fridge was three days late and nobody called.", "refrigerator"),
    ("送冰箱的师傅把我家门框撞坏了。", "refrigerator"),
])
def test_a_business_that_files_services_under_the_product_keeps_it(
        retailer_analyzer: Analyzer, services_under_product: Analyzer, text: str, named: str) -> None:
    """The same catalog with the other line for services: the complaint about the product's repair visit,
    delivery or installation is filed under the product."""
    assert retailer_analyzer.catalog is not None and retailer_analyzer.catalog.services_under_product is False
    apart = retailer_analyzer.analyze(text)
    under = services_under_product.analyze(text)
    assert (apart.product, under.product) == (None, named)


@pytest.mark.parametrize(("text", "lang", "product"), [
    ("The coffee machine I bought from you leaks water from the bottom.", "en", "coffee_machine"),
    ("My toaster burns one side of the bread every time.", "en", "toaster"),
    ("我的洗衣机脱水的时候声音特别大。", "zh", "washing_machine"),
    ("电视机屏幕有一条竖线。", "zh", "television"),
])
def test_a_complaint_about_the_product_keeps_it(retailer_analyzer: Analyzer, services_under_product: Analyzer,
                                                text: str, lang: str, product: str) -> None:
    assert retailer_analyzer.analyze(text, lang).product == product
    assert services_under_product.analyze(text, lang).product == product


def test_what_it_learned_carries_over_to_any_product() -> None:
    """Product names are masked: the same complaint about two products scores the same, so a business's own
    catalog gets what the check learned from the retailer's."""
    catalog = Catalog.load(RETAILER_CATALOG)
    check = SubjectCheck.load()

    def probability(text: str) -> float:
        mentions = catalog.match_all(text)
        return check.probability(text, "en", mentions[0].product_id, mentions)

    assert probability("The toaster I bought last week stopped working.") == pytest.approx(
        probability("The blender I bought last week stopped working."))
    assert probability("The toaster I bought last week stopped working.") >= check.threshold
    assert probability("My neighbour's toaster I heard about last week stopped working.") < probability(
        "The toaster I bought last week stopped working.")


def test_a_damaged_weights_file_is_a_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "subject_check.json.gz"
    broken.write_bytes(gzip.compress(b'{"weights": []}'))
    with pytest.raises(ModelLoadError):
        SubjectCheck.load(broken)
    broken.write_bytes(b"not gzip")
    with pytest.raises(ModelLoadError):
        SubjectCheck.load(broken)


def test_the_shipped_weights_are_what_the_training_script_makes(tmp_path: Path) -> None:
    """scripts/train_subject_check.py, in a fresh process as it is run, reproduces the shipped file from the
    project's own sets (to rounding)."""
    out = tmp_path / "subject_check.json.gz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "train_subject_check.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    documents = []
    for path in (out, SHIPPED_SUBJECT_CHECK_PATH):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            documents.append(json.load(handle))
    trained, shipped = documents
    assert (trained["trained_on"], trained["examples"]) == (shipped["trained_on"], shipped["examples"])
    assert trained["intercept"] == pytest.approx(shipped["intercept"], abs=1e-4)
    weights = set(trained["weights"]) | set(shipped["weights"])
    assert max(abs(trained["weights"].get(n, 0.0) - shipped["weights"].get(n, 0.0)) for n in weights) < 1e-4
