"""Validators behind the email, phone and datetime steps, and language detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from flows import Lang, detect_language, format_when, language_from_locale
from flows.contact_parsing import InvalidAnswer, parse_email, parse_phone
from flows.datetime_parsing import parse_common_english_when, parse_datetime, parse_when, parse_with_dateparser
from tests.unit.flows.flow_driver import NOW


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("13812345678", None, "+8613812345678"),
        ("138 1234 5678", None, "+8613812345678"),
        ("+86 138-1234-5678", None, "+8613812345678"),
        ("0086 13812345678", None, "+8613812345678"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("＋86 13812345678", None, "+8613812345678"),
    ],
)
def test_valid_phone_numbers_become_e164(typed: str, region: str | None, e164: str) -> None:
    assert parse_phone(typed, region) == e164


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(201) 555-0123", "+12015550123"),  # was +86 201 555 0123: tried only as a Chinese number
        ("07911 123456", "+447911123456"),
        ("020 7946 0958", "+442079460958"),
        ("010 6552 9988", "+861065529988"),  # valid in neither the US nor Britain
        ("138 1234 5678", "+8613812345678"),
    ],
)
def test_an_english_speakers_number_without_a_country_code(typed: str, e164: str) -> None:
    assert parse_phone(typed, None, "en") == e164


@pytest.mark.parametrize("typed", ["12345", "abc", "", "+1 555", "1381234567", "phone: call me", "9" * 50])
def test_invalid_phone_numbers(typed: str) -> None:
    assert isinstance(parse_phone(typed, None), InvalidAnswer)


def test_email_is_normalised_and_errors_say_why() -> None:
    assert parse_email("  Alice@Example.COM ") == "Alice@example.com"
    assert parse_email("mailto:bob@example.cn") == "bob@example.cn"
    assert parse_email("<wang@163.com>") == "wang@163.com"
    missing_at = parse_email("alice.example.com")
    assert isinstance(missing_at, InvalidAnswer) and "@" in missing_at.detail
    assert isinstance(parse_email("alice@localhost"), InvalidAnswer)
    assert isinstance(parse_email("two@@example.com"), InvalidAnswer)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("yesterday 3pm", "2026-11-19T15:00"),
        ("2 days ago", "2026-11-18"),
        ("last friday 10am", "2026-11-13T10:00"),
        ("2026-11-03 14:00", "2026-11-03T14:00"),
        ("3 hours ago", "2026-11-20T11:00"),
        ("昨天下午三点", "2026-11-19T15:00"),
        ("上周五上午10点", "2026-11-13T10:00"),
        ("昨天下午3点半", "2026-11-19T15:30"),
        ("前天晚上8:30", "2026-11-18T20:30"),
        ("三天前", "2026-11-17"),
        ("两小时前", "2026-11-20T12:00"),
        ("周三下午两点", "2026-11-18T14:00"),
        ("十一月三日下午四点", "2026-11-03T16:00"),
        ("2026年10月1日", "2026-10-01"),
        ("今天上午十点一刻", "2026-11-20T10:15"),
        ("昨晚", "2026-11-19"),
        ("下午三点", "2026-11-19T15:00"),  # today 15:00 has not come yet at 14:00
        ("中午12点", "2026-11-20T12:00"),
        ("上上周一", "2026-11-02"),
        ("yesterday", "2026-11-19"),
        ("两天前", "2026-11-18"),
        ("昨天", "2026-11-19"),
        ("this morning", "2026-11-20"),
        ("3 Nov", "2026-11-03"),
        # dateparser read "on the 5th" as 20 May (the 5th month) and could not read the next four.
        ("on the 5th", "2026-11-05"),
        ("the 25th", "2026-10-25"),  # not yet come this month: last month's
        ("earlier today", "2026-11-20"),
        ("last night around 9", "2026-11-19T21:00"),
        ("last night at 11:30pm", "2026-11-19T23:30"),
        ("上周末", "2026-11-14"),
        # Unread before: a weekend (its Saturday, as 上周末), half a month, hedged answers.
        ("last weekend", "2026-11-14"),
        ("over the weekend", "2026-11-14"),
        ("半个月前", "2026-11-05"),
        # Cantonese, as Hong Kong customers write it: 琴日 / 尋日 yesterday, 前日 the day before, 琴晚 last night.
        ("琴日下午三點", "2026-11-19T15:00"),
        ("尋日", "2026-11-19"),
        ("前日晚上8點", "2026-11-18T20:00"),
        ("琴晚", "2026-11-19"),
        ("around 3 weeks ago", "2026-10-30"),
        ("I think yesterday at 3pm", "2026-11-19T15:00"),
        ("2 days ago around 6pm", "2026-11-18T18:00"),
        ("上周五左右", "2026-11-13"),
        ("差不多三天前吧", "2026-11-17"),
    ],
)
def test_natural_date_phrases_relative_to_now(phrase: str, expected: str) -> None:
    """A phrase with a clock time is a datetime with the turn's offset; a day alone stays a date."""
    parsed = parse_when(phrase, NOW)
    assert parsed is not None
    assert parsed.has_time == ("T" in expected)
    if parsed.has_time:
        assert parsed.iso().startswith(expected) and parsed.iso().endswith("+08:00")
    else:
        assert parsed.iso() == expected
    assert parsed.moment.utcoffset() == timedelta(hours=8)


def test_dates_follow_the_turns_timezone() -> None:
    london = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    parsed = parse_datetime("yesterday 3pm", london)
    assert parsed is not None and parsed.isoformat() == "2026-11-19T15:00:00+00:00"


_COMMON_ENGLISH = [
    "yesterday",
    "Today",
    "today",
    "2 days ago",
    "1 day ago",
    "10 days ago",
    "yesterday 3pm",
    "Yesterday at 3 pm",
    "yesterday at 3:30pm",
    "yesterday 15:00",
    "yesterday, 9:05 am",
    "today 10am",
    "today at 12am",
    "today 12pm",
    "3pm yesterday",
    "10:30 today",
    "at 9am yesterday",
    "2 days ago 10:30",
    "3 days ago at 8pm",
    "2026-11-18",
    "2026-11-18 15:00",
    "2026-11-18T09:30",
    "2025-02-28",
    "yesterday 7 p.m.",
    "yesterday 7pm.",
]


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        datetime(2026, 3, 1, 0, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_common_english_answers_read_as_dateparser_reads_them(now: datetime) -> None:
    """The quick reader of the most typed answers changes the time a turn takes, never what it understands."""
    read_quickly = 0
    for phrase in _COMMON_ENGLISH:
        quick = parse_common_english_when(phrase, now)
        assert quick == parse_with_dateparser(phrase, now, ["en"]) or quick is None, phrase
        read_quickly += quick is not None
    assert read_quickly >= len(_COMMON_ENGLISH) - 2
    # Not unmistakably a clock time, or not a date at all: left to dateparser.
    for phrase in ("yesterday at 3", "yesterday 25:00", "13pm yesterday", "2026-02-30", "last friday", "3 Nov"):
        assert parse_common_english_when(phrase, now) is None, phrase


@pytest.mark.parametrize("phrase", ["my phone broke", "我的手机坏了", "", "x" * 500, "???"])
def test_text_without_a_date(phrase: str) -> None:
    assert parse_datetime(phrase, NOW) is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("我的手机坏了", "zh"),
        ("iPhone 屏幕碎了", "zh"),
        ("My phone broke", "en"),
        ("13812345678", None),
        ("alice@example.com", None),
        ("!!", None),
    ],
)
def test_detect_language_by_script(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("zh-hans", "zh"),
        ("zh_CN", "zh"),
        ("zh-TW", "zh"),
        ("en-US", "en"),
        ("EN", "en"),
        ("fr", None),
        (None, None),
    ],
)
def test_language_from_platform_locale(locale: str | None, lang: str | None) -> None:
    assert language_from_locale(locale) == lang


@pytest.mark.parametrize(
    ("stored", "lang", "shown"),
    [
        ("2026-11-28", "en", "Sat 28 Nov"),
        ("2026-11-28", "zh", "11月28日（周六）"),
        ("2026-11-28T15:00:00+08:00", "en", "Sat 28 Nov, 15:00"),
        ("2026-11-28T15:00:00+08:00", "zh", "11月28日（周六）15:00"),
        ("not a date", "en", "not a date"),
    ],
)
def test_stored_dates_are_shown_in_the_customers_locale(stored: str, lang: Lang, shown: str) -> None:
    assert format_when(stored, lang) == shown
