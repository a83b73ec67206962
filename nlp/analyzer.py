"""The Analyzer: product (from the catalog, or none), category, entities and language of one message."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from spacy.language import Language

from nlp.analysis import Analysis, Lang
from nlp.catalog import SHIPPED_CATALOG_PATH, Catalog, ProductChoice
from nlp.entities import extract_entities, without_identifiers, without_resolution_requests
from nlp.errors import ModelLoadError
from nlp.language import detect_language
from nlp.subject_check import SubjectCheck
from nlp.taxonomy import DEFAULT_TAXONOMY_PATH, Taxonomy
from nlp.text_features import classifier_text, normalize_text
from nlp.training import COMPONENT, load_model

PACKAGE_DIR = Path(__file__).parent
DEFAULT_MODELS_DIR = PACKAGE_DIR / "models"
DEFAULT_CATALOG_PATH = SHIPPED_CATALOG_PATH
# The classifiers read the beginning of a message; a 100 KB paste costs no more than 8 KB.
MAX_ANALYZED_CHARS = 8000


@dataclass(frozen=True)
class _Prediction:
    label: str
    confidence: float


def category_model_dir(lang: Lang, installed_models_dir: Path | None = None) -> Path:
    """The category model in use for `lang`: an installed retrained one, else the shipped one."""
    if installed_models_dir is not None and (installed_models_dir / f"{lang}_category" / "meta.json").is_file():
        return installed_models_dir / f"{lang}_category"
    return DEFAULT_MODELS_DIR / f"{lang}_category"


def _has_readable_text(text: str) -> bool:
    # Letters or digits in any script; emoji, symbols and punctuation alone say nothing.
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


class Analyzer:
    """Holds the loaded pipelines; `analyze` may be called from several threads."""

    def __init__(self, *, category_models: Mapping[Lang, Language],
                 product_models: Mapping[Lang, Language] | None = None,
                 catalog: Catalog | None = None, taxonomy: Taxonomy | None = None,
                 min_product_confidence: float = 0.7, subject_check: SubjectCheck | None = None) -> None:
        self._category_models = dict(category_models)
        self._product_models = dict(product_models or {})
        self.catalog = catalog
        # Vetoes a catalog product the message names but is not about (None: every product the rules find stands).
        self.subject_check = subject_check
        self.taxonomy = taxonomy or Taxonomy.load(DEFAULT_TAXONOMY_PATH)
        self.min_product_confidence = min_product_confidence
        # spaCy adds unseen words to the shared vocab while tokenising: serialise pipeline calls.
        self._lock = threading.Lock()

    @classmethod
    def load_default(cls, catalog_path: Path | None = None, installed_models_dir: Path | None = None) -> Analyzer:
        """The shipped English and Chinese category models with the default (or the given) catalog.

        A model `plaint nlp retrain` installed under `installed_models_dir` (`<dir>/en_category`, ...) is
        preferred to the shipped one. Products come from the catalog alone (no shipped product classifier):
        a product the catalog does not hold can never be proposed.
        """
        return cls.load(
            category_dirs={"en": category_model_dir("en", installed_models_dir),
                           "zh": category_model_dir("zh", installed_models_dir)},
            catalog_path=catalog_path or DEFAULT_CATALOG_PATH,
        )

    @classmethod
    def load(cls, *, category_dirs: Mapping[Lang, Path], product_dirs: Mapping[Lang, Path] | None = None,
             catalog_path: Path | None = None, taxonomy_path: Path | None = None) -> Analyzer:
        return cls(
            category_models={lang: load_model(path) for lang, path in category_dirs.items()},
            product_models={lang: load_model(path) for lang, path in (product_dirs or {}).items()},
            catalog=Catalog.load(catalog_path) if catalog_path else None,
            taxonomy=Taxonomy.load(taxonomy_path or DEFAULT_TAXONOMY_PATH),
            subject_check=SubjectCheck.load(),
        )

    @classmethod
    def from_model_dir(cls, model_dir: Path, catalog_path: Path | None = None) -> Analyzer:
        """One custom category model (its language from its meta) for `plaint nlp analyze --model`."""
        nlp = load_model(model_dir)
        if nlp.lang not in ("en", "zh"):
            raise ModelLoadError(f"unsupported language {nlp.lang!r}", path=model_dir)
        lang: Lang = "zh" if nlp.lang == "zh" else "en"
        return cls(category_models={lang: nlp}, catalog=Catalog.load(catalog_path) if catalog_path else None,
                   subject_check=SubjectCheck.load())

    def analyze(self, text: str | bytes, lang: Lang | None = None, *, now: datetime | None = None) -> Analysis:
        """Analyse one message; never raises for bad text, answers low confidence instead.

        `now` resolves relative dates in the entities ("yesterday"); it defaults to the local clock.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                return Analysis.nothing(lang or "en")
        # Lone surrogates (from broken JSON) cannot be encoded; replace them rather than fail later.
        text = text.encode("utf-8", "replace").decode("utf-8")[:MAX_ANALYZED_CHARS]
        normalised = normalize_text(text)
        lang = lang or detect_language(normalised)
        if not _has_readable_text(normalised):
            return Analysis.nothing(lang)
        with self._lock:
            matches, match = self.catalog.read(text) if self.catalog else ([], None)
            if (match is not None and self.subject_check is not None and self.catalog is not None
                    and not self.subject_check.holds(text, lang, match.product_id, matches,
                                                     self.catalog.services_under_product)):
                match = None
            category = self._classify(self._category_models, category_text(normalised), lang)
            product = None if match else self._classify(self._product_models, classifier_text(normalised), lang)
        entities = extract_entities(text, lang, now or datetime.now(), matches)
        category_id = category.label if category else None
        category_fields = (category_id, self.taxonomy.label(category_id, lang) if category_id else None,
                           category.confidence if category else 0.0)
        if match is not None:
            return Analysis(lang, match.product_id, self._product_label(match.product_id, lang),
                            match.confidence, "catalog", match.span, *category_fields, match.method, entities)
        # A classifier may only name products the catalog holds (a custom model can know other labels).
        if (product is not None and product.confidence >= self.min_product_confidence and self.catalog
                and product.label in self.catalog.entries):
            return Analysis(lang, product.label, self._product_label(product.label, lang),
                            product.confidence, "classifier", None, *category_fields, "classifier", entities)
        return Analysis(lang, None, None, 0.0, "none", None, *category_fields, None, entities)

    def with_catalog(self, catalog: Catalog | None, taxonomy: Taxonomy | None) -> Analyzer:
        """The same loaded pipelines with another catalog and taxonomy (an admin's edit); None keeps this one's.
        The copy shares this analyzer's lock: the pipelines' vocab is shared too."""
        copy = Analyzer(category_models=self._category_models, product_models=self._product_models,
                        catalog=catalog or self.catalog, taxonomy=taxonomy or self.taxonomy,
                        min_product_confidence=self.min_product_confidence, subject_check=self.subject_check)
        copy._lock = self._lock
        return copy

    def top_products(self, n: int, lang: Lang) -> tuple[ProductChoice, ...]:
        """The catalog's first `n` products labelled in `lang` (buttons for the open product question)."""
        return self.catalog.top_products(n, lang) if self.catalog else ()

    def _product_label(self, product_id: str, lang: Lang) -> str:
        entry = self.catalog.entries.get(product_id) if self.catalog else None
        return entry.label(lang) if entry else product_id

    @staticmethod
    def _classify(models: Mapping[Lang, Language], text: str, lang: Lang) -> _Prediction | None:
        nlp = models.get(lang)
        if nlp is None:
            return None
        doc = nlp(text)
        if not doc.cats or not len(doc):
            return None
        best = max(doc.cats, key=doc.cats.__getitem__)
        return _Prediction(best, float(doc.cats[best]))


def category_text(normalised: str) -> str:
    """What the category model reads of a message: not what the customer wants done ("I want a refund"), nor the
    order numbers that identify the purchase (`nlp.entities`)."""
    return classifier_text(without_identifiers(without_resolution_requests(normalised)))


__all__ = ["COMPONENT", "Analyzer", "category_model_dir", "category_text"]
