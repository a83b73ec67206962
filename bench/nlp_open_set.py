"""Open-set product benchmark: a retailer's own catalog meets complaints about what it sells and what it
does not, in English and Chinese (data/open_set/, written for this project).

    python bench/nlp_open_set.py [--catalog data/open_set/retailer_catalog.yaml] [--complaints FILE.csv]

--complaints data/open_set/heldout_compounds.csv: compound names written by someone who had not seen the
shipped catalog's names (which tell a "hair dryer" from a tumble dryer), after that rule was built.
--complaints data/open_set/heldout_compounds_2.csv: 100 more (50 in the catalog, 50 not; en + zh), written
without seeing the matcher, before the head-of-phrase check ("toaster bags" is no toaster) was measured on them.
--complaints data/open_set/heldout_compounds_3.csv: 100 more (50 / 50, en + zh), written without seeing the matcher
or the other sets; first measured with session 12's first version of the check (9.0 % wrong, 90.0 % recall).
--complaints data/open_set/heldout_compounds_4.csv: 100 more, written after that session's rules were final: what a
new customer's wording meets (first try 6.0 % wrong, 98.0 % recall; the rules before 7.0 % / 88.0 %).
--complaints data/open_set/heldout_compounds_5.csv: 100 more, asked to hold verb-like modifiers ("laptop docking
station", 洗衣机防震垫) and products doing wrong ("the dryer shrinking my jumpers"); first measured with the -ing
rule: 10.0 % wrong, 96.0 % recall (without it 15.0 % / 98.0 %; session 11's rules 21.0 % / 96.0 %).
--complaints data/open_set/heldout_compounds_6.csv: 100 more, asked for things bought for a product ("a cover for
my laptop", "compatible with my TV", 适用于, 配, 用的, 给…买的, 放在…上面的) and two products in one message: first try
39.0 % wrong, 92.0 % recall; 7.0 % / 96.0 % after the rules answering them (session 13).
--complaints data/open_set/heldout_compounds_7.csv: 100 more, a support inbox's mix (longer messages, second mentions,
口语): first try 22.0 % / 92.0 % (session 12's rules 28.0 %), 9.0 % / 100 % after.
--complaints data/open_set/heldout_compounds_8.csv: 100 more, an ordinary month of a shop's complaint chat (services
sold around a product labelled no product): first try 27.0 % / 92.0 % (session 12's rules 34.0 % / 90.0 %), 19.0 % /
98.0 % after.
--complaints data/open_set/heldout_compounds_9.csv: 100 more, an ordinary month again (services of a product counted
as that product), written once session 13's rules were final and kept untuned: 16.0 % wrong, 92.0 % recall (session
12's rules 32.0 % / 90.0 %); 1.0 % / 94.0 % after session 14's rules answering it.
Sets 10 to 17 (100 each, written without seeing the matcher; session 14). First try is the figure with the rules of
the day the set arrived, before anything was built from it; "session 13's rules" are the rules before session 14:
--complaints data/open_set/heldout_compounds_10.csv: things bought for, used with, placed by a product: first try
17.0 % / 98.0 % (session 13's rules); 1.0 % / 98.0 % after.
--complaints data/open_set/heldout_compounds_11.csv: fast phone typing, English and Chinese mixed: first try 11.0 % /
98.0 % (session 13's rules), 8.0 % / 98.0 % with session 14's first rules before it was looked at; 4.0 % / 100 % after.
--complaints data/open_set/heldout_compounds_12.csv: many customers, every shape evenly: first try 15.0 % / 96.0 %
(session 13's rules 21.0 %); 9.0 % / 96.0 % after.
--complaints data/open_set/heldout_compounds_13.csv: small stories naming several things: first try 19.0 % / 94.0 %
(session 13's rules 25.0 %); 8.0 % / 94.0 % after.
--complaints data/open_set/heldout_compounds_14.csv: as the twelfth, written once session 14's first rules were
final: first try 9.0 % / 98.0 % (session 13's rules 20.0 %); 1.0 % / 98.0 % after.
--complaints data/open_set/heldout_compounds_15.csv: as the thirteenth, written then too and left unlooked at through
the second rules: 10.0 % / 96.0 % with the first rules, 9.0 % / 96.0 % with the second (session 13's rules 25.0 %);
2.0 % / 100 % after the third.
--complaints data/open_set/heldout_compounds_16.csv and _17.csv: as the twelfth and the thirteenth, written once the
second rules were final: first try 8.0 % / 98.0 % and 8.0 % / 94.0 % (session 13's rules 16.0 % / 98.0 % and
17.0 % / 96.0 %); 3.0 % / 98.0 % and 4.0 % / 94.0 % after the third rules.
--complaints data/open_set/heldout_compounds_18.csv and _19.csv: the same two asks, written once the third rules
were final, kept untuned for wrong proposals: 10.0 % / 98.0 % and 11.0 % / 94.0 % (session 13's rules 16.0 % / 100 %
and 22.0 % / 94.0 %). Their recall misses were read afterwards (100 % and 98.0 % now).
--complaints data/open_set/heldout_compounds_20.csv and _21.csv: the same two asks, written once session 14's rules
were final and kept untuned (nothing read but the figures): 13.0 % / 100 % and 9.0 % / 92.0 % (session 13's rules
21.0 % / 100 % and 19.0 % / 92.0 %); 9.0 % / 100 % and 2.0 % / 98.0 % after session 15's rules answering them.
Sets 22 to 35 (session 15; the same two asks, two sets per round, each written before the round's rules and
measured before anything was built from it; "session 14's rules" are the rules before session 15):
--complaints data/open_set/heldout_compounds_22.csv and _23.csv: first try 12.0 % / 94.0 % and 26.0 % / 86.0 %
(session 14's rules 14.0 % and 28.0 %); 6.0 % / 98.0 % and 9.0 % / 100 % after.
--complaints data/open_set/heldout_compounds_24.csv and _25.csv: first try 24.0 % / 98.0 % and 14.0 % / 82.0 %
(session 14's rules 27.0 % and 17.0 %); 11.0 % / 98.0 % and 6.0 % / 92.0 % after.
--complaints data/open_set/heldout_compounds_26.csv and _27.csv: first try 20.0 % / 98.0 % and 20.0 % / 86.0 %
(session 14's rules 21.0 % and 26.0 %); 15.0 % / 98.0 % and 14.0 % / 94.0 % after.
--complaints data/open_set/heldout_compounds_28.csv and _29.csv: first try 17.0 % / 96.0 % and 18.0 % / 84.0 %
(session 14's rules 24.0 % and 20.0 %); 11.0 % / 98.0 % and 12.0 % / 88.0 % after.
--complaints data/open_set/heldout_compounds_30.csv and _31.csv: first try 18.0 % / 98.0 % and 15.0 % / 86.0 %
(session 14's rules 23.0 % and 23.0 %); 9.0 % / 100 % and 9.0 % / 96.0 % after.
--complaints data/open_set/heldout_compounds_32.csv and _33.csv: first try 13.0 % / 98.0 % and 9.0 % / 94.0 %
(session 14's rules 17.0 % and 12.0 %); 6.0 % / 98.0 % and 4.0 % / 100 % after.
--complaints data/open_set/heldout_compounds_34.csv and _35.csv: written while the last rules were built, measured
once they were final and kept untuned (nothing read but the figures): 13.0 % / 98.0 % and 20.0 % / 92.0 % (session
14's rules 24.0 % / 98.0 % and 24.0 % / 86.0 %): the figure to beat.
Sets 36 to 55 (session 16; the same two asks; the brief listed the services around a product that count as another
thing, and the sets came out harder for the rules: 23-36 % wrong on first sight):
--complaints data/open_set/heldout_compounds_36.csv to _39.csv: the rules alone 23.0, 24.0, 30.0, 26.0 % wrong (93.5 %
recall pooled); a first prototype of the check (trained on sets 0-35): 8.8 % / 85.0 % pooled. They then joined its
training.
--complaints data/open_set/heldout_compounds_40.csv to _43.csv: written while the subject check was built, never
trained on, measured once it was final: the rules alone 30.2 % / 87.0 % pooled; with the check 8.0 % / 83.5 % (per set
5.0 / 98.0, 11.0 / 76.0, 6.0 / 94.0, 10.0 / 66.0). They then joined its training, and so on, one round of four
sets at a time, each measured with the check trained on every set before it:
--complaints data/open_set/heldout_compounds_44.csv to _47.csv: check trained on sets 1-43: 3.25 % / 93.0 % pooled (per
set 2.0 / 94.0, 2.0 / 96.0, 4.0 / 98.0, 5.0 / 84.0); the rules alone 25.75 % / 96.0 %.
--complaints data/open_set/heldout_compounds_48.csv to _51.csv: check trained on sets 1-47: 4.25 % / 90.0 % (11.0 /
98.0, 1.0 / 94.0, 1.0 / 98.0, 4.0 / 70.0); the rules alone 32.0 % / 91.0 %.
--complaints data/open_set/heldout_compounds_52.csv to _55.csv: the check trained on sets 1-51, never trained on:
5.0 % / 89.5 % (4.0 / 100, 6.0 / 80.0, 5.0 / 98.0, 5.0 / 80.0); the rules alone 30.75 % / 92.5 %. Three rules were then
built from their recall misses (so these four are no longer untouched): 5.0 % / 91.0 % with the final rules and check.
--complaints data/open_set/heldout_compounds_56.csv to _59.csv: the check and rules of the day, never trained on:
2.0 % / 88.0 % pooled (2.0 / 100, 0.0 / 84.0, 2.0 / 98.0, 4.0 / 70.0); the rules alone 31.5 % / 90.5 %. One rule built
from their recall misses (one verdict for a list: "the fridge and TV were fine but"): 2.25 % / 88.5 % after.
--complaints data/open_set/heldout_compounds_60.csv to _63.csv: the shipped rules and check, never trained on or read:
3.25 % / 91.5 % pooled (2.0 / 96.0, 2.0 / 94.0, 2.0 / 100, 7.0 / 76.0); the rules alone 28.75 % / 93.0 %. Session
17 trained the check on them (sets 1-63).
--complaints data/open_set/heldout_compounds_64.csv to _71.csv (session 17, eight sets, the two asks alternating with
themes: moving house, terse phone messages, families, an online shop, a café and landlords, holiday sales, power cuts
and leaks, repeat customers): the check as shipped before (one line for services, trained on sets 1-51) 11.75 % /
96.0 % and 10.5 % / 95.5 % (most of it complaints about a product's delivery, repair visit or refund: its writers'
line, the catalog's `services_under_product: false`, which that check had learned mixed with data/own's other line);
the shipped check (each line learned apart, trained on sets 1-63), never trained on or read: 2.9 % / 95.5 % pooled
(2.0 / 92.0, 3.0 / 98.0, 6.0 / 94.0, 1.0 / 100, 3.0 / 98.0, 0.0 / 92.0, 4.0 / 94.0, 4.0 / 96.0); the rules alone
28.5 % / 95.8 %. Its variant was chosen (data/own's sure rows under both lines) after these were measured.
--complaints data/open_set/heldout_compounds_72.csv to _75.csv (themes: students sharing a flat, older customers,
a guesthouse, after-sales), written and measured once the shipped check was final: 2.25 % / 93.5 % pooled (2.0 /
92.0, 0.0 / 96.0, 5.0 / 90.0, 2.0 / 96.0); the rules alone 27.25 % / 94.0 %: the figure to beat.
--complaints data/open_set/ordinary_1.csv and ordinary_2.csv: long, messy everyday complaints (80 % about a catalog
product, its fault among grumbles about the courier, service and price), never trained on: 0.5 % / 96.2 % pooled
(the rules alone 9.0 % / 98.8 %).

Each set is measured under its writer's line for services: the catalog file's (`services_under_product: false`),
except sets 9-21, whose writers filed services under the product. The shipped subject check (nlp/subject_check.py)
learned from sets 1-63: on them its figures are fit, not first sight.

A wrong proposal is a product proposed that is not the expected one (any product for an out-of-catalog
complaint); its rate is over all complaints. Recall is over in-catalog complaints. The references beside
it: the catalog rules without the subject check, the catalog matcher without the head-of-phrase check, and the
exact-name-only matcher (no aliases, typos, model numbers, related words, head-of-phrase or subject check).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_subject_check import SERVICES_UNDER_PRODUCT_SETS  # noqa: E402

from nlp.analyzer import Analyzer  # noqa: E402
from nlp.catalog import Catalog, CatalogEntry, catalog_document  # noqa: E402
from nlp.subject_check import SubjectCheck  # noqa: E402

OPEN_SET = ROOT / "data" / "open_set"
# The open set, then forty-three sets of compound names each written by someone who had not seen the matcher's rules.
COMPLAINT_SETS = (OPEN_SET / "complaints.csv", OPEN_SET / "heldout_compounds.csv", OPEN_SET / "heldout_compounds_2.csv",
                  OPEN_SET / "heldout_compounds_3.csv", OPEN_SET / "heldout_compounds_4.csv",
                  OPEN_SET / "heldout_compounds_5.csv", OPEN_SET / "heldout_compounds_6.csv",
                  OPEN_SET / "heldout_compounds_7.csv", OPEN_SET / "heldout_compounds_8.csv",
                  OPEN_SET / "heldout_compounds_9.csv",
                  *(OPEN_SET / f"heldout_compounds_{n}.csv" for n in range(10, 76)))
# The subject check (nlp/subject_check.py) names the sets it learned from (scripts/train_subject_check.py); the
# main open set and the sets after them measure it on complaints it never saw.
NEVER_TRAINED_ON = tuple(path for path in COMPLAINT_SETS if path.name not in SubjectCheck.load().trained_on)
# Long, messy everyday complaints (the product's fault among grumbles about the courier, service, price; 80 % about a
# catalog product, like real traffic), written once the check was final: what it costs where most messages are
# about the product they name.
ORDINARY_SETS = (OPEN_SET / "ordinary_1.csv", OPEN_SET / "ordinary_2.csv")


def pooled(runs: Iterable[list[tuple[str, OpenSetScore]]]) -> list[tuple[str, OpenSetScore]]:
    """Several sets' `run`s, each matcher's counts summed."""
    totals: dict[str, OpenSetScore] = {}
    for scores in runs:
        for name, s in scores:
            t = totals.setdefault(name, OpenSetScore(0, 0, 0, 0, {}, []))
            kinds = {k: (t.by_kind.get(k, (0, 0))[0] + s.by_kind.get(k, (0, 0))[0],
                         t.by_kind.get(k, (0, 0))[1] + s.by_kind.get(k, (0, 0))[1])
                     for k in sorted({*t.by_kind, *s.by_kind})}
            totals[name] = OpenSetScore(t.n + s.n, t.n_in_catalog + s.n_in_catalog, t.wrong + s.wrong,
                                        t.found + s.found, kinds, t.wrong_rows + s.wrong_rows)
    return list(totals.items())


@dataclass(frozen=True)
class OpenSetScore:
    n: int
    n_in_catalog: int
    wrong: int
    found: int
    by_kind: dict[str, tuple[int, int]]  # kind -> (correct, n)
    wrong_rows: list[str]

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.n

    @property
    def recall(self) -> float:
        return self.found / self.n_in_catalog


def load_rows(path: Path = OPEN_SET / "complaints.csv") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def score(predict: object, rows: list[dict[str, str]]) -> OpenSetScore:
    assert callable(predict)
    wrong = found = 0
    kinds: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    wrong_rows = []
    for row in rows:
        expected = row["product"] or None
        got = predict(row["text"], row["lang"])
        kinds[row["kind"]] += 1
        if got == expected:
            correct[row["kind"]] += 1
            found += expected is not None
        elif got is not None:
            wrong += 1
            wrong_rows.append(f"{row['text']!r}: {got} (expected {expected})")
    n_in = sum(1 for r in rows if r["product"])
    return OpenSetScore(len(rows), n_in, wrong, found, {k: (correct[k], kinds[k]) for k in sorted(kinds)},
                        wrong_rows)


def run(catalog_path: Path = OPEN_SET / "retailer_catalog.yaml",
        complaints_path: Path = OPEN_SET / "complaints.csv") -> list[tuple[str, OpenSetScore]]:
    """Plaint's analyzer with the retailer catalog, then the references: its catalog matcher without the
    head-of-phrase check ("toaster bags" is no toaster), and the exact-name-only matcher."""
    rows = load_rows(complaints_path)
    analyzer = Analyzer.load_default(catalog_path)
    rules = analyzer.catalog
    assert rules is not None
    document = catalog_document(catalog_path)
    # Each set is measured under the line for services its writer drew (the catalog file says the usual one).
    if complaints_path.name in SERVICES_UNDER_PRODUCT_SETS and not rules.services_under_product:
        analyzer = analyzer.with_catalog(Catalog.from_document(document, catalog_path, services_under_product=True),
                                         None)
    ours = score(lambda text, lang: analyzer.analyze(text, lang).product, rows)
    rules_alone = score(lambda text, _lang: (m.product_id if (m := rules.match(text)) else None), rows)
    no_head_check = Catalog.from_document(document, catalog_path, head_of_phrase_check=False)
    names_only = Catalog([CatalogEntry(e.id, e.label_en, e.label_zh, e.names) for e in no_head_check.entries.values()],
                         head_of_phrase_check=False)

    def matched_by(catalog: Catalog, methods: tuple[str, ...]) -> Callable[[str, str], str | None]:
        def predict(text: str, _lang: str) -> str | None:
            match = catalog.match(text)
            return match.product_id if match and match.method in methods else None
        return predict

    return [("Plaint (catalog: exact/alias/typo/indirect)", ours),
            ("catalog rules alone (no subject check)", rules_alone),
            ("no head-of-phrase check", score(matched_by(no_head_check, ("exact", "alias", "typo", "indirect")), rows)),
            ("exact names only", score(matched_by(names_only, ("exact",)), rows))]


# Real shop reviews in Chinese (data/shopping_zh.csv, a benchmark-only licence) of four listings the shipped catalog
# holds: unlabelled for what each complaint is about, so what the subject check drops there bounds what it costs.
REVIEW_LISTINGS = {"热水器": "water_heater", "平板": "tablet", "手机": "phone", "计算机": "computer"}


def reviews_kept(path: Path = ROOT / "data" / "shopping_zh.csv") -> tuple[int, int]:
    """Of the reviews where the shipped catalog's rules propose the listing's own product, how many the analyzer
    (rules and subject check) still proposes, and how many there are."""
    analyzer = Analyzer.load_default()
    rules = analyzer.catalog
    assert rules is not None
    kept = n = 0
    for row in load_rows(path):
        listing = REVIEW_LISTINGS.get(row["product"])
        text = row["text"][:2000]
        if listing is None or (match := rules.match(text)) is None or match.product_id != listing:
            continue
        n += 1
        kept += analyzer.analyze(text, "zh").product == listing
    return kept, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=OPEN_SET / "retailer_catalog.yaml")
    parser.add_argument("--complaints", type=Path, default=OPEN_SET / "complaints.csv")
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    scores = run(args.catalog, args.complaints)
    ours = scores[0][1]
    print("| matcher | n | in-catalog | wrong proposals | recall | " + " | ".join(ours.by_kind) + " |")
    print("|---|---|---|---|---|" + "---|" * len(ours.by_kind))
    for name, s in scores:
        kinds = " | ".join(f"{c}/{n}" for c, n in s.by_kind.values())
        print(f"| {name} | {s.n} | {s.n_in_catalog} | {s.wrong} ({s.wrong_rate:.1%}) | {s.recall:.1%} | {kinds} |")
    kept, n = reviews_kept()
    print(f"\nReal Chinese shop reviews (shopping_zh) where the rules propose the listing's product: the subject check "
          f"keeps {kept} of {n} ({kept / n:.1%})")
    if args.show_wrong:
        print("\n".join(ours.wrong_rows))


if __name__ == "__main__":
    main()
