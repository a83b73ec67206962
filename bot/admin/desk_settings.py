"""The desk settings admins edit in the console and the API: the product catalog, the complaint categories
(taxonomy), routing (teams, their Slack channels, rules) and SLA policies.

Each kind is a document validated in full (every problem names its field) and against the others (a routing
rule may only name categories of the taxonomy and products of the catalog; an SLA policy only teams of the
routing). A saved document is a new immutable version in the database; every worker picks up the newest
within REFRESH_SECONDS and applies it without a restart: the NLP's catalog and taxonomy, the desk's routing,
the lifecycle's SLA policies (a case keeps the policy it started with). Until a kind is first saved, the
shipped or configured file (PLAINT_CATALOG_PATH, PLAINT_SLACK_ROUTING_FILE, PLAINT_SLA_FILE) is in force."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from bot.admin.audit import Actor, AuditTrail
from bot.admin.errors import AdminError
from bot.admin.models import CatalogDocument, TaxonomyDocument
from bot.analysis import SHIPPED_NLP_DATA, ThreadedAnalyzer, import_nlp
from bot.desk.routing import SHIPPED_ROUTING_FILE, RoutingConfig, RoutingVocabulary, check_routing, unknown_values
from bot.desk.service import DeskService
from bot.desk.vocabulary import DeskVocabulary
from bot.lifecycle.sla_policy import SlaPolicies, SlaPolicyFile, check_sla_policies
from bot.settings_documents import DocumentProblem, DocumentProblems, read_yaml_mapping, validated
from storage.settings_versions import TortoiseSettingsVersions

if TYPE_CHECKING:
    from nlp import Catalog
    from nlp.taxonomy import Taxonomy

# Importing nlp imports spaCy and jieba (seconds): this module is imported at start-up, so nlp is imported
# (through import_nlp) where a catalog or taxonomy is compiled.
_NLP_DATA = SHIPPED_NLP_DATA

log = logging.getLogger(__name__)

SettingsKind = Literal["catalog", "taxonomy", "routing", "sla"]
KINDS: tuple[SettingsKind, ...] = ("catalog", "taxonomy", "routing", "sla")
REFRESH_SECONDS = 2.0
# What routing rules may name besides categories and products.
CHANNELS = ("web", "telegram", "slack", "wechat")
LANGUAGES = ("en", "zh")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class SettingsInvalid(AdminError):
    """A document with problems; every one of them is listed."""

    def __init__(self, kind: SettingsKind, problems: tuple[DocumentProblem, ...]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the {kind} settings")
        self.kind = kind
        self.problems = problems


@dataclass(frozen=True)
class SettingsFiles:
    """Where each kind comes from until it is first saved here."""

    catalog: Path = _NLP_DATA / "catalog.yaml"  # nlp.analyzer.DEFAULT_CATALOG_PATH
    taxonomy: Path = _NLP_DATA / "taxonomy.yaml"  # nlp.taxonomy.DEFAULT_TAXONOMY_PATH
    routing: Path = SHIPPED_ROUTING_FILE
    sla: Path | None = None  # None: the shipped bot/lifecycle/sla.yaml


@dataclass(frozen=True)
class CurrentSettings:
    kind: SettingsKind
    version: int  # 0: the file
    document: dict[str, Any]
    saved_by: str | None
    saved_at: datetime | None


@dataclass(frozen=True)
class _Compiled:
    """One kind's document and what it compiles to (a Catalog, a Taxonomy, a RoutingConfig, SlaPolicies)."""

    current: CurrentSettings
    value: object


def _json_ready(document: object) -> dict[str, Any]:
    """YAML's dates and the like as JSON strings (what the database stores and the API sends)."""
    ready: dict[str, Any] = json.loads(json.dumps(document, default=str, ensure_ascii=False))
    return ready


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [str(value)]
    return [str(item) for item in value] if isinstance(value, list) else []


def _terms(value: object) -> dict[str, list[str]]:
    """Names given per language, or as one list (then split by script)."""
    if isinstance(value, Mapping):
        return {"en": _strings(value.get("en")), "zh": _strings(value.get("zh"))}
    terms = _strings(value)
    return {"en": [t for t in terms if not _CJK.search(t)], "zh": [t for t in terms if _CJK.search(t)]}


def _catalog_file_document(path: Path) -> dict[str, Any]:
    """A catalog file (YAML or CSV) in the console's shape: every list per language, both labels."""
    import_nlp()
    from nlp.catalog import catalog_file

    products, services_under_product = catalog_file(path)
    return {**catalog_in_console_shape(products), "services_under_product": services_under_product}


def _taxonomy_of(categories: object) -> Taxonomy:
    import_nlp()
    from nlp.taxonomy import Taxonomy

    return Taxonomy.from_document(categories)


def catalog_from_csv(text: str) -> dict[str, Any]:
    """An imported CSV catalog (nlp.catalog.CSV_COLUMNS) in the console's shape, not yet checked."""
    import_nlp()
    from nlp.catalog import catalog_rows

    rows = catalog_rows(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    # An import is an edit: a missing label is reported on its field, not filled in as files are.
    return catalog_in_console_shape(rows, fill_labels=False)


def catalog_csv(document: Mapping[str, Any]) -> str:
    """The catalog as CSV (the columns `plaint` reads with PLAINT_CATALOG_PATH=....csv)."""
    import_nlp()
    from nlp.catalog import CSV_COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for product in document.get("products", []):
        writer.writerow({
            "id": product["id"], "label_en": product["label"]["en"], "label_zh": product["label"]["zh"],
            "names_en": "|".join(product["names"]["en"]), "names_zh": "|".join(product["names"]["zh"]),
            "aliases": "|".join(product["aliases"]), "skus": "|".join(product["skus"]),
            "model_prefixes": "|".join(product["model_prefixes"]),
            "related_en": "|".join(product["related"]["en"]), "related_zh": "|".join(product["related"]["zh"]),
        })
    return out.getvalue()


def catalog_in_console_shape(raw_products: list[Mapping[str, object]], fill_labels: bool = True) -> dict[str, Any]:
    products = []
    for raw in raw_products:
        label = raw.get("label") if isinstance(raw.get("label"), Mapping) else {}
        assert isinstance(label, Mapping)
        names = _terms(raw.get("names"))
        fallback = (names["en"] + names["zh"] + [str(raw.get("id") or "")])[0] if fill_labels else ""
        label_en = str(label.get("en") or fallback)
        label_zh = str(label.get("zh") or (label_en if fill_labels else ""))
        products.append({
            "id": str(raw.get("id") or ""),
            "label": {"en": label_en, "zh": label_zh},
            "names": names,
            "aliases": _strings(raw.get("aliases")),
            "skus": _strings(raw.get("skus")),
            "model_prefixes": _strings(raw.get("model_prefixes")),
            "related": _terms(raw.get("related")),
        })
    return {"products": products}


def _labelled(entries: object) -> list[tuple[str, str, str]]:
    """(id, English label, Chinese label) of a catalog's products or a taxonomy's categories; a missing label is
    the id (English) or the English one (Chinese), as nlp.taxonomy reads it."""
    triples = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or not entry.get("id"):
            continue
        code = str(entry["id"])
        label = entry.get("label")
        label = label if isinstance(label, Mapping) else {}
        english = str(label.get("en") or code)
        triples.append((code, english, str(label.get("zh") or english)))
    return triples


def _yaml_file_document(path: Path, expected: str) -> dict[str, Any]:
    return _json_ready(read_yaml_mapping(path.read_text(encoding="utf-8"), expected))


def _duplicates(kind: str, ids: list[str], field: str) -> list[DocumentProblem]:
    seen: set[str] = set()
    problems = []
    for index, value in enumerate(ids):
        if value in seen:
            problems.append(DocumentProblem((kind, index, field), f"{value!r} is listed twice"))
        seen.add(value)
    return problems


def _own_catalog_problems(document: CatalogDocument) -> list[DocumentProblem]:
    return _duplicates("products", [product.id for product in document.products], "id")


def _own_taxonomy_problems(document: TaxonomyDocument) -> list[DocumentProblem]:
    return _duplicates("categories", [category.id for category in document.categories], "id")


def _unreadable_text(value: object, location: tuple[str | int, ...] = ()) -> list[DocumentProblem]:
    """What no database stores and no person reads: control characters and lone surrogates (broken JSON) in
    texts, and numbers too large to be numbers (JSON's 1e400)."""
    if isinstance(value, str):
        if any((ch < " " and ch not in "\t\n\r") or "\ud800" <= ch <= "\udfff" for ch in value):
            return [DocumentProblem(location, "contains control characters or broken Unicode")]
        return []
    if isinstance(value, float) and not math.isfinite(value):
        return [DocumentProblem(location, "is not a finite number")]
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in
                _unreadable_text(str(key), (*location, str(key))) + _unreadable_text(item, (*location, str(key)))]
    if isinstance(value, list | tuple):
        return [p for index, item in enumerate(value) for p in _unreadable_text(item, (*location, index))]
    return []


def _lowered(values: list[str] | None) -> list[str]:
    return [value.strip().lower() for value in values or []]


class DeskSettings:
    """The four documents in force in this process, how to change them, and how to follow other workers."""

    def __init__(
        self,
        store: TortoiseSettingsVersions,
        audit: AuditTrail,
        files: SettingsFiles,
        *,
        desk: DeskService,
        sla_policies: SlaPolicyFile,
        analyzer: ThreadedAnalyzer | None,
        on_routing: Callable[[RoutingConfig], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._on_routing = on_routing
        self._audit = audit
        self._files = files
        self._desk = desk
        self._sla_policies = sla_policies
        self._analyzer = analyzer
        self._compiled: dict[SettingsKind, _Compiled] = {}
        self._checked_at = 0.0
        self._refused: dict[SettingsKind, int] = {}  # a stored version that did not validate: said once
        self._lock = asyncio.Lock()
        self._nlp_baseline_lock = asyncio.Lock()
        # The labels of the catalog and taxonomy in force, and the two versions they were built from.
        self._vocabulary: tuple[CurrentSettings, CurrentSettings, DeskVocabulary] | None = None

    # --- reading --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """The files in force now, then whatever the database holds newer (before the server answers). The
        catalog and taxonomy files are read with the nlp package (spaCy: a second of imports), so they are read
        when first needed (a console page, an edit, a check), not at start-up."""
        routing, sla = self._desk.routing, self._sla_policies()
        sla_path = self._files.sla or Path(__file__).resolve().parents[1] / "lifecycle" / "sla.yaml"
        baseline: dict[SettingsKind, tuple[dict[str, Any], object]] = {
            "routing": (_yaml_file_document(self._files.routing, "default_team, teams and rules"), routing),
            "sla": (_yaml_file_document(sla_path, "default_calendar, calendars, teams and policies"), sla),
        }
        for kind, (document, value) in baseline.items():
            self._compiled[kind] = _Compiled(CurrentSettings(kind, 0, document, None, None), value)
        await self.refresh(force=True)

    async def _read_nlp_baseline(self) -> None:
        """The catalog and taxonomy files in force, unless a stored version replaced them already."""
        if "catalog" in self._compiled and "taxonomy" in self._compiled:
            return
        async with self._nlp_baseline_lock:
            if "catalog" not in self._compiled:
                catalog_doc = await asyncio.to_thread(_catalog_file_document, self._files.catalog)
                # Compiled only when edited: the analyzer holds the file's.
                self._compiled.setdefault("catalog", _Compiled(CurrentSettings("catalog", 0, catalog_doc, None, None),
                                                               None))
            if "taxonomy" not in self._compiled:
                taxonomy_doc = _yaml_file_document(self._files.taxonomy, "categories")
                taxonomy = await asyncio.to_thread(_taxonomy_of, taxonomy_doc.get("categories"))
                self._compiled.setdefault(
                    "taxonomy", _Compiled(CurrentSettings("taxonomy", 0, taxonomy_doc, None, None), taxonomy)
                )

    def _version_in_force(self, kind: SettingsKind) -> int:
        """0 for the file (read or not yet read), else the stored version applied."""
        compiled = self._compiled.get(kind)
        return compiled.current.version if compiled is not None else 0

    async def current(self, kind: SettingsKind) -> CurrentSettings:
        await self.refresh()
        await self._read_nlp_baseline()
        return self._compiled[kind].current

    async def vocabulary(self) -> DeskVocabulary:
        """The product and category labels (English, Chinese) of the catalog and taxonomy in force: the ones the
        NLP proposes from, edited or the files. Built once per version, from the documents already read."""
        catalog, taxonomy = await self.current("catalog"), await self.current("taxonomy")
        cached = self._vocabulary
        if cached is not None and cached[0] is catalog and cached[1] is taxonomy:
            return cached[2]
        vocabulary = DeskVocabulary.of(_labelled(catalog.document.get("products")),
                                       _labelled(taxonomy.document.get("categories")))
        self._vocabulary = (catalog, taxonomy, vocabulary)
        return vocabulary

    def category_ids(self) -> list[str]:
        return [c["id"] for c in self._compiled["taxonomy"].current.document.get("categories", [])
                if isinstance(c, Mapping) and "id" in c]

    def product_ids(self) -> list[str]:
        return [p["id"] for p in self._compiled["catalog"].current.document.get("products", [])
                if isinstance(p, Mapping) and "id" in p]

    def team_names(self) -> list[str]:
        routing = self._compiled["routing"].value
        return [team.name for team in routing.teams] if isinstance(routing, RoutingConfig) else []

    # --- following other workers ----------------------------------------------------------------------------

    async def refresh(self, force: bool = False) -> None:
        """Apply versions another worker saved; at most one query per REFRESH_SECONDS."""
        if not force and time.monotonic() - self._checked_at < REFRESH_SECONDS:
            return
        self._checked_at = time.monotonic()
        latest = await self._store.latest_versions()
        for kind in KINDS:
            number = latest.get(kind)
            if number is None or number in (self._version_in_force(kind), self._refused.get(kind)):
                continue
            async with self._lock:
                stored = await self._store.latest(kind)
                if stored is None or stored.version == self._version_in_force(kind):
                    continue
                try:
                    # Checked against the other kinds when saved: only the document itself is read here.
                    value = await self._compile(kind, stored.document, cross_check=False)
                except DocumentProblems as error:
                    # Saved documents were valid when saved; a newer Plaint may read them stricter.
                    self._refused[kind] = stored.version
                    log.error("%s settings version %s no longer validate, the last valid ones stay: %s",
                              kind, stored.version, error)
                    continue
                current = CurrentSettings(kind, stored.version, stored.document, stored.saved_by, stored.created_at)
                await self._apply(kind, current, value)

    async def run(self) -> None:
        """The background worker: follow the database for the life of the server."""
        while True:
            try:
                await self.refresh()
            except Exception:  # a database hiccup must not end the worker; the next round retries
                log.exception("desk settings not refreshed")
            await asyncio.sleep(REFRESH_SECONDS)

    async def _apply(self, kind: SettingsKind, current: CurrentSettings, value: object) -> None:
        self._compiled[kind] = _Compiled(current, value)
        if kind in ("catalog", "taxonomy"):
            import_nlp()  # compiled already (a stored or saved version): the package is in
            from nlp import Catalog
            from nlp.taxonomy import Taxonomy

            if kind == "catalog" and isinstance(value, Catalog) and self._analyzer is not None:
                self._analyzer.use_catalog(value, None)
            elif kind == "taxonomy" and isinstance(value, Taxonomy) and self._analyzer is not None:
                self._analyzer.use_catalog(None, value)
            # The desk's labels (case messages, the reclassify modal) follow the edit like the NLP does.
            self._desk.forget_vocabulary()
        elif kind == "routing" and isinstance(value, RoutingConfig):
            self._desk.use_routing(value)
            if self._on_routing is not None:
                try:
                    # What else follows the teams (the daily digests): in force already, so never refused here.
                    await self._on_routing(value)
                except Exception:
                    log.exception("routing version %s in force, but what follows it was not updated", current.version)
        elif kind == "sla" and isinstance(value, SlaPolicies):
            self._sla_policies.replace(value)
        log.info("%s settings version %s in force", kind, current.version)

    # --- changing -------------------------------------------------------------------------------------------

    async def check(self, kind: SettingsKind, raw: object) -> tuple[DocumentProblem, ...]:
        """Every problem of `raw` as the `kind` document, nothing stored."""
        try:
            await self._compile(kind, raw)
        except DocumentProblems as error:
            return error.problems
        return ()

    async def save(self, kind: SettingsKind, raw: object, actor: Actor) -> int:
        """Validate, store as a new version, apply here at once; SettingsInvalid lists every problem."""
        async with self._lock:
            try:
                value = await self._compile(kind, raw)
            except DocumentProblems as error:
                raise SettingsInvalid(kind, error.problems) from None
            document = _json_ready(raw.model_dump(mode="json") if isinstance(raw, BaseModel) else raw)
            before = self._compiled[kind].current
            version = await self._store.save(kind, document, actor.name)
            await self._audit.record(actor, "save", kind, f"version {version}", before.document, document)
            stored = await self._store.latest(kind)
            saved_at = stored.created_at if stored is not None and stored.version == version else None
            await self._apply(kind, CurrentSettings(kind, version, document, actor.name, saved_at), value)
        return version

    async def _compile(self, kind: SettingsKind, raw: object, cross_check: bool = True) -> object:
        await self._read_nlp_baseline()  # the cross-checks read the catalog's and taxonomy's ids
        unreadable = _unreadable_text(raw.model_dump(mode="json") if isinstance(raw, BaseModel) else raw)
        if unreadable:
            raise DocumentProblems(unreadable)
        if kind == "catalog":
            return await self._compile_catalog(raw, cross_check)
        if kind == "taxonomy":
            return self._compile_taxonomy(raw, cross_check)
        if kind == "routing":
            config = check_routing(raw)
            return self._cross_check_routing(config) if cross_check else config
        sla = check_sla_policies(raw)
        return self._cross_check_sla(sla) if cross_check else sla

    async def _compile_catalog(self, raw: object, cross_check: bool) -> Catalog:
        document = validated(CatalogDocument, raw, self._catalog_problems if cross_check else _own_catalog_problems)
        products = [product.model_dump(mode="json") for product in document.products]
        import_nlp()
        from nlp import Catalog
        from nlp.errors import CatalogError

        try:
            # Compiling the matchers takes a moment (spaCy, jieba): off the event loop.
            return await asyncio.to_thread(functools.partial(
                Catalog.from_document, products, services_under_product=document.services_under_product))
        except CatalogError as error:
            index = next((i for i, p in enumerate(document.products) if p.id == error.entry), None)
            location: tuple[str | int, ...] = ("products", index) if index is not None else ("products",)
            raise DocumentProblems([DocumentProblem(location, str(error).split(": ", 1)[-1])]) from None

    def _catalog_problems(self, document: CatalogDocument) -> list[DocumentProblem]:
        ids = [product.id for product in document.products]
        problems = _own_catalog_problems(document)
        routing = self._compiled["routing"].value
        if isinstance(routing, RoutingConfig):
            used = {p for rule in routing.rules for p in rule.when.product or []}
            # Only what this edit removes: a rule naming an unknown product is the routing's problem.
            for product in sorted(used & (set(self.product_ids()) - set(ids))):
                problems.append(DocumentProblem(
                    ("products",), f"product {product!r} is named by a routing rule: change the routing first"
                ))
        return problems

    def _compile_taxonomy(self, raw: object, cross_check: bool) -> Taxonomy:
        document = validated(TaxonomyDocument, raw, self._taxonomy_problems if cross_check else _own_taxonomy_problems)
        return _taxonomy_of([category.model_dump(mode="json") for category in document.categories])

    def _taxonomy_problems(self, document: TaxonomyDocument) -> list[DocumentProblem]:
        ids = [category.id for category in document.categories]
        problems = _own_taxonomy_problems(document)
        used: dict[str, str] = {}
        routing = self._compiled["routing"].value
        if isinstance(routing, RoutingConfig):
            used |= {c: "a routing rule" for rule in routing.rules for c in rule.when.category or []}
        sla = self._compiled["sla"].value
        if isinstance(sla, SlaPolicies):
            used |= {c: f"SLA policy {p.name!r}" for p in sla.policies if p.when for c in p.when.category or []}
        for category in sorted(set(used) & (set(self.category_ids()) - set(ids))):
            problems.append(DocumentProblem(
                ("categories",), f"category {category!r} is named by {used[category]}: change that first"
            ))
        return problems

    def _cross_check_routing(self, config: RoutingConfig) -> RoutingConfig:
        vocabulary = RoutingVocabulary(frozenset(self.category_ids()), frozenset(self.product_ids()),
                                       frozenset(CHANNELS), frozenset(LANGUAGES))
        what = {"category": "a category of the taxonomy", "product": "a product of the catalog",
                "channel": f"a channel ({', '.join(CHANNELS)})", "language": "a language (en, zh)"}
        problems = [DocumentProblem(("rules", unknown.rule_index, "when", unknown.field),
                                    f"{unknown.value!r} is not {what[unknown.field]}")
                    for unknown in unknown_values(config, vocabulary)]
        if problems:
            raise DocumentProblems(problems)
        return config

    def _cross_check_sla(self, config: SlaPolicies) -> SlaPolicies:
        teams, categories = set(self.team_names()), set(self.category_ids())
        problems: list[DocumentProblem] = []
        for team in config.teams:
            if team not in teams:
                problems.append(DocumentProblem(("teams", team), f"{team!r} is not a team of the routing"))
        for index, policy in enumerate(config.policies):
            for team in _lowered(policy.when.team if policy.when else None):
                if team not in {name.lower() for name in teams}:
                    problems.append(DocumentProblem(("policies", index, "when", "team"),
                                                    f"{team!r} is not a team of the routing"))
            for category in _lowered(policy.when.category if policy.when else None):
                if category not in categories:
                    problems.append(DocumentProblem(("policies", index, "when", "category"),
                                                    f"{category!r} is not a category of the taxonomy"))
        if problems:
            raise DocumentProblems(problems)
        return config
