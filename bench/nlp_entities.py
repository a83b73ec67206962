"""Entity precision/recall per kind on our own labelled sentences (en + zh, written for this project;
reference time 2026-11-29 10:00, a Sunday): data/entities/labelled.jsonl was used while building the rules
(a development set); data/entities/heldout.jsonl was written afterwards and is the honest figure.

    python bench/nlp_entities.py [--split heldout|dev|all] [--show-errors]

A prediction counts when kind and span text are exactly the gold ones; `value ok` is the share of those
whose normalised value is also right. Beside it, for dates, the reference: dateparser's search_dates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.analyzer import Analyzer  # noqa: E402

SPLITS = {"dev": ("labelled.jsonl",), "heldout": ("heldout.jsonl",), "all": ("labelled.jsonl", "heldout.jsonl")}
NOW = datetime(2026, 11, 29, 10, 0)


@dataclass(frozen=True)
class KindScore:
    tp: int
    n_pred: int
    n_gold: int
    value_ok: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else 0.0


def load(split: str) -> list[dict[str, object]]:
    return [json.loads(line) for name in SPLITS[split]
            for line in (ROOT / "data" / "entities" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def run(split: str = "heldout", show_errors: bool = False) -> tuple[dict[str, KindScore], float, dict[str, float]]:
    """Per-kind scores, ms per sentence, and the dateparser reference (precision, recall) for dates."""
    rows = load(split)
    analyzer = Analyzer.load_default()
    tp: Counter[str] = Counter()
    pred: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    value_ok: Counter[str] = Counter()
    elapsed = 0.0
    for row in rows:
        text, lang = str(row["text"]), str(row["lang"])
        gold_items = {(e["kind"], e["text"]): e["value"] for e in row["entities"]}  # type: ignore[attr-defined]
        start = time.perf_counter()
        found = analyzer.analyze(text, "zh" if lang == "zh" else "en", now=NOW).entities
        elapsed += time.perf_counter() - start
        predicted = {(e.kind, e.text): e.value for e in found}
        for key, value in predicted.items():
            pred[key[0]] += 1
            if key in gold_items:
                tp[key[0]] += 1
                value_ok[key[0]] += gold_items[key] == value
                if show_errors and gold_items[key] != value:
                    print(f"VALUE {key}: {value!r} != {gold_items[key]!r} in {text!r}")
            elif show_errors:
                print(f"EXTRA {key} -> {value!r} in {text!r}")
        for key in gold_items:
            gold[key[0]] += 1
            if show_errors and key not in predicted:
                print(f"MISSED {key} in {text!r}")
    kinds = sorted(set(gold) | set(pred))
    scores = {k: KindScore(tp[k], pred[k], gold[k], value_ok[k]) for k in kinds}
    return scores, 1000.0 * elapsed / len(rows), dateparser_reference(rows)


def dateparser_reference(rows: list[dict[str, object]]) -> dict[str, float]:
    from dateparser.search import search_dates

    tp = n_pred = n_gold = 0
    for row in rows:
        gold = {e["text"] for e in row["entities"] if e["kind"] == "datetime"}  # type: ignore[attr-defined]
        settings = {"RELATIVE_BASE": NOW, "PREFER_DATES_FROM": "past"}
        found = search_dates(str(row["text"]), languages=[str(row["lang"])], settings=settings) or []  # type: ignore[arg-type]
        texts = {t for t, _ in found}
        n_pred += len(texts)
        n_gold += len(gold)
        tp += len(texts & gold)
    return {"precision": tp / n_pred if n_pred else 0.0, "recall": tp / n_gold if n_gold else 0.0}


def table(scores: dict[str, KindScore]) -> str:
    lines = ["| kind | gold | predicted | precision | recall | value ok |", "|---|---|---|---|---|---|"]
    for kind, s in scores.items():
        value = f"{s.value_ok}/{s.tp}"
        lines.append(f"| {kind} | {s.n_gold} | {s.n_pred} | {s.precision:.3f} | {s.recall:.3f} | {value} |")
    total = KindScore(*(sum(getattr(s, f) for s in scores.values()) for f in ("tp", "n_pred", "n_gold", "value_ok")))
    lines.append(f"| all (micro) | {total.n_gold} | {total.n_pred} | {total.precision:.3f} | {total.recall:.3f} "
                 f"| {total.value_ok}/{total.tp} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="heldout")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    scores, ms, reference = run(args.split, args.show_errors)
    print(table(scores))
    print(f"\n{args.split}: {len(load(args.split))} sentences, {ms:.2f} ms/sentence (whole analysis). "
          f"Reference for datetime, dateparser "
          f"search_dates: precision {reference['precision']:.3f}, recall {reference['recall']:.3f}")


if __name__ == "__main__":
    main()
