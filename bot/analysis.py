"""The NLP port of the intake service: the CPU-bound analysis runs in a worker thread, off the event loop.

The models (spaCy, jieba's dictionary, the catalog) take seconds to import and load: they are loaded in a
background thread started once `plaint serve` listens and `plaint chat` has greeted (the import would compete
with start-up for the interpreter); the first turn that needs them waits for the load to finish."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from flows import ExtractedValue, ExtractKind, Proposal
from flows.contact_parsing import import_contact_parsers
from flows.datetime_parsing import date_parser

if TYPE_CHECKING:
    from nlp import Analysis, Catalog, Entity, EntityKind, Lang, ProductChoice
    from nlp.taxonomy import Taxonomy

log = logging.getLogger(__name__)

# How many catalog products the open product question offers as buttons (they fit a phone screen).
CATALOG_BUTTONS = 6


# The NLP's entity kinds as the flow's extract kinds (a flow says `extract: name`, the NLP finds a "person").
_EXTRACT_KINDS: dict[EntityKind, ExtractKind] = {
    "person": "name",
    "phone": "phone",
    "email": "email",
    "datetime": "datetime",
    "order_number": "order_number",
    "money": "amount",
    "product": "product",
    "resolution": "resolution",
    "location": "location",
}


class TextAnalyzer(Protocol):
    @property
    def catalog(self) -> Catalog | None: ...

    @property
    def taxonomy(self) -> Taxonomy: ...

    def analyze(self, text: str, lang: Lang | None = None, *, now: datetime | None = None) -> Analysis: ...

    def top_products(self, n: int, lang: Lang) -> tuple[ProductChoice, ...]: ...

    def with_catalog(self, catalog: Catalog | None, taxonomy: Taxonomy | None) -> TextAnalyzer: ...


_LANGS: tuple[Lang, ...] = ("en", "zh")


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


def extracted_from(entities: Iterable[Entity], lang: Lang, catalog: Catalog | None) -> tuple[ExtractedValue, ...]:
    """The NLP's entities as the flow's extracted values; a product shows as its catalog name in `lang`."""
    values: list[ExtractedValue] = []
    for entity in entities:
        label = None
        labels: tuple[tuple[Lang, str], ...] = ()
        if entity.kind == "product" and catalog is not None and entity.value in catalog.entries:
            entry = catalog.entries[entity.value]
            label = entry.label(lang)
            labels = tuple((language, entry.label(language)) for language in _LANGS)
        values.append(ExtractedValue(_EXTRACT_KINDS[entity.kind], entity.text, entity.value, entity.start,
                                     entity.end, label, labels))
    return tuple(values)


def _language(lang: str | None) -> Lang | None:
    return "zh" if lang == "zh" else "en" if lang == "en" else None


# spaCy's modules import each other in a cycle: a thread importing them while another thread is half way through
# gets a partially initialised module (ImportError). In a process that loads the models in the background, every
# import of our nlp package outside the loader goes through `import_nlp()` first, which waits for the loader.
_NLP_IMPORT_LOCK = threading.Lock()
# The shipped catalog and taxonomy files, found without importing the nlp package.
SHIPPED_NLP_DATA = Path(str(find_spec("nlp").origin)).parent / "data"  # type: ignore[union-attr]


def import_nlp() -> None:
    """Import the nlp package (spaCy, jieba: seconds the first time), never alongside another thread's import."""
    with _NLP_IMPORT_LOCK:
        import nlp  # noqa: F401


class BackgroundLoadedAnalyzer:
    """A `TextAnalyzer` whose models are loaded once, by the first caller or by `start_loading()`'s thread
    (whichever comes first; the others wait for it)."""

    def __init__(self, load: Callable[[], TextAnalyzer]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: TextAnalyzer | None = None
        self._loader: threading.Thread | None = None
        # Not `_lock`, held for the seconds of a load: the event loop calls this and must not wait.
        self._loader_lock = threading.Lock()

    def start_loading(self) -> None:
        """Starts the loader thread; later calls do nothing."""
        with self._loader_lock:
            if self._loader is not None or self._loaded is not None:
                return
            self._loader = threading.Thread(target=self._load_now, name="nlp-model-loader", daemon=True)
        self._loader.start()

    def _load_now(self) -> None:
        try:
            self.loaded()
        except Exception:
            # The turn that needs the models loads them again and fails there, where it is answered for.
            log.exception("the NLP models could not be loaded")

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    def loaded(self) -> TextAnalyzer:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
                    # The models (spaCy's vocabularies, jieba's dictionary) live as long as the process: out of
                    # the cyclic collector's sight, a full collection no longer walks them (0.3 s a time, every
                    # few seconds under load, with every turn in the process waiting).
                    gc.freeze()
        return self._loaded

    @property
    def catalog(self) -> Catalog | None:
        return self.loaded().catalog

    @property
    def taxonomy(self) -> Taxonomy:
        return self.loaded().taxonomy

    def analyze(self, text: str, lang: Lang | None = None, *, now: datetime | None = None) -> Analysis:
        return self.loaded().analyze(text, lang, now=now)

    def top_products(self, n: int, lang: Lang) -> tuple[ProductChoice, ...]:
        return self.loaded().top_products(n, lang)

    def with_catalog(self, catalog: Catalog | None, taxonomy: Taxonomy | None) -> TextAnalyzer:
        return self.loaded().with_catalog(catalog, taxonomy)


class ThreadedAnalyzer:
    def __init__(self, analyzer: TextAnalyzer) -> None:
        self._analyzer = analyzer

    @classmethod
    def load_default(cls, installed_models_dir: Path | None = None,
                     catalog_path: Path | None = None) -> ThreadedAnalyzer:
        """The shipped models, or those `plaint nlp retrain` installed in `installed_models_dir`, with the
        business's catalog (the composition root passes `settings.data_dir / "models"` and
        `settings.catalog_path`; None means the shipped ones), loaded by `start_loading()`'s background thread
        or else by the first caller that needs them."""

        def load() -> TextAnalyzer:
            import_nlp()
            from nlp import Analyzer  # spaCy and jieba: seconds of imports, kept out of start-up

            analyzer = Analyzer.load_default(catalog_path, installed_models_dir=installed_models_dir)
            # The flow's parsers of date, phone and e-mail answers: imported here too, after start-up, rather than
            # in the first turn that needs them.
            date_parser()
            import_contact_parsers()
            return analyzer

        return cls(BackgroundLoadedAnalyzer(load))

    def start_loading(self) -> None:
        """Load the models in a background thread now, if they are not loaded or loading yet."""
        if isinstance(self._analyzer, BackgroundLoadedAnalyzer):
            self._analyzer.start_loading()

    def models_loaded(self) -> bool:
        """False while the models are still loading in the background (the first turns would wait)."""
        return not isinstance(self._analyzer, BackgroundLoadedAnalyzer) or self._analyzer.is_loaded

    def fork(self) -> ThreadedAnalyzer:
        """A port of its own over the same loaded models: what one application's catalog edits change."""
        return ThreadedAnalyzer(self._analyzer)

    @property
    def taxonomy(self) -> Taxonomy:
        """The categories this port's models predict, as edited in the console (waits for the models)."""
        return self._analyzer.taxonomy

    def use_catalog(self, catalog: Catalog | None, taxonomy: Taxonomy | None) -> None:
        """An edited catalog and taxonomy (None keeps the current one) for the next messages, without a restart."""
        self._analyzer = self._analyzer.with_catalog(catalog, taxonomy)

    async def propose(self, text: str, lang: str | None) -> tuple[Proposal, ...]:
        analysis = await asyncio.to_thread(self._analyzer.analyze, text, _language(lang))
        return tuple(self._in_every_language(proposal) for proposal in proposals_from(analysis))

    def _in_every_language(self, proposal: Proposal) -> Proposal:
        """The proposal's label in English and Chinese: a conversation that switches language shows the
        product and category it already holds in the new one."""
        labels: tuple[tuple[Lang, str], ...] = tuple(
            (language, self.value_label(proposal.field, proposal.value, language)) for language in _LANGS
        )
        return replace(proposal, labels=labels)

    async def extract(self, text: str, lang: str | None, now: datetime) -> tuple[ExtractedValue, ...]:
        """Values the flow can use found in one message (names, phones, dates, orders, amounts, products);
        `now` (in the business's time zone) resolves "yesterday" and "两天前"."""
        language = _language(lang)
        analysis = await asyncio.to_thread(self._analyzer.analyze, text, language, now=now)
        return extracted_from(analysis.entities, language or analysis.lang, self._analyzer.catalog)

    def value_label(self, field: str, value: str, lang: str | None) -> str:
        """A stored product or category id as the customer reads it (a typed product shows as typed)."""
        language = _language(lang) or "en"
        catalog = self._analyzer.catalog
        if field == "product" and catalog is not None and value in catalog.entries:
            return catalog.entries[value].label(language)
        if field == "category":
            return self._analyzer.taxonomy.label(value, language)
        return value

    def catalog_choices(self, lang: str | None) -> tuple[Proposal, ...]:
        """The catalog's first products as role "catalog" proposals for the flow's open product question."""
        return tuple(
            self._in_every_language(Proposal("product", choice.id, choice.label, 0.0, role="catalog"))
            for choice in self.top_products(CATALOG_BUTTONS, lang)
        )

    def top_products(self, n: int, lang: str | None) -> tuple[ProductChoice, ...]:
        """The catalog's first `n` products labelled in the customer's language: the buttons of the open
        product question when no product was proposed (cheap, no thread needed)."""
        return self._analyzer.top_products(n, _language(lang) or "en")
