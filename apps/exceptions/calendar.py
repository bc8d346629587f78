"""Business-calendar arithmetic: deadlines and elapsed working time over working hours.

A ``Calendar`` gives the working hours of every local date in one time zone. Hours are minutes
after local midnight as half-open intervals ``[start, end)``, sorted and non-overlapping, with
``0 <= start < end <= 1440`` (1440 is the midnight at the end of the day). A day may have several
intervals: a split shift 09:00-12:00 and 13:30-18:00 is ``((540, 720), (810, 1080))``.

The hours of a date, in order of precedence (``Calendar.hours_on``):

1. ``always_open``: the whole day, every day (24x7);
2. a date in ``make_up_days`` (调休, a weekend made a working day): ``make_up_day_hours``;
3. a date in ``holidays``: no hours;
4. otherwise the hours of its weekday, ``week[0]`` Monday to ``week[6]`` Sunday.

A date in both ``holidays`` and ``make_up_days`` is a make-up day: the official lists never
name a date twice, so a caller merging its own overrides resolves precedence before building.

Working time is the measure of the union of the working intervals, so
``business_time_between(cal, a, b)`` counts the working part of ``[a, b)``, and
``add_business_time(cal, start, delta)`` is the earliest instant ``t >= start`` with exactly
``delta`` of working time in ``[start, t)``. A deadline that uses up exactly the rest of a shift
therefore lands at the shift's end (Friday 18:00), not at the next shift's start (Monday 09:00);
a deadline set outside working hours starts counting at the next shift.

Zones: minute ``m`` of local date ``d`` is the instant of local midnight of ``d`` plus ``m``
minutes of elapsed time. In a zone without DST (China, Japan, India, UTC) this is simply the wall
clock. Across a DST change it counts elapsed time from local midnight, so a shift on the day of
the change keeps its length but ends an hour off the wall clock, and any overlap this makes
between adjacent days is counted once. Arguments may be in any zone but must be aware; results
are in UTC. Everything is computed in whole microseconds.

The functions sit on the exception-grading hot path: they step through days (never minutes),
skip days without hours without touching the zone, and use integer microseconds inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

__all__ = [
    "Calendar",
    "Hours",
    "add_business_minutes",
    "add_business_time",
    "business_minutes_between",
    "business_time_between",
    "format_hours",
    "parse_hours",
]

Hours = tuple[tuple[int, int], ...]

MINUTES_PER_DAY = 1440
# A deadline search gives up after this many days in a row without working time: about three
# years, longer than any real closure, so only a calendar that never opens again reaches it.
MAX_IDLE_DAYS = 3 * 366

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MIDNIGHT = time(0)
_ONE_US = timedelta(microseconds=1)
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_ALL_DAY: Hours = ((0, MINUTES_PER_DAY),)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")


def _check_hours(hours: Iterable[tuple[int, int]], what: str) -> Hours:
    """``hours`` as a tuple of ``(start, end)`` int pairs; ValueError unless sorted, disjoint and in range."""
    try:
        pairs = tuple((start, end) for start, end in hours)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a sequence of (start, end) minute pairs, not {hours!r}.") from None
    previous_end = 0
    for start, end in pairs:
        if type(start) is not int or type(end) is not int:
            raise ValueError(f"{what}: minutes must be integers, not {(start, end)!r}.")
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(f"{what}: {(start, end)!r} is not an interval with 0 <= start < end <= 1440.")
        if start < previous_end:
            raise ValueError(f"{what}: intervals must be sorted and must not overlap, got {pairs!r}.")
        previous_end = end
    return pairs


@dataclass(frozen=True)
class Calendar:
    """A business calendar: the working hours of each local date, in one time zone.

    ``week`` is Monday..Sunday. Sequences are normalised to tuples and date collections to
    frozensets; malformed hours raise ValueError.
    """

    zone: ZoneInfo
    always_open: bool = False
    week: tuple[Hours, ...] = ((),) * 7
    make_up_day_hours: Hours = ()
    holidays: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()
    # Derived in __post_init__: the hours in microseconds after local midnight, and whether any
    # date can have hours at all.
    _week_us: tuple[tuple[tuple[int, int], ...], ...] = field(init=False, repr=False, compare=False)
    _make_up_us: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _has_hours: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        week = tuple(self.week)
        if len(week) != 7:
            raise ValueError(f"A week has 7 days of hours (Monday to Sunday), got {len(week)}.")
        week = tuple(_check_hours(hours, f"Hours of weekday {i}") for i, hours in enumerate(week))
        make_up = _check_hours(self.make_up_day_hours, "Make-up day hours")
        # Frozen: normalising in place is the one sanctioned use of object.__setattr__.
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "make_up_day_hours", make_up)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "make_up_days", frozenset(self.make_up_days))
        object.__setattr__(self, "_week_us", tuple(_hours_us(hours) for hours in week))
        object.__setattr__(self, "_make_up_us", _hours_us(make_up))
        has_hours = any(week) or bool(make_up and self.make_up_days)
        object.__setattr__(self, "_has_hours", self.always_open or has_hours)

    def hours_on(self, day: date) -> Hours:
        """The working hours of local date ``day``: always open, make-up day, holiday, then weekday."""
        if self.always_open:
            return _ALL_DAY
        if day in self.make_up_days:
            return self.make_up_day_hours
        if day in self.holidays:
            return ()
        return self.week[day.weekday()]


def _hours_us(hours: Hours) -> tuple[tuple[int, int], ...]:
    return tuple((start * _US_PER_MINUTE, end * _US_PER_MINUTE) for start, end in hours)


def _instant_us(value: datetime, name: str) -> int:
    """Microseconds since the Unix epoch of aware ``value``; ValueError if it is naive."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}.")
    return (value - _EPOCH) // _ONE_US


def _day_hours_us(cal: Calendar, day: date) -> tuple[tuple[int, int], ...]:
    """``cal.hours_on(day)`` in microseconds, for a calendar that is not always open."""
    if day in cal.make_up_days:
        return cal._make_up_us
    if day in cal.holidays:
        return ()
    return cal._week_us[day.weekday()]


def _midnight_us(zone: ZoneInfo, day: date) -> int:
    """The UTC instant, in epoch microseconds, of local midnight at the start of ``day``."""
    offset = datetime.combine(day, _MIDNIGHT, tzinfo=zone).utcoffset()
    return (day.toordinal() - _EPOCH_ORDINAL) * _US_PER_DAY - offset // _ONE_US


def _first_local_day(cal: Calendar, instant: datetime) -> date:
    # One day early: the previous local day's hours may reach past ``instant`` after a DST change.
    return instant.astimezone(cal.zone).date() - timedelta(days=1)


def add_business_time(cal: Calendar, start: datetime, delta: timedelta) -> datetime:
    """The earliest instant ``t >= start`` with exactly ``delta`` of working time in ``[start, t)``, in UTC.

    ``delta`` must not be negative; zero gives ``start`` itself (as UTC). ValueError for a naive
    ``start`` or when no working time comes within about three years.
    """
    start_us = _instant_us(start, "start")
    remaining = delta // _ONE_US
    if remaining < 0:
        raise ValueError(f"delta must not be negative, got {delta!r}.")
    if remaining == 0 or cal.always_open:
        return _EPOCH + timedelta(microseconds=start_us + remaining)
    if not cal._has_hours:
        raise ValueError("no working time in this calendar: every weekday is empty and there are no make-up days.")

    zone = cal.zone
    cursor = start_us
    day = _first_local_day(cal, start)
    one_day = timedelta(days=1)
    idle_days = 0
    while True:
        hours = _day_hours_us(cal, day)
        if hours:
            midnight = _midnight_us(zone, day)
            for begin, end in hours:
                end += midnight
                if end <= cursor:
                    continue
                begin += midnight
                if begin < cursor:
                    begin = cursor
                available = end - begin
                if available >= remaining:
                    return _EPOCH + timedelta(microseconds=begin + remaining)
                remaining -= available
                cursor = end
                idle_days = -1
        idle_days += 1
        if idle_days > MAX_IDLE_DAYS:
            since = day - one_day * MAX_IDLE_DAYS
            raise ValueError(f"no working time in the {MAX_IDLE_DAYS} local days from {since} to {day}.")
        day += one_day


def _between_us(cal: Calendar, a: datetime, a_us: int, b_us: int) -> int:
    """Working microseconds in ``[a_us, b_us)``, ``a_us <= b_us``; ``a`` is ``a_us`` as a datetime."""
    if cal.always_open:
        return b_us - a_us
    zone = cal.zone
    cursor = a_us
    total = 0
    day = _first_local_day(cal, a)
    one_day = timedelta(days=1)
    # Local midnight starting ``day`` lies at or after ``day``'s UTC midnight minus 1 day (the widest
    # offset is under 26 hours), so a day whose UTC midnight is a day past ``b`` cannot reach back.
    last_ordinal = (b_us // _US_PER_DAY) + _EPOCH_ORDINAL + 1
    while day.toordinal() <= last_ordinal:
        hours = _day_hours_us(cal, day)
        if hours:
            midnight = _midnight_us(zone, day)
            for begin, end in hours:
                end += midnight
                if end <= cursor:
                    continue
                begin += midnight
                if begin >= b_us:
                    break
                if begin < cursor:
                    begin = cursor
                if end > b_us:
                    end = b_us
                total += end - begin
                cursor = end
        day += one_day
    return total


def business_time_between(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    """Working time in ``[a, b)``; minus the working time in ``[b, a)`` when ``b < a``."""
    a_us = _instant_us(a, "a")
    b_us = _instant_us(b, "b")
    if b_us < a_us:
        return -timedelta(microseconds=_between_us(cal, b, b_us, a_us))
    return timedelta(microseconds=_between_us(cal, a, a_us, b_us))


def add_business_minutes(cal: Calendar, start: datetime, minutes: int) -> datetime:
    """``add_business_time`` with a whole number of minutes."""
    return add_business_time(cal, start, timedelta(minutes=minutes))


def business_minutes_between(cal: Calendar, a: datetime, b: datetime) -> int:
    """Whole working minutes in ``[a, b)``, rounded toward zero; negative when ``b < a``."""
    a_us = _instant_us(a, "a")
    b_us = _instant_us(b, "b")
    if b_us < a_us:
        return -(_between_us(cal, b, b_us, a_us) // _US_PER_MINUTE)
    return _between_us(cal, a, a_us, b_us) // _US_PER_MINUTE


def _parse_time(text: object, *, is_end: bool) -> int:
    match = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if match:
        hour, minute = int(match[1]), int(match[2])
        if minute < 60 and (hour < 24 or (is_end and hour == 24 and minute == 0)):
            return hour * 60 + minute
    allowed = "00:00 to 24:00" if is_end else "00:00 to 23:59"
    raise ValueError(f"{text!r} is not a time of day in HH:MM form ({allowed}).")


def parse_hours(value: Iterable[Iterable[str]]) -> Hours:
    """``[["09:00", "12:00"], ["13:30", "18:00"]]`` as ``((540, 720), (810, 1080))``.

    Intervals are sorted; "24:00" is allowed as an end. ValueError for a malformed time, an end
    not after its start, or overlapping intervals (touching ones, 12:00 and 12:00, are fine).
    """
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"Working hours must be a list of [start, end] pairs, not {value!r}.")
    intervals = []
    for pair in value:
        items = None if isinstance(pair, str | bytes) or not isinstance(pair, Iterable) else list(pair)
        if items is None or len(items) != 2:
            raise ValueError(f"Each working-hours interval must be a [start, end] pair, not {pair!r}.")
        start, end = _parse_time(items[0], is_end=False), _parse_time(items[1], is_end=True)
        if end <= start:
            raise ValueError(f"Working hours {items[0]}-{items[1]}: the end must be after the start.")
        intervals.append((start, end))
    intervals.sort()
    for earlier, later in pairwise(intervals):
        if later[0] < earlier[1]:
            first, second = format_hours((earlier, later))
            raise ValueError(f"Working hours {'-'.join(first)} and {'-'.join(second)} overlap.")
    return tuple(intervals)


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_hours(hours: Hours) -> list[list[str]]:
    """The inverse of ``parse_hours``: ``((540, 720),)`` as ``[["09:00", "12:00"]]``."""
    return [[_format_minute(start), _format_minute(end)] for start, end in hours]
