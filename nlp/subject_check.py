"""The subject check: is the product the catalog rules found what the complaint is about?

The catalog's rules (nlp/catalog.py) read whose a product is, where it is only the setting and what is blamed; on
fresh wording they still propose a product for complaints about another thing that names it: a care plan, a fee, a
voucher, a neighbour's machine, a cable bought separately. This check is a logistic regression over the words
(Chinese: characters) of the message with the product's names masked (``PPP`` for the proposed product, ``QQQ`` for
any other catalog product), so what it learned carries over to any business's catalog. It vetoes a proposal whose
probability of being the subject is below ``THRESHOLD``; the flow then asks an open product question.

Businesses draw one line differently: whether a complaint about a service around a product (its delivery,
installation, repair visit, refund) is about that product (the catalog's ``services_under_product``). The check
learns both lines at once: every feature also counts once more under the line of the complaint's writer (``W|`` for
"under the product", ``A|`` for "apart"), so what both share is learned from all complaints and what differs from
each side's own (feature augmentation, Daumé 2007); scoring uses the catalog's line.

Its weights (``data/subject_check.json.gz``) are trained by ``scripts/train_subject_check.py`` from complaints
written for this project only: the open-set compound sets (data/open_set/, sets 1-63; set 0 and sets 64 and up
are never trained on: they measure it) and the training split of data/own. Scoring is a dictionary lookup per
feature: linear in the message, no model to load beyond one small file.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable, Mapping
from itertools import pairwise
from pathlib import Path

from nlp.catalog import CatalogMatch
from nlp.errors import ModelLoadError

SHIPPED_SUBJECT_CHECK_PATH = Path(__file__).parent / "data" / "subject_check.json.gz"
# Chosen on leave-two-sets-out runs over the training sets: "more likely not the subject than the subject".
THRESHOLD = 0.5
# Feature windows: the words just before and after each mention of the proposed product.
_WINDOW = 4
_TARGET = "ppp"
_OTHER = "qqq"
_PIECES = re.compile(r"[\u4e00-\u9fff]+|[a-z']+|\d+|\S")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]")


def _words(text: str) -> list[str]:
    # Chinese by character (the bigrams then hold its two-character words): no segmenter whose dictionary each
    # loaded catalog changes, so the same text always has the same features.
    words: list[str] = []
    for piece in _PIECES.findall(text.lower()):
        words.extend(piece if _CJK_RUN.match(piece) else (piece,))
    return words


def features(text: str, lang: str, product_id: str, mentions: Iterable[CatalogMatch],
             services_under_product: bool = True) -> dict[str, float]:
    """The features of "`product_id` is what `text` is about": unigrams and bigrams of the masked text, the words
    around each mention of the product, how many products and mentions there are, how the product was found; each
    once as it is and once under the catalog's line for services."""
    ordered = sorted(mentions, key=lambda m: (m.start, m.end))
    pieces: list[str] = []
    last = 0
    for mention in ordered:
        if mention.start < last:  # overlapping mentions: the earlier one stands
            continue
        pieces += [text[last : mention.start], f" {_TARGET} " if mention.product_id == product_id else f" {_OTHER} "]
        last = mention.end
    pieces.append(text[last:])
    words = _words("".join(pieces))
    found: dict[str, float] = {f"u:{w}": 1.0 for w in words}
    found.update({f"b:{a}_{b}": 1.0 for a, b in pairwise(words)})
    at = [i for i, w in enumerate(words) if w == _TARGET]
    for i in at:
        found.update({f"L:{w}": 1.0 for w in words[max(0, i - _WINDOW) : i]})
        found.update({f"R:{w}": 1.0 for w in words[i + 1 : i + 1 + _WINDOW]})
    found["nprod"] = float(len({m.product_id for m in ordered}))
    found["nment"] = float(min(3, len(at)))
    found.update({f"m:{m.method}": 1.0 for m in ordered if m.product_id == product_id})
    found[f"lang:{lang}"] = 1.0
    line = "W|" if services_under_product else "A|"
    return {**found, **{line + name: value for name, value in found.items()}}


class SubjectCheck:
    """Trained weights; `probability` of a product being the complaint's subject."""

    def __init__(self, weights: Mapping[str, float], intercept: float, threshold: float = THRESHOLD,
                 trained_on: Iterable[str] = ()) -> None:
        self._weights = dict(weights)
        self._intercept = intercept
        self.threshold = threshold
        self.trained_on = frozenset(trained_on)  # the training files' names (the benchmark measures the others)

    @classmethod
    def load(cls, path: Path = SHIPPED_SUBJECT_CHECK_PATH) -> SubjectCheck:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                document = json.load(handle)
            return cls({str(k): float(v) for k, v in document["weights"].items()}, float(document["intercept"]),
                       float(document.get("threshold", THRESHOLD)), map(str, document.get("trained_on", ())))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelLoadError(f"cannot read the subject check: {exc}", path=path) from exc

    def probability(self, text: str, lang: str, product_id: str, mentions: Iterable[CatalogMatch],
                    services_under_product: bool = True) -> float:
        found = features(text, lang, product_id, mentions, services_under_product)
        score = self._intercept + sum(self._weights.get(name, 0.0) * value for name, value in found.items())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score))))

    def holds(self, text: str, lang: str, product_id: str, mentions: Iterable[CatalogMatch],
              services_under_product: bool = True) -> bool:
        """Whether `product_id` may be proposed under the catalog's line for services: its probability is at least
        the threshold."""
        return self.probability(text, lang, product_id, mentions, services_under_product) >= self.threshold
