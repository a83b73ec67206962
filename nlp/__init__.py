"""Plaint NLP: catalog products, complaint categories and entities for English and Chinese (spaCy).

Nothing is loaded at import time; `analyze()` loads the shipped default models on first use.
"""

from __future__ import annotations

import threading

from nlp.analysis import Analysis, Lang, ProductProposal, ProductSource
from nlp.analyzer import Analyzer
from nlp.catalog import Catalog, CatalogEntry, CatalogMatch, MatchMethod, ProductChoice
from nlp.entities import (
    DateTimeMention,
    EmailAddress,
    Entity,
    EntityKind,
    MoneyAmount,
    OrderNumber,
    PersonName,
    PhoneNumber,
    ProductMention,
    extract_entities,
)
from nlp.errors import CatalogError, InputTextError, ModelLoadError, NlpError, TrainingDataError
from nlp.language import detect_language
from nlp.training import EvalReport, LabelledText, LabelScores, TrainingConfig, TrainingResult

__all__ = [
    "Analysis",
    "Analyzer",
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "CatalogMatch",
    "DateTimeMention",
    "EmailAddress",
    "Entity",
    "EntityKind",
    "EvalReport",
    "InputTextError",
    "LabelScores",
    "LabelledText",
    "Lang",
    "MatchMethod",
    "ModelLoadError",
    "MoneyAmount",
    "NlpError",
    "OrderNumber",
    "PersonName",
    "PhoneNumber",
    "ProductChoice",
    "ProductMention",
    "ProductProposal",
    "ProductSource",
    "TrainingConfig",
    "TrainingDataError",
    "TrainingResult",
    "analyze",
    "default_analyzer",
    "detect_language",
    "extract_entities",
]

_default: Analyzer | None = None
_default_lock = threading.Lock()


def default_analyzer() -> Analyzer:
    """The process-wide Analyzer over the shipped models, loaded once on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Analyzer.load_default()
        return _default


def analyze(text: str, lang: Lang | None = None) -> Analysis:
    """Analyse one message with the shipped default models (sync, CPU-bound: run it in a thread)."""
    return default_analyzer().analyze(text, lang)
