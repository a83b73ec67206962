"""Complaint-category taxonomy: ids the category model predicts, with display labels per language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from nlp.analysis import Lang
from nlp.catalog import SAFE_YAML_LOADER
from nlp.errors import CatalogError

DEFAULT_TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.yaml"


@dataclass(frozen=True)
class Category:
    id: str
    label_en: str
    label_zh: str

    def label(self, lang: Lang) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]

    def label(self, category_id: str, lang: Lang) -> str:
        for category in self.categories:
            if category.id == category_id:
                return category.label(lang)
        # A custom-trained model may predict ids the taxonomy file does not list: show the id.
        return category_id

    @classmethod
    def load(cls, path: Path = DEFAULT_TAXONOMY_PATH) -> Taxonomy:
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CatalogError(f"cannot read taxonomy: {exc}", path=path) from exc
        raw = document.get("categories") if isinstance(document, Mapping) else None
        return cls.from_document(raw, path)

    @classmethod
    def from_document(cls, raw: object, path: Path | None = None) -> Taxonomy:
        """From the categories as mappings (the YAML file's `categories`, or an admin's edit)."""
        if not isinstance(raw, list):
            raise CatalogError("expected a mapping with a `categories` list", path=path)
        categories = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping) or not item.get("id"):
                raise CatalogError("category needs an id", path=path, entry=f"#{index + 1}")
            label = item.get("label") or {}
            if not isinstance(label, Mapping):
                raise CatalogError("label must map en/zh to text", path=path, entry=str(item["id"]))
            label_en = str(label.get("en") or item["id"])
            categories.append(Category(str(item["id"]), label_en, str(label.get("zh") or label_en)))
        return cls(tuple(categories))
