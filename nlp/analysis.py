"""Value objects the NLP package hands to the rest of Plaint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nlp.catalog import MatchMethod
from nlp.entities import Entity

Lang = Literal["en", "zh"]
ProductSource = Literal["catalog", "classifier", "none"]


@dataclass(frozen=True)
class ProductProposal:
    """A product the customer may confirm: always an entry of the business's catalog.

    `label` is in the customer's language, `text` what they wrote (None for a classifier guess),
    `method` how it was found: exact / alias / typo / indirect (catalog) or classifier.
    """

    id: str
    label: str
    text: str | None
    confidence: float
    method: MatchMethod | Literal["classifier"]


@dataclass(frozen=True)
class Analysis:
    """What the NLP step read in one customer message.

    Confidences are calibrated probabilities in [0, 1] (0.0 when nothing was found); `product_span`
    is the matched catalog text when `product_source == "catalog"`. `product` is None when nothing in
    the catalog was confidently found: the flow then asks an open question. Entity spans index the
    analysed text (the message itself, or its first `MAX_ANALYZED_CHARS` characters).
    """

    lang: Lang
    product: str | None
    product_label: str | None
    product_confidence: float
    product_source: ProductSource
    product_span: str | None
    category: str | None
    category_label: str | None
    category_confidence: float
    product_method: MatchMethod | Literal["classifier"] | None = None
    entities: tuple[Entity, ...] = ()

    @classmethod
    def nothing(cls, lang: Lang) -> Analysis:
        """The answer for text with nothing to read (empty, emoji-only, undecodable)."""
        return cls(lang, None, None, 0.0, "none", None, None, None, 0.0)

    @property
    def product_proposal(self) -> ProductProposal | None:
        if self.product is None or self.product_method is None:
            return None
        return ProductProposal(self.product, self.product_label or self.product, self.product_span,
                               self.product_confidence, self.product_method)

    def to_json(self) -> dict[str, object]:
        return {
            "lang": self.lang,
            "product": self.product,
            "product_label": self.product_label,
            "product_confidence": round(self.product_confidence, 4),
            "product_source": self.product_source,
            "product_span": self.product_span,
            "product_method": self.product_method,
            "category": self.category,
            "category_label": self.category_label,
            "category_confidence": round(self.category_confidence, 4),
            "entities": [entity.to_json() for entity in self.entities],
        }
