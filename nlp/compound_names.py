"""Is a product name the head of its phrase, or a word describing another thing?

"The toaster bags melted" names toaster *bags*, "a microwave rice pouch" a pouch, 咖啡机胶囊 a capsule, 电视会员 a
streaming membership: the catalog product is only a modifier, and proposing it files the case under the wrong
product. English and Chinese noun compounds put the head last, so what matters is the word right after the name:
- a verb, an adverb, a function word, punctuation, the end: the product is the subject or object ("the toaster
  only browns one side", "the kettle's lid", 洗衣机用了一个星期就漏水);
- one of the product's parts or aspects (door, screen, battery, delivery, warranty; 门, 屏幕, 电池, 售后), one
  of its catalog names or `related` words: still the product ("the fridge door seal", 冰箱冷藏室的门, 蒙牛牛奶);
- any other noun: the head of a longer name of something else.
No English part-of-speech tagger comes from the package index (spaCy's trained pipelines do not), so the other
noun is what is left after the closed classes (spaCy's stop words, inflected verb forms, the verbs and adjectives
customers use about products: `data/compound_words.yaml`); Chinese has jieba's part-of-speech tags.
Before a name only an imitation is looked for ("a toy toaster", 玩具烤面包机); other modifiers before a name
("pressure washer", 宠物烘干机) are left to the general catalog's longer names (`Catalog`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from spacy.lang.en.stop_words import STOP_WORDS

if TYPE_CHECKING:
    from jieba.posseg import POSTokenizer

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# The first word after a name: a word (with an inner apostrophe: "won't"), or any other single character.
_NEXT_WORD = re.compile(r"\s*([a-z][a-z'’\-]*|\S)")
_CJK_WINDOW = 8
# Right before a name, these make it a plaything or a model, not the product.
_IMITATION_BEFORE = re.compile(
    r"(?:\b(?:toy|toys|pretend|replica|miniature|dollhouse|play)\s+|(?:玩具|仿真|过家家|模型)\s*)$")
_WORDS_PATH = Path(__file__).parent / "data" / "compound_words.yaml"

# A Chinese noun led by one of these verbs is usually the verb and its object after a subject: 微波炉热汤的时候,
# 空气炸锅炸鸡翅 (jieba tags 热汤 a noun).
_ACTION_CHARS_ZH = frozenset("热烤洗煮烘充打开关吹吸烧蒸炸榨磨煎冲放装用看听插连拍制加出进漏响跳停坏掉卡被")
_NOUN_TAGS_ZH = frozenset({"n", "nr", "nz", "ng", "nl"})



def names_another_thing(after: str, own_words: Iterable[str]) -> bool:
    """True when the text `after` a product name (lower-cased) makes the name a modifier of another noun.

    `own_words`: the product's own names and catalog `related` words, which count as its parts."""
    following = after.lstrip()
    if not following:
        return False
    if _CJK.match(following):
        return _chinese_noun_of_another_thing(following[:_CJK_WINDOW], own_words)
    word_match = _NEXT_WORD.match(after)
    if word_match is None or not word_match.group(1)[0].isalpha():
        return False
    word = word_match.group(1).replace("’", "'").rstrip("'-")
    return not _continues_english_name(word, own_words)


def imitation_of_the_product(before: str) -> bool:
    """True when the text `before` a product name (lower-cased) makes it a toy or a model of the product."""
    return _IMITATION_BEFORE.search(before) is not None


@dataclass(frozen=True)
class _WordLists:
    parts_en: frozenset[str]
    aspects_en: frozenset[str]
    parts_zh: frozenset[str]
    function_words_zh: frozenset[str]
    function_words_en: frozenset[str]
    verbs_en: frozenset[str]
    irregular_past_en: frozenset[str]
    adjectives_en: frozenset[str]


@functools.cache
def _words() -> _WordLists:
    raw = yaml.safe_load(_WORDS_PATH.read_text(encoding="utf-8"))
    return _WordLists(**{key: frozenset(str(value).split()) for key, value in raw.items()})


def _continues_english_name(word: str, own_words: Iterable[str]) -> bool:
    words = _words()
    if (word in STOP_WORDS or word in words.function_words_en or word in words.adjectives_en
            or word in words.irregular_past_en):
        return True
    if word.endswith(("n't", "'s", "'ve", "'ll", "'d")) or (len(word) > 4 and word.endswith(("ed", "ing", "ly"))):
        return True
    singular = _singular_forms(word)
    if singular & (words.verbs_en | words.parts_en | words.aspects_en):
        return True
    return any(term.split()[0] in singular for term in own_words if term and not _CJK.search(term))


def _singular_forms(word: str) -> set[str]:
    """The word and what it is with a plural (or third-person) ending taken off."""
    return {word, word[:-1] if word.endswith("s") else word, word[:-2] if word.endswith("es") else word,
            word[:-3] + "y" if word.endswith("ies") else word}


def _chinese_noun_of_another_thing(window: str, own_words: Iterable[str]) -> bool:
    # The dictionary's tags only: jieba's HMM for unknown words cost 0.15 ms a match and changed no result measured.
    tagged = list(_pos_tagger().cut(window, HMM=False))
    # Nouns, with the person names jieba tags many unknown two-character words as (黑屏, 盖子, 香薰).
    if not tagged or tagged[0].flag not in _NOUN_TAGS_ZH:
        return False
    word = tagged[0].word
    # A noun with an aspect particle after it is what happened (手机黑屏了, 买空调被扣了两次钱: jieba's 被扣 "noun").
    if len(tagged) > 1 and tagged[1].word in "了过着":
        return False
    words = _words()
    if word[0] in _ACTION_CHARS_ZH or word in words.function_words_zh or any(word.startswith(part)
                                                                             for part in words.parts_zh):
        return False
    return not any(word.startswith(term) or term.startswith(word) for term in own_words if _CJK.search(term))


def warm_up(chinese: bool) -> None:
    """Load the word lists, and jieba's tagger for a catalog with Chinese names, before the first message needs
    them (the models load in a background thread; the tagger's tables take a third of a second)."""
    _words()
    if chinese:
        _pos_tagger()


@functools.cache
def _pos_tagger() -> POSTokenizer:
    # Imported when first needed (`warm_up`): only Chinese text needs it.
    import jieba.posseg

    return jieba.posseg.dt
