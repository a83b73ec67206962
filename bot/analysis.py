"""The NLP port of the intake service: the CPU-bound analysis runs in a worker thread, off the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from flows import Proposal
from nlp import Analysis, Analyzer, Catalog, Lang, ProductChoice
from nlp.taxonomy import Taxonomy

# How many catalog products the open product question offers as buttons (they fit a phone screen).
CATALOG_BUTTONS = 6


class TextAnalyzer(Protocol):
    def analyze(self, text: str, lang: Lang | None = None) -> Analysis: ...

    def top_products(self, n: int, lang: Lang) -> tuple[ProductChoice, ...]: ...

    def with_catalog(self, catalog: Catalog | None, taxonomy: Taxonomy | None) -> TextAnalyzer: ...


def proposals_from(analysis: Analysis) -> tuple[Proposal, ...]:
    """The flow's proposals; a product proposal is always a catalog entry (the analyzer answers
    `product=None` rather than a label the catalog does not hold)."""
    proposals: list[Proposal] = []
    if analysis.product:
        proposals.append(
            Proposal("product", analysis.product, analysis.product_label or analysis.product,
                     analysis.product_confidence)
        )
    if analysis.category:
        proposals.append(
            Proposal("category", analysis.category, analysis.category_label or analysis.category,
                     analysis.category_confidence)
        )
    return tuple(proposals)


def _language(lang: str | None) -> Lang | None:
    return "zh" if lang == "zh" else "en" if lang == "en" else None


class ThreadedAnalyzer:
    def __init__(self, analyzer: TextAnalyzer) -> None:
        self._analyzer = analyzer

    @classmethod
    def load_default(cls, installed_models_dir: Path | None = None,
                     catalog_path: Path | None = None) -> ThreadedAnalyzer:
        """The shipped models, or those `plaint nlp retrain` installed in `installed_models_dir`, with the
        business's catalog (the composition root passes `settings.data_dir / "models"` and
        `settings.catalog_path`; None means the shipped ones)."""
        return cls(Analyzer.load_default(catalog_path, installed_models_dir=installed_models_dir))

    def fork(self) -> ThreadedAnalyzer:
        """A port of its own over the same loaded models: what one application's catalog edits change."""
        return ThreadedAnalyzer(self._analyzer)

    def use_catalog(self, catalog: Catalog | None, taxonomy: Taxonomy | None) -> None:
        """An edited catalog and taxonomy (None keeps the current one) for the next messages, without a restart."""
        self._analyzer = self._analyzer.with_catalog(catalog, taxonomy)

    async def propose(self, text: str, lang: str | None) -> tuple[Proposal, ...]:
        analysis = await asyncio.to_thread(self._analyzer.analyze, text, _language(lang))
        return proposals_from(analysis)

    def catalog_choices(self, lang: str | None) -> tuple[Proposal, ...]:
        """The catalog's first products as role "catalog" proposals for the flow's open product question."""
        return tuple(
            Proposal("product", choice.id, choice.label, 0.0, role="catalog")
            for choice in self.top_products(CATALOG_BUTTONS, lang)
        )

    def top_products(self, n: int, lang: str | None) -> tuple[ProductChoice, ...]:
        """The catalog's first `n` products labelled in the customer's language: the buttons of the open
        product question when no product was proposed (cheap, no thread needed)."""
        return self._analyzer.top_products(n, _language(lang) or "en")
