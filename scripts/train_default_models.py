"""Rebuild the shipped default models in nlp/models/ from the data in data/ (deterministic, seed 0).

    python scripts/train_default_models.py [--only en_category,zh_product]

Models and their training data (see docs/nlp-model-card.md for licences and scores):
  en_category  airline `reason` + banking77 `label`, mapped by data/mappings/*_to_category.csv, plus the
               hand-written general consumer complaints in data/en_category_handwritten.csv (training only)
  zh_category  shopping_zh reviews weakly labelled by data/mappings/shopping_zh_category_keywords.csv
               (a review is kept only when keywords of exactly one category occur) + the hand-written
               data/zh_category_handwritten.csv
  en_product   airline tweets -> flight, banking77 queries -> bank_card
  zh_product   shopping_zh `product`, renamed to catalog ids
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.training import LabelledText, TrainingConfig, save_model, train  # noqa: E402

DATA = ROOT / "data"
MODELS = ROOT / "nlp" / "models"
# Small hash tables keep the four shipped models at a few MB in total.
SHIPPED_HASH_LENGTH = 2**15
ZH_PRODUCT_IDS = {"书籍": "books", "平板": "tablet", "手机": "phone", "水果": "fruit", "洗发水": "shampoo",
                  "热水器": "water_heater", "蒙牛": "dairy", "衣服": "clothes", "计算机": "computer",
                  "酒店": "hotel"}


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _mapping(name: str, key: str) -> dict[str, str]:
    return {row[key]: row["category"] for row in _read(f"mappings/{name}")}


def en_category() -> list[LabelledText]:
    airline = _mapping("airline_reason_to_category.csv", "reason")
    banking = _mapping("banking77_to_category.csv", "label")
    return ([LabelledText(r["text"], airline[r["reason"]]) for r in _read("airline_complaints.csv")]
            + [LabelledText(r["text"], banking[r["label"]]) for r in _read("banking77.csv")])


def zh_category() -> list[LabelledText]:
    keywords: dict[str, list[str]] = {}
    for row in _read("mappings/shopping_zh_category_keywords.csv"):
        keywords.setdefault(row["category"], []).append(row["keyword"])
    rows = []
    for review in _read("shopping_zh.csv"):
        hits = {category for category, words in keywords.items() if any(w in review["text"] for w in words)}
        if len(hits) == 1:
            rows.append(LabelledText(review["text"], hits.pop()))
    return rows + [LabelledText(r["text"], r["category"]) for r in _read("zh_category_handwritten.csv")]


def en_product() -> list[LabelledText]:
    return ([LabelledText(r["text"], "flight") for r in _read("airline_complaints.csv")]
            + [LabelledText(r["text"], "bank_card") for r in _read("banking77.csv")])


def zh_product() -> list[LabelledText]:
    return [LabelledText(r["text"], ZH_PRODUCT_IDS[r["product"]]) for r in _read("shopping_zh.csv")]


BUILDERS: dict[str, tuple[str, Callable[[], list[LabelledText]], list[str]]] = {
    "en_category": ("en", en_category, ["airline_complaints.csv", "banking77.csv"]),
    "zh_category": ("zh", zh_category, ["shopping_zh.csv (keyword weak labels)", "zh_category_handwritten.csv"]),
    "en_product": ("en", en_product, ["airline_complaints.csv", "banking77.csv"]),
    "zh_product": ("zh", zh_product, ["shopping_zh.csv"]),
}


# Hand-written examples that cover what the public datasets do not (general consumer complaints); they are
# added to training only, like agents' corrections, so the held-out scores stay those of the public data.
HANDWRITTEN = {"en_category": "en_category_handwritten.csv"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(BUILDERS), help="comma-separated model names")
    args = parser.parse_args()
    for name in args.only.split(","):
        lang, build, sources = BUILDERS[name]
        rows = build()
        config = TrainingConfig.for_task(lang, len({r.label for r in rows}), seed=0,  # type: ignore[arg-type]
                                         hash_length=SHIPPED_HASH_LENGTH)
        extra_file = HANDWRITTEN.get(name)
        extra = [LabelledText(r["text"], r["category"]) for r in _read(extra_file)] if extra_file else []
        result = train(rows, config, extra)
        save_model(result, MODELS / name, kind=name, sources=sources + ([extra_file] if extra_file else []))
        heldout = result.heldout.to_json() if result.heldout else {}
        print(json.dumps({"model": name, "n": len(rows), "temperature": round(result.temperature, 3),
                          "heldout_accuracy": heldout.get("accuracy"), "heldout_macro_f1": heldout.get("macro_f1"),
                          "ms_per_doc": heldout.get("ms_per_doc")}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
