"""Train the subject check (nlp/subject_check.py) and write nlp/data/subject_check.json.gz.

    python scripts/train_subject_check.py [--check | --out FILE]

Learns from complaints written for this project only (the project's licence): the open-set compound sets 1-63
(data/open_set/, read with the retailer catalog there) and the training split of data/own (read with the shipped
catalog). The main open set (complaints.csv, set 0) and sets 64 and up are never trained on: bench/nlp_open_set.py
measures the check on them. One example per message: the product the catalog rules propose, or, when they
propose none, every product the message names; the label is whether it is the complaint's product, under the line
for services its writer drew: data/own and sets 9-21 filed a service around a product under the product, the other
sets as another thing (the retailer catalog's `services_under_product: false`).

Deterministic: scikit-learn's lbfgs logistic regression (C=1, chosen on leave-two-sets-out runs), weights rounded
to 6 decimals, sorted, gzip without a timestamp. `--check` trains and fails when the shipped file differs; `--out`
writes elsewhere. Run it in a fresh process: each catalog loaded adds its names to jieba's dictionary, which the
rules' segmentation (and so the examples) depend on.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.catalog import SHIPPED_CATALOG_PATH, Catalog  # noqa: E402
from nlp.subject_check import SHIPPED_SUBJECT_CHECK_PATH, THRESHOLD, features  # noqa: E402

OPEN_SET = ROOT / "data" / "open_set"
TRAINING_SETS = [OPEN_SET / ("heldout_compounds.csv" if n == 1 else f"heldout_compounds_{n}.csv") for n in range(1, 64)]
# The sets whose writers filed a complaint about a product's delivery, installation or refund under the product.
SERVICES_UNDER_PRODUCT_SETS = frozenset(f"heldout_compounds_{n}.csv" for n in range(9, 22))
OWN = ROOT / "data" / "own" / "complaints.csv"


def _examples(catalog: Catalog, rows: list[dict[str, str]], services_under_product: bool
              ) -> Iterator[tuple[dict[str, float], int]]:
    for row in rows:
        text, expected = row["text"], row["product"] or None
        mentions, proposed = catalog.read(text)
        candidates = [proposed.product_id] if proposed else sorted({m.product_id for m in mentions})
        for product_id in candidates:
            yield (features(text, row["lang"], product_id, mentions, services_under_product),
                   int(product_id == expected))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def train() -> dict[str, object]:
    retailer = Catalog.load(OPEN_SET / "retailer_catalog.yaml")
    shipped = Catalog.load(SHIPPED_CATALOG_PATH)
    examples = [e for path in TRAINING_SETS
                for e in _examples(retailer, _rows(path), path.name in SERVICES_UNDER_PRODUCT_SETS)]
    own = [r for r in _rows(OWN) if r["split"] == "train"]
    examples += _examples(shipped, own, True)
    # Under the other line too where it cannot change the label: complaints about the product's own quality, and
    # complaints about no product (otherwise that line would learn its prior from the compound sets' half-and-half).
    examples += _examples(shipped, [r for r in own if r["category"] == "product_quality" or not r["product"]], False)
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([x for x, _ in examples])
    model = LogisticRegression(C=1.0, max_iter=5000).fit(matrix, [y for _, y in examples])
    names = vectorizer.get_feature_names_out()
    weights = {str(name): round(float(w), 6) for name, w in zip(names, model.coef_[0], strict=True)
               if round(float(w), 6) != 0.0}
    return {"about": "Plaint's subject check: see nlp/subject_check.py and scripts/train_subject_check.py",
            "trained_on": [path.name for path in TRAINING_SETS] + ["own/complaints.csv (split train)"],
            "examples": len(examples), "positives": sum(y for _, y in examples),
            "intercept": round(float(model.intercept_[0]), 6), "threshold": THRESHOLD,
            "weights": dict(sorted(weights.items()))}


def encoded(document: dict[str, object]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return gzip.compress(text, compresslevel=9, mtime=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the shipped weights differ")
    parser.add_argument("--out", type=Path, default=SHIPPED_SUBJECT_CHECK_PATH, help="where to write the weights")
    args = parser.parse_args()
    document = train()
    data = encoded(document)
    print(f"{document['examples']} examples ({document['positives']} positive), "
          f"{len(document['weights'])} weights, {len(data)} bytes")  # type: ignore[arg-type]
    if args.check:
        if SHIPPED_SUBJECT_CHECK_PATH.read_bytes() != data:
            sys.exit(f"{SHIPPED_SUBJECT_CHECK_PATH} differs from a fresh training")
        return
    args.out.write_bytes(data)


if __name__ == "__main__":
    main()
