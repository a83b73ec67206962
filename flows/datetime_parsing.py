"""When something happened: natural phrases in English and Chinese, relative to the turn's clock.

English goes to dateparser. dateparser does not understand Chinese phrases with a time of day
("昨天下午三点", "上周五上午10点"), so Chinese is read here first: a day part (今天, 前天, 3天前, 上周五,
11月3日, 5号 ...) and a time part (下午三点半, 晚上8:30 ...), each optional but not both missing; what this
reader does not recognise falls back to dateparser.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flows.language import has_han, simplified

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

_MAX_INPUT = 120

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百]+")


def _chinese_number(token: str) -> int | None:
    """三 -> 3, 十一 -> 11, 二十三 -> 23, 一百零五 -> 105, 二〇二六 -> 2026 (digit by digit)."""
    if "十" not in token and "百" not in token:
        digits = [_CN_DIGITS.get(char) for char in token]
        if any(digit is None for digit in digits):
            return None
        return int("".join(str(digit) for digit in digits))
    total = 0
    current = 0
    for char in token:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


def _numerals_to_digits(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        value = _chinese_number(match.group(0))
        return match.group(0) if value is None else str(value)

    return _CN_NUMERAL.sub(replace, text)


_WEEKDAY = re.compile(r"(上上|上|这|本|下)?个?(?:周|星期|礼拜)([1-7日天末])")
_DAYS_AGO = re.compile(r"(\d+)\s*(?:天|日)(?:以)?前")
_WEEKS_AGO = re.compile(r"(\d+)\s*(?:周|个?星期|个?礼拜)(?:以)?前")
_HALF_MONTH_AGO = re.compile(r"半个?月(?:以)?前")
_HOURS_AGO = re.compile(r"(\d+|半)\s*(?:个)?(?:小时|钟头)(?:以)?前")
_MINUTES_AGO = re.compile(r"(\d+)\s*分钟(?:以)?前")
_DATE = re.compile(r"(?:(\d{4})\s*年)?\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_DAY_OF_MONTH = re.compile(r"(?<![\d月])(\d{1,2})\s*[日号]")
_RELATIVE_DAYS = (
    ("大前天", -3),
    ("前天", -2),
    ("前日", -2),
    ("昨天", -1),
    # Cantonese: 琴日 / 尋日 (yesterday), 琴晚 (last night); simplified 寻日 is what normalising gives.
    ("琴日", -1),
    ("寻日", -1),
    ("琴晚", -1),
    ("昨日", -1),
    ("昨晚", -1),
    ("昨早", -1),
    ("今天", 0),
    ("今日", 0),
    ("今早", 0),
    ("今晚", 0),
)
_PERIOD = r"凌晨|清晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|深夜|晚|早"
_TIME = re.compile(
    rf"({_PERIOD})?\s*(\d{{1,2}})\s*(?:[点時时]\s*(?:(1|3)\s*刻|(半)|(\d{{1,2}})\s*分?)?|[:：](\d{{2}}))"
)
_AFTERNOON = {"下午", "傍晚", "晚上", "晚", "夜里", "深夜"}


def _most_recent_day_of_month(day_of_month: int, today: datetime) -> datetime | None:
    """The 5th: this month's when it has come, else last month's; None for a day the month does not have."""
    try:
        result = today.replace(day=day_of_month)
    except ValueError:
        result = None
    if result is None or result > today:
        previous_month_end = today.replace(day=1) - timedelta(days=1)
        try:
            return previous_month_end.replace(day=day_of_month)
        except ValueError:
            return None
    return result


def _chinese_day(text: str, now: datetime) -> tuple[datetime, bool] | None:
    """The day a phrase names, and whether it names a time too ("3小时前", "刚才": now's clock moved back).

    Days without a time ("两天前", "昨天") come back at midnight with False: the time is not invented.
    """
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if match := _WEEKDAY.search(text):
        prefix, day = match.group(1) or "", match.group(2)
        # A weekend ("上周末") is dated by its Saturday.
        weekday = 6 if day in ("日", "天") else 5 if day == "末" else int(day) - 1
        monday = today - timedelta(days=now.weekday())
        weeks = {"上上": -2, "上": -1, "下": 1}.get(prefix, 0)
        result = monday + timedelta(weeks=weeks, days=weekday)
        # A bare weekday ("周五") that is still ahead this week means last week's.
        if not prefix and result > today:
            result -= timedelta(weeks=1)
        return result, False
    if match := _DAYS_AGO.search(text):
        return today - timedelta(days=int(match.group(1))), False
    if match := _WEEKS_AGO.search(text):
        return today - timedelta(weeks=int(match.group(1))), False
    if _HALF_MONTH_AGO.search(text):
        return today - timedelta(days=15), False
    if match := _HOURS_AGO.search(text):
        hours = 0.5 if match.group(1) == "半" else float(match.group(1))
        return now - timedelta(hours=hours), True
    if match := _MINUTES_AGO.search(text):
        return now - timedelta(minutes=int(match.group(1))), True
    if "刚才" in text or "刚刚" in text:
        return now, True
    if match := _DATE.search(text):
        year = int(match.group(1)) if match.group(1) else now.year
        try:
            result = today.replace(year=year, month=int(match.group(2)), day=int(match.group(3)))
        except ValueError:
            return None
        if not match.group(1) and result > today:
            result = result.replace(year=year - 1)
        return result, False
    for word, offset in _RELATIVE_DAYS:
        if word in text:
            return today + timedelta(days=offset), False
    if match := _DAY_OF_MONTH.search(text):
        day = _most_recent_day_of_month(int(match.group(1)), today)
        return (day, False) if day is not None else None
    return None


def _chinese_time(text: str) -> tuple[int, int] | None:
    period: str | None
    if match := _TIME.search(text):
        period = match.group(1)
        hour = int(match.group(2))
        if match.group(6):
            minute = int(match.group(6))
        elif match.group(3):
            minute = 15 * int(match.group(3))
        elif match.group(4):
            minute = 30
        elif match.group(5):
            minute = int(match.group(5))
        else:
            minute = 0
    else:
        # "昨晚", "上午" alone name a part of the day, not a time: the answer stays a date.
        return None
    if period is None:
        period = next((word for word in ("昨晚", "今晚") if word in text), None)
        period = "晚上" if period else None
    if (period in _AFTERNOON and hour < 12) or (period == "中午" and hour < 6):
        hour += 12
    elif period in ("凌晨", "半夜") and hour == 12:
        hour = 0
    if not (0 <= hour <= 24 and 0 <= minute < 60):
        return None
    return hour % 24, minute


@dataclass(frozen=True)
class When:
    """A moment the customer named, and whether they named a time of day or only a date."""

    moment: datetime
    has_time: bool

    def iso(self) -> str:
        """ISO 8601: a date ("2026-11-28") or a date and time with offset ("2026-11-28T15:00:00+08:00")."""
        return self.moment.isoformat() if self.has_time else self.moment.date().isoformat()


def parse_chinese_when(text: str, now: datetime) -> When | None:
    """Read a Chinese time phrase relative to ``now`` (timezone-aware); None when it names no time.

    Longer input than a time phrase is refused unread: a whitespace run before a digit backtracks.
    """
    if len(text) > _MAX_INPUT:
        return None
    normalized = _numerals_to_digits(unicodedata.normalize("NFKC", text))
    day = _chinese_day(normalized, now)
    time_of_day = _chinese_time(normalized)
    if day is None and time_of_day is None:
        return None
    if day is None:
        base = now
        has_time = False
    else:
        base, has_time = day
    if time_of_day is None:
        if has_time:
            return When(base, True)
        return When(base.replace(hour=0, minute=0, second=0, microsecond=0), False)
    hour, minute = time_of_day
    result = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    # "下午三点" alone: today, unless that is still to come, then yesterday.
    if day is None and result > now:
        result -= timedelta(days=1)
    return When(result, True)


def parse_chinese_datetime(text: str, now: datetime) -> datetime | None:
    """The moment of a Chinese time phrase (midnight when it names only a day); None when it names none."""
    when = parse_chinese_when(text, now)
    return when.moment if when is not None else None


_EN_DAY = r"(?P<day>today|yesterday|(?P<ago>\d{1,3}) days? ago)"
_EN_CLOCK = r"(?:at )?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))? ?(?P<meridiem>[ap]\.?m\.?)?"
_EN_COMMON = (
    re.compile(rf"{_EN_DAY}"),
    re.compile(rf"{_EN_DAY},? {_EN_CLOCK}"),
    re.compile(rf"{_EN_CLOCK},? {_EN_DAY}"),
)
_ISO = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:[ t](?P<hour>\d{2}):(?P<minute>\d{2}))?")


def _clock(hour_text: str | None, minute_text: str | None, meridiem: str | None) -> tuple[int, int] | None:
    """3pm, 3:30 pm, 15:00; None for what is not unmistakably a clock time ("at 3" could be a date too)."""
    if hour_text is None:
        return None
    hour, minute = int(hour_text), int(minute_text or 0)
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    elif minute_text is None or hour > 23:
        return None
    return (hour, minute) if minute < 60 else None


# Phrases dateparser reads wrongly or not at all: "on the 5th" came back as 29 May (the 5th month), "earlier today"
# and "last night around 9" as nothing.
_EN_ORDINAL_DAY = re.compile(r"(?:on )?(?:the )?(?P<day>\d{1,2})(?:st|nd|rd|th)(?: of (?:this|the) month)?")
_EN_TODAY = re.compile(r"(?:earlier|earlier today|today earlier|earlier on today|this afternoon|this evening|tonight)")
_EN_LAST_NIGHT = re.compile(rf"last night(?:,? (?:around |about |after |before )?{_EN_CLOCK})?")


_EN_WEEKEND = re.compile(r"(?:(?P<last>last|this|over the|at the|on the|during the) )?weekend")
# Hedges around an answer ("around 3 weeks ago", "I think yesterday", "大概两天前", "上周五左右"): the date stays.
_HEDGES = re.compile(
    r"^(?:(?:i think|i guess|i believe|maybe|probably|perhaps|around|about|approximately|approx\.?|roughly|"
    r"sometime|some time|it was|it happened|大概|大约|差不多|可能是?|好像是?|应该是?)[\s,，]*)+"
    r"|[\s,，]*(?:or so|-?ish|i think|i guess|左右|前后|吧)$",
    re.IGNORECASE,
)

# "2 days ago around 6pm": a hedge before a clock time reads as "at".
_AROUND_CLOCK = re.compile(r"\b(?:around|about|approx\.?|approximately|roughly)\s+(?=\d)", re.IGNORECASE)


def parse_english_day_phrases(text: str, now: datetime) -> When | None:
    """Answers dateparser gets wrong ("on the 5th", "earlier today", "last night around 9") or does not read
    ("last weekend": its Saturday, like 上周末); None for others."""
    phrase = " ".join(text.lower().split())
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if match := _EN_WEEKEND.fullmatch(phrase):
        saturday = today - timedelta(days=(today.weekday() - 5) % 7 or 7)
        # On a weekend day "last weekend" is the one before this one; "this weekend" then means this one.
        if today.weekday() >= 5:
            saturday = today - timedelta(days=today.weekday() - 5)
            if match["last"] == "last":
                saturday -= timedelta(weeks=1)
        return When(saturday, False)
    if match := _EN_ORDINAL_DAY.fullmatch(phrase):
        day = _most_recent_day_of_month(int(match["day"]), today)
        return When(day, False) if day is not None else None
    if _EN_TODAY.fullmatch(phrase):
        return When(today, False)
    if match := _EN_LAST_NIGHT.fullmatch(phrase):
        yesterday = today - timedelta(days=1)
        if match["hour"] is None:
            return When(yesterday, False)
        hour, minute = int(match["hour"]), int(match["minute"] or 0)
        if match["meridiem"]:
            clock = _clock(match["hour"], match["minute"], match["meridiem"])
            if clock is None:
                return None
            hour, minute = clock
        elif 6 <= hour <= 11:
            hour += 12  # "last night around 9" is 21:00
        elif not 12 < hour <= 23 or minute > 59:
            return When(yesterday, False)  # "around 2" at night: after midnight is another day; keep the day
        return When(yesterday.replace(hour=hour, minute=minute), True)
    return None


def parse_common_english_when(text: str, now: datetime) -> When | None:
    """The English answers customers type most ("yesterday", "yesterday at 3pm", "2 days ago 10:30",
    "2026-11-28 15:00"), read without dateparser (milliseconds per phrase on the turn's path) and exactly as it
    reads them (tests/unit/flows/test_answer_parsing.py compares the two); anything else returns None."""
    phrase = " ".join(text.lower().split())
    base = now.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    if match := _ISO.fullmatch(phrase):
        try:
            day = base.replace(year=int(match["year"]), month=int(match["month"]), day=int(match["day"]))
        except ValueError:
            return None
        time_of_day = _clock(match["hour"], match["minute"], None)
        if match["hour"] is not None and time_of_day is None:
            return None
    else:
        found = next((match for pattern in _EN_COMMON if (match := pattern.fullmatch(phrase))), None)
        if found is None:
            return None
        groups = found.groupdict()
        days_back = 0 if groups["day"] == "today" else 1 if groups["day"] == "yesterday" else int(groups["ago"])
        day = base - timedelta(days=days_back)
        time_of_day = _clock(groups.get("hour"), groups.get("minute"), groups.get("meridiem"))
        if "hour" in groups and time_of_day is None:
            return None
    if time_of_day is None:
        return When(day.replace(tzinfo=now.tzinfo), False)
    hour, minute = time_of_day
    return When(day.replace(hour=hour, minute=minute, tzinfo=now.tzinfo), True)


# dateparser takes a tenth of a second or more to import: not at start-up. The server's model loader thread imports
# it (`date_parser()`) after start-up; the lock keeps a turn from importing it at the same time.
_DATEPARSER_IMPORT_LOCK = threading.Lock()


def date_parser() -> type[DateDataParser]:
    with _DATEPARSER_IMPORT_LOCK:
        from dateparser.date import DateDataParser

    return DateDataParser


def parse_when(text: str, now: datetime) -> When | None:
    """When something happened, relative to ``now``, with its precision; now's timezone. None if unreadable.

    Only a clock time the customer gave counts as a time: "yesterday", "两天前", "this morning" are dates.
    """
    if len(text) > _MAX_INPUT * 4:
        return None
    candidate = text.strip()
    if not candidate or len(candidate) > _MAX_INPUT:
        return None
    parsed = _parse_when(candidate, now)
    unhedged = _AROUND_CLOCK.sub("at ", _HEDGES.sub("", candidate)).strip()
    if parsed is None and unhedged and unhedged != candidate:
        return _parse_when(unhedged, now)
    return parsed


def _parse_when(candidate: str, now: datetime) -> When | None:
    if has_han(candidate):
        candidate = simplified(candidate)
        parsed = parse_chinese_when(candidate, now)
        if parsed is not None:
            return parsed
        languages = ["zh", "en"]
    else:
        parsed = parse_common_english_when(candidate, now) or parse_english_day_phrases(candidate, now)
        if parsed is not None:
            return parsed
        languages = ["en"]
    return parse_with_dateparser(candidate, now, languages)


def parse_with_dateparser(text: str, now: datetime, languages: list[str]) -> When | None:
    """dateparser's reading of `text` relative to `now`, with the precision it names; None if unreadable."""
    settings: dict[str, object] = {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "RETURN_TIME_AS_PERIOD": True,
    }
    data = date_parser()(languages=languages, settings=settings).get_date_data(text)
    result = data.date_obj
    if result is None:
        return None
    result = result.astimezone(now.tzinfo) if result.tzinfo is not None else result.replace(tzinfo=now.tzinfo)
    if data.period == "time":
        return When(result, True)
    return When(result.replace(hour=0, minute=0, second=0, microsecond=0), False)


def parse_datetime(text: str, now: datetime) -> datetime | None:
    """The moment of ``parse_when`` (midnight for a date without a time); None if unreadable."""
    when = parse_when(text, now)
    return when.moment if when is not None else None
