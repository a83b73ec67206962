"""Value objects the NLP package hands to the rest of Plaint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "zh"]
ProductSource = Literal["catalog", "classifier", "none"]


@dataclass(frozen=True)
class Analysis:
    """What the NLP step read in one customer message.

    Confidences are calibrated probabilities in [0, 1] (0.0 when nothing was found); `product_span`
    is the matched catalog text when `product_source == "catalog"`.
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

    @classmethod
    def nothing(cls, lang: Lang) -> Analysis:
        """The answer for text with nothing to read (empty, emoji-only, undecodable)."""
        return cls(lang, None, None, 0.0, "none", None, None, None, 0.0)

    def to_json(self) -> dict[str, object]:
        return {
            "lang": self.lang,
            "product": self.product,
            "product_label": self.product_label,
            "product_confidence": round(self.product_confidence, 4),
            "product_source": self.product_source,
            "product_span": self.product_span,
            "category": self.category,
            "category_label": self.category_label,
            "category_confidence": round(self.category_confidence, 4),
        }
