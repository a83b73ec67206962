"""The NLP port of the intake service: the CPU-bound analysis runs in a worker thread, off the event loop."""

from __future__ import annotations

import asyncio
from typing import Protocol

from flows import Proposal
from nlp import Analysis, Analyzer, Lang


class TextAnalyzer(Protocol):
    def analyze(self, text: str, lang: Lang | None = None) -> Analysis: ...


def proposals_from(analysis: Analysis) -> tuple[Proposal, ...]:
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


class ThreadedAnalyzer:
    def __init__(self, analyzer: TextAnalyzer) -> None:
        self._analyzer = analyzer

    @classmethod
    def load_default(cls) -> ThreadedAnalyzer:
        return cls(Analyzer.load_default())

    async def propose(self, text: str, lang: str | None) -> tuple[Proposal, ...]:
        language: Lang | None = "zh" if lang == "zh" else "en" if lang == "en" else None
        analysis = await asyncio.to_thread(self._analyzer.analyze, text, language)
        return proposals_from(analysis)
