"""Entities the conversation can use (slot filling), with spans: names, phones, emails, dates, order
numbers, money amounts, catalog products, the store where it happened and the resolution the customer asks
for, in English and Chinese.

Every pattern starts only where a token starts (a negative look-behind), so each regex scans each
character a bounded number of times: extraction is linear in the input, which is capped anyway at
`MAX_ENTITY_CHARS`. Phone numbers are parsed and validated by `phonenumbers` (Chinese mobiles without
+86 as well); dates and times are resolved by our own rules against a reference time the caller gives.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeVar

import opencc
import phonenumbers

from nlp.catalog import CatalogMatch

Lang = Literal["en", "zh"]
EntityKind = Literal[
    "person", "phone", "email", "datetime", "order_number", "money", "product", "resolution", "location"
]
DatePrecision = Literal["date", "datetime", "time"]
MAX_ENTITY_CHARS = 8000


@dataclass(frozen=True, kw_only=True)
class Entity:
    """One thing found in the text: `text` is `source[start:end]`, `value` its normalised form."""

    kind: EntityKind
    text: str
    value: str
    start: int
    end: int

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            item = getattr(self, name)
            data[name] = str(item) if isinstance(item, Decimal) else item
        return data


@dataclass(frozen=True, kw_only=True)
class PersonName(Entity):
    """A name the customer gave for themselves; value is the name as written (title case in English)."""

    kind: EntityKind = "person"


@dataclass(frozen=True, kw_only=True)
class PhoneNumber(Entity):
    """value: E.164 (+8613812345678)."""

    kind: EntityKind = "phone"


@dataclass(frozen=True, kw_only=True)
class EmailAddress(Entity):
    """value: the address with its domain lower-cased."""

    kind: EntityKind = "email"


@dataclass(frozen=True, kw_only=True)
class DateTimeMention(Entity):
    """value: ISO 8601 -- YYYY-MM-DD (precision date), YYYY-MM-DDTHH:MM (datetime) or HH:MM (time),
    resolved against the reference time given to `extract_entities`."""

    kind: EntityKind = "datetime"
    precision: DatePrecision = "date"


@dataclass(frozen=True, kw_only=True)
class OrderNumber(Entity):
    """value: the reference upper-cased, without a leading #."""

    kind: EntityKind = "order_number"


@dataclass(frozen=True, kw_only=True)
class MoneyAmount(Entity):
    """value: "45.00 USD"; amount and ISO 4217 currency also apart."""

    kind: EntityKind = "money"
    amount: Decimal = field(default=Decimal(0))
    currency: str = ""


@dataclass(frozen=True, kw_only=True)
class ProductMention(Entity):
    """value: the catalog product id; method as in `CatalogMatch`."""

    kind: EntityKind = "product"
    method: str = "exact"
    confidence: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ResolutionRequest(Entity):
    """What the customer asks us to do ("I want a refund", "请安排维修"); value: refund, replacement, repair or
    apology (the default flow's option values). `text` is the resolution word alone."""

    kind: EntityKind = "resolution"


@dataclass(frozen=True, kw_only=True)
class PlaceMention(Entity):
    """A named store or branch where it happened ("your Oxford Street store", "南京西路店"); value: as written."""

    kind: EntityKind = "location"


# --- numbers ---------------------------------------------------------------------------------------

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "萬": 10000}
_ZH_NUM = "零〇一二两兩三四五六七八九十百千万萬"
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3}


def parse_number(text: str) -> int | None:
    """Arabic (any script's digits) or Chinese numerals (三, 十五, 两百, 一千二百) -> int."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, section, digit = 0, 0, 0
    for char in text:
        if char.isdigit():
            digit = digit * 10 + int(char)
        elif char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            unit = _ZH_UNITS[char]
            if unit == 10000:
                total += (section + digit) * unit
                section, digit = 0, 0
            else:
                section += (digit or 1) * unit
                digit = 0
        else:
            return None
    return total + section + digit


# --- emails, phones, order numbers, money ----------------------------------------------------------

_EMAIL = re.compile(r"(?<![A-Za-z0-9_.%+-])[A-Za-z0-9_.%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
                    r"(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])")
_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_ORDER_EN = re.compile(
    r"(?<![\w])(?i:confirmation|transaction|reference|shipment|tracking|booking|invoice|receipt|parcel|ticket|order"
    r"|claim|case|ref)(?:\s+(?i:reference|number|code|num|ref|no\.?|id|#))?(?![A-Za-z])\s*(?:#|:|=|is(?!\w))?\s*"
    r"(#?[A-Za-z0-9][A-Za-z0-9/-]{2,39})(?![\w-])")
_ORDER_ZH = re.compile(r"(?:订单号|订单编号|订单|单号|运单号|快递单号|物流单号|工单号|编号|流水号|交易号|票号|合同号)"
                       r"(?:码)?\s*(?:是|为|:|：|#)?\s*([A-Za-z0-9][A-Za-z0-9-]{3,39})(?![A-Za-z0-9-])")
_ORDER_HASH = re.compile(r"(?<![\w#])#([A-Za-z0-9-]*\d[A-Za-z0-9-]*)(?![\w-])")
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_CURRENCY_BEFORE = {"us$": "USD", "$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
                    "¥": "CNY", "￥": "CNY", "rmb": "CNY", "cny": "CNY", "人民币": "CNY", "hk$": "HKD", "hkd": "HKD"}
_CURRENCY_AFTER = {"usd": "USD", "dollars": "USD", "dollar": "USD", "bucks": "USD", "eur": "EUR", "euros": "EUR",
                   "euro": "EUR", "gbp": "GBP", "pounds": "GBP", "pound": "GBP", "cny": "CNY", "rmb": "CNY",
                   "yuan": "CNY", "元": "CNY", "块钱": "CNY", "块": "CNY", "元钱": "CNY", "人民币": "CNY",
                   "美元": "USD", "美金": "USD", "欧元": "EUR", "英镑": "GBP", "港币": "HKD", "hkd": "HKD"}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONEY_BEFORE = re.compile(rf"(?<![A-Za-z0-9$€£¥￥])({_alternation(_CURRENCY_BEFORE)})\s?({_AMOUNT})(?![\d.,]?\d)"
                           r"(?:\s?(?:元|块))?",
                           re.IGNORECASE)
_MONEY_AFTER = re.compile(rf"(?<![\d.,])({_AMOUNT})\s?({_alternation(_CURRENCY_AFTER)})(?![A-Za-z])",
                          re.IGNORECASE)
_MONEY_ZH_NUMERALS = re.compile(rf"(?<![{_ZH_NUM}])([{_ZH_NUM}]{{1,8}})(元钱|块钱|元|块)")


def _phones(text: str, lang: Lang) -> list[Entity]:
    out: list[Entity] = []
    found_spans: set[tuple[int, int]] = set()
    # The flow's order (flows.contact_parsing.PHONE_REGIONS): the first region a number is valid in wins.
    for region in ("CN",) if lang == "zh" else ("US", "GB", "CN"):
        try:
            matches = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID,
                                                           max_tries=200))
        except Exception:
            matches = []
        for m in matches:
            if (m.start, m.end) in found_spans:
                continue
            found_spans.add((m.start, m.end))
            value = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
            out.append(PhoneNumber(text=m.raw_string, value=value, start=m.start, end=m.end))
    for hit in _CN_MOBILE.finditer(text):
        digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", hit.group()))
        out.append(PhoneNumber(text=hit.group(), value="+86" + digits[-11:], start=hit.start(), end=hit.end()))
    return out


def _emails(text: str) -> list[Entity]:
    out: list[Entity] = []
    for hit in _EMAIL.finditer(text):
        local, _, domain = hit.group().rpartition("@")
        out.append(EmailAddress(text=hit.group(), value=f"{local}@{domain.lower()}", start=hit.start(),
                                end=hit.end()))
    return out


def _order_numbers(text: str) -> list[Entity]:
    out: list[Entity] = []
    for pattern in (_ORDER_EN, _ORDER_ZH, _ORDER_HASH):
        for hit in pattern.finditer(text):
            token = hit.group(1).lstrip("#")
            if sum(ch.isdigit() for ch in token) < 2 or len(token) < 3:
                continue
            start = hit.start(1) + (len(hit.group(1)) - len(token))
            out.append(OrderNumber(text=token, value=unicodedata.normalize("NFKC", token).upper(), start=start,
                                   end=hit.end(1)))
    return out


def _money_entity(text: str, start: int, end: int, amount_text: str, currency: str) -> Entity | None:
    try:
        amount = Decimal(unicodedata.normalize("NFKC", amount_text).replace(",", ""))
    except InvalidOperation:
        return None
    amount = amount.quantize(Decimal("0.01"))
    return MoneyAmount(text=text[start:end], value=f"{amount} {currency}", start=start, end=end, amount=amount,
                       currency=currency)


def _money(text: str) -> list[Entity]:
    out: list[Entity | None] = []
    for hit in _MONEY_BEFORE.finditer(text):
        out.append(_money_entity(text, hit.start(), hit.end(), hit.group(2), _CURRENCY_BEFORE[hit.group(1).lower()]))
    for hit in _MONEY_AFTER.finditer(text):
        out.append(_money_entity(text, hit.start(), hit.end(), hit.group(1), _CURRENCY_AFTER[hit.group(2).lower()]))
    for hit in _MONEY_ZH_NUMERALS.finditer(text):
        number = parse_number(hit.group(1))
        if number:
            out.append(_money_entity(text, hit.start(), hit.end(), str(number), "CNY"))
    return [e for e in out if e is not None]


# --- dates and times -------------------------------------------------------------------------------

_MONTHS = {m: i + 1 for i, names in enumerate(
    ["january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul", "august aug",
     "september sep sept", "october oct", "november nov", "december dec"]) for m in names.split()}
_WEEKDAYS_EN = {d: i for i, names in enumerate(["monday mon", "tuesday tue tues", "wednesday wed",
                                                 "thursday thu thurs", "friday fri", "saturday sat",
                                                 "sunday sun"]) for d in names.split()}
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RELATIVE_EN = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                "yesterday": -1, "last night": -1, "the day before yesterday": -2, "tomorrow": 1}
_RELATIVE_ZH = {"今天": 0, "今日": 0, "今晚": 0, "今早": 0, "昨天": -1, "昨日": -1, "昨晚": -1, "前天": -2,
                "大前天": -3, "明天": 1, "后天": 2}
_EN_COUNT = rf"(\d{{1,3}}|{_alternation(_EN_NUMBERS)})"
_DATE_PATTERNS_EN: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"(?<![\d/-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/-])")),
    ("slash", re.compile(r"(?<![\d/.-])(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})(?![\d/.-])")),
    ("month_day", re.compile(rf"(?<![A-Za-z])({_alternation(_MONTHS)})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?"
                             rf"(?:,?\s+(\d{{4}}))?(?![\d])", re.IGNORECASE)),
    ("day_month", re.compile(rf"(?<![\w])(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_alternation(_MONTHS)})"
                             rf"(?![A-Za-z])(?:,?\s+(\d{{4}}))?", re.IGNORECASE)),
    ("ago", re.compile(rf"(?<![\w])(?:{_EN_COUNT})\s+(days?|weeks?|months?)\s+ago(?![A-Za-z])", re.IGNORECASE)),
    ("weekday", re.compile(rf"(?<![A-Za-z])(?:(last|this|next)\s+)?({_alternation(_WEEKDAYS_EN)})"
                           rf"(?![A-Za-z])", re.IGNORECASE)),
    ("relative", re.compile(rf"(?<![A-Za-z])({_alternation(_RELATIVE_EN)})(?![A-Za-z])", re.IGNORECASE)),
]
_TIME_EN = re.compile(r"(?<![\w:])(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![A-Za-z])"
                      r"|(?<![\w:])(\d{1,2}):(\d{2})(?![\d:])|(?<![A-Za-z])(noon|midnight)(?![A-Za-z])",
                      re.IGNORECASE)
_ZH_N = rf"[\d{_ZH_NUM}]"
_DATE_PATTERNS_ZH: list[tuple[str, re.Pattern[str]]] = [
    ("zh_ymd", re.compile(rf"(?:(\d{{4}})年)?({_ZH_N}{{1,3}})月({_ZH_N}{{1,3}})[日号號]")),
    ("zh_ago", re.compile(rf"({_ZH_N}{{1,3}}|半)\s*(天|日|周|个星期|個星期|星期|个礼拜|个月|個月)(?:以前|之前|前)")),
    ("zh_weekday", re.compile(r"(上个|上個|上|这个|这|本|下个|下)?\s*(?:周|星期|礼拜|禮拜)([一二三四五六日天])")),
    ("zh_relative", re.compile(rf"({_alternation(_RELATIVE_ZH)})")),
]
_ZH_PERIOD = r"上午|早上|早晨|清晨|中午|下午|傍晚|晚上|夜里|夜裡|凌晨|(?<![昨今])晚"
_TIME_ZH = re.compile(rf"({_ZH_PERIOD})?\s*({_ZH_N}{{1,3}})\s*[点點时時](?:\s*(半|一刻|三刻|{_ZH_N}{{1,3}})\s*分?)?"
                      rf"|({_ZH_PERIOD})?\s*(\d{{1,2}}):(\d{{2}})(?![\d:])")


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    day: date | None = None
    clock: time | None = None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _weekday_before(now: date, weekday: int, modifier: str) -> date:
    """The weekday a complaint means: the most recent one (today for "on Monday" said on a Monday, a week
    back for "last Monday"), or the coming one after "next"."""
    if modifier == "next":
        return now + timedelta(days=(weekday - now.weekday()) % 7 or 7)
    back = (now.weekday() - weekday) % 7
    if modifier == "last" and back == 0:
        back = 7
    return now - timedelta(days=back)


def _dates_en(text: str, now: datetime) -> list[_Found]:
    out: list[_Found] = []
    today = now.date()
    for name, pattern in _DATE_PATTERNS_EN:
        for hit in pattern.finditer(text):
            day: date | None = None
            g = hit.groups()
            if name == "iso":
                day = _safe_date(int(g[0]), int(g[1]), int(g[2]))
            elif name == "slash":
                year = int(g[2]) + (2000 if len(g[2]) == 2 else 0)
                a, b = int(g[0]), int(g[1])
                # Month first (US) unless the first number cannot be a month.
                day = _safe_date(year, a, b) if a <= 12 else _safe_date(year, b, a)
            elif name == "month_day":
                day = _safe_date(int(g[2]) if g[2] else today.year, _MONTHS[g[0].lower()], int(g[1]))
            elif name == "day_month":
                day = _safe_date(int(g[2]) if g[2] else today.year, _MONTHS[g[1].lower()], int(g[0]))
            elif name == "ago":
                count = _EN_NUMBERS.get(g[0].lower()) if not g[0].isdigit() else int(g[0])
                unit = g[1].lower().rstrip("s")
                days = {"day": 1, "week": 7, "month": 30}[unit] * (count or 0)
                day = today - timedelta(days=days)
            elif name == "weekday":
                if g[0] is None and len(g[1]) <= 3:
                    continue  # a bare "sat" / "sun" / "wed" is too often a word
                day = _weekday_before(today, _WEEKDAYS_EN[g[1].lower()], (g[0] or "").lower())
            elif name == "relative":
                day = today + timedelta(days=_RELATIVE_EN[g[0].lower()])
            if day is not None:
                out.append(_Found(hit.start(), hit.end(), day=day))
    for hit in _TIME_EN.finditer(text):
        g = hit.groups()
        if g[0] is not None:
            hour, minute = int(g[0]), int(g[1] or 0)
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if g[2].lower().startswith("p") else 0)
        elif g[3] is not None:
            hour, minute = int(g[3]), int(g[4])
        else:
            hour, minute = (12, 0) if g[5].lower() == "noon" else (0, 0)
        if hour < 24 and minute < 60:
            out.append(_Found(hit.start(), hit.end(), clock=time(hour, minute)))
    return out


def _dates_zh(text: str, now: datetime) -> list[_Found]:
    out: list[_Found] = []
    today = now.date()
    for name, pattern in _DATE_PATTERNS_ZH:
        for hit in pattern.finditer(text):
            g = hit.groups()
            day: date | None = None
            if name == "zh_ymd":
                month, dom = parse_number(g[1]), parse_number(g[2])
                if month and dom:
                    day = _safe_date(int(g[0]) if g[0] else today.year, month, dom)
            elif name == "zh_ago":
                count = 0.5 if g[0] == "半" else parse_number(g[0])
                unit = 1 if g[1] in ("天", "日") else 30 if "月" in g[1] else 7
                if count:
                    day = today - timedelta(days=int(count * unit))
            elif name == "zh_weekday":
                modifier = (g[0] or "").strip()
                mod = "last" if modifier.startswith("上") else "next" if modifier.startswith("下") else "this"
                weekday = _WEEKDAYS_ZH[g[1]]
                back = (today.weekday() - weekday) % 7
                if mod == "last":
                    # 上周三: Wednesday of last week.
                    day = today - timedelta(days=today.weekday() + 7 - weekday)
                elif mod == "next":
                    day = today + timedelta(days=7 - today.weekday() + weekday)
                else:
                    day = today - timedelta(days=back)
            elif name == "zh_relative":
                day = today + timedelta(days=_RELATIVE_ZH[g[0]])
            if day is not None:
                out.append(_Found(hit.start(), hit.end(), day=day))
    for hit in _TIME_ZH.finditer(text):
        g = hit.groups()
        if g[1] is not None:
            period, hour_value, minute_text = g[0], parse_number(g[1]), g[2]
            minute_value = (30 if minute_text == "半" else 15 if minute_text == "一刻" else 45 if minute_text == "三刻"
                            else parse_number(minute_text) if minute_text else 0)
        else:
            period, hour_value, minute_value = g[3], int(g[4]), int(g[5])
        if hour_value is None or minute_value is None or hour_value > 24 or minute_value > 59:
            continue
        hour = hour_value
        if (period in ("下午", "傍晚", "晚上", "夜里", "夜裡", "晚") and hour < 12) or (period == "中午" and hour < 11):
            hour += 12
        out.append(_Found(hit.start(), hit.end(), clock=time(hour % 24, minute_value)))
    return out


_EVENING_DAY = re.compile(r"昨晚|今晚|tonight|last night", re.IGNORECASE)
_JOINING_GAP = re.compile(r"\s{0,2}(?:,|，|at|on|的)?\s{0,2}", re.IGNORECASE)


def _datetimes(text: str, lang: Lang, now: datetime) -> list[Entity]:
    found = _dates_en(text, now) + (_dates_zh(text, now) if lang == "zh" or re.search(r"[\u4e00-\u9fff]", text)
                                    else [])
    found = _drop_overlaps(found, key=lambda f: (f.end - f.start, f.day is not None))
    found.sort(key=lambda f: f.start)
    out: list[Entity] = []
    i = 0
    while i < len(found):
        current = found[i]
        nxt = found[i + 1] if i + 1 < len(found) else None
        gap = text[current.end : nxt.start] if nxt else ""
        # "yesterday at 3pm", "昨天下午三点", "3pm yesterday": a date next to a time is one datetime.
        if nxt and _JOINING_GAP.fullmatch(gap) and (current.day is None) != (nxt.day is None):
            day = current.day or nxt.day
            clock = current.clock or nxt.clock
            assert day is not None and clock is not None
            # "昨晚11点", "last night at 11": the evening is in the date word.
            if clock.hour < 12 and _EVENING_DAY.search(text[current.start : nxt.end]):
                clock = clock.replace(hour=clock.hour + 12)
            out.append(DateTimeMention(text=text[current.start : nxt.end], value=datetime.combine(day, clock)
                                       .strftime("%Y-%m-%dT%H:%M"), start=current.start, end=nxt.end,
                                       precision="datetime"))
            i += 2
            continue
        if current.day is not None:
            out.append(DateTimeMention(text=text[current.start : current.end], value=current.day.isoformat(),
                                       start=current.start, end=current.end, precision="date"))
        elif current.clock is not None:
            out.append(DateTimeMention(text=text[current.start : current.end],
                                       value=current.clock.strftime("%H:%M"), start=current.start,
                                       end=current.end, precision="time"))
        i += 1
    return out


# --- person names ----------------------------------------------------------------------------------

# Capitalised words after "I'm" that describe a feeling or a state, not a name.
_NOT_NAMES = frozenset((
    "very", "so", "really", "not", "just", "still", "extremely", "totally", "completely", "absolutely", "sorry",
    "writing", "calling", "contacting", "angry", "upset", "disappointed", "frustrated", "furious", "done",
    "tired", "sick", "here", "trying", "having", "going", "the", "a", "an", "your", "you", "this", "that", "in",
    "on", "at", "from", "with", "back", "currently", "now", "also", "afraid", "unhappy", "fed", "waiting",
    "asking",
))
_GREETING_OPENING = re.compile(r"\s*(?i:hi|hello|hey|hiya|hi there|hello there|hey there"
                               r"|good\s+(?:morning|afternoon|evening))[\s,!.]*")
# What follows a name said after a greeting: the end, punctuation, or "here" ("hi, it's Jo here").
_NAME_ENDS = re.compile(r"\s*(?:$|[,.!?;:]|(?i:here|speaking|again)\b)")
_EN_NAME_WORD = r"[A-Z][a-z'\u00c0-\u024f]+(?:-[A-Z][a-z'\u00c0-\u024f]+)?"
_PERSON_EN = re.compile(rf"(?<![A-Za-z])(?i:my\s+name\s+is|my\s+name's|name\s+is|i\s*'?\s*m|i\s+am|this\s+is|"
                        rf"it's|call\s+me)\s+((?:Mr|Mrs|Ms|Miss|Dr)\.?\s+)?({_EN_NAME_WORD}(?:\s+{_EN_NAME_WORD}){{0,2}})")
_PERSON_EN_LOWER = re.compile(r"(?<![A-Za-z])(?i:my\s+name\s+is)\s+([a-z]{2,20}(?:\s+[a-z]{2,20})?)(?![A-Za-z])")
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
             "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
             "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
             "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_COMPOUND_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|令狐|慕容|司徒|夏侯"
_ZH_TITLES = "先生|女士|小姐|太太|阿姨|老师|师傅|经理"
# Characters that end a Chinese name: function words and the starts of what people say next.
_ZH_NAME_STOP = set("的了是在我你他她们想要买有从今昨和跟给被把这那就也都还刚已又很太不没电手订号快请能会说去来到")
_PERSON_ZH_TITLE = re.compile(rf"(?:我是|我叫|本人|我姓)\s*((?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])(?:{_ZH_TITLES}))")
_PERSON_ZH = re.compile(rf"(?:我叫|我的名字是|我名叫|本人|我是)\s*"
                        rf"((?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])[\u4e00-\u9fff]{{1,2}})")
_PERSON_ZH_SURNAME = re.compile(rf"我姓((?:{_COMPOUND_SURNAMES}|[{_SURNAMES}]))(?![\u4e00-\u9fff])")


def _persons(text: str) -> list[Entity]:
    out: list[Entity] = []
    for hit in _PERSON_EN.finditer(text):
        words = hit.group(2).split()
        trigger = hit.group(0)[: hit.start(2) - hit.start()].lower()
        kept: list[str] = []
        for word in words:
            if word.lower() in _NOT_NAMES:
                break
            kept.append(word)
        # "This is Terrible": after "this is" / "it's" a single capitalised word is not enough, unless they
        # follow a greeting that opens the message ("hi, it's Jo").
        start = hit.start(1) if hit.group(1) else hit.start(2)
        end = hit.start(2) + len(" ".join(words[: len(kept)]))
        needs_two = (trigger.startswith(("this", "it")) and not hit.group(1)
                     and not (_GREETING_OPENING.fullmatch(text[: hit.start()]) and _NAME_ENDS.match(text, end)))
        if not kept or (needs_two and len(kept) < 2):
            continue
        value = text[start:end]
        out.append(PersonName(text=value, value=" ".join(value.split()), start=start, end=end))
    for hit in _PERSON_EN_LOWER.finditer(text):
        words = [w for w in hit.group(1).split() if w.lower() not in _NOT_NAMES]
        if words and len(words) == len(hit.group(1).split()):
            out.append(PersonName(text=hit.group(1), value=" ".join(w.capitalize() for w in words),
                                  start=hit.start(1), end=hit.end(1)))
    for hit in _PERSON_ZH_TITLE.finditer(text):
        out.append(PersonName(text=hit.group(1), value=hit.group(1), start=hit.start(1), end=hit.end(1)))
    for hit in _PERSON_ZH.finditer(text):
        name = hit.group(1)
        surname_len = 2 if re.match(_COMPOUND_SURNAMES, name) else 1
        given = ""
        for char in name[surname_len:]:
            if char in _ZH_NAME_STOP:
                break
            given += char
        if not given:
            continue
        value = name[:surname_len] + given
        out.append(PersonName(text=value, value=value, start=hit.start(1), end=hit.start(1) + len(value)))
    for hit in _PERSON_ZH_SURNAME.finditer(text):
        out.append(PersonName(text=hit.group(1), value=hit.group(1), start=hit.start(1), end=hit.end(1)))
    return out


# --- the store where it happened --------------------------------------------------------------------

# Only a store with a name: "at your Oxford Street store", "in your shop on King Street", "在南京西路店"; "at your
# store" or "在你们店" name no place. English names are capitalised words (a lower-cased name is not found).
_STORE_WORDS_EN = r"store|shop|branch|outlet|showroom|supermarket|superstore|megastore"
_NAME_WORD_EN = (r"(?!(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|(?:January|February|March|April|May|June|July|"
                 r"August|September|October|November|December|Christmas|Easter)\b)"
                 r"(?:[A-Z][A-Za-z'&.-]*|\d{1,4}(?:st|nd|rd|th)?)")
_NAME_EN = rf"{_NAME_WORD_EN}(?:\s+{_NAME_WORD_EN}){{0,3}}"
_PLACE_EN = re.compile(
    # "at your Oxford Street store"
    rf"(?<![A-Za-z])(?i:at|from|in|inside|outside|to|into)\s+(?i:your|the|our)\s+"
    rf"((?!(?i:{_STORE_WORDS_EN})\b){_NAME_EN}\s+(?i:{_STORE_WORDS_EN}))(?![A-Za-z])"
    # "your shop on King Street"
    rf"|(?<![A-Za-z])(?i:your|the|our)\s+((?i:{_STORE_WORDS_EN})\s+(?i:on|in|at)\s+{_NAME_EN})(?![A-Za-z0-9])"
)
# A name of two to ten characters (no pronoun first, no particle or verb in it) before a store word, after 在/去/到/从.
_STORE_WORDS_ZH = "专卖店|旗舰店|体验店|门店|分店|营业厅|商场|超市|广场|分行|支行|网点|店"
_NAME_CHAR_ZH = r"(?:(?![的了买卖个是在和与及就都也还又被把给让])[\u4e00-\u9fff0-9A-Za-z])"
_PLACE_ZH = re.compile(
    rf"(?:在|去|到|从|于)(?:你们|贵公司|贵司)?((?![你我他她这那哪该此本家]){_NAME_CHAR_ZH}{{2,10}}(?:{_STORE_WORDS_ZH}))"
)


# Online: "on your website", "in your mobile app", "the Argos website", "bought it on Amazon", 在你们官网, 在京东上.
# A marketplace or "online" counts only after a buying verb ("I'll leave a review on Amazon" names no place).
_ONLINE_EN = r"website|web\s?site|web\s?shop|online\s+(?:store|shop)|(?:mobile\s+)?app"
_MARKETS_EN = r"amazon|ebay|etsy|aliexpress|temu|shein|shopee|lazada|taobao|tmall|jd\.com|pinduoduo"
_ONLINE_PLACE_EN = re.compile(
    rf"(?<![A-Za-z])(?i:on|in|through|via|from|at|using)\s+(?i:your|the|our)\s+"
    rf"((?:{_NAME_WORD_EN}\s+)?(?i:{_ONLINE_EN}))(?![A-Za-z])"
    rf"|(?<![A-Za-z])(?i:bought|ordered|purchased|paid\s+for)\b(?:\s+[\w'-]+){{0,4}}?"
    rf"\s+(?:(?i:on|from|through|via|at)\s+((?i:{_MARKETS_EN}))|((?i:online))(?!\s+(?i:store|shop)))(?![A-Za-z])"
)
_ONLINE_ZH = "官方网站|官网|网站|网店|官方商城|商城|APP|App|app|小程序|公众号"
_MARKETS_ZH = "淘宝|天猫|京东|拼多多|抖音|快手|唯品会|苏宁易购|闲鱼"
_ONLINE_PLACE_ZH = re.compile(
    rf"(?:在|从|通过|用)(?:你们|贵公司|贵司)?的?({_ONLINE_ZH}|{_MARKETS_ZH})|(?:你们|贵公司|贵司)的?({_ONLINE_ZH})"
)


def _places(text: str) -> list[Entity]:
    out: list[Entity] = []
    # Named stores first; an online place overlapping one ("在京东旗舰店") adds nothing.
    for pattern in (_PLACE_EN, _PLACE_ZH, _ONLINE_PLACE_EN, _ONLINE_PLACE_ZH):
        for hit in pattern.finditer(text):
            group = next(g for g in range(1, (pattern.groups or 0) + 1) if hit.group(g) is not None)
            start, end = hit.start(group), hit.end(group)
            if any(start < e.end and e.start < end for e in out):
                continue
            out.append(PlaceMention(text=hit.group(group), value=hit.group(group), start=start, end=end))
    return out


# --- the resolution asked for ----------------------------------------------------------------------

# A resolution word counts only right after words that ask for it ("I want", "please", "could you", "我要",
# "希望", "请") with nothing but filler between: "they refused to give me a refund" and "客服说不能退款" tell
# what happened, not what the customer wants; a negation ("I don't want a replacement", "我不想换货") stops it.
_RESOLUTIONS_EN = {
    "refund": "refund", "full refund": "refund", "reimbursement": "refund", "money back": "refund",
    "replacement": "replacement", "replace": "replacement", "exchange": "replacement", "new one": "replacement",
    "repair": "repair", "fix it": "repair",
    "apology": "apology", "apologise": "apology", "apologize": "apology", "apologies": "apology",
}
_ASKING_EN = (r"(?:i|we)(?:\s+(?:really|just|only|honestly))?(?:\s+(?:want|need|expect|demand|request|deserve|"
              r"prefer|ask\s+for|am\s+asking\s+for)|(?:'d|\s+would)\s+(?:like|prefer|appreciate))|please|"
              r"(?:can|could|will|would)\s+(?:you|i|we)(?:\s+please)?")
_FILLER_EN = (r"a|an|the|my|our|full|complete|proper|formal|written|public|personal|immediate|quick|prompt|"
              r"free|to|get|have|receive|be|given|issue|process|arrange|arrange\s+for|send\s+someone\s+to|"
              r"me|us|please|just|at\s+least|kindly|either|simply|someone|somebody|an\s+engineer|a\s+technician|"
              r"send|come|come\s+and|come\s+out\s+and|come\s+round\s+and|come\s+over\s+and")
_RESOLUTION_EN = re.compile(
    rf"(?<![A-Za-z'])(?i:{_ASKING_EN})(?:\s+(?i:{_FILLER_EN})(?![A-Za-z'])){{0,5}}\s+"
    rf"(?i:({_alternation(_RESOLUTIONS_EN)}))(?![A-Za-z])"
    # "the repair shop", "my refund status": the word names something else.
    r"(?!\s+(?i:shop|man|guy|cent(?:er|re)|department|team|desk|policy|process|status|request|form|number)\b)"
)
_RESOLUTIONS_ZH = {
    "全额退款": "refund", "退全款": "refund", "退款": "refund", "退钱": "refund", "退货": "refund",
    "换货": "replacement", "换新": "replacement", "换一个": "replacement", "换个新的": "replacement",
    "换一台": "replacement", "更换": "replacement",
    "维修": "repair", "修理": "repair", "修好": "repair",
    "赔礼道歉": "apology", "道歉": "apology",
}
# Up to six characters between the asking word and the resolution, none of them a negation or punctuation.
_RESOLUTION_ZH = re.compile(
    rf"(?:我要|我想要|我想|想要|希望|要求|请求|请|麻烦|能不能|能否|可否|必须)"
    rf"[^\s不没別别无無未勿，。！？；,.!?;]{{0,6}}?({_alternation(_RESOLUTIONS_ZH)})"
)


def without_resolution_requests(text: str) -> str:
    """`text` with each request for a resolution ("I want a refund", "我要退款") blanked out, for the category
    model: what the customer wants done is not what went wrong (a leaking kettle with "I want a refund" was
    filed under billing). A text that is nothing but requests is kept whole."""
    rest = _RESOLUTION_ZH.sub(" ", _RESOLUTION_EN.sub(" ", text))
    return rest if any(ch.isalnum() for ch in rest) else text


# The words before an order number that only identify the purchase; parcel, tracking, invoice and booking numbers
# keep theirs, which say something (delivery, billing, bookings).
_IDENTIFYING_WORDS = frozenset({"order", "reference", "ref", "case", "claim", "confirmation"})
_IDENTIFYING_WORDS_ZH = ("订单", "单号", "编号", "工单号")
_LEADING_WORD = re.compile(r"[a-z]+")


def without_identifiers(text: str) -> str:
    """`text` with order and case numbers (and the words introducing them: "order no. 55-1234", "订单号：2026...",
    "#4471") blanked out, for the category model: they identify the purchase, they say nothing about what went
    wrong, and our training complaints carry them only about deliveries, bills and bookings, so "my fridge stopped
    cooling, order 55-1234" was filed under bookings. Found as `_order_numbers` finds them."""
    chars = list(text)
    for pattern in (_ORDER_EN, _ORDER_ZH, _ORDER_HASH):
        for hit in pattern.finditer(text):
            if sum(ch.isdigit() for ch in hit.group(1)) < 2:
                continue
            said = hit.group(0).lower()
            word = _LEADING_WORD.match(said)
            if (pattern is _ORDER_HASH or said.startswith(_IDENTIFYING_WORDS_ZH)
                    or (word is not None and word.group() in _IDENTIFYING_WORDS)):
                chars[hit.start() : hit.end()] = " " * (hit.end() - hit.start())
    rest = "".join(chars)
    return rest if any(ch.isalnum() for ch in rest) else text


def _resolutions(text: str) -> list[Entity]:
    out: list[Entity] = []
    for pattern, values in ((_RESOLUTION_EN, _RESOLUTIONS_EN), (_RESOLUTION_ZH, _RESOLUTIONS_ZH)):
        for hit in pattern.finditer(text):
            word = hit.group(1)
            out.append(ResolutionRequest(text=word, value=values[re.sub(r"\s+", " ", word.lower())],
                                         start=hit.start(1), end=hit.end(1)))
    return out


# --- all together ----------------------------------------------------------------------------------

_T = TypeVar("_T", "_Found", Entity)

# When two entities overlap, the earlier kind in this list keeps its span.
_PRIORITY: tuple[EntityKind, ...] = ("email", "order_number", "phone", "money", "datetime", "person", "product",
                                     "resolution", "location")


def _drop_overlaps(items: Sequence[_T], key: Callable[[_T], tuple[int | bool, ...]]) -> list[_T]:
    ranked = sorted(items, key=key, reverse=True)
    kept: list[_T] = []
    for item in ranked:
        if all(item.end <= k.start or item.start >= k.end for k in kept):
            kept.append(item)
    return kept


def extract_entities(text: str, lang: Lang, now: datetime, products: Sequence[CatalogMatch] = ()) -> tuple[Entity, ...]:
    """Every entity in `text` (its first MAX_ENTITY_CHARS characters), in text order, non-overlapping.

    `now` resolves relative dates ("yesterday", "两天前"); `products` are the catalog's matches in the
    same text (`Catalog.match_all`).
    """
    text = text[:MAX_ENTITY_CHARS]
    # Traditional characters read as simplified ones (上週五下午三點, 我叫陳大文, 我要換貨): same length, so every
    # span indexes both; an entity's text, and a name's or a place's value, are the customer's own.
    scan = _simplified_alike(text)
    found: list[Entity] = [*_emails(scan), *_order_numbers(scan), *_phones(scan, lang), *_money(scan),
                           *_datetimes(scan, lang, now), *_persons(scan), *_resolutions(scan),
                           *_places(scan)]
    if scan != text:
        found = [_as_typed(entity, text) for entity in found]
    found += [ProductMention(text=m.span, value=m.product_id, start=m.start, end=m.end, method=m.method,
                             confidence=m.confidence) for m in products
              # Related words ("spin cycle") point to a product; they are evidence, not a mention of it.
              if m.end <= len(text) and m.method != "indirect"]
    rank = {kind: len(_PRIORITY) - i for i, kind in enumerate(_PRIORITY)}
    kept = sorted(_drop_overlaps(found, key=lambda e: (rank[e.kind], e.end - e.start, -e.start)),
                  key=lambda e: e.start)
    return tuple(e for i, e in enumerate(kept) if not _labels_phone(text, e, kept[i + 1 : i + 2]))


_TO_SIMPLIFIED = opencc.OpenCC("t2s")


def _simplified_alike(text: str) -> str:
    if not re.search(r"[\u3400-\u9fff]", text):
        return text
    # OpenCC encodes to UTF-8: a lone surrogate becomes "?" (one character for one).
    converted = _TO_SIMPLIFIED.convert(text.encode("utf-8", "replace").decode("utf-8"))
    # A phrase converted to one of another length would move every span after it: read the text as it is then.
    return converted if len(converted) == len(text) else text


def _as_typed(entity: Entity, text: str) -> Entity:
    typed = text[entity.start : entity.end]
    if entity.kind in ("person", "location"):
        return replace(entity, text=typed, value=typed)
    return replace(entity, text=typed)


# "手机13800138000", "phone: +1 201 555 0123", "my mobile number is ...": the word names the number.
_PHONE_LABEL_GAP = re.compile(r"\s{0,2}(?:号码|號碼|号|number|no\.?|#)?\s{0,2}(?:is|是|为|為|:|：)?\s{0,2}",
                              re.IGNORECASE)


def _labels_phone(text: str, entity: Entity, following: Sequence[Entity]) -> bool:
    """A product word ("phone", "手机") right before a phone number labels it; it is not the product."""
    if entity.kind != "product" or not following or following[0].kind != "phone":
        return False
    return _PHONE_LABEL_GAP.fullmatch(text[entity.end : following[0].start]) is not None
