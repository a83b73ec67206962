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
customers use about products: `data/compound_words.yaml`) and the words WordNet never calls nouns
(`data/english_never_nouns.txt.gz`); Chinese has jieba's part-of-speech tags.
Before a name only an imitation is looked for ("a toy toaster", 玩具烤面包机); other modifiers before a name
("pressure washer", 宠物烘干机) are left to the general catalog's longer names (`Catalog`).
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
    r"(?:\b(?:toy|toys|pretend|replica|miniature|dollhouse|play)\s+|(?:玩具|仿真|过家家|模型)(?:小|迷你)?\s*)$")
_WORDS_PATH = Path(__file__).parent / "data" / "compound_words.yaml"
_NEVER_NOUNS_PATH = Path(__file__).parent / "data" / "english_never_nouns.txt.gz"
# Right after a name, an adjective made of it: "microwave-safe bowls", "laptop-compatible", "'CM-200 compatible' pods".
_DESCRIBING_SUFFIX = re.compile(
    r"-(?:safe|proof|compatible|friendly|ready|shaped|style|themed|sized|[a-z]+ed)\b|\s+compatible\b(?!\s+with)")
# A model number right after a name: "washing machine WM-7", "laptop x1", "TV 55".
_MODEL_NUMBER_AFTER = re.compile(r"\s*[a-z]{0,4}-?\d")
# How far a longer name after a product's can run ("washing machine drain hose extension").
_MAX_COMPOUND_WORDS = 5
# "<thing> [(...)] [that I ordered] [listed as] for|compatible with|to fit|to sit under|that go under|to match [my] [two
# words] [the]" + the name; a bare "with" or "under" only after "I bought / I use" ("the cable I bought with the TV",
# "the trolley I use under the fridge").
_FOR_ANOTHER_THING_EN = re.compile(
    r"\b(?P<thing>[a-z][a-z'\-]*)(?:\s*\([^()]{0,30}\))?\s+(?:on\s+its\s+own\s+|separately\s+|as\s+a\s+spare\s+)?"
    r"(?:(?:that|which)\s+)?"
    r"(?P<bought>(?:(?:i|we)\s+(?:just\s+|had\s+|also\s+)?(?:ordered|bought|got|purchased|use|keep|put)"
    r"(?:\s+[a-z]+ly)?|you\s+sold\s+me|you\s+sell)\s+)?"
    r"(?:(?:listed|sold|advertised|marketed|described)\s+as\s+)?"
    r"(?:for(?:\s+[a-z]+ing)?|compatible\s+with|to\s+fit|that\s+fits?|fits?|to\s+match|"
    r"(?P<bare>with|under(?:neath)?|on(?:to)?|on\s+top\s+of|behind|beside|next\s+to)|"
    r"(?:to\s+|that\s+|which\s+)?(?:go|goes|sit|sits|stand|stands|use|fit|put|place|hang|mount|attach|stack|stick)"
    r"\s+(?:under(?:neath)?|on(?:to)?|on\s+top\s+of|with|in(?:side)?|behind|beside|next\s+to|over|around|against)|"
    r"(?P<purpose>to\s+(?:use|put|place|hang|mount|attach|stack|stick|raise|lift|level|protect|cover|store|carry))|"
    r"(?:designed|made|meant)\s+for)\s+"
    r"(?:(?:my|the|our|a|an|all|your|his|her|their|this|these|those|most|any)\s+)?(?:[a-z0-9.'\-]+\s+){0,2}"
    r"(?:(?:my|the|our|a|an|your|his|her|their|this|these|those)\s+)?$")
# Before a thing named after "for" + a product, these make even one of its parts a thing sold on its own: "the
# replacement HEPA filters for my vacuum", "ordered the anti-vibration feet for under my washer", "the new filter for
# the vacuum".
_SOLD_ON_ITS_OWN_EN = frozenset({"spare", "replacement", "extra", "new", "second", "anti", "ordered", "bought",
                                 "purchased", "got"})
# Right after the name: "the cable for my headphones I ordered as a spare" was bought for it.
_BOUGHT_AFTER_A_NAME_EN = re.compile(r"\s+(?:that\s+|which\s+)?(?:i|we)\s+(?:ordered|bought|got|purchased)\b")
# "the filter cartridge for my fridge doesn't fit": what fits or not was bought for it.
_DOES_NOT_FIT_AFTER_EN = re.compile(r"\s+(?:doesn't|does\s+not|won't|will\s+not|didn't|don't|do\s+not)\s+fit\b")
_WORD_BEFORE_A_NAME = re.compile(r"\b([a-z][a-z\-]*)\s+$")
# "listed as fits all 20L microwaves", "sold as compatible with my TV": whatever is sold so is another thing.
_LISTED_FOR_EN = re.compile(r"\b(?:listed|sold|advertised|marketed|described)\s+as\s+['\"]?"
                            r"(?:compatible\s+with|fits?|fitting|suitable\s+for|for)\s+(?:[a-z0-9.\-]+\s+){0,3}$")
# After a product's part: "the fridge water filter cartridge I bought as a spare" is a thing sold on its own.
_BOUGHT_ON_ITS_OWN_AFTER_EN = re.compile(
    r"\s*(?P<words>[a-z][a-z\-]*(?:\s+[a-z][a-z\-]*){0,3})\s+(?:that\s+|which\s+)?(?:(?:i|we)\s+(?:ordered|bought|got|purchased)"
    r"|(?:ordered|purchased)\s+(?:twice|again|separately|online)|(?:doesn't|does\s+not|won't|will\s+not|didn't|don't)\s+fit\b)"
    r"(?P<how>\s+(?:as\s+(?:a\s+|an\s+)?(?:spares?|replacements?|backups?|extras?|add-?ons?)|separately|extra|"
    r"on\s+(?:its|their)\s+own)\b)?")
# Where another thing stands or what it was tried or watched on: "my kettle (sits right next to the coffee
# machine)", "the cable is dead, tested it on two different TVs", "i only ever watch it on my tv", "a box of 50
# coffee pods": the product is only the setting.
_SETTING_BEFORE_EN = re.compile(
    r"(?:\b(?:sits?|sat|stands?|stood|is|are|placed|kept|lives?)\s+(?:right\s+|just\s+)?(?:next\s+to|beside|alongside)"
    r"|\b(?:tested|tried|checked|plugged|watch|watched|use|used|play|played|stream|streamed)\s+"
    r"(?:it|them|this|that|these|those)\s+(?:on|in|into|with)|\b(?:saving|save|saved)\s+(?:up\s+)?(?:for|towards?)"
    r"|\b(?:box|boxes|pack|packs|packet|packets|bag|bags|tin|carton|bottle|tub|roll|refill)\s+of(?:\s+\d+)?)"
    r"\s+(?:(?:my|the|our|a|an|his|her|their|two|both|another|other|different|several|\d+)\s+){0,3}$")
_DETERMINERS_EN = frozenset({"my", "the", "our", "a", "an", "all", "your", "his", "her", "their", "this", "these",
                             "those"})

# A Chinese noun led by one of these verbs is usually the verb and its object after a subject: 微波炉热汤的时候,
# 空气炸锅炸鸡翅 (jieba tags 热汤 a noun).
_ACTION_CHARS_ZH = frozenset("热烤洗煮烘充打开关吹吸烧蒸炸榨磨煎冲放装用看听插连拍制加出进漏响跳停坏掉卡被")
_NOUN_TAGS_ZH = frozenset({"n", "nr", "nz", "ng", "nl"})
_THING_CHARS_ZH = frozenset("罩套贴垫架袋包绳刷膜夹杯")
# A verb and its result (塞满, 摔坏, 烧断), which jieba tags a person's name: what was done to the product, no thing.
_RESULTS_ZH = frozenset("满坏断破烂掉完")
# After a verb, these name a made thing too (扩展坞, 保鲜盒, 延长线); right after a name 耳机盒 is the earbuds' case.
_THINGS_AFTER_A_VERB_ZH = _THING_CHARS_ZH | frozenset("盒坞线纸")


def names_another_thing(after: str, own_words: Iterable[str]) -> bool:
    """True when the text `after` a product name (lower-cased) makes the name a modifier of another noun.

    `own_words`: the product's own names and catalog `related` words, which count as its parts. After a word
    saying what another thing is for ("cleaning", "storage", 收纳, 专用) the next noun is that thing, even one
    that could be a part ("espresso machine cleaning brush", 微波炉专用碗); after a function ("cooling", 散热) a
    part is still the product's ("laptop cooling fan"), another noun is not ("laptop cooling pad")."""
    following = after.lstrip()
    if not following:
        return False
    if _CJK.match(following):
        return _chinese_noun_of_another_thing(following[:_CJK_WINDOW], own_words)
    if _DESCRIBING_SUFFIX.match(after):
        return True
    if _MODEL_NUMBER_AFTER.match(after):
        return False  # "my washing machine WM-7 stops": the product's model
    words = _english_words(after, _MAX_COMPOUND_WORDS)
    if not words:
        return False
    lead = _lead_en(words[0])
    if lead and len(words) > 1:
        kind = _english_word_kind(words[1], own_words)
        if kind == "noun" or (kind == "part" and lead == "purpose"):
            return True
    elif _english_word_kind(words[0], own_words) == "noun" and not _verb_with_an_object(words):
        return True
    return _ends_in_an_accessory(words, own_words) or _part_of_another_thing(words, own_words)


# After a word ending in -s, these start its object: "the fridge floods the drawer", "the kettle leaks everywhere" (a
# noun compound is not followed by one: "fridge magnets").
_OBJECT_LEADS_EN = frozenset({"the", "my", "a", "an", "our", "your", "his", "her", "their", "its", "it", "me", "us",
                              "them", "everything", "everywhere", "all", "water"})


def _verb_with_an_object(words: list[str]) -> bool:
    return (len(words) > 1 and words[0].endswith("s") and not words[0].endswith("ss")
            and words[1] in _OBJECT_LEADS_EN)


def _part_of_another_thing(words: list[str], own_words: Iterable[str]) -> bool:
    """"the laptop compartment of the backpack": the part belongs to the noun after "of"."""
    if len(words) < 3 or words[1] != "of" or _english_word_kind(words[0], own_words) != "part":
        return False
    owner = words[3] if words[2] in _DETERMINERS_EN and len(words) > 3 else words[2]
    return _english_word_kind(owner, own_words) == "noun"


def fits_another_thing(before: str, after: str, own_words: Iterable[str]) -> bool:
    """True when the text around a product name (lower-cased) says another thing is for it or fits it: "a cover
    for my laptop", "the soundbar listed as compatible with my TV", "a universal TV remote", "the spare blender
    lid"; 给烘干机买的防尘罩, 适用于电视的支架, 放在洗衣机上面的置物架, 万能电视遥控器."""
    if _CJK.match(after.lstrip()) or _CJK.search(before[-1:]):
        return _fits_another_thing_zh(before, after.lstrip(), own_words)
    words = _words()
    if _LISTED_FOR_EN.search(before) or _SETTING_BEFORE_EN.search(before):
        return True
    bought_after = _BOUGHT_ON_ITS_OWN_AFTER_EN.match(after)
    # "the fridge water filter cartridges I bought (as spares)": a part bought is a thing sold on its own.
    if bought_after is not None and (bought_after.group("how") or (
            _english_word_kind(bought_after.group("words").split()[-1], own_words) != "other"
            and not any(word in STOP_WORDS for word in bought_after.group("words").split()))):
        return True
    for_thing = _FOR_ANOTHER_THING_EN.search(before)
    if for_thing is not None:
        kind = _english_word_kind(for_thing.group("thing").removesuffix("'s"), own_words)
        bought = for_thing.group("bought") is not None
        # "the remote for my TV" is the TV's; a part bought for it ("the cable I ordered for the TV", "generic
        # filters for robot vacuums", "the replacement filters for my vacuum", "the cable for my headphones I
        # ordered as a spare") is not.
        # "a stacking frame to put my dryer on": what holds the product is another thing, even a part's name.
        if (bought or for_thing.group("bare") is None) and (kind == "noun" or (kind == "part" and (
                for_thing.group("purpose") or
                bought or _BOUGHT_AFTER_A_NAME_EN.match(after) or _DOES_NOT_FIT_AFTER_EN.match(after) or any(
                word in words.fitting_before_en or word in _SOLD_ON_ITS_OWN_EN or word.startswith("anti-")
                for word in before[: for_thing.start()].split()[-3:])))):
            return True
    modifier = _WORD_BEFORE_A_NAME.search(before)
    if modifier is None:
        return False
    if modifier.group(1) in words.fitting_before_en:
        return True
    # "the spare blender lid": a part sold on its own ("a replacement washing machine" is the product).
    if modifier.group(1) not in ("spare", "replacement"):
        return False
    # A part, after what it holds or carries: "the replacement fridge water filter cartridges".
    for word in _english_words(after, 3):
        kind = _english_word_kind(word, own_words)
        if kind == "part":
            return True
        if not _singular_forms(word) & words.aspects_en:
            return False
    return False


def _ends_in_an_accessory(words: list[str], own_words: Iterable[str]) -> bool:
    """The product's parts, other nouns, what they are for and verbs naming a part ("drain hose") lead to a thing
    bought for the product: "laptop screen protector", "TV screen cleaning kit", "washing machine drain hose
    extension", "coffee machine milk system cleaner"."""
    lists = _words()
    for i, word in enumerate(words):
        if i > 0 and (word in lists.accessories_en or _singular_forms(word) & lists.accessories_en):
            return True
        kind = _english_word_kind(word, own_words)
        if i > 1 and _lead_en(words[i - 1]) == "purpose" and (kind != "other" or word in lists.verbs_en):
            return True  # "laptop screen cleaning spray": after what it is for, the thing, even a verb's form
        if kind in ("part", "noun") or _lead_en(word):
            continue
        if (word in lists.verbs_en and i + 1 < len(words)
                and _english_word_kind(words[i + 1], own_words) == "part"):
            continue
        return False
    return False


# What the customer says is at fault: "so it's definitely the pods.", "it's the new batch", 是插线板的问题,
# 就是盒子的问题.
_BLAMED_EN = re.compile(
    r"\b(?:it's|its|it\s+is|that's|thats|it\s+must\s+be)\s+(?:(?:definitely|def|just|only|obviously|clearly|probably|"
    r"surely|really)\s+)?(?:the|this|that|these|those|my|your)\s+(?P<thing>(?:[a-z0-9\-]+\s+){0,2}[a-z0-9\-]+)"
    r"\s*(?:[,.!?;)]|$)")
_BLAMED_ZH = re.compile(r"(?<![不没])(?<!是不)(?:就是|肯定是|应该是|明显是|一定是|是)(?!不是|不)"
                        r"(?P<thing>[^\s，。,.!！?？；;、]{1,8}?)(?:的问题|的毛病|的锅|有问题|坏了|老化|接触不良)")
# "Don't think that's the rain", 不觉得是…: what the customer doubts is no blame.
_DOUBTED_BEFORE = re.compile(
    r"(?:\b(?:don't|dont|do\s+not|didn't|doubt|not\s+sure)\s+(?:think\s+|believe\s+)?|(?:thought|i\s+thought)\s+"
    r"|不觉得|不认为|以为)$")
# Words for the product itself in a blame: "it's the machine", 是机器本身的问题.
_THE_PRODUCT_ITSELF = frozenset({"machine", "one", "unit", "fault", "itself", "model", "brand", "机器", "东西", "它",
                                 "这个", "那个", "质量", "产品"})


def blamed_thing(text: str) -> tuple[int, int, str] | None:
    """The last thing the lower-cased `text` says is at fault ("it's the liners", 是插线板的问题): its span and
    words."""
    found = [m for m in (*_BLAMED_EN.finditer(text), *_BLAMED_ZH.finditer(text))
             if not _DOUBTED_BEFORE.search(text, max(0, m.start() - 24), m.start())]
    if not found:
        return None
    last = max(found, key=lambda m: m.start("thing"))
    return last.start("thing"), last.end("thing"), last.group("thing")


def names_another_thing_at_fault(thing: str, own_words: Iterable[str], names: Iterable[str]) -> bool:
    """Whether the blamed `thing` is something other than the product, its parts or its aspects: "the liners",
    "the new batch", 插线板, 盒子 (not "the door", "the machine", "the fryer" of an air fryer, 电脑本身, 锅 of
    空气炸锅).
    `own_words`: the product's names and related words; `names`: its names alone."""
    if _CJK.search(thing):
        thing = thing.removesuffix("本身").removesuffix("自己")
        # A name's own words or their end (锅 of 空气炸锅) are the product.
        if not thing or thing in _THE_PRODUCT_ITSELF or _leading_parts_zh(thing) == thing or any(
                term in thing for term in own_words if _CJK.search(term)) or any(
                name.endswith(thing) for name in names if _CJK.search(name)):
            return False
        last = list(_pos_tagger().cut(thing, HMM=False))[-1]
        return last.flag in _NOUN_TAGS_ZH or last.word in _THING_CHARS_ZH
    head = thing.split()[-1]
    return (head not in _THE_PRODUCT_ITSELF and _english_word_kind(head, own_words) == "noun"
            and not any(name.split()[-1] == head for name in names if name))  # "the fryer"


# "the ice maker on my fridge", "noise cancelling on my headphones", "HDMI 2 on the TV": a part of the product, then
# where it is.
_PART_THEN_OWNER_EN = re.compile(r"(?P<part>[a-z][a-z\- ]{0,30}?)(?:\s+\d+)?\s+(?:on|of|in|inside)\s+"
                                 r"(?:my|the|our|this|his|her|their)\s+$")


def part_named_before(before: str, own_words: Iterable[str]) -> bool:
    """True when the text `before` a product name (lower-cased) names one of its parts or own words as what is on
    or in it: the product is then the owner of what the complaint is about, not a thing used with it."""
    found = _PART_THEN_OWNER_EN.search(before)
    if found is None:
        return False
    part = found.group("part")
    return (any(part == term or part.endswith(" " + term) for term in own_words if term and not _CJK.search(term))
            or _english_word_kind(part.split()[-1], own_words) == "part")


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
    purposes_en: frozenset[str]
    functions_en: frozenset[str]
    purposes_zh: frozenset[str]
    functions_zh: frozenset[str]
    irregular_past_en: frozenset[str]
    adjectives_en: frozenset[str]
    accessories_en: frozenset[str]
    fitting_before_en: frozenset[str]
    fitting_before_zh: frozenset[str]


@functools.cache
def _words() -> _WordLists:
    raw = yaml.safe_load(_WORDS_PATH.read_text(encoding="utf-8"))
    return _WordLists(**{key: frozenset(str(value).split()) for key, value in raw.items()})


def _english_words(after: str, limit: int) -> list[str]:
    """The first `limit` words right after a name, up to punctuation (it ends the phrase); a possessive is its
    noun ("the microwave cart's shelf" is the cart's)."""
    out: list[str] = []
    position = 0
    while (
        len(out) < limit
        and (word_match := _NEXT_WORD.match(after, position)) is not None
        and word_match.group(1)[0].isalpha()
    ):
        word = word_match.group(1).replace("’", "'").rstrip("'-")
        out.append(word[:-2] if word.endswith("'s") and len(word) > 4 else word)
        position = word_match.end()
    return out


def _lead_en(word: str) -> Literal["purpose", "function", ""]:
    """Whether `word` says what another thing is for ("storage") or what a part does ("cooling"), or neither.

    An -ing form of no verb a product does or suffers ("docking", "gaming") names what a thing is for as well: the
    noun after it decides, as after "cooling". The verbs' own -ing forms ("burning", "making") are what the
    product does ("the toaster burning bread")."""
    singular = _singular_forms(word)
    words = _words()
    if singular & words.purposes_en or word.startswith("anti-"):  # "anti-vibration feet"
        return "purpose"
    if singular & words.functions_en or (len(word) > 5 and word.endswith("ing")
                                          and not _verb_stems(word[:-3]) & words.verbs_en):
        return "function"
    return ""


def _verb_stems(stem: str) -> set[str]:
    """What an -ing form's stem may be the verb of: dock(ing), mak(e)(ing), run(n)(ing)."""
    return {stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem}


def _english_word_kind(word: str, own_words: Iterable[str]) -> Literal["part", "noun", "other"]:
    """What `word` is after a name: "part", one of the product's parts or own words; "noun", any other noun,
    the head of another thing's name; "other", an aspect of the product (its program, its delivery), a verb, an
    adjective, a function word."""
    words = _words()
    singular = _singular_forms(word)
    if singular & words.parts_en or any(
        term.split()[0] in singular for term in own_words if term and not _CJK.search(term)
    ):
        return "part"
    if (
        word in STOP_WORDS
        or word in words.function_words_en
        or word in words.adjectives_en
        or word in words.irregular_past_en
        or singular & (words.verbs_en | words.aspects_en)
    ):
        return "other"
    if word.endswith(("n't", "'s", "'ve", "'ll", "'d")) or (len(word) > 4 and word.endswith(("ed", "ing", "ly"))):
        return "other"
    if word.endswith("ed") and _verb_stems(word[:-2]) & words.verbs_en:
        return "other"  # a short past of a verb the lists know: "died", "used"
    if singular & _never_nouns():
        return "other"  # WordNet knows it only as a verb, adjective or adverb: "the washer ignores delay start"
    return "noun"


@functools.cache
def _never_nouns() -> frozenset[str]:
    """English words that are never nouns (WordNet 3.0: `scripts/build_never_nouns.py`)."""
    return frozenset(gzip.decompress(_NEVER_NOUNS_PATH.read_bytes()).decode().split())


def _singular_forms(word: str) -> set[str]:
    """The word and what it is with a plural (or third-person) ending taken off."""
    return {
        word,
        word[:-1] if word.endswith("s") else word,
        word[:-2] if word.endswith("es") else word,
        word[:-3] + "y" if word.endswith("ies") else word,
    }


def _chinese_noun_of_another_thing(window: str, own_words: Iterable[str]) -> bool:
    # Purposes and functions are read off the text: jieba splits some (防丢: 防/丢).
    words = _words()
    purpose = next((word for word in words.purposes_zh if window.startswith(word)), "")
    function = "" if purpose else next((word for word in words.functions_zh if window.startswith(word)), "")
    rest = window[len(purpose or function) :]
    if purpose:
        rest = rest.removeprefix("的")  # 外接的显示器
    # The dictionary's tags only: jieba's HMM for unknown words cost 0.15 ms a match and changed no result measured.
    tagged = list(_pos_tagger().cut(rest, HMM=False))
    if not tagged:
        return False
    word, flag = tagged[0].word, tagged[0].flag
    if len(word) > 2 and word.endswith("器") and word not in words.parts_zh:
        return True  # a device of its own (耳机放大器), unless one of the product's parts (冰箱温控器)
    # One character naming a made thing (洗衣机罩, 耳机套, 冰箱贴), and after a purpose any one character that is
    # not a particle, adverb, pronoun or number (收纳盒: 盒 "q"): jieba often tags these verbs.
    thing = len(word) == 1 and (word in _THING_CHARS_ZH or (bool(purpose) and flag[0] not in "dupcrmxy"))
    if purpose and flag[0] in "ab":
        return True  # what the thing is like, then the thing: 微波炉专用脆皮烤盘
    # A verb and one character naming a made thing are that thing (扩展坞, 防晒罩, 叠放架), unless the verb is
    # one the product does (充电盒 is the earbuds' case).
    if (flag.startswith("v") and len(word) > 1 and (purpose or word[0] not in _ACTION_CHARS_ZH) and len(tagged) > 1
            and tagged[1].word in _THINGS_AFTER_A_VERB_ZH):
        return True
    # Nouns, with the person names jieba tags many unknown two-character words as (黑屏, 盖子, 香薰).
    if (flag not in _NOUN_TAGS_ZH and not thing) or (flag == "nr" and len(word) == 2 and word[1] in _RESULTS_ZH):
        return False
    if purpose:
        return True
    # A noun with an aspect particle after it is what happened (手机黑屏了, 买空调被扣了两次钱: jieba's 被扣 "noun").
    if len(tagged) > 1 and tagged[1].word in "了过着":
        return False
    if not (function or thing) and (word[0] in _ACTION_CHARS_ZH or word in words.function_words_zh):
        # What it does, then 器: a device of its own (微波炉蒸蛋器), unless the product's part (加热器); a verb not
        # led by an action (研磨/器) stays the product's part.
        return len(tagged) > 1 and tagged[1].word == "器" and word + "器" not in words.parts_zh
    # Parts are read off the text too: jieba splits some (头梁: 头/梁).
    part = _leading_part_zh(rest)
    if part:
        # A part, then what another thing is for, then that thing: 笔记本键盘清洁泥 (not 键盘清洁不了).
        after_part = rest[len(part) :]
        purpose_after = _leading_purpose_zh(after_part)
        return bool(purpose_after) and after_part[len(purpose_after) : len(purpose_after) + 1] not in _NOT_A_THING_ZH
    # A noun ending in a part's name is that part (排水泵: 水泵).
    if any(word.endswith(name) for name in words.parts_zh if len(name) > 1):
        return False
    # Right after a name, a word its own words start with is one of them cut short (洗衣 of 洗衣服).
    return not any(word.startswith(term) or term.startswith(word) for term in own_words if _CJK.search(term))


# After a name, "用的 / 配的 / 买的 / 吃的 / 垫的 / 送的 / 囤的" (a few characters may come between: 热饭可以用的) and
# the thing that is for it: 耳机用的充电线, 给吸尘器配的刷头, 配多士炉吃的吐司, 咖啡机下面垫的硅胶垫, 买耳机送的券.
_FOR_IT_ZH = re.compile(r"[^\s，。,.!！?？；;、]{0,6}?(?:配套|[用配买吃垫送囤备])的")
# Where another thing sits: 放在洗衣机上面的置物架, 电视下面垫的垫子 (the verb before the name or after the place).
_PLACED_BEFORE_ZH = re.compile(r"[放垫摆挂铺搁贴夹]在$")
_PLACE_AFTER_ZH = re.compile(
    r"(?:上面|下面|上方|下方|底下|旁边|侧面|侧边|后面|背后|顶上|上|下)([垫放摆挂铺]|开|装|开通|订阅|下载|安装|预装)?"
    r"(?:的|那个|那台|这个|那)")
_PART_THEN_PLACE_ZH = re.compile(r"[\u4e00-\u9fff]{1,3}?(?:上面|背后|后面|旁边|上|下)()的")
# 适用于 / 给 / 配 before the name and 的 after it: 适用于55寸电视的支架.
_FOR_BEFORE_ZH = re.compile(r"(?:适用于|适用|适配|适合|配|给(?![我你他她它您]))[^\s，。,.!！?？；;、]{0,8}$")
# Said to fit the product, or all kinds of it: 适配各种咖啡机, 兼容所有扫地机.
_FITS_ALL_BEFORE_ZH = re.compile(r"(?:适配|适用于|兼容|通用于)(?:各种|所有|大部分|多数|各品牌|各款)?的?$")
# A verb of holding right before the name and 的 after it: 放微波炉的置物架, 收纳耳机的盒子.
_HOLDS_BEFORE_ZH = re.compile(r"(?:放|摆|挂|垫|收纳)$")
# Bought on its own before the name: 单独买的破壁机干磨杯, 另外加购的吸尘器刷头, 备用的冰箱滤芯.
_BOUGHT_ON_ITS_OWN_BEFORE_ZH = re.compile(r"(?:(?:单独|另外|额外|单|另)(?:加购|购买|买|购|下单)|加购|备用|替换)的?$")
# 买咖啡机时加购的杯子, 买电视的时候送的支架: the product is when the other thing was bought.
_BOUGHT_WITH_IT_AFTER_ZH = re.compile(r"(?:(?:时|的时候)[^，。,.!！?？；;、]{0,4}?(?:加购|送|赠|一起买|顺便买|搭配)"
                                      r"|(?:时|的时候)?(?:顺便|办的|办了|说送|参加))")
# 和干衣机一起下单的晾衣架: bought in the same order as the product.
_ORDERED_TOGETHER_AFTER_ZH = re.compile(r"一起(?:下单|买|购买|订|送来)的")
# Where another thing stands (就放在咖啡机边上), or the product doing fine with it (给笔记本充电都没问题).
_BESIDE_AFTER_ZH = re.compile(r"(?:边上|旁边|附近|隔壁|对面|边)(?!的)")
# Another thing standing by the product, pointed at right after: 咖啡机旁边那台磨豆机 (not 咖啡机旁边的墙被烫黑了).
_BESIDE_THEN_A_THING_ZH = re.compile(r"(?:边上|旁边|隔壁|对面)的?(?:那台|那个|这台|这个|那)")
_FINE_WITH_IT_AFTER_ZH = re.compile(r"[\u4e00-\u9fff]{1,3}?(?:都|也)?(?:没问题|没事|正常|好好的)")
# A cleaning or care product named after an appliance: 咖啡机除垢剂, 洗衣机的清洁片, 微波炉清洁膏, 冰箱除味盒.
_CONSUMABLE_AFTER_ZH = re.compile(
    r"的?(?:[^\s了不没的，。,.!！?？；;、]{1,3}?[剂膏]|(?:清洁|清洗|除垢|洗涤|护理|消毒)[液粉片块球]"
    r"|除[\u4e00-\u9fff]{1,2}?[盒袋包片贴块仪]|(?:集|吸)?尘袋)")
# After a part's name: 扫地机器人的 side brush 另外买的, 冰箱门封条是按型号买的 (a part bought on its own).
_BOUGHT_ON_ITS_OWN_AFTER_ZH = re.compile(
    r"的?[^，。,.!！?？；;、]{1,12}?(?:是)?(?:另外|单独|额外|另|按型号|照型号)(?:加购|购买|买|购)(?P<done>了)?的?")
_ACCESSORY_KIT_ZH = re.compile(r"[\u4e00-\u9fff]{0,3}?(?:配件(?:包|套装|盒|套)|耗材)")
# What stands between 的 and the thing's name: 那种, 那根, 一个, 1米, 55寸.
_COUNTED_ZH = re.compile(r"(?:[那这][种根块个只条台些把款]?|一[种根块个只条台把款]|[0-9.]+(?:米|寸|厘米|cm|m|l|升)?)*")
# A film or cover for a part (键盘膜, 屏幕贴), and 防 + what it keeps off + the thing (防蓝光膜, 防撞条).
_COVERS_ZH = frozenset("膜罩套贴")
_GUARD_ZH = re.compile(r"防[\u4e00-\u9fff]{1,3}?[膜罩套贴垫条]")
# What a made thing's name ends in (加长管, 转接头, 保护套): after a part and 的, another thing bought for it.
_MADE_THING_ENDS_ZH = _THINGS_AFTER_A_VERB_ZH | frozenset("管头")
# After a purpose, these say what happened, not what thing it is for (键盘清洁不了).
_NOT_A_THING_ZH = frozenset("不了的过着很太都也就还没得地") | {""}
# Tokens that end the phrase after 用的 without naming a thing: 用的是, 买的时候就.
_PHRASE_END_FLAGS_ZH = ("d", "c", "u", "y")


def _fits_another_thing_zh(before: str, after: str, own_words: Iterable[str]) -> bool:
    words = _words()
    if before.endswith("防") or any(before.endswith(word) for word in words.fitting_before_zh):
        return True  # 防扫地机撞的防撞条, 万能电视遥控器
    if _FITS_ALL_BEFORE_ZH.search(before):
        return True  # 说适配各种咖啡机: what is said to fit the product
    bought_after = _BOUGHT_ON_ITS_OWN_AFTER_ZH.match(after)
    # 烘干机的除绒网我单独买了个替换件: bought on its own, said of a thing named right after the product.
    if bought_after is not None and (bought_after.group("done") is None
                                     or _names_a_thing_first_zh(after.removeprefix("的"))):
        return True
    if _CONSUMABLE_AFTER_ZH.match(after) or (
            _BOUGHT_ON_ITS_OWN_BEFORE_ZH.search(before) and _names_a_thing_first_zh(after)):
        return True
    beside = _BESIDE_THEN_A_THING_ZH.match(after)
    if beside is not None and _names_a_thing_zh(after[beside.end() :], own_words):
        return True
    if before.endswith(("和", "跟", "与")) and (together := _ORDERED_TOGETHER_AFTER_ZH.match(after)):
        return _names_a_thing_zh(after[together.end() :], own_words)
    if (before.endswith("买") and _BOUGHT_WITH_IT_AFTER_ZH.match(after)) or (
            before.endswith(("给", "帮")) and _FINE_WITH_IT_AFTER_ZH.match(after)):
        return True
    rest = after.removeprefix("的")
    if _GUARD_ZH.match(rest):
        return True
    if rest != after and _leading_purpose_zh(rest):
        return True  # 空气炸锅的专用夹子
    parts = _leading_parts_zh(rest)
    if parts and rest[len(parts) : len(parts) + 1] in _COVERS_ZH:
        return True  # 笔记本的键盘膜, 冰箱门把手套
    if parts and rest[len(parts) : len(parts) + 1] == "的" and _names_a_made_thing_zh(rest[len(parts) + 1 :]):
        return True  # a thing made for one of its parts: 洗衣机排水管的加长管
    if rest.startswith(("赠品", "赠送的", "送的")):
        return True  # what came free with it: 破壁机的赠品随行杯
    if _ACCESSORY_KIT_ZH.match(rest):
        return True  # an accessory kit: 配件包, 烘焙配件套装
    for_it = _FOR_IT_ZH.match(after)
    if for_it is not None:
        # 配笔记本用的蓝牙键盘: what is bought to go with the product is another thing, even one of its parts.
        return _names_a_thing_zh(after[for_it.end() :], None if _FOR_BEFORE_ZH.search(before) else own_words)
    placed = _PLACED_BEFORE_ZH.search(before) is not None
    if placed and _BESIDE_AFTER_ZH.match(after):
        return True
    place = _PLACE_AFTER_ZH.match(after)
    if place is None and placed:
        place = _PART_THEN_PLACE_ZH.match(after)  # 夹在笔记本屏幕上的挂灯
    if place is not None:
        thing = after[place.end() :]
        # Without a verb of placing, only a thing named for what it is for: 洗衣机上方的置物架 (not 洗衣机下面的地板).
        if place.group(1) or placed or _names_a_purpose_zh(thing):
            return _names_a_thing_zh(thing, own_words)
    if after.startswith("的") and (_FOR_BEFORE_ZH.search(before) or _HOLDS_BEFORE_ZH.search(before)):
        return _names_a_thing_zh(after[1:], own_words)
    return False


@functools.cache
def _parts_zh_longest_first() -> tuple[str, ...]:
    return tuple(sorted(_words().parts_zh, key=len, reverse=True))


def _leading_part_zh(text: str) -> str:
    """The longest of the product parts' names `text` starts with ("" for none): 门封条 before 门."""
    return next((part for part in _parts_zh_longest_first() if text.startswith(part)), "")


def _leading_parts_zh(text: str) -> str:
    """The parts' names `text` starts with, one after another: 门把手 (门, 把手)."""
    end = 0
    while part := _leading_part_zh(text[end:]):
        end += len(part)
    return text[:end]


def _names_a_thing_first_zh(after: str) -> bool:
    """Whether the text right after a name starts with a thing's name: a noun, a part or a made thing's character,
    in its first two words or ending a short phrase: 干磨杯, 虚拟墙, 移动底座, 排水管 (not 坏了, 用了两天, 漏水)."""
    phrase = re.split(r"[\s，。,.!！?？；;、（(]", after[:_CJK_WINDOW], maxsplit=1)[0]
    if not phrase or not _CJK.match(phrase):
        return False
    if _leading_part_zh(phrase):
        return True  # jieba splits some parts' names (边刷: 边/刷, 除绒网: 除/绒网)
    tokens = list(_pos_tagger().cut(phrase, HMM=False))
    # jieba tags the last character of many made things a measure word: 烤盘 (烤 v, 盘 q).
    if len(phrase) <= _CJK_WINDOW - 2 and (tokens[-1].flag in _NOUN_TAGS_ZH or tokens[-1].word in _THING_CHARS_ZH
                                           or (len(tokens) > 1 and tokens[-1].flag == "q")):
        return True
    for token in tokens[:2]:
        if token.word in "了过着" or token.flag.startswith(("d", "u", "c", "p")):
            return False
        if token.flag in _NOUN_TAGS_ZH or token.word in _words().parts_zh:
            return True
    return False


def _names_a_made_thing_zh(phrase: str) -> bool:
    """A short phrase ending in a made thing's character (加长管, 保护套, 延长线): not a part's own name."""
    head = re.split(r"[^\u4e00-\u9fff]", phrase[:4], maxsplit=1)[0]
    return any(len(head) > n and head[n] in _MADE_THING_ENDS_ZH and not _leading_part_zh(head)
               for n in (1, 2))


def _leading_purpose_zh(text: str) -> str:
    return next((purpose for purpose in _words().purposes_zh if text.startswith(purpose)), "")


def _names_a_purpose_zh(text: str) -> bool:
    """A word saying what a thing is for somewhere in the first few characters (胶囊收纳架, 上方的置物架)."""
    window = text[:_CJK_WINDOW]
    return any(purpose in window for purpose in _words().purposes_zh)


def _names_a_thing_zh(phrase: str, own_words: Iterable[str] | None) -> bool:
    """Whether `phrase` (what follows 用的, 上面的...) starts with the name of a thing that is not one of the
    product's parts or own words: 充电线, 除螨刷头, 置物架, 摄像头支架 (not 刀片, 电源适配器, 时候, 是); with
    `own_words` None, a part's or the product's own name is such a thing too."""
    phrase = phrase[_COUNTED_ZH.match(phrase).end() :]  # type: ignore[union-attr]  # matches the empty string
    words = _words()
    if _leading_purpose_zh(phrase):
        return True  # what it is for, then the thing: 用的一次性吸油纸
    tokens = list(_pos_tagger().cut(phrase[:_CJK_WINDOW], HMM=False))
    for i, token in enumerate(tokens):
        word, flag = token.word, token.flag
        if not _CJK.match(word) or flag.startswith(_PHRASE_END_FLAGS_ZH) or word in ("是", "有"):
            return False
        if flag in _NOUN_TAGS_ZH or word in _THING_CHARS_ZH:
            if _names_a_purpose_zh(phrase):
                return True  # 胶囊收纳架: what the thing is for comes after a word of the product's own
            if word in words.function_words_zh:
                return False
            products = () if own_words is None else (*words.parts_zh, *(t for t in own_words if _CJK.search(t)))
            if not any(phrase.startswith(term) for term in products):
                return True
            # A part's name, then another noun: the last noun names the thing (摄像头支架 is a mount).
            head = next((t.word for t in tokens[i + 1 : i + 2] if t.flag in _NOUN_TAGS_ZH), "")
            return bool(head) and not any(head.startswith(term) or head.endswith(term) for term in products)
    return False


def warm_up(chinese: bool) -> None:
    """Load the word lists, and jieba's tagger for a catalog with Chinese names, before the first message needs
    them (the models load in a background thread; the tagger's tables take a third of a second)."""
    _words()
    _never_nouns()
    if chinese:
        _pos_tagger()


@functools.cache
def _pos_tagger() -> POSTokenizer:
    # Imported when first needed (`warm_up`): only Chinese text needs it.
    import jieba.posseg

    return jieba.posseg.dt
