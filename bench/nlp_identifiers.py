"""Categories when the complaint carries an order number: the shipped category models on our held-out complaint
families (data/own/complaints.csv, split heldout), as written, with an order number after them and before them.

    python bench/nlp_identifiers.py

Customers put their order number anywhere; our training complaints carry one only about deliveries, bills and
bookings, so an order number alone moved a broken fridge to "bookings". The analyzer's category text leaves
order and case numbers out (`nlp.analyzer.category_text`); the reference beside it, in the same run, is the same
model reading the text with them in (resolution requests left out in both, as the analyzer does).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_default_models as shipped  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from spacy.language import Language  # noqa: E402

from nlp.analyzer import Analyzer, category_text  # noqa: E402
from nlp.entities import without_resolution_requests  # noqa: E402
from nlp.text_features import classifier_text, normalize_text  # noqa: E402

ORDER_AFTER = {"en": (", order 55-1234", " (order no. 77-50213)"),
               "zh": ("，订单号 2026112512345", "，订单编号：SO20261125")}
ORDER_BEFORE = {"en": ("Order 55-1234: ", "Ref AB12CD34 - "), "zh": ("订单号2026112512345，", "单号 88123456 ")}


def variants(text: str, index: int, lang: str) -> dict[str, str]:
    return {"as written": text, "order number after": text + ORDER_AFTER[lang][index % 2],
            "order number before": ORDER_BEFORE[lang][index % 2] + text}


def best_category(model: Language, text: str) -> str:
    cats = model(text).cats
    return max(cats, key=cats.__getitem__)


def main() -> None:
    analyzer = Analyzer.load_default()
    print("| model | held-out complaints | macro-F1: analyzer (order numbers left out) "
          "| reference: order numbers read |")
    print("|---|---|---|---|")
    for lang in ("en", "zh"):
        rows = shipped.own(lang, "heldout")
        model = analyzer._category_models[lang]  # the shipped model itself, as the analyzer runs it
        gold = [row.label for row in rows]
        predict = functools.partial(best_category, model)
        for kind in ("as written", "order number after", "order number before"):
            texts = [normalize_text(variants(row.text, i, lang)[kind]) for i, row in enumerate(rows)]
            ours = f1_score(gold, [predict(category_text(t)) for t in texts], average="macro")
            reference = f1_score(gold, [predict(classifier_text(without_resolution_requests(t))) for t in texts],
                                 average="macro")
            print(f"| {lang}_category | {kind} ({len(rows)}) | {ours:.3f} | {reference:.3f} |")
    print("\nThe models are deterministic: one run says it.")


if __name__ == "__main__":
    main()
