"""The business's product catalog, compiled into matchers: products come from it, or not at all.

Catalog file (YAML or CSV) -- one entry per product, in the order the business wants them offered:

    products:
      - id: kettle
        label: {en: Electric kettle, zh: 电水壶}
        names: {en: [kettle, electric kettle], zh: [电水壶, 烧水壶, 電水壺]}   # what the product is called
        aliases: [kt-200 pro]                    # brand and model names, any language
        skus: [KT-200]                           # exact model / article numbers
        model_prefixes: [KT-]                    # a model family: KT-<digits...>
        related: {en: [boil water, limescale], zh: [烧水, 水垢]}  # words that point to it indirectly
    services_under_product: true   # a complaint about a service around a product (its delivery, installation,
                                   # repair visit, refund, warranty) is filed under that product; false: no product

CSV: columns id,label_en,label_zh,names_en,names_zh,aliases,skus (and optionally model_prefixes,
related_en, related_zh) with `|` between list items; services then count as their product (the default).

How a product is found, strongest first (`CatalogMatch.method`):
- exact: a name or label as whole tokens (spaCy PhraseMatcher on LOWER after NFKC, so full-width text
  matches); in Chinese also as a substring (a name the segmenter split differently), in simplified and
  traditional characters alike (OpenCC);
- alias: an alias, SKU or a model number of a listed family;
- typo: one edit (insert, delete, substitute, swap) in a name or alias of 5+ characters, over 1..3-token
  windows with spaces removed ("water heeter", "waterheater");
- indirect: only when nothing above matched, the `related` words of exactly one product (a tie between
  two products is no answer). Its confidence stays under the flow's auto-accept threshold (0.85): an
  indirect find is always put to the customer as a question.
A name that only describes another thing is no mention of the product: "toaster bags", 咖啡机胶囊, "a toy
toaster" (`compound_names`), nor one inside a longer name of a product of the shipped general catalog ("hair
dryer"). Nothing matched means no product: the catalog never guesses.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import jieba
import opencc
import spacy
import yaml
from rapidfuzz.distance import OSA
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from nlp.compound_names import (
    blamed_thing,
    fits_another_thing,
    imitation_of_the_product,
    names_another_thing,
    names_another_thing_at_fault,
    part_named_before,
    warm_up,
)
from nlp.errors import CatalogError
from nlp.text_features import normalize_text

# libyaml's parser (PyYAML's wheels carry it), several times faster than the pure-Python one.
SAFE_YAML_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

Lang = Literal["en", "zh"]
MatchMethod = Literal["exact", "alias", "typo", "indirect"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CONFIDENCE: dict[MatchMethod, float] = {"exact": 0.97, "alias": 0.93, "typo": 0.75, "indirect": 0.6}
# Exact names in Chinese text found only as a substring (the segmenter split them differently).
_SUBSTRING_CONFIDENCE = 0.88
_RANK: dict[MatchMethod, int] = {"exact": 3, "alias": 3, "typo": 2, "indirect": 1}
_MIN_FUZZY_CHARS = 5
_MIN_SPLIT_FUZZY_CHARS = 8
_MAX_WINDOW_TOKENS = 3
# Each further distinct related word adds this much, up to _MAX_INDIRECT (below auto-accept at 0.85).
_INDIRECT_STEP = 0.08
_MAX_INDIRECT = 0.8
_NEGATED_BEFORE = re.compile(r"(?:\b(?:not|isn't|wasn't|never|(?:don't|do\s+not)\s+(?:need|want))\s+"
                             r"(?:(?:just|only|even)\s+)?(?:(?:a|an|the|my)\s+)?"
                             r"|不是(?:一个|个)?)$",
                             re.IGNORECASE)
# What "fine" is said with, in every rule below that reads a thing said to be fine.
_FINE_EN = r"(?:fine|ok|okay|all\s+right|alright|great|grand|brilliant|perfect|perfectly\s+fine|solid|lovely)"
# Bare 正常 is added only where a word before it makes it a verdict (都正常, 机器正常): 电视正常使用了两个月 is none.
_FINE_ZH = "(?:没事|没问题|没毛病|是好的|好好的|挺好的?|很好|没坏)"
# Other shops and marketplaces a customer names in Chinese.
_OTHER_SHOPS_ZH = "京东|淘宝|拼多多|天猫|苏宁|国美|亚马逊"
# "the washer is fine but the dryer rattles", "tv is fine, its the soundbar", "the earbuds themselves sound great",
# 下面的洗衣机没事, 电视本身看直播很正常, 还好微波炉没掉下来: a product said to be fine is not the one complained about.
_CLEARED_AFTER = re.compile(
    r"\s*(?:\([^()]{0,30}\)\s*)?(?:itself\s+|themselves\s+)?(?:has\s+no\s+(?:fault|problem|issue)s?"
    r"|(?:is|'s|are)\s+(?:no|not\s+the)\s+problem|isn't\s+the\s+problem|survived|went\s+(?:up|in)\s+fine"
    r"|(?:is|'s|are|was|were)\s+undamaged|still\s+(?:runs|works)|(?:'s|\s+is|\s+are)\s+in\s+and\s+(?:running|working)"
    # One verdict for the product, or for a list of things it opens: "all fine", "coffee machine and blender were
    # fine", "the kettle, toaster and fridge all work", "washer and telly work fine".
    r"|(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+)(?:(?:the|my|our|even)\s+)?[a-z\-]+(?:\s+[a-z\-]+){0,2}){0,4}\s+(?:"
    rf"(?:(?:are|were)\s+)?(?:both|all)\s+(?:{_FINE_EN}|work(?:ed|s)?|came\s+back)|(?:are|were)\s+{_FINE_EN}"
    r"|work(?:ed)?\s+fine)\b(?!\s+(?:until|till|for|before|when|at\s+first))"
    r"|\s+and\s+(?:sorted|fixed|repaired)\s+it"
    r"|(?:was|were)\s+great(?!\s+(?:until|till|for|at|before|when))|(?:'s|\s+has)\s+never\s+been\s+better"
    r"|\s+fine\s*[.,;!]"
    r"|\s*ok\b(?!\s+(?:until|till|for|at|before|when))|(?:'s|\s+is|\s+are)\s+(?:[a-z]+\s+){0,2}?and\s+(?:fine|ok|okay)\b"
    r"|(?:is|'s|are|was|were|seems|seem|sounds?|looks?|works?|runs?)\s+(?:still\s+)?(?:[a-z]+ing\s+)?"
    rf"{_FINE_EN}(?!\s+(?:for|until|till|at\s+first))"
    r"|works\s+(?:fine|ok|perfectly)|(?:还|也|倒是|倒|都)正常|(?:还|也|倒是|倒)?(?:没事|没问题|没毛病|是好的|好好的|(?:挺|很|还算|也)好用)|就(?:正常|好了|没事)|本身[^，。,.!！?？]{0,8}(?:正常|没问题|很好|挺好|没毛病|好好的)"
    r"|(?:挺|很)好的?(?![用看听吃])"
    r"|(?:倒|也|还)?没(?:有)?(?:掉下来|砸坏|摔坏|受损|被砸)"
    r"|的事[^，。,.!！?？]{0,4}解决了)(?![a-z])", re.IGNORECASE)
_ANOTHER_ONE_BEFORE = re.compile(
    r"(?:\b(?:friend's|friends|neighbour's|neighbor's|landlord's|landlady's|someone\s+else's|another|other|"
    r"a\s+different|two\s+different|several|[a-z]+-issued|borrowed\s+(?:my\s+|a\s+|her\s+|his\s+)?[a-z]+'s)"
    r"\s+(?:[a-z0-9\-]+\s+)?|(?:朋友|邻居|别人|同事|房东|楼上|楼下|隔壁)(?:家|的)(?:的|那台|那个)?(?:老|旧)?|(?:人家|他们|她们)(?:家|的)?|房东留下的(?:旧)?"
    r"|[\u4e00-\u9fff]{0,3}自己带的|(?:自助)?洗衣房的|干洗店的"
    r"|(?:公司|学校|单位|航空公司)发的|借(?:[他她我你]|来)的|另一台|另外一台|另一个|别的|其他的?)$",
    re.IGNORECASE)
_MACHINE_CLEARED = re.compile(
    r"\b(?:(?:(?:the|my|our)\s+)?(?:machine|appliance|unit)|both\s+(?:machines|appliances|units|of\s+them))"
    rf"(?:\s+itself)?(?:'s|\s+(?:is|are|seems|seem|works|work|runs|run))\s+(?:still\s+)?{_FINE_EN}\b"
    r"|\b(?:nothing\s+(?:wrong|faulty)|nothing\s+to\s+do)\s+with\s+(?:the|my)\s+(?:machine|appliance|unit)\b"
    rf"|(?:机器|东西)(?:本身)?(?:倒是|倒|也|还)?(?:正常|{_FINE_ZH})",
    re.IGNORECASE)
_USED_WITH_BEFORE = re.compile(
    r"(?:\b(?:with|on|onto|into|in|to|under|from|of|for|than|fits?|beside|next\s+to)\s+"
    r"(?:(?:my|the|a|an|our|his|her|your|this|that|most|all|any)\s+)?"
    r"(?:[\w.\-]+\s+)?|(?:对着|插上?|连上?|接上?|接到|挂上?|放上?|放在|放进|放入|扔进|用在|装在|装到|放到|在)(?:我家|我的|家里的?|自己的?)?)$")
# "the bag is lovely but the laptop's port is loose", 电视柜没问题，问题是电视…: the complaint turns to the product.
_TURNS_TO_IT_BEFORE = re.compile(
    r"(?:\b(?:but|however|though|meanwhile|whereas|it's|its|it is)\b[^.!?]{0,16}"
    r"|(?:问题是|但是|可是|只是|就是|而是)[^。！？]{0,6})$",
    re.IGNORECASE)
# "Not from you", "it's not one of yours", 不是你们卖的: the thing named last before it was bought elsewhere, so it
# is none of the catalog's products.
# A new sentence opening on its own subject, a noun right before the statement: "Soundbar's not from you".
_OWN_SUBJECT = re.compile(r"[.!?]\s+(?:(?:the|my|our|his|her)\s+)?(?!(?:i|it|this|that|they|he|she|we|you|mine)\b)"
                          r"[a-z][a-z-]+(?:'s|\s+(?:is|was))?\s*$", re.IGNORECASE)
_NOT_BOUGHT_HERE = re.compile(
    r"\b(?:(?:not|wasn't|weren't|isn't|aren't|never)\s+(?:bought\s+|got\s+|purchased\s+)?(?:from|at|in|with)\s+"
    r"(?:you|your\s+(?:shop|store|site|website|company))\b|(?:not|isn't|wasn't|aren't|weren't)\s+(?:one\s+of\s+"
    r"yours|yours)\b|(?:didn't|did\s+not|never)\s+(?:buy|get|order)\s+(?:it|them|this|that)\s+(?:from|at|with)\s+"
    r"(?:you|your)\b|(?:wasn't|wasnt|was\s+not|not|weren't|isn't)\s+bought\s+here\b|(?<=[,(])\s*not\s+(?:from\s+)?you\b)"
    r"|不是(?:在)?(?:你们|你家|贵店)(?:这|家|店|这里|这儿)?(?:里)?(?:买|卖|购买|出)的|不是你们(?:家|店)的"
    rf"|(?:是|买了?个?)[\u4e00-\u9fff]{{0,4}}?(?:在)?(?:{_OTHER_SHOPS_ZH}|第三方|别家|别的店|其他店|另一家)"
    r"(?:店铺|卖家|平台)?"
    r"(?:买|购买|上买)?的",
    re.IGNORECASE)
# "the toaster I got from you", "the earbuds from your shop", 你们的电视, 在你们店买的耳机: said to be the shop's, the
# product the complaint is about, whatever else is named first.
_BOUGHT_HERE_AFTER = re.compile(r"\s+(?:(?:that|which)\s+)?(?:(?:i|we)\s+)?(?:got|bought|ordered|purchased)?\s*"
                                r"(?:from|off|at)\s+(?:you|your\s+(?:shop|store|site|website))\b"
                                r"|\s+(?:was|is|were|are)\s+(?:yours|from\s+you)\b"
                                r"|\s+(?:(?:that|which)\s+)?you\s+(?:sold|delivered|supplied)\s+(?:us|me)\b")
# 跟你们的烤面包机摆一起: the shop's product as what another thing stood with.
_WITH_BEFORE_ZH = re.compile(r"[跟和与同](?:在)?(?:你们|你家|贵店)[^，。,.!?！？]{0,4}$")
_BOUGHT_HERE_BEFORE_ZH = re.compile(r"(?:在)?(?:你们|你家|贵店)(?:店|这|家|这里|门店)?(?:里)?(?:买|购买|下单)?的$")
# Said of the thing right before it ("my son's headphones from a market stall", "a kettle I bought elsewhere") or
# right after it (别家买的面包机).
_BOUGHT_ELSEWHERE_AFTER = re.compile(
    r"\s*(?:(?!with\b|and\b|or\b)[a-z]+\s+)?(?:(?:(?:that|which)\s+)?(?:i\s+|we\s+)?(?:bought|got|ordered|purchased)\s+"
    r"(?:it\s+|them\s+)?)?"
    r"(?:from\s+(?:a\s+)?market\s+stall|from\s+another\s+(?:shop|store|retailer|seller)|elsewhere"
    r"|from\s+(?:her|his|their|my|our)\s+(?:school|work|office|company|employer|university)"
    r"|(?:from|off)\s+a\s+marketplace|somewhere\s+else|from\s+(?:the\s+)?(?:airport|duty[\s-]free)|\((?:which\s+)?i\s+got\s+at\s+(?!you)[a-z]+\))\b")
_NOT_OURS_AFTER_ZH = re.compile(r"是(?:借来|借|租来|租|别人送|别人)的")
# "a blender she bought at John Lewis", "(she got it at Costco)", "the TV from Amazon": a shop's name (read with its
# capital letter), not a month, a day or a holiday.
_AT_ANOTHER_SHOP_AFTER = re.compile(
    r"\s*\(?\s*(?:(?:that|which)\s+)?(?:(?:I|i|we|We|she|She|he|He|they|They)\s+)?(?:(?:bought|got|purchased|ordered)\s+)?"
    r"(?:it\s+|them\s+)?(?:at|from|in)\s+(?!(?:You|Your|January|February|March|April|May|June|July|August|September|"
    r"October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Christmas|Easter|Black|"
    r"Boxing|Prime|The|A|An|My)\b)[A-Z][a-z]+\b(?!\s+(?:store|branch|shop|outlet))")
_BOUGHT_ELSEWHERE_BEFORE_ZH = re.compile(
    rf"(?:别家|别的店|其他店|别处|外面|另一家|{_OTHER_SHOPS_ZH})(?:店|上)?(?:买|购买|买来)的$")
# A product named only as what was delivered to someone else or when ("delivering her washing machine", "dropping a
# microwave at no. 12", "missed the dryer delivery slot", 给12栋送微波炉, 错过送电视的时间) or browsed
# (看冰箱的时候): the setting of the complaint. (Its own delivery, 送冰箱的司机扔在门口, is the product's.)
_DELIVERED_ELSEWHERE_BEFORE = re.compile(
    r"(?:\b(?:deliver(?:ed|ing)?|dropping(?:\s+off)?|dropped\s+off)\s+(?:her|his|their|someone's|a|an)\s+"
    r"(?:[a-z\-]+\s+)?|\b(?:to\s+(?:look\s+at|browse)|browsing|browsed|shopping\s+for|choosing"
    r"|trying\s+to\s+(?:buy|order|pay\s+for))\s+(?:the\s+|some\s+|new\s+|a\s+)?"
    r"|给[^，。,.!?！？]{1,8}送)$", re.IGNORECASE)
_DELIVERY_TIME_AFTER = re.compile(r"\s*delivery\s+(?:slot|time|window|date|day)\b", re.IGNORECASE)
# "missed the microwave delivery": when it came, not what came.
_MISSED_BEFORE = re.compile(r"\bmissed\s+(?:the|my|our)\s+$", re.IGNORECASE)
_DELIVERY_AFTER = re.compile(r"\s*(?:re)?delivery\b", re.IGNORECASE)
_WHEN_BEFORE_ZH = re.compile(r"(?<![赠赔])送[新旧]?$|[看逛挑]$")
_WHEN_AFTER_ZH = re.compile(r"的?(?:时间|时候|那天|时)")
# 错过了约的洗衣机安装时间: when a service of it was booked.
_SERVICE_TIME_AFTER_ZH = re.compile(r"的?(?:(?:安装|送货|配送|上门)时间|旧机(?:回收|拆走|收走)?|以旧换新)")
# The old one taken away when the new one came ("take my old fridge away", 把旧冰箱拉走): the haul-away service.
_OLD_BEFORE = re.compile(r"(?:\bold\s+(?:[a-z\-]+\s+)?|旧)$", re.IGNORECASE)
_TAKEN_AWAY = re.compile(r"\b(?:take|took|taken|taking|haul|collect|collected|remove|removed|pick(?:ed)?\s+up)\b"
                         r"[^.!?]{0,30}"
                         r"\baway\b|\btake\s+away\b|\bhaul[\s-]away\b|\bcollection\s+of\b|\btrade[\s-]?in\b|拉走|收走|带走|回收|运走"
    r"|以旧换新", re.IGNORECASE)
# What a customer tried before the product failed anyway: "tried three different sockets, even the extension lead",
# 插线板、插座都换过了.
_TRIED_BEFORE = re.compile(r"\b(?:tried|try|trying|swapped|changed|replaced|checked|even|everything\s+(?:came\s+back|"
                           r"works?|worked|is\s+fine))\b[^.!?]{0,40}$", re.IGNORECASE)
# A list of things said to be fine together: 鼠标和电脑包一起买的，都没问题, 床垫枕头都好.
_ALL_FINE_AFTER_ZH = re.compile(rf"[^。！？.!?]{{0,12}}?都(?:好|正常|{_FINE_ZH})")
_EVERYTHING_ELSE_FINE = re.compile(rf"\beverything\s+else\s+(?:is|was|'s|seems)\s+(?:good|{_FINE_EN})\b"
                                   rf"|其他(?:的|东西)?都(?:好|正常|{_FINE_ZH})", re.IGNORECASE)
# A thing blamed, then checked: 电工来查了说插座正常.
_SAID_NORMAL_ZH = re.compile(rf"(?:都|也|是|很|挺)?(?:好的|正常|{_FINE_ZH})")
# After the end of a product's Chinese name: 炸锅本身是好的, 电脑本身没毛病.
_SHORT_NAME_CLEARED_ZH = f"(?:本身)?(?:倒是|倒|也|还)?{_FINE_ZH}"
# "lights, boiler and router all came back", "bag and mouse are fine".
_ALL_FINE_AFTER_EN = re.compile(rf"[^.!?]{{0,30}}?\b(?:all|both)\s+(?:came\s+back|work(?:ed|s)?|{_FINE_EN})\b"
                                rf"|(?:\s+and\s+[a-z]+)?\s+(?:are|were)\s+(?:both\s+)?{_FINE_EN}\b")
_TRIED_AFTER_ZH = re.compile(r"[^，。！？,.!?]{0,8}?(?:都|也)?(?:换过|换了|试过|试了|检查过)")
# Services of the shop around what it sells: a delivery complaint names the product it delivered.
_AROUND_A_PURCHASE = frozenset({"delivery_service"})
# "the charger that came with my laptop", "the webcam on my laptop", "the charger for my earbuds": a thing of the
# product's (a part bought for it is no mention of the product: `compound_names.fits_another_thing`).
_BELONGS_TO_AFTER = re.compile(
    r"\s+(?:(?:that|which)\s+came\s+(?:with|in)|(?:on|of|in|for)\s+(?:my|the|our|this)\s)")
SHIPPED_CATALOG_PATH = Path(__file__).parent / "data" / "catalog.yaml"
# Only the first part of a very long message is scanned; complaints name the product early.
MAX_MATCH_CHARS = 5000
# How much text around a name tells whether it is the head of its phrase (`compound_names`).
_AFTER_NAME_CHARS = 60
# "the 3m hdmi cable i ordered for the tv": what a name is for can start this far before it.
_BEFORE_NAME_CHARS = 60


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    label_en: str
    label_zh: str
    names: tuple[str, ...]
    skus: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    model_prefixes: tuple[str, ...] = ()

    def label(self, lang: Lang) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class CatalogMatch:
    """A catalog product found in a text; `start`/`end` index the text given to `match`."""

    product_id: str
    span: str
    method: MatchMethod
    confidence: float
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class ProductChoice:
    """A catalog product to offer as a button (id and the label in the customer's language)."""

    id: str
    label: str


def _as_list(value: object, where: str, path: Path | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    raise CatalogError(f"{where} must be a string or a list of strings", path=path)


def _clean(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in (normalize_text(x).lower() for x in values) if n))


def _per_language(raw: Mapping[str, object], key: str, path: Path | None, entry: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [*_as_list(value.get("en"), f"{key}.en", path), *_as_list(value.get("zh"), f"{key}.zh", path)]
    if isinstance(value, list | str):
        return _as_list(value, key, path)
    raise CatalogError(f"{key} must be a list or a mapping of en/zh lists", path=path, entry=entry)


def _entry_from_mapping(raw: Mapping[str, object], index: int, path: Path | None) -> CatalogEntry:
    product_id = str(raw.get("id") or "").strip()
    if not product_id:
        raise CatalogError("missing id", path=path, entry=f"#{index + 1}")
    label = raw.get("label") or {}
    if not isinstance(label, Mapping):
        raise CatalogError("label must be a mapping of en/zh", path=path, entry=product_id)
    names = _per_language(raw, "names", path, product_id)
    aliases = _as_list(raw.get("aliases"), "aliases", path)
    label_en = str(label.get("en") or (names[0] if names else product_id))
    label_zh = str(label.get("zh") or label_en)
    prefixes = _clean(_as_list(raw.get("model_prefixes"), "model_prefixes", path))
    for prefix in prefixes:
        if len(prefix) < 2 or not prefix.isascii():
            raise CatalogError(f"model prefix {prefix!r} must be 2+ Latin letters/digits", path=path,
                               entry=product_id)
    return CatalogEntry(product_id, label_en, label_zh, _clean([*names, label_en, label_zh]),
                        _clean(_as_list(raw.get("skus"), "skus", path)), _clean(aliases),
                        _clean(_per_language(raw, "related", path, product_id)), prefixes)


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """`normalize_text` done per character, with the index in `text` of every output character.

    Per-character NFKC keeps a map back to the customer's own text (spans the flow can highlight); it
    differs from whole-string NFKC only for combining sequences, which catalog names do not contain.
    """
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char):
            if piece.isspace():
                if out and out[-1] != " ":
                    out.append(" ")
                    offsets.append(index)
            else:
                out.append(piece)
                offsets.append(index)
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()
    return "".join(out), offsets


def _inflected_verb(candidate: str, name: str) -> bool:
    """"washed", "charged", "routes": a verb's form one letter from a name ending in -er ("washer",
    "charger", "router") is that verb, not a typo of the product."""
    return name.endswith("er") and candidate[-2:] in ("ed", "es") and candidate[:-2] == name[:-2]


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


class Catalog:
    """Compiled catalog; `match` is read-only and safe to call from several threads."""

    def __init__(self, entries: Iterable[CatalogEntry], other_products: Iterable[CatalogEntry] = (), *,
                 head_of_phrase_check: bool = True, services_under_product: bool = True) -> None:
        """`other_products`: things the business may not sell (the shipped general catalog): a match inside a
        longer name of one of them is dropped unless that name's product is also called by the matched words
        ("hair dryer" holds "dryer", but a hair dryer is no tumble dryer; a "condenser dryer" still is one).
        `head_of_phrase_check`: drop a name that only describes another thing ("toaster bags",
        `compound_names`); off only for the benchmark's reference.
        `services_under_product`: the business's line for a complaint about a service around a product it names
        (delivery, installation, a repair visit, a refund): that product (True), or another thing (False). The
        rules read both alike; the subject check (nlp/subject_check.py) draws the line."""
        self._head_of_phrase_check = head_of_phrase_check
        self.services_under_product = services_under_product
        other_products = tuple(other_products)
        self.entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.id in self.entries:
                raise CatalogError("duplicate product id", entry=entry.id)
            self.entries[entry.id] = entry
        self._en = spacy.blank("en")
        terms: list[tuple[str, str, MatchMethod]] = []
        for entry in self.entries.values():
            terms += [(n, entry.id, "exact") for n in entry.names]
            terms += [(n, entry.id, "alias") for n in (*entry.aliases, *entry.skus)]
            terms += [(n, entry.id, "indirect") for n in entry.related]
        # Simplified and traditional Chinese are the same product: match both spellings of every term.
        converters = (opencc.OpenCC("t2s"), opencc.OpenCC("s2t"))
        self._to_simplified = converters[0]

        def spellings(term: str) -> set[str]:
            return {term, *(c.convert(term) for c in converters)} if _CJK.search(term) else {term}

        # What may follow a product's name and still be the product: its related words and its names ("蒙牛牛奶"), in
        # both spellings (the text around a name is read in simplified characters).
        self._own_words = {e.id: tuple(v for w in (*e.related, *e.names) for v in sorted(spellings(w)))
                           for e in self.entries.values()}
        terms += [(variant, product_id, method) for term, product_id, method in list(terms)
                  for variant in spellings(term) - {term}]
        # Every known product's names, one group per product, to tell a longer name of another thing.
        self._name_groups = [frozenset(v for n in e.names for v in spellings(n))
                             for e in (*self.entries.values(), *other_products)]
        sold_names = frozenset().union(*self._name_groups[: len(self.entries)])
        self._short_name_cleared = {
            e.id: re.compile(f"(?:{'|'.join(re.escape(name[-2:]) for name in shorts)}){_SHORT_NAME_CLEARED_ZH}")
            for e in self.entries.values() if (shorts := [n for n in e.names if _CJK.search(n) and len(n) >= 4])}
        # A word of a known name is a word, not another name misspelt: "the fryer works" is no dryer.
        self._name_words = frozenset(word for group in self._name_groups for name in group
                                     if not _CJK.search(name) for word in name.lower().split())
        self._unsold_groups = frozenset(
            group for product, group in zip(other_products, self._name_groups[len(self.entries) :], strict=True)
            if not group & sold_names and product.id not in _AROUND_A_PURCHASE)
        self._group_matcher = PhraseMatcher(self._en.vocab, attr="LOWER")
        self._group_cjk_names: list[tuple[str, int]] = []
        for index, group in enumerate(self._name_groups):
            for name in group:
                if _CJK.search(name):
                    self._group_cjk_names.append((name, index))
                else:
                    self._group_matcher.add(str(index), [self._en.make_doc(name)])
        terms = list(dict.fromkeys(terms))
        for term, _, method in terms:
            if _CJK.search(term):
                # Keep catalog words whole when jieba segments the customer's text. A name is a noun to the
                # head-of-phrase check's tagger (洗衣机专用洗衣液): untagged, jieba's tagger calls it "x".
                jieba.add_word(term, freq=max(jieba.get_FREQ(term) or 0, 20000),
                               tag=None if method == "indirect" else "n")
        self._zh = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self._en_matcher = PhraseMatcher(self._en.vocab, attr="LOWER")
        self._zh_matcher = PhraseMatcher(self._zh.vocab, attr="LOWER")
        self._zh_substrings: list[tuple[str, str, MatchMethod]] = []
        # deletion key -> (the name squashed, its product, how many words it has)
        self._fuzzy_index: dict[str, set[tuple[str, str, int]]] = {}
        latin_terms: list[tuple[str, str, MatchMethod]] = []
        for term, product_id, method in terms:
            key = f"{method}|{product_id}"
            if _CJK.search(term):
                self._zh_matcher.add(key, [self._zh.make_doc(term)])
                self._zh_substrings.append((term, product_id, method))
                continue
            self._en_matcher.add(key, [self._en.make_doc(term)])
            latin_terms.append((term, product_id, method))
            if method == "indirect":
                continue
            term_words = re.split(r"[\s\-_]+", term.strip())
            squashed = "".join(term_words)
            # Names with digits are model names: one edit makes another model ("pixel 9" is not "pixels").
            fuzzy = len(squashed) >= _MIN_FUZZY_CHARS and not any(ch.isdigit() for ch in squashed)
            keys = _deletions(squashed) if fuzzy else {squashed}
            for fuzzy_key in keys:
                self._fuzzy_index.setdefault(fuzzy_key, set()).add((squashed, product_id, len(term_words)))
        self._zh_substrings.sort(key=lambda item: -len(item[0]))
        if head_of_phrase_check:
            warm_up(chinese=bool(self._zh_substrings))
        # In Chinese text Latin names have no spaces around them ("我的iphone坏了"), so the English
        # tokenizer sees one long token: find them by letter boundaries instead.
        latin_terms.sort(key=lambda item: -len(item[0]))
        self._latin_in_cjk = [(re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])"), product_id, method)
                              for term, product_id, method in latin_terms]
        prefixes = sorted(((p, e.id) for e in self.entries.values() for p in e.model_prefixes),
                          key=lambda pair: -len(pair[0]))
        # A model number of a listed family: the prefix, then letters/digits/dashes holding a digit.
        self._model_patterns = [
            (re.compile(rf"(?<![a-z0-9]){re.escape(p.rstrip('-'))}-?(?=[a-z0-9-]*[0-9])[a-z0-9]+(?:-[a-z0-9]+)*(?![a-z0-9])"),
             product_id) for p, product_id in prefixes]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        shipped = path.resolve() == SHIPPED_CATALOG_PATH.resolve()
        products, services_under_product = catalog_file(path)
        return cls.from_document(products, path, other_products=() if shipped else None,
                                 services_under_product=services_under_product)

    @classmethod
    def from_document(cls, raw_entries: object, path: Path | None = None, *,
                      other_products: Iterable[CatalogEntry] | None = None,
                      head_of_phrase_check: bool = True, services_under_product: bool = True) -> Catalog:
        """A catalog from its entries as mappings (the YAML file's `products`, or an admin's edit);
        `other_products` defaults to the shipped general catalog's (see `__init__`)."""
        if not isinstance(raw_entries, list):
            raise CatalogError("expected a list of products", path=path)
        entries = []
        for index, raw in enumerate(raw_entries):
            if not isinstance(raw, Mapping):
                raise CatalogError("entry must be a mapping", path=path, entry=f"#{index + 1}")
            entries.append(_entry_from_mapping(raw, index, path))
        if not entries:
            raise CatalogError("the catalog lists no products", path=path)
        return cls(entries, general_products() if other_products is None else other_products,
                   head_of_phrase_check=head_of_phrase_check, services_under_product=services_under_product)

    @cached_property
    def product_ids(self) -> frozenset[str]:
        return frozenset(self.entries)

    def top_products(self, n: int, lang: Lang) -> tuple[ProductChoice, ...]:
        """The first `n` products in catalog order, labelled in `lang`: the buttons of the open question
        the flow asks when no product was found."""
        return tuple(ProductChoice(e.id, e.label(lang)) for e in list(self.entries.values())[: max(0, n)])

    def match(self, text: str) -> CatalogMatch | None:
        """The best product in `text`, or None when nothing in the catalog is mentioned or the message is about
        something else (see `read`)."""
        return self.read(text)[1]

    def read(self, text: str) -> tuple[list[CatalogMatch], CatalogMatch | None]:
        """Every mention in `text` (`match_all`'s) and the best product (`match`'s), the text read once.

        The mentions are read as a story, step by step: a thing the shop does not sell named first, products said
        not to be it or someone else's, named only as the setting, bought elsewhere, what is blamed, what is said to
        be fine; then direct mentions (exact/alias, then typo; the first one the message is about) beat indirect
        ones, and an indirect answer needs the related words of one product to outnumber every other product's.
        """
        mentions, first_unsold = self._mentions(text)
        return mentions, self._best(text, mentions, first_unsold)

    def _best(self, text: str, matches: list[CatalogMatch], first_unsold: int | None) -> CatalogMatch | None:
        if not matches:
            return None
        story = _Story(self._simplified(text[:MAX_MATCH_CHARS]))
        # "my phone drains fast, even playing to my headphones": a thing the shop does not sell, named first, is
        # what the complaint is about, unless it turns to the product ("the bag is lovely but the laptop...") or a
        # product is said to be the shop's ("the toaster I got from you").
        if (first_unsold is not None and first_unsold < matches[0].start
                and not any(story.said_to_be_ours(m) for m in matches)
                and not any(story.said_before(_TURNS_TO_IT_BEFORE, m) for m in matches)):
            return None
        matches = _without_negated_or_someone_elses(matches, story)
        matches = _without_settings(matches, story)
        matches = _without_bought_elsewhere(matches, story)
        at_fault = self._after_the_blame(matches, story)
        remaining = None if at_fault is None else self._without_cleared(at_fault, story)
        if remaining is None:
            return None
        direct = [m for m in remaining if m.method != "indirect"]
        if direct:
            return self._subject(direct, story)
        return _by_related_words(remaining)

    def _after_the_blame(self, matches: list[CatalogMatch], story: _Story) -> list[CatalogMatch] | None:
        """What the customer says is at fault: a product named there is the one; another thing means none of them
        (None). A blame taken back ("说是插座的问题，电工查了说插座正常") or doubted is none."""
        blamed = blamed_thing(story.lowered) if matches else None
        if blamed is None or self._cleared_later(story.lowered, blamed[1], blamed[2]):
            return matches
        at_fault = [m for m in matches if blamed[0] <= m.start < blamed[1]]
        if at_fault:
            return at_fault
        if all(names_another_thing_at_fault(blamed[2], self._own_words[pid], self.entries[pid].names)
               for pid in {m.product_id for m in matches}):
            return None
        return matches

    def _without_cleared(self, matches: list[CatalogMatch], story: _Story) -> list[CatalogMatch] | None:
        """Products said to be fine are not proposed at all, even when nothing else is named ("my fridge is great,
        but the fridge lock I bought snapped"; "just the pods, the machine is fine"): None when the machine itself
        is cleared, and the flow then asks which product it is."""
        machine_cleared = _MACHINE_CLEARED.search(story.plain)
        if machine_cleared and (len({m.product_id for m in matches}) == 1
                                or machine_cleared.group().lower().startswith("both")):
            return None
        # Only a name clears its product: "the external keyboard works fine" says nothing of the laptop's own.
        direct = [m for m in matches if m.method != "indirect"]
        cleared = {m.product_id for m in direct if _CLEARED_AFTER.match(story.plain, m.end)}
        # "Movers carried the fridge, the sofa and the washer. Everything else is fine. The washer...": what is not
        # named again after it is cleared.
        if (everything_else := _EVERYTHING_ELSE_FINE.search(story.plain)) is not None:
            again = {m.product_id for m in matches if m.start > everything_else.end()}
            cleared |= {m.product_id for m in matches if m.product_id not in again}
        # Chinese shortens a name to its end: 笔记本电脑…电脑本身没毛病, 空气炸锅…炸锅本身是好的 (searched once per
        # product, from its first name on).
        first_named: dict[str, int] = {}
        for m in direct:
            first_named.setdefault(m.product_id, m.end)
        cleared |= {pid for pid, end in first_named.items()
                    if pid in self._short_name_cleared and self._short_name_cleared[pid].search(story.plain, end)}
        return [m for m in matches if m.product_id not in cleared]

    def _subject(self, direct: list[CatalogMatch], story: _Story) -> CatalogMatch:
        """Of the products named, the first one the message is about: not one named after a preposition ("won't
        pick up my console or my laptop" is what the TV fails with) unless its own part is what is on it ("HDMI 2
        on the TV"), nor the delivery of it ("the courier left my TV outside"); with one product, its strongest,
        longest, earliest name."""
        if len({m.product_id for m in direct}) > 1:
            subjects = [m for m in direct if m.product_id not in _AROUND_A_PURCHASE and (
                not story.said_before(_USED_WITH_BEFORE, m)
                or part_named_before(story.lowered[max(0, m.start - 40) : m.start], self._own_words[m.product_id]))]
            if subjects:
                return min(subjects, key=lambda m: (-_RANK[m.method], m.start))
        return max(direct, key=lambda m: (_RANK[m.method], m.end - m.start, -m.start))

    @staticmethod
    def _cleared_later(text: str, after: int, thing: str) -> bool:
        """Whether the blamed `thing` (its last word, or its last two characters in Chinese) is said fine later."""
        head = thing[-2:] if _CJK.search(thing[-1:]) else thing.split()[-1]
        position = text.find(head, after)
        while position >= 0:
            if _CLEARED_AFTER.match(text, position + len(head)) or _SAID_NORMAL_ZH.match(text, position + len(head)):
                return True
            position = text.find(head, position + len(head))
        return False

    def _simplified(self, text: str) -> str:
        """`text` in simplified Chinese characters, when that keeps its length (so offsets still hold)."""
        if not _CJK.search(text):
            return text
        converted: str = self._to_simplified.convert(text)
        return converted if len(converted) == len(text) else text

    def match_all(self, text: str) -> list[CatalogMatch]:
        """Every catalog mention in `text` (overlaps resolved: stronger, then longer, then earlier wins);
        spans index `text` itself."""
        return self._mentions(text)[0]

    def _mentions(self, text: str) -> tuple[list[CatalogMatch], int | None]:
        """`match_all`'s mentions, and where the first name of a product the business does not sell starts
        (None when there is none, or when nothing in the catalog is mentioned)."""
        original = text[:MAX_MATCH_CHARS]
        normalised, offsets = normalize_with_offsets(original)
        if not normalised:
            return [], None
        lowered = normalised.lower()
        if len(lowered) != len(normalised):  # a few letters lower-case to two characters
            lowered = normalised
        found: list[tuple[int, int, str, MatchMethod, float]] = []  # start, end, product, method, confidence
        en_doc = self._en.make_doc(normalised)
        found += self._phrase_matches(self._en, self._en_matcher, en_doc)
        for pattern, product_id in self._model_patterns:
            for hit in pattern.finditer(lowered):
                found.append((hit.start(), hit.end(), product_id, "alias", _CONFIDENCE["alias"]))
        if _CJK.search(normalised):
            found += self._phrase_matches(self._zh, self._zh_matcher, self._zh.make_doc(normalised))
            for pattern, product_id, method in self._latin_in_cjk:
                for hit in pattern.finditer(lowered):
                    found.append((hit.start(), hit.end(), product_id, method, _CONFIDENCE[method]))
            for term, product_id, method in self._zh_substrings:
                start = lowered.find(term)
                while start >= 0:
                    confidence = _SUBSTRING_CONFIDENCE if method == "exact" else _CONFIDENCE[method]
                    found.append((start, start + len(term), product_id, method, confidence))
                    start = lowered.find(term, start + len(term))
        found += self._fuzzy_matches(en_doc)
        # Stronger first, then longer, then earlier; keep what does not overlap a kept match.
        found.sort(key=lambda f: (-_RANK[f[3]], -(f[1] - f[0]), f[0]))
        kept: list[tuple[int, int, str, MatchMethod, float]] = []
        taken = bytearray(len(lowered))  # characters already in a kept match: linear in the text, not quadratic
        for item in found:
            if not any(taken[item[0] : item[1]]):
                kept.append(item)
                taken[item[0] : item[1]] = b"\x01" * (item[1] - item[0])
        kept.sort(key=lambda f: f[0])
        first_unsold: int | None = None
        if kept:
            context = self._simplified(lowered)  # what is said around the names, read in simplified Chinese
            names = self._product_names_in(en_doc, lowered)
            # An unsold thing said to be fine anywhere ("Kettle's fine") or tried ("tried three sockets", 插座都换过了)
            # is not what the complaint is about.
            cleared_groups = {group for start, end, group in names if _CLEARED_AFTER.match(context, end)
                              or _ALL_FINE_AFTER_ZH.match(context, end) or _ALL_FINE_AFTER_EN.match(context, end)}
            around = _NamesAround(names)
            taken_away = _TAKEN_AWAY.search(context) is not None
            first_unsold = min((start for start, end, group in names if group in self._unsold_groups
                                and group not in cleared_groups and not around.holds(start, end, lowered[start:end])
                                and not _BELONGS_TO_AFTER.match(context, end)
                                and not _TRIED_BEFORE.search(context[max(0, start - 50) : start])
                                and not _TRIED_AFTER_ZH.match(context, end)
                                and not (taken_away and _OLD_BEFORE.search(context, max(0, start - 20), start))),
                               default=None)
            inside = {k for k in kept if around.holds(k[0], k[1], lowered[k[0]:k[1]])}
            kept = [k for k in kept if k not in inside]
            # A name or related word inside another thing's name ("toy toaster", "drum kit") is no mention; a
            # product named only so is not found by its related words either ("the toast pops out").
            elsewhere = {k for k in kept if self._head_of_phrase_check and self._names_another_thing(k, context)}
            if elsewhere or inside:
                # In a complaint about another thing named after a product, a product named after a preposition is
                # where that thing is used ("won't sit flat on top of my toaster", 对着我家电视按), not the complaint.
                another_thing = set(elsewhere) | inside
                # "The ice maker on my fridge": where the product's own part is, is the product.
                elsewhere |= {k for k in kept if _USED_WITH_BEFORE.search(context[max(0, k[0] - 30) : k[0]])
                              and not part_named_before(context[max(0, k[0] - 40) : k[0]], self._own_words[k[2]])}
                # A product first named as part of another thing's name is context after that too ("the laptop
                # sleeve's zip broke, my laptop nearly slid out"), unless the message turns to it ("but the laptop").
                first_named: dict[str, tuple[int, int, str, MatchMethod, float]] = {}
                for k in sorted([*kept, *inside]):
                    if k[3] != "indirect":
                        first_named.setdefault(k[2], k)
                elsewhere |= {k for k in kept if first_named.get(k[2]) in another_thing
                              and not _TURNS_TO_IT_BEFORE.search(context[max(0, k[0] - 24) : k[0]])}
            named = {k[2] for k in kept if k[3] != "indirect" and k not in elsewhere}
            dropped = {k[2] for k in elsewhere} - named
            kept = [k for k in kept if k not in elsewhere and not (k[3] == "indirect" and k[2] in dropped)]
        out = []
        for start, end, product_id, method, confidence in kept:
            o_start, o_end = offsets[start], offsets[end - 1] + 1
            out.append(CatalogMatch(product_id, original[o_start:o_end], method, confidence, o_start, o_end))
        return out, None if first_unsold is None else offsets[first_unsold]

    @staticmethod
    def _phrase_matches(nlp: Language, matcher: PhraseMatcher,
                        doc: Doc) -> list[tuple[int, int, str, MatchMethod, float]]:
        out: list[tuple[int, int, str, MatchMethod, float]] = []
        for match_id, start, end in matcher(doc):
            method, product_id = nlp.vocab.strings[match_id].split("|", 1)
            span = doc[start:end]
            kind: MatchMethod = "alias" if method == "alias" else "indirect" if method == "indirect" else "exact"
            out.append((span.start_char, span.end_char, product_id, kind, _CONFIDENCE[kind]))
        return out

    def _product_names_in(self, doc: Doc, lowered: str) -> list[tuple[int, int, frozenset[str]]]:
        """Every known product name in the text: (start, end, the names of its product)."""
        found = [(doc[start:end].start_char, doc[start:end].end_char, self._name_groups[int(doc.vocab.strings[key])])
                 for key, start, end in self._group_matcher(doc)]
        if _CJK.search(lowered):
            for name, index in self._group_cjk_names:
                start = lowered.find(name)
                while start >= 0:
                    found.append((start, start + len(name), self._name_groups[index]))
                    start = lowered.find(name, start + 1)
        return found

    def _names_another_thing(self, found: tuple[int, int, str, MatchMethod, float], lowered: str) -> bool:
        """The name in `found` is a word in the name of something else: "toaster bags", "a toy toaster"."""
        start, end, product_id = found[0], found[1], found[2]
        after, before = lowered[end : end + _AFTER_NAME_CHARS], lowered[max(0, start - _BEFORE_NAME_CHARS) : start]
        own_words = self._own_words[product_id]
        return (names_another_thing(after, own_words) or imitation_of_the_product(before)
                or fits_another_thing(before, after, own_words))

    def _fuzzy_matches(self, doc: Doc) -> list[tuple[int, int, str, MatchMethod, float]]:
        out: list[tuple[int, int, str, MatchMethod, float]] = []
        words = [t for t in doc if t.is_alpha or t.like_num]
        for i in range(len(words)):
            for width in range(1, _MAX_WINDOW_TOKENS + 1):
                window = words[i : i + width]
                if len(window) < width or window[-1].i - window[0].i != width - 1:
                    break
                candidate = "".join(t.lower_ for t in window)
                keys = _deletions(candidate) if len(candidate) >= _MIN_FUZZY_CHARS - 1 else {candidate}
                for key in keys:
                    for name, product_id, n_words in self._fuzzy_index.get(key, ()):
                        # Words run together or split apart with a slip as well: only for a long name ("smart
                        # phome"); short ones meet ordinary word pairs ("go over" was a "hoover").
                        exact_only = (len(name) < _MIN_FUZZY_CHARS or any(ch.isdigit() for ch in name)
                                      or (width != n_words and len(name) < _MIN_SPLIT_FUZZY_CHARS))
                        if candidate != name and (exact_only or candidate in self._name_words
                                                  or _inflected_verb(candidate, name)
                                                  or OSA.distance(candidate, name, score_cutoff=1) > 1):
                            continue
                        span = doc[window[0].i : window[-1].i + 1]
                        # A squashed exact name ("waterheater") is still exact.
                        method: MatchMethod = "exact" if candidate == name else "typo"
                        out.append((span.start_char, span.end_char, product_id, method, _CONFIDENCE[method]))
        return out


class _Story:
    """A message as the story rules read it: in simplified Chinese characters (沒事 is 没事), and lower-cased where
    that keeps every offset."""

    def __init__(self, plain: str) -> None:
        self.plain = plain
        lowered = plain.lower()
        self.lowered = lowered if len(lowered) == len(plain) else plain  # a few letters lower-case to two
        self.taken_away = _TAKEN_AWAY.search(plain) is not None

    def said_before(self, pattern: re.Pattern[str], m: CatalogMatch) -> bool:
        return pattern.search(self.plain[max(0, m.start - 24) : m.start]) is not None

    def said_to_be_ours(self, m: CatalogMatch) -> bool:
        """"the toaster I got from you", 你们的电视 (not 跟你们的烤面包机摆一起: what another thing stood with)."""
        return m.method != "indirect" and (
            _BOUGHT_HERE_AFTER.match(self.lowered, m.end) is not None
            or (self.said_before(_BOUGHT_HERE_BEFORE_ZH, m) and not self.said_before(_WITH_BEFORE_ZH, m)))

    def only_the_setting(self, m: CatalogMatch) -> bool:
        """Delivered to someone else or when, browsed, taken away as the old one, tried with: not the subject."""
        plain = self.plain
        return (self.said_before(_DELIVERED_ELSEWHERE_BEFORE, m)
                or _DELIVERY_TIME_AFTER.match(plain, m.end) is not None
                or (self.said_before(_MISSED_BEFORE, m) and _DELIVERY_AFTER.match(plain, m.end) is not None)
                or _SERVICE_TIME_AFTER_ZH.match(plain, m.end) is not None
                or (self.said_before(_WHEN_BEFORE_ZH, m) and _WHEN_AFTER_ZH.match(plain, m.end) is not None)
                or (self.taken_away and self.said_before(_OLD_BEFORE, m))
                or _TRIED_AFTER_ZH.match(plain, m.end) is not None)

    def bought_elsewhere(self, m: CatalogMatch) -> bool:
        """Said right before or after the mention: "from a market stall", "(she got it at Costco)", 别家买的,
        是借来的."""
        return (_BOUGHT_ELSEWHERE_AFTER.match(self.lowered, m.end) is not None
                or (m.method != "indirect" and _AT_ANOTHER_SHOP_AFTER.match(self.plain, m.end) is not None)
                or _NOT_OURS_AFTER_ZH.match(self.plain, m.end) is not None
                or self.said_before(_BOUGHT_ELSEWHERE_BEFORE_ZH, m))


def _without_negated_or_someone_elses(matches: list[CatalogMatch], story: _Story) -> list[CatalogMatch]:
    """"it's not the kettle, it's the toaster": a product said not to be it loses to one that is not negated, and is
    not proposed when nothing else is named ("my phone drops bluetooth, not just my headphones"). "The same phone
    casts fine to my friend's TV", 换了另一台电视也一样: another one of a product is neither the one complained about
    nor a sign that it is fine. Its related words go with a product's names: 房东留下的洗衣机…脱水响 is no washing
    machine of ours either."""
    dropped = {m for m in matches if m.method != "indirect"
               and (story.said_before(_NEGATED_BEFORE, m) or story.said_before(_ANOTHER_ONE_BEFORE, m))}
    named_ids = {m.product_id for m in matches if m.method != "indirect" and m not in dropped}
    dropped_ids = {m.product_id for m in dropped} - named_ids
    return [m for m in matches if m not in dropped and m.product_id not in dropped_ids]


def _without_settings(matches: list[CatalogMatch], story: _Story) -> list[CatalogMatch]:
    """A product dropped when every mention of it is only the setting of the story."""
    in_the_story = {m.product_id for m in matches if not story.only_the_setting(m)}
    return [m for m in matches if m.product_id in in_the_story]


def _without_bought_elsewhere(matches: list[CatalogMatch], story: _Story) -> list[CatalogMatch]:
    """The products said to be bought elsewhere are not the shop's, whether said at the mention or in a statement
    after it ("it's not one of yours", 不是你们卖的: of the product named last before it)."""
    not_ours = {m.product_id for m in matches if story.bought_elsewhere(m)}
    statement = _NOT_BOUGHT_HERE.search(story.plain)
    if statement is not None and matches:
        before = [m for m in matches if m.start < statement.start()]
        # Said of no product before it: of the first one after, when it opens the message ("it wasn't bought here,
        # but can you fix my microwave"), else of a thing the shop does not sell ("the oven (not yours)"); a sentence
        # of its own with another subject is of that thing ("...black screen. Soundbar's not from you").
        said_of_another = bool(before) and _OWN_SUBJECT.search(story.plain[before[-1].end : statement.start()])
        if not said_of_another and (before or statement.start() < 12):
            not_ours.add((before[-1] if before else matches[0]).product_id)
    return [m for m in matches if m.product_id not in not_ours]


def _by_related_words(matches: list[CatalogMatch]) -> CatalogMatch | None:
    """The product whose distinct related words outnumber every other product's, None on a tie or none."""
    hits: dict[str, list[CatalogMatch]] = {}
    for m in matches:
        hits.setdefault(m.product_id, []).append(m)
    if not hits:
        return None
    counts = sorted(((len({m.span.lower() for m in ms}), pid) for pid, ms in hits.items()), reverse=True)
    if len(counts) > 1 and counts[0][0] == counts[1][0]:
        return None
    best_count, product_id = counts[0]
    first = min(hits[product_id], key=lambda m: m.start)
    confidence = min(_MAX_INDIRECT, _CONFIDENCE["indirect"] + _INDIRECT_STEP * (best_count - 1))
    return CatalogMatch(product_id, first.span, "indirect", confidence, first.start, first.end)


@functools.cache
def general_products() -> tuple[CatalogEntry, ...]:
    """The shipped general catalog's products: what else a customer's words may name."""
    return tuple(_entry_from_mapping(raw, index, SHIPPED_CATALOG_PATH)
                 for index, raw in enumerate(catalog_document(SHIPPED_CATALOG_PATH)))


class _NamesAround:
    """The product names found in a text, by where they start: which hold a mention is asked once per mention,
    looking only as far back as the longest name."""

    def __init__(self, names: list[tuple[int, int, frozenset[str]]]) -> None:
        self._by_start: dict[int, list[tuple[int, frozenset[str]]]] = {}
        for start, end, group in names:
            self._by_start.setdefault(start, []).append((end, group))
        self._longest = max((end - start for start, end, _ in names), default=0)

    def holds(self, start: int, end: int, words: str) -> bool:
        """A longer name of another product covers the mention `words` at start..end ("toy toaster")."""
        return any(n_end >= end and n_end - n_start > end - start and words not in group
                   for n_start in range(max(0, start - self._longest), start + 1)
                   for n_end, group in self._by_start.get(n_start, ()))


def catalog_document(path: Path) -> list[Mapping[str, object]]:
    """The products of a catalog file (YAML or CSV) as mappings in the YAML file's shape, not yet checked."""
    return catalog_file(path)[0]


def catalog_file(path: Path) -> tuple[list[Mapping[str, object]], bool]:
    """A catalog file's products (as `catalog_document`) and its `services_under_product` (true unless the YAML
    file says false; a CSV file has no place for it)."""
    if not path.is_file():
        raise CatalogError("file not found", path=path)
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                return catalog_rows(csv.DictReader(handle)), True
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML_LOADER)
    except (UnicodeDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise CatalogError(f"cannot read: {exc}", path=path) from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("products"), list):
        raise CatalogError("expected a mapping with a `products` list", path=path)
    products: list[Mapping[str, object]] = document["products"]
    services_under_product = document.get("services_under_product", True)
    if not isinstance(services_under_product, bool):
        raise CatalogError("services_under_product must be true or false", path=path)
    return products, services_under_product


CSV_COLUMNS = ("id", "label_en", "label_zh", "names_en", "names_zh", "aliases", "skus", "model_prefixes",
               "related_en", "related_zh")


def catalog_rows(rows: Iterable[Mapping[str, str | None]]) -> list[Mapping[str, object]]:
    """CSV rows (CSV_COLUMNS, `|` between list items) in the YAML file's shape."""
    return [{"id": row.get("id"), "label": {"en": row.get("label_en"), "zh": row.get("label_zh")},
             "names": {"en": _split(row.get("names_en")), "zh": _split(row.get("names_zh"))},
             "aliases": _split(row.get("aliases")), "skus": _split(row.get("skus")),
             "model_prefixes": _split(row.get("model_prefixes")),
             "related": {"en": _split(row.get("related_en")), "zh": _split(row.get("related_zh"))}}
            for row in rows]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split("|") if part.strip()]
