"""Business-hours arithmetic: due time = start + target counted in open time only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.lifecycle.business_hours import (
    BusinessCalendar,
    add_business_time,
    always_open,
    business_time_between,
    is_open,
    next_opening,
    open_periods,
)
from bot.lifecycle.errors import CalendarError

NINE_TO_SIX = ((9 * 60, 18 * 60),)
WEEKDAYS = (NINE_TO_SIX,) * 5 + ((), ())
UTC_OFFICE = BusinessCalendar(timezone=ZoneInfo("UTC"), weekly=WEEKDAYS)
SHANGHAI = BusinessCalendar(
    timezone=ZoneInfo("Asia/Shanghai"),
    weekly=(((9 * 60, 12 * 60), (13 * 60, 18 * 60)),) * 5 + ((), ()),
    holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
)
NEW_YORK = BusinessCalendar(timezone=ZoneInfo("America/New_York"), weekly=WEEKDAYS)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# 2026-11-30 is a Monday.
@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (utc(2026, 11, 30, 10), 4, utc(2026, 11, 30, 14)),  # inside one day
        (utc(2026, 11, 30, 16), 4, utc(2026, 12, 1, 11)),  # crosses the night
        (utc(2026, 11, 30, 7), 1, utc(2026, 11, 30, 10)),  # starts before opening
        (utc(2026, 11, 30, 20), 1, utc(2026, 12, 1, 10)),  # starts after closing
        (utc(2026, 12, 4, 17), 2, utc(2026, 12, 7, 10)),  # Friday evening -> Monday
        (utc(2026, 12, 5, 12), 1, utc(2026, 12, 7, 10)),  # Saturday -> Monday
        (utc(2026, 11, 30, 9), 9, utc(2026, 11, 30, 18)),  # exactly one day: due at closing
        (utc(2026, 11, 30, 9), 45, utc(2026, 12, 4, 18)),  # a whole working week
        (utc(2026, 11, 30, 9), 46, utc(2026, 12, 7, 10)),
    ],
)
def test_due_times_in_a_utc_office(start: datetime, hours: int, due: datetime) -> None:
    assert add_business_time(UTC_OFFICE, start, timedelta(hours=hours)) == due


def test_lunch_break_and_holidays_in_shanghai() -> None:
    # 2026-09-30 is a Wednesday; 10-01 and 10-02 are holidays; 10-03/04 the weekend.
    start = datetime(2026, 9, 30, 11, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert add_business_time(SHANGHAI, start, timedelta(hours=2)) == datetime(
        2026, 9, 30, 14, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    due = add_business_time(SHANGHAI, start, timedelta(hours=8))
    assert due == datetime(2026, 10, 5, 11, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert business_time_between(SHANGHAI, start, due) == timedelta(hours=8)


def test_wall_clock_hours_hold_across_daylight_saving() -> None:
    # New York leaves daylight saving on Sunday 2026-11-01: 09:00 is 13:00 UTC before, 14:00 UTC after.
    friday = datetime(2026, 10, 30, 17, tzinfo=ZoneInfo("America/New_York"))
    due = add_business_time(NEW_YORK, friday, timedelta(hours=2))
    assert due == datetime(2026, 11, 2, 10, tzinfo=ZoneInfo("America/New_York"))
    assert due.astimezone(UTC) == utc(2026, 11, 2, 15)


def test_wall_times_in_a_spring_forward_gap_move_forward_by_the_gap() -> None:
    # 2026-03-08 02:00-03:00 does not exist in New York: like java.time, 02:00-02:30 becomes 03:00-03:30 EDT.
    night = BusinessCalendar(timezone=ZoneInfo("America/New_York"), weekly=(((2 * 60, 2 * 60 + 30),),) * 7)
    assert open_periods(night, date(2026, 3, 8)) == [(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30))]
    assert open_periods(night, date(2026, 3, 9)) == [(utc(2026, 3, 9, 6), utc(2026, 3, 9, 6, 30))]
    # An opening that ends inside the gap it starts after is shorter than nothing: closed that day.
    sliver = BusinessCalendar(timezone=ZoneInfo("America/New_York"), weekly=(((2 * 60 + 30, 3 * 60),),) * 7)
    assert open_periods(sliver, date(2026, 3, 8)) == []


def test_always_open_is_plain_addition() -> None:
    calendar = always_open()
    start = utc(2026, 12, 5, 3)
    assert add_business_time(calendar, start, timedelta(hours=30)) == start + timedelta(hours=30)
    assert is_open(calendar, start)
    assert next_opening(calendar, start) == start


def test_open_and_next_opening() -> None:
    assert is_open(UTC_OFFICE, utc(2026, 11, 30, 9))
    assert not is_open(UTC_OFFICE, utc(2026, 11, 30, 18))
    assert not is_open(UTC_OFFICE, utc(2026, 11, 30, 3))
    assert next_opening(UTC_OFFICE, utc(2026, 11, 30, 3)) == utc(2026, 11, 30, 9)
    assert next_opening(UTC_OFFICE, utc(2026, 12, 5, 3)) == utc(2026, 12, 7, 9)
    assert next_opening(UTC_OFFICE, utc(2026, 11, 30, 12)) == utc(2026, 11, 30, 12)


def test_broken_calendars_are_refused() -> None:
    with pytest.raises(CalendarError):
        BusinessCalendar(timezone=ZoneInfo("UTC"), weekly=((),) * 7)
    with pytest.raises(CalendarError):
        BusinessCalendar(timezone=ZoneInfo("UTC"), weekly=(((600, 500),),) * 7)
    with pytest.raises(CalendarError):
        BusinessCalendar(timezone=ZoneInfo("UTC"), weekly=(((0, 600), (500, 700)),) * 7)
    every_day_off = BusinessCalendar(
        timezone=ZoneInfo("UTC"),
        weekly=((NINE_TO_SIX),) + ((),) * 6,
        holidays=frozenset(date(2026, 1, 5) + timedelta(weeks=week) for week in range(400)),
    )
    with pytest.raises(CalendarError):
        add_business_time(every_day_off, utc(2026, 1, 1), timedelta(hours=1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(UTC_OFFICE, datetime(2026, 11, 30, 10), timedelta(hours=1))


_calendars = st.sampled_from([UTC_OFFICE, SHANGHAI, NEW_YORK, always_open(ZoneInfo("Asia/Shanghai"))])
_moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
_durations = st.integers(min_value=0, max_value=200 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=300, deadline=None)
@given(_calendars, _moments, _durations)
def test_the_open_time_until_the_due_time_is_the_target(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(calendar, start, duration)
    assert due >= start
    assert business_time_between(calendar, start, due) == duration
    if duration > timedelta(0) and not calendar.always_open:
        # The deadline falls in open time or exactly at a closing.
        assert is_open(calendar, due) or is_open(calendar, due - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(_calendars, _moments, _durations, _durations)
def test_targets_add_up(calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta) -> None:
    middle = add_business_time(calendar, start, first)
    assert add_business_time(calendar, middle, second) == add_business_time(calendar, start, first + second)


@settings(max_examples=200, deadline=None)
@given(_calendars, _moments, _moments, _moments)
def test_open_time_is_additive(calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert business_time_between(calendar, a, c) == business_time_between(calendar, a, b) + business_time_between(
        calendar, b, c
    )
    assert business_time_between(calendar, c, a) == timedelta(0)
    assert business_time_between(calendar, a, c) <= c - a


@settings(max_examples=200, deadline=None)
@given(_calendars, _moments)
def test_next_opening_is_open_and_nothing_earlier_is(calendar: BusinessCalendar, moment: datetime) -> None:
    opening = next_opening(calendar, moment)
    assert opening >= moment
    assert is_open(calendar, opening)
    assert business_time_between(calendar, moment, opening) == timedelta(0)
