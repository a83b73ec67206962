"""`plaint nlp train / eval / analyze` through click, on small real fixtures, plus the corrections loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nlp.cli import nlp_cli

FIXTURES = Path(__file__).parents[2] / "unit" / "nlp" / "fixtures"
TRAIN = FIXTURES / "banking_small_train.csv"
TEST = FIXTURES / "banking_small_test.csv"
FAST = ["--hash-length", "16384", "--epochs", "8"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "banking"
    result = CliRunner().invoke(nlp_cli, ["train", "--data", str(TRAIN), "--text-col", "text", "--label-col",
                                          "label", "--lang", "en", "--out", str(out), "--seed", "1", *FAST])
    assert result.exit_code == 0, result.output
    heldout = json.loads(result.stdout.strip().splitlines()[-1])["heldout"]
    # 180 rows: 5-fold cross-fitting, so every row is scored once by a model that did not learn from it.
    assert heldout["n"] == 180 and heldout["accuracy"] > 0.7
    return out


def test_eval_prints_one_json_object(model_dir: Path) -> None:
    result = CliRunner().invoke(nlp_cli, ["eval", "--model", str(model_dir), "--data", str(TEST),
                                          "--text-col", "text", "--label-col", "label", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "n", "per_label", "ms_per_doc"} <= set(report)
    assert report["n"] == 60 and report["macro_f1"] > 0.8
    assert report["per_label"]["card_arrival"]["support"] > 0


def test_analyze_with_a_trained_model(model_dir: Path) -> None:
    result = CliRunner().invoke(nlp_cli, ["analyze", "--model", str(model_dir), "my new card still hasn't come"])
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout)
    assert analysis["category"] == "card_arrival" and analysis["lang"] == "en"


def test_analyze_with_the_shipped_models() -> None:
    result = CliRunner().invoke(nlp_cli, ["analyze", "快递三天了还没送到，客服也不回复"])
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout)
    assert analysis["lang"] == "zh" and analysis["product"] == "delivery_service"


def test_analyze_refuses_non_utf8_input_clearly() -> None:
    result = CliRunner().invoke(nlp_cli, ["analyze"], input=b"\xff\xfe broken")
    assert result.exit_code != 0 and "not UTF-8" in result.output


def test_train_reports_a_bad_csv_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,a\nworld,\n", encoding="utf-8")
    result = CliRunner().invoke(nlp_cli, ["train", "--data", str(bad), "--lang", "en", "--out",
                                          str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "line 3" in result.output and "empty label" in result.output
    missing = CliRunner().invoke(nlp_cli, ["train", "--data", str(bad), "--label-col", "reason", "--lang", "en",
                                           "--out", str(tmp_path / "m")])
    assert missing.exit_code != 0 and "column 'reason'" in missing.output


def test_eval_on_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(nlp_cli, ["eval", "--model", str(tmp_path), "--data", str(TEST)])
    assert result.exit_code != 0 and "not a model directory" in result.output


def test_corrections_change_the_prediction(tmp_path: Path, model_dir: Path) -> None:
    text = "I think someone took my card out of my bag"
    before = CliRunner().invoke(nlp_cli, ["analyze", "--model", str(model_dir), text])
    assert json.loads(before.stdout)["category"] == "lost_or_stolen_card"
    # An agent re-classified this case; the export has text,label,lang columns (other languages skipped).
    corrections = tmp_path / "corrections.csv"
    corrections.write_text("text,label,lang\n"
                           f"{text},card_arrival,en\n"
                           "我的卡丢了,card_arrival,zh\n", encoding="utf-8")
    out = tmp_path / "corrected"
    trained = CliRunner().invoke(nlp_cli, ["train", "--data", str(TRAIN), "--lang", "en", "--out", str(out),
                                           "--seed", "1", "--from-corrections", str(corrections), *FAST])
    assert trained.exit_code == 0, trained.output
    assert "(1 corrections)" in trained.output
    after = CliRunner().invoke(nlp_cli, ["analyze", "--model", str(out), text])
    assert json.loads(after.stdout)["category"] == "card_arrival"


def test_analyze_with_a_catalog_without_kettles_gives_product_null(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("products:\n  - id: blender\n    label: {en: Blender, zh: 搅拌机}\n"
                       "    names: {en: [blender], zh: [搅拌机]}\n", encoding="utf-8")
    result = CliRunner().invoke(nlp_cli, ["analyze", "--catalog", str(catalog), "The kettle I bought leaks"])
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout)
    assert analysis["product"] is None and analysis["product_source"] == "none"
    found = CliRunner().invoke(nlp_cli, ["analyze", "--catalog", str(catalog), "The blender I bought leaks"])
    assert json.loads(found.stdout)["product"] == "blender"


def test_analyze_jsonl_answers_every_line_in_order(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("products:\n  - id: blender\n    label: {en: Blender, zh: 搅拌机}\n"
                       "    names: {en: [blender], zh: [搅拌机, 破壁机]}\n", encoding="utf-8")
    lines = ["The blender I bought leaks", "The kettle I bought leaks", "", "破壁机坏了，订单号 2026112812345"]
    stdin = ("\n".join(lines[:2]) + "\n").encode() + b"\xff\xfe broken\n" + ("\n".join(lines[2:]) + "\n").encode()
    result = CliRunner().invoke(nlp_cli, ["analyze", "--jsonl", "--catalog", str(catalog)], input=stdin)
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(docs) == 5
    assert [d.get("product") for d in docs] == ["blender", None, None, None, "blender"]
    assert "line 3 is not UTF-8" in docs[2]["error"]
    assert docs[3]["category"] is None and docs[3]["entities"] == []
    assert docs[4]["lang"] == "zh" and {"kind": "order_number", "text": "2026112812345", "value": "2026112812345",
                                        "start": 10, "end": 23} in docs[4]["entities"]
    assert set(docs[0]) == set(docs[1]) == set(docs[4])
    forced = CliRunner().invoke(nlp_cli, ["analyze", "--jsonl", "--lang", "zh"], input="my blender broke\n")
    assert json.loads(forced.stdout)["lang"] == "zh"


def test_analyze_jsonl_refuses_a_text_argument() -> None:
    result = CliRunner().invoke(nlp_cli, ["analyze", "--jsonl", "some text"])
    assert result.exit_code != 0 and "--jsonl reads standard input" in result.output


def _products_of_lines(tmp_path: Path, catalog_yaml: str, lines: list[str]) -> list[str | None]:
    """`plaint nlp analyze --jsonl --catalog FILE` over `lines`: the product of each."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(catalog_yaml, encoding="utf-8")
    result = CliRunner().invoke(nlp_cli, ["analyze", "--jsonl", "--catalog", str(catalog)],
                                input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(line)["product"] for line in result.stdout.splitlines()]


def test_analyze_a_product_name_inside_another_things_name_gives_product_null(tmp_path: Path) -> None:
    catalog = ("products:\n  - id: toaster\n    label: {en: Toaster, zh: 烤面包机}\n"
               "    names: {en: [toaster], zh: [烤面包机]}\n    related: {en: [toast], zh: [吐司]}\n")
    lines = ["The toaster bags melted at the seams", "a toy toaster, the toast won't pop up", "烤面包机防尘罩尺寸不对",
             "The toaster button is stuck", "烤面包机的弹起按钮坏了"]
    assert _products_of_lines(tmp_path, catalog, lines) == [None, None, None, "toaster", "toaster"]


def test_analyze_a_thing_bought_for_the_product_or_a_product_said_to_be_fine_gives_product_null(
        tmp_path: Path) -> None:
    catalog = ("products:\n  - id: toaster\n    label: {en: Toaster, zh: 烤面包机}\n"
               "    names: {en: [toaster], zh: [烤面包机]}\n")
    lines = ["the bread bin I bought to match my toaster came in the wrong colour",
             "the toaster is fine, it's the crumb brush you sold me that fell apart",
             "给烤面包机买的防尘罩尺寸不对",
             "the remote for my toaster... no, the toaster itself burns everything",
             "I waited all day for the toaster and nobody came"]
    assert _products_of_lines(tmp_path, catalog, lines) == [None, None, None, "toaster", "toaster"]


def test_analyze_a_service_around_a_product_follows_the_catalogs_line_for_services(tmp_path: Path) -> None:
    """The subject check, with a business's own catalog: where its catalog says services are not the product
    (`services_under_product: false`), the voucher, the care plan and the delivery are what these complaints are
    about, not the product they name; by default they are filed under it. A complaint about the product itself
    keeps it either way."""
    products = ("products:\n  - id: coffee_machine\n    label: {en: Coffee machine, zh: 咖啡机}\n"
                "    names: {en: [coffee machine], zh: [咖啡机]}\n"
                "  - id: laptop\n    label: {en: Laptop, zh: 笔记本电脑}\n"
                "    names: {en: [laptop], zh: [笔记本电脑]}\n")
    lines = ["The voucher for 10% off a coffee machine would not work at checkout.",
             "I paid for a two year care plan with my laptop and your website says it has expired.",
             "Delivery of my laptop was three days late and nobody called.",
             "The coffee machine I bought from you leaks water from the bottom.",
             "My laptop shuts down whenever I unplug the charger."]
    assert _products_of_lines(tmp_path, "services_under_product: false\n" + products, lines) == [
        None, None, None, "coffee_machine", "laptop"]
    assert _products_of_lines(tmp_path, products, lines) == [
        "coffee_machine", "laptop", "laptop", "coffee_machine", "laptop"]
