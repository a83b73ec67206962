"""The admin-maintained product catalog, compiled into spaCy PhraseMatchers plus a typo-tolerant step.

Catalog file (YAML or CSV) -- one entry per product:

    products:
      - id: phone
        label: {en: Mobile phone, zh: 手机}
        names: {en: [mobile phone, smartphone], zh: [手机, 智能手机]}
        aliases: [iphone, android phone]        # any language
        skus: [PH-100]

CSV: columns id,label_en,label_zh,names_en,names_zh,aliases,skus with `|` between list items.

Matching order: exact token match (PhraseMatcher on LOWER, after NFKC so full-width text matches),
then for Chinese a substring scan (a name the segmenter split differently), then a fuzzy pass over
1..3-token windows with spaces removed (so "water heater" = "waterheater" = "water-heeter") allowing
one edit (insert, delete, substitute, swap) for names of 5+ characters.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import jieba
import spacy
import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher

from nlp.errors import CatalogError
from nlp.text_features import normalize_text

Lang = Literal["en", "zh"]
MatchMethod = Literal["exact", "substring", "fuzzy"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CONFIDENCE: dict[MatchMethod, float] = {"exact": 0.97, "substring": 0.85, "fuzzy": 0.75}
_MIN_FUZZY_CHARS = 5
_MAX_WINDOW_TOKENS = 3
# Only the first part of a very long message is scanned; complaints name the product early.
MAX_MATCH_CHARS = 5000


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    label_en: str
    label_zh: str
    names: tuple[str, ...]
    skus: tuple[str, ...] = ()

    def label(self, lang: Lang) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class CatalogMatch:
    product_id: str
    span: str
    method: MatchMethod
    confidence: float


def _as_list(value: object, where: str, path: Path | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    raise CatalogError(f"{where} must be a string or a list of strings", path=path)


def _entry_from_mapping(raw: Mapping[str, object], index: int, path: Path | None) -> CatalogEntry:
    product_id = str(raw.get("id") or "").strip()
    if not product_id:
        raise CatalogError("missing id", path=path, entry=f"#{index + 1}")
    label = raw.get("label") or {}
    names = raw.get("names") or {}
    if not isinstance(label, Mapping) or not isinstance(names, Mapping):
        raise CatalogError("label and names must be mappings of en/zh", path=path, entry=product_id)
    all_names = [*_as_list(names.get("en"), "names.en", path), *_as_list(names.get("zh"), "names.zh", path),
                 *_as_list(raw.get("aliases"), "aliases", path)]
    skus = _as_list(raw.get("skus"), "skus", path)
    label_en = str(label.get("en") or (all_names[0] if all_names else product_id))
    label_zh = str(label.get("zh") or label_en)
    all_names += [label_en, label_zh]
    cleaned = tuple(dict.fromkeys(n for n in (normalize_text(x).lower() for x in all_names) if n))
    return CatalogEntry(product_id, label_en, label_zh, cleaned,
                        tuple(normalize_text(s).lower() for s in skus if s.strip()))


def _osa_distance_at_most_one(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


class Catalog:
    """Compiled catalog; `match` is read-only and safe to call from several threads."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.id in self.entries:
                raise CatalogError("duplicate product id", entry=entry.id)
            self.entries[entry.id] = entry
        self._en = spacy.blank("en")
        zh_names = [n for e in self.entries.values() for n in e.names if _CJK.search(n)]
        for name in zh_names:
            # Keep catalog names whole when jieba segments the customer's text.
            jieba.add_word(name, freq=max(jieba.get_FREQ(name) or 0, 20000))
        self._zh = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self._en_matcher = PhraseMatcher(self._en.vocab, attr="LOWER")
        self._zh_matcher = PhraseMatcher(self._zh.vocab, attr="LOWER")
        self._zh_substrings: list[tuple[str, str]] = []
        self._fuzzy_index: dict[str, set[tuple[str, str]]] = {}
        for entry in self.entries.values():
            latin = [n for n in (*entry.names, *entry.skus) if not _CJK.search(n)]
            chinese = [n for n in entry.names if _CJK.search(n)]
            if latin:
                self._en_matcher.add(entry.id, [self._en.make_doc(n) for n in latin])
            if chinese:
                self._zh_matcher.add(entry.id, [self._zh.make_doc(n) for n in chinese])
                self._zh_substrings += [(n, entry.id) for n in chinese]
            for name in latin:
                squashed = re.sub(r"[\s\-_]+", "", name)
                keys = _deletions(squashed) if len(squashed) >= _MIN_FUZZY_CHARS else {squashed}
                for key in keys:
                    self._fuzzy_index.setdefault(key, set()).add((squashed, entry.id))
        self._zh_substrings.sort(key=lambda pair: -len(pair[0]))
        # In Chinese text Latin names have no spaces around them ("我的iphone坏了"), so the English
        # tokenizer sees one long token: find them by letter boundaries instead.
        latin_names = sorted({(n, e.id) for e in self.entries.values() for n in (*e.names, *e.skus)
                              if not _CJK.search(n)}, key=lambda pair: -len(pair[0]))
        self._latin_in_cjk = [(re.compile(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])"), n, pid)
                              for n, pid in latin_names]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        if not path.is_file():
            raise CatalogError("file not found", path=path)
        try:
            if path.suffix.lower() == ".csv":
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    raw_entries: list[Mapping[str, object]] = [
                        {"id": row.get("id"), "label": {"en": row.get("label_en"), "zh": row.get("label_zh")},
                         "names": {"en": _split(row.get("names_en")), "zh": _split(row.get("names_zh"))},
                         "aliases": _split(row.get("aliases")), "skus": _split(row.get("skus"))}
                        for row in csv.DictReader(handle)]
            else:
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
                if not isinstance(document, Mapping) or not isinstance(document.get("products"), list):
                    raise CatalogError("expected a mapping with a `products` list", path=path)
                raw_entries = document["products"]
        except (UnicodeDecodeError, yaml.YAMLError, csv.Error) as exc:
            raise CatalogError(f"cannot read: {exc}", path=path) from exc
        entries = []
        for index, raw in enumerate(raw_entries):
            if not isinstance(raw, Mapping):
                raise CatalogError("entry must be a mapping", path=path, entry=f"#{index + 1}")
            entries.append(_entry_from_mapping(raw, index, path))
        return cls(entries)

    @cached_property
    def product_ids(self) -> frozenset[str]:
        return frozenset(self.entries)

    def match(self, text: str) -> CatalogMatch | None:
        """Best catalog match in `text` (longest, then earliest), or None."""
        text = normalize_text(text[:MAX_MATCH_CHARS])
        if not text:
            return None
        found: list[tuple[int, int, CatalogMatch]] = []  # (length, -start, match)
        en_doc = self._en(text.lower())
        found += self._phrase_matches(self._en, self._en_matcher, en_doc)
        if _CJK.search(text):
            zh_doc = self._zh.make_doc(text.lower())
            found += self._phrase_matches(self._zh, self._zh_matcher, zh_doc)
            lowered = text.lower()
            if not found:
                for pattern, _name, product_id in self._latin_in_cjk:
                    hit = pattern.search(lowered)
                    if hit:
                        found.append((len(hit.group()), -hit.start(), CatalogMatch(
                            product_id, text[hit.start() : hit.end()], "exact", _CONFIDENCE["exact"])))
                        break
            if not found:
                for name, product_id in self._zh_substrings:
                    start = lowered.find(name)
                    if start >= 0:
                        found.append((len(name), -start, CatalogMatch(
                            product_id, text[start : start + len(name)], "substring", _CONFIDENCE["substring"])))
                        break
        if not found:
            found += self._fuzzy_matches(en_doc)
        if not found:
            return None
        return max(found, key=lambda item: (item[2].method == "exact", item[0], item[1]))[2]

    def _phrase_matches(self, nlp: Language, matcher: PhraseMatcher,
                        doc: spacy.tokens.Doc) -> list[tuple[int, int, CatalogMatch]]:
        out = []
        for match_id, start, end in matcher(doc):
            span = doc[start:end]
            out.append((len(span.text), -span.start_char, CatalogMatch(
                nlp.vocab.strings[match_id], span.text, "exact", _CONFIDENCE["exact"])))
        return out

    def _fuzzy_matches(self, doc: spacy.tokens.Doc) -> list[tuple[int, int, CatalogMatch]]:
        out = []
        words = [t for t in doc if t.is_alpha or t.like_num]
        for i in range(len(words)):
            for width in range(1, _MAX_WINDOW_TOKENS + 1):
                window = words[i : i + width]
                if len(window) < width or window[-1].i - window[0].i != width - 1:
                    break
                candidate = "".join(t.lower_ for t in window)
                keys = _deletions(candidate) if len(candidate) >= _MIN_FUZZY_CHARS - 1 else {candidate}
                for key in keys:
                    for name, product_id in self._fuzzy_index.get(key, ()):
                        same_short_name = len(name) < _MIN_FUZZY_CHARS and candidate == name
                        if same_short_name or (len(name) >= _MIN_FUZZY_CHARS
                                               and _osa_distance_at_most_one(candidate, name)):
                            span = doc[window[0].i : window[-1].i + 1]
                            method: MatchMethod = "exact" if candidate == name else "fuzzy"
                            out.append((len(span.text), -span.start_char,
                                        CatalogMatch(product_id, span.text, method, _CONFIDENCE[method])))
        return out


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split("|") if part.strip()]
