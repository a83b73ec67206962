"""Business-hours arithmetic, pure: a team's calendar (time zone, weekly opening hours, holidays) and time
counted only while it is open. A due time is `add_business_time(calendar, start, target)`; time used so far
is `business_time_between(calendar, start, now)`.

Opening hours are wall-clock times in the calendar's zone, so 09:00 stays 09:00 across daylight-saving
changes; each local day is turned into UTC periods and walked in order, which is linear in the days spanned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.lifecycle.errors import CalendarError

MINUTES_PER_DAY = 24 * 60
# A calendar with no opening in this many days is broken (every day a holiday): stop rather than spin.
SEARCH_DAYS = 5 * 366

# (start minute, end minute) of one opening on a local day; end may be 1440 (midnight at the end of the day).
Opening = tuple[int, int]


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo
    # Openings per weekday, Monday first; each day's openings sorted and not overlapping.
    weekly: tuple[tuple[Opening, ...], ...] = field(default=((),) * 7)
    holidays: frozenset[date] = frozenset()
    # 24/7: every moment counts and alerts may go out at any hour.
    always_open: bool = False

    def __post_init__(self) -> None:
        if self.always_open:
            return
        if len(self.weekly) != 7:
            raise CalendarError("weekly hours need seven days, Monday first")
        for openings in self.weekly:
            previous_end = -1
            for start, end in openings:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise CalendarError(f"opening {start}-{end} is not within one day")
                if start < previous_end:
                    raise CalendarError("openings of one day overlap or are out of order")
                previous_end = end
        if not any(self.weekly):
            raise CalendarError("the calendar is never open")


def always_open(timezone: ZoneInfo | None = None) -> BusinessCalendar:
    return BusinessCalendar(timezone=timezone or ZoneInfo("UTC"), always_open=True)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business-hours arithmetic needs timezone-aware datetimes")
    return moment.astimezone(UTC)


def _wall(calendar: BusinessCalendar, day: date, minute: int) -> datetime:
    local_day = day + timedelta(days=minute // MINUTES_PER_DAY)
    minute %= MINUTES_PER_DAY
    local = datetime.combine(local_day, time(minute // 60, minute % 60), tzinfo=calendar.timezone)
    return local.astimezone(UTC)


def open_periods(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The UTC periods during which the calendar is open on one local day."""
    if day in calendar.holidays:
        return []
    periods = []
    for start, end in calendar.weekly[day.weekday()]:
        begins, ends = _wall(calendar, day, start), _wall(calendar, day, end)
        # A wall time in a spring-forward gap moves forward by the gap (as java.time does); an opening whose
        # start moves past its end is closed that day.
        if begins < ends:
            periods.append((begins, ends))
    return periods


def _periods_from(calendar: BusinessCalendar, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open periods that end after `moment`, in order, for as long as the caller wants them."""
    # Start a day early: the local date of a UTC instant depends on the zone's offset.
    day = moment.astimezone(calendar.timezone).date() - timedelta(days=1)
    empty_days = 0
    while True:
        periods = open_periods(calendar, day)
        empty_days = 0 if periods else empty_days + 1
        if empty_days > SEARCH_DAYS:
            raise CalendarError(f"no opening hours within {SEARCH_DAYS} days after {moment.isoformat()}")
        for begins, ends in periods:
            if ends > moment:
                yield begins, ends
        day += timedelta(days=1)


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The moment when `duration` of open time has passed since `start` (time outside hours does not count)."""
    start = _aware(start)
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if calendar.always_open or duration == timedelta(0):
        return start + duration
    remaining = duration
    for begins, ends in _periods_from(calendar, start):
        begins = max(begins, start)
        available = ends - begins
        if remaining <= available:
            return begins + remaining
        remaining -= available
    raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Open time from `start` to `end` (zero when end is not after start)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return timedelta(0)
    if calendar.always_open:
        return end - start
    total = timedelta(0)
    for begins, ends in _periods_from(calendar, start):
        if begins >= end:
            break
        total += min(ends, end) - max(begins, start)
    return total


def is_open(calendar: BusinessCalendar, moment: datetime) -> bool:
    moment = _aware(moment)
    if calendar.always_open:
        return True
    day = moment.astimezone(calendar.timezone).date()
    return any(begins <= moment < ends for begins, ends in open_periods(calendar, day))


def next_opening(calendar: BusinessCalendar, moment: datetime) -> datetime:
    """`moment` itself when open, else the start of the next opening: when an alert may go out."""
    moment = _aware(moment)
    if calendar.always_open:
        return moment
    for begins, ends in _periods_from(calendar, moment):
        if begins <= moment < ends:
            return moment
        if begins > moment:
            return begins
    raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover
