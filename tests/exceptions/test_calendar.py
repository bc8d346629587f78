"""Business-calendar arithmetic: properties against a minute-by-minute oracle, and the official 2026 dates.

No database: ``apps.exceptions.calendar`` is pure Python. The oracle shares nothing with the
module but ``Calendar.hours_on``: a UTC minute is working iff its local wall-clock minute falls in
the hours of its local date. Zones are fixed-offset, where wall clock and elapsed time agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from chinese_calendar import constants
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from apps.exceptions.calendar import (
    Calendar,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
    format_hours,
    parse_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = timedelta(minutes=1)
ZONES = ["Asia/Shanghai", "UTC", "Asia/Tokyo", "Asia/Kolkata", "Asia/Kathmandu"]
# Start windows: across the 2026 Spring Festival, and across National Day 2026.
WINDOWS = [
    (datetime(2025, 12, 20, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)),
    (datetime(2026, 9, 10, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC)),
]
# How far the oracle walks looking for a deadline: 43,200 minutes.
ORACLE_HORIZON = timedelta(days=30)

SPLIT_SHIFT = ((540, 720), (810, 1080))  # 09:00-12:00, 13:30-18:00: 450 minutes a day
OFFICIAL = Calendar(
    zone=SHANGHAI,
    week=(SPLIT_SHIFT,) * 5 + ((), ()),
    make_up_day_hours=SPLIT_SHIFT,
    holidays=frozenset(constants.holidays),
    make_up_days=frozenset(constants.workdays),
)

# The conftest's autouse fixtures (settings, a flushed Redis) run once per test, not per
# example; these tests use neither, so sharing them across examples is harmless.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


class MinuteOracle:
    """Working time by brute force: one step per UTC minute, each judged by its local wall clock."""

    def __init__(self, cal: Calendar):
        self.cal = cal
        self._masks: dict[date, bytes] = {}

    def is_working(self, minute: datetime) -> bool:
        local = minute.astimezone(self.cal.zone)
        mask = self._masks.get(local.date())
        if mask is None:
            flags = bytearray(1440)
            for start, end in self.cal.hours_on(local.date()):
                flags[start:end] = b"\x01" * (end - start)
            mask = self._masks[local.date()] = bytes(flags)
        return bool(mask[local.hour * 60 + local.minute])

    def count(self, a: datetime, b: datetime) -> int:
        """Working minutes in [a, b), both minute-aligned, a <= b."""
        total, minute = 0, a
        while minute < b:
            total += self.is_working(minute)
            minute += MINUTE
        return total

    def add(self, start: datetime, n: int, horizon: timedelta = ORACLE_HORIZON) -> datetime | None:
        """The end of the n-th working minute from start; None if it lies beyond start + horizon."""
        if n == 0:
            return start
        seen, minute, stop = 0, start, start + horizon
        while minute < stop:
            if self.is_working(minute):
                seen += 1
                if seen == n:
                    return minute + MINUTE
            minute += MINUTE
        return None


# --- Strategies ---------------------------------------------------------------------------------

# Round boundaries and the day's edges often, so shifts touch midnight and each other.
minute_of_day = st.one_of(st.sampled_from([0, 540, 720, 810, 1080, 1440]), st.integers(0, 1440))


@st.composite
def day_hours(draw) -> tuple[tuple[int, int], ...]:
    """0-3 sorted intervals; equal neighbouring points make touching intervals or are dropped."""
    count = draw(st.integers(0, 3))
    points = sorted(draw(st.lists(minute_of_day, min_size=2 * count, max_size=2 * count)))
    return tuple((start, end) for start, end in zip(points[::2], points[1::2], strict=True) if start < end)


@st.composite
def instants(draw, *, microseconds: bool = False) -> datetime:
    """An instant in one of the windows, in UTC or a drawn zone; minute-aligned unless asked."""
    window_start, window_end = draw(st.sampled_from(WINDOWS))
    span = (window_end - window_start) // MINUTE
    instant = window_start + draw(st.integers(0, span)) * MINUTE
    if microseconds:
        instant += timedelta(microseconds=draw(st.integers(0, 60_000_000 - 1)))
    return instant.astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))


@st.composite
def calendars(draw, near: datetime) -> Calendar:
    """A random calendar whose holidays and make-up days fall within a few weeks of ``near``."""
    near_day = near.astimezone(UTC).date()
    dates = st.builds(lambda offset: near_day + timedelta(days=offset), st.integers(-2, 40))
    return Calendar(
        zone=ZoneInfo(draw(st.sampled_from(ZONES))),
        always_open=draw(st.integers(0, 7)) == 0,
        week=tuple(draw(day_hours()) for _ in range(7)),
        make_up_day_hours=draw(day_hours()),
        holidays=frozenset(draw(st.lists(dates, max_size=12))),
        make_up_days=frozenset(draw(st.lists(dates, max_size=4))),
    )


@st.composite
def scenarios(draw, *, microseconds: bool = False) -> tuple[Calendar, datetime]:
    start = draw(instants(microseconds=microseconds))
    return draw(calendars(start)), start


# --- Properties ---------------------------------------------------------------------------------


@PROPERTY
@given(scenario=scenarios(), n=st.integers(0, 6000))
def test_the_working_time_up_to_a_deadline_is_what_was_added(scenario, n):
    cal, start = scenario
    try:
        deadline = add_business_minutes(cal, start, n)
    except ValueError:
        # Only when the calendar runs out of working time for good: its hours lie in the
        # drawn holidays' weeks, so what is left after them is counted in a few years.
        assert business_minutes_between(cal, start, start + timedelta(days=4 * 366)) < n
        return
    assert deadline >= start
    assert business_minutes_between(cal, start, deadline) == n


@PROPERTY
@given(scenario=scenarios(), n=st.integers(0, 6000))
def test_a_deadline_is_the_end_of_the_nth_working_minute(scenario, n):
    cal, start = scenario
    expected = MinuteOracle(cal).add(start, n)
    try:
        deadline = add_business_minutes(cal, start, n)
    except ValueError:
        assert expected is None
        return
    assert deadline.tzinfo is UTC
    if expected is None:
        assert deadline > start + ORACLE_HORIZON
    else:
        assert deadline == expected


@PROPERTY
@given(scenario=scenarios(), day_offset=st.integers(0, 10), pick=st.integers(0, 2))
def test_a_deadline_that_uses_up_a_shift_lands_at_its_end(scenario, day_offset, pick):
    """Random n rarely ends exactly on a shift end, so here n is the working time up to one."""
    cal, start = scenario
    day = start.astimezone(cal.zone).date() + timedelta(days=day_offset)
    hours = cal.hours_on(day)
    assume(hours)
    shift_end = datetime.combine(day, time(0), tzinfo=cal.zone) + timedelta(minutes=hours[pick % len(hours)][1])
    assume(shift_end > start)
    assert add_business_minutes(cal, start, MinuteOracle(cal).count(start, shift_end)) == shift_end


@PROPERTY
@given(scenario=scenarios(), minutes=st.integers(0, 20 * 1440))
def test_working_minutes_between_two_instants_match_the_oracle(scenario, minutes):
    cal, a = scenario
    b = a + minutes * MINUTE
    assert business_minutes_between(cal, a, b) == MinuteOracle(cal).count(a, b)
    assert business_time_between(cal, a, b) == MinuteOracle(cal).count(a, b) * MINUTE


@settings(PROPERTY, max_examples=150)
@given(scenario=scenarios(microseconds=True), other=instants(microseconds=True))
def test_reversing_the_interval_negates_the_working_time(scenario, other):
    cal, a = scenario
    assert business_time_between(cal, a, other) == -business_time_between(cal, other, a)
    assert business_minutes_between(cal, a, other) == -business_minutes_between(cal, other, a)


@settings(PROPERTY, max_examples=150)
@given(
    scenario=scenarios(microseconds=True),
    gaps=st.lists(st.integers(0, 10 * 86_400_000_000), min_size=2, max_size=2),
)
def test_working_time_adds_up_over_adjacent_intervals(scenario, gaps):
    cal, a = scenario
    b = a + timedelta(microseconds=gaps[0])
    c = b + timedelta(microseconds=gaps[1])
    assert business_time_between(cal, a, c) == business_time_between(cal, a, b) + business_time_between(cal, b, c)


@settings(PROPERTY, max_examples=150)
@given(scenario=scenarios(microseconds=True), delta_us=st.integers(0, 5 * 86_400_000_000))
def test_a_deadline_is_exact_and_earliest_to_the_microsecond(scenario, delta_us):
    cal, start = scenario
    delta = timedelta(microseconds=delta_us)
    try:
        deadline = add_business_time(cal, start, delta)
    except ValueError:
        assert business_time_between(cal, start, start + timedelta(days=4 * 366)) < delta
        return
    assert business_time_between(cal, start, deadline) == delta
    if delta:
        assert business_time_between(cal, start, deadline - timedelta(microseconds=1)) < delta


@settings(PROPERTY, max_examples=60)
@given(
    offset=st.integers(0, (datetime(2026, 3, 10) - datetime(2026, 2, 1)) // MINUTE),
    n=st.integers(0, 6000),
    minutes=st.integers(0, 20 * 1440),
)
def test_the_official_calendar_agrees_with_the_oracle_across_spring_festival(offset, n, minutes):
    """Holidays 2026-02-15..23 and the make-up Saturdays 02-14 and 02-28 come from chinese_calendar."""
    start = shanghai(2026, 2, 1) + offset * MINUTE
    oracle = MinuteOracle(OFFICIAL)
    expected = oracle.add(start, n, horizon=timedelta(days=45))
    assert expected is not None
    assert add_business_minutes(OFFICIAL, start, n) == expected
    end = start + minutes * MINUTE
    assert business_minutes_between(OFFICIAL, start, end) == oracle.count(start, end)


# --- The official 2026 calendar -----------------------------------------------------------------


def test_the_official_dates_used_below_are_what_chinese_calendar_says():
    """The examples lean on these; a data update that moves them should fail here first."""
    assert {date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)} <= set(constants.workdays)
    assert {date(2026, 2, 15) + timedelta(days=i) for i in range(9)} <= set(constants.holidays)
    assert {date(2026, 10, 1) + timedelta(days=i) for i in range(7)} <= set(constants.holidays)
    assert date(2026, 9, 30) not in constants.holidays
    assert date(2026, 10, 8) not in constants.holidays


def test_a_deadline_over_a_weekend_lands_on_the_sunday_make_up_day():
    """Fri 2026-09-18 16:30 + 120: 90 minutes to 18:00, Saturday off, the last 30 on Sunday 09-20."""
    deadline = add_business_minutes(OFFICIAL, shanghai(2026, 9, 18, 16, 30), 120)
    assert deadline == shanghai(2026, 9, 20, 9, 30)


def test_a_deadline_skips_the_national_day_week():
    """Wed 2026-09-30 17:00 + 120: 60 minutes that day, Oct 1-7 off, 60 more on Thu Oct 8."""
    deadline = add_business_minutes(OFFICIAL, shanghai(2026, 9, 30, 17, 0), 120)
    assert deadline == shanghai(2026, 10, 8, 10, 0)


def test_a_deadline_lands_on_the_make_up_saturday_after_national_day():
    """Fri 2026-10-09 17:30 + 60: 30 minutes to 18:00, 30 more on make-up Saturday Oct 10."""
    deadline = add_business_minutes(OFFICIAL, shanghai(2026, 10, 9, 17, 30), 60)
    assert deadline == shanghai(2026, 10, 10, 9, 30)


def test_the_lunch_break_of_a_split_shift_is_not_counted():
    """11:30 + 60: 30 minutes to 12:00, lunch until 13:30, 30 more."""
    assert add_business_minutes(OFFICIAL, shanghai(2026, 9, 15, 11, 30), 60) == shanghai(2026, 9, 15, 14, 0)


def test_a_deadline_using_up_the_rest_of_a_shift_lands_at_its_end():
    """17:00 + 60 is 18:00 the same day, not 09:00 the next morning; likewise 11:00 + 60 is 12:00."""
    assert add_business_minutes(OFFICIAL, shanghai(2026, 9, 18, 17, 0), 60) == shanghai(2026, 9, 18, 18, 0)
    assert add_business_minutes(OFFICIAL, shanghai(2026, 9, 18, 11, 0), 60) == shanghai(2026, 9, 18, 12, 0)


def test_a_deadline_set_outside_working_hours_counts_from_the_next_shift():
    """Saturday 2026-09-12 is off, so + 60 ends at Monday 10:00; 12:30 + 60 ends at 14:30."""
    assert add_business_minutes(OFFICIAL, shanghai(2026, 9, 12, 15, 0), 60) == shanghai(2026, 9, 14, 10, 0)
    assert add_business_minutes(OFFICIAL, shanghai(2026, 9, 14, 12, 30), 60) == shanghai(2026, 9, 14, 14, 30)


def test_a_deadline_lands_on_the_make_up_saturday_before_spring_festival():
    """Fri 2026-02-13 17:00 + 120: 60 minutes to 18:00, 60 more on make-up Saturday Feb 14."""
    deadline = add_business_minutes(OFFICIAL, shanghai(2026, 2, 13, 17, 0), 120)
    assert deadline == shanghai(2026, 2, 14, 10, 0)


def test_a_deadline_is_returned_in_utc():
    deadline = add_business_minutes(OFFICIAL, shanghai(2026, 9, 15, 10, 0), 30)
    assert deadline.tzinfo is UTC
    assert deadline == datetime(2026, 9, 15, 2, 30, tzinfo=UTC)


def test_adding_nothing_returns_the_start_even_outside_working_hours():
    start = shanghai(2026, 10, 3, 3, 17, 5, 9)
    assert add_business_time(OFFICIAL, start, timedelta(0)) == start
    assert add_business_minutes(OFFICIAL, start, 0) == start


def test_working_minutes_across_the_national_day_week_count_only_working_days():
    """Wed 09-30 10:00 to Sat 10-10 12:00.

    Sep 30 from 10:00: 120 (10:00-12:00) + 270 (13:30-18:00) = 390; Oct 1-7 holidays: 0;
    Oct 8 and Oct 9: 450 each; make-up Saturday Oct 10 until 12:00: 180. Total 1,470.
    """
    a, b = shanghai(2026, 9, 30, 10, 0), shanghai(2026, 10, 10, 12, 0)
    assert business_minutes_between(OFFICIAL, a, b) == 390 + 0 + 450 + 450 + 180
    assert business_minutes_between(OFFICIAL, b, a) == -1470
    assert business_time_between(OFFICIAL, a, b) == timedelta(minutes=1470)


def test_working_minutes_round_toward_zero():
    """Thirty seconds and a microsecond of working time is no whole minute, either way round."""
    a, b = shanghai(2026, 9, 15, 10, 0), shanghai(2026, 9, 15, 10, 1, 30, 1)
    assert business_time_between(OFFICIAL, a, b) == timedelta(seconds=90, microseconds=1)
    assert business_minutes_between(OFFICIAL, a, b) == 1
    assert business_minutes_between(OFFICIAL, b, a) == -1


def test_a_make_up_day_wins_over_a_holiday_on_the_same_date():
    both = date(2026, 9, 19)
    cal = Calendar(
        SHANGHAI, week=(SPLIT_SHIFT,) * 7, make_up_day_hours=((600, 660),), holidays={both}, make_up_days={both}
    )
    assert cal.hours_on(both) == ((600, 660),)
    assert cal.hours_on(date(2026, 9, 18)) == SPLIT_SHIFT
    assert Calendar(SHANGHAI, week=(SPLIT_SHIFT,) * 7, holidays={both}).hours_on(both) == ()


# --- Always open, errors, parsing ---------------------------------------------------------------


def test_an_always_open_calendar_is_plain_addition_to_the_second():
    cal = Calendar(SHANGHAI, always_open=True)
    start = shanghai(2026, 10, 1, 23, 59, 58)
    assert add_business_time(cal, start, timedelta(seconds=3)) == shanghai(2026, 10, 2, 0, 0, 1)
    assert add_business_minutes(cal, start, 1440 * 9) == start + timedelta(days=9)
    assert business_time_between(cal, start, start + timedelta(days=2, seconds=3)) == timedelta(days=2, seconds=3)
    assert cal.hours_on(date(2026, 10, 1)) == ((0, 1440),)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_business_minutes(OFFICIAL, datetime(2026, 9, 15, 10, 0), 60),
        lambda: business_minutes_between(OFFICIAL, datetime(2026, 9, 15, 10, 0), shanghai(2026, 9, 16)),
        lambda: business_time_between(OFFICIAL, shanghai(2026, 9, 15), datetime(2026, 9, 16)),
    ],
)
def test_naive_datetimes_are_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_a_calendar_without_working_time_has_no_deadlines():
    with pytest.raises(ValueError, match="no working time"):
        add_business_minutes(Calendar(SHANGHAI), shanghai(2026, 9, 15), 1)


def test_a_calendar_that_never_opens_again_has_no_deadlines_after_its_last_make_up_day():
    cal = Calendar(SHANGHAI, make_up_day_hours=SPLIT_SHIFT, make_up_days={date(2026, 9, 20)})
    assert add_business_minutes(cal, shanghai(2026, 9, 15), 60) == shanghai(2026, 9, 20, 10, 0)
    with pytest.raises(ValueError, match="no working time"):
        add_business_minutes(cal, shanghai(2026, 9, 15), 451)


def test_a_negative_delta_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        add_business_minutes(OFFICIAL, shanghai(2026, 9, 15), -1)


def test_malformed_calendar_hours_are_rejected():
    with pytest.raises(ValueError, match="7 days"):
        Calendar(SHANGHAI, week=((),) * 5)
    with pytest.raises(ValueError, match="overlap"):
        Calendar(SHANGHAI, make_up_day_hours=((540, 720), (700, 800)))
    with pytest.raises(ValueError, match="start < end"):
        Calendar(SHANGHAI, make_up_day_hours=((540, 1500),))


def test_parse_hours_reads_a_split_shift_in_any_order():
    assert parse_hours([["13:30", "18:00"], ["09:00", "12:00"]]) == SPLIT_SHIFT
    assert parse_hours([["00:00", "24:00"]]) == ((0, 1440),)
    assert parse_hours([["9:00", "12:00"], ["12:00", "13:00"]]) == ((540, 720), (720, 780))
    assert parse_hours([]) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([["09:00", "12:00"], ["11:00", "13:00"]], "09:00-12:00 and 11:00-13:00 overlap"),
        ([["18:00", "09:00"]], "end must be after the start"),
        ([["09:00", "09:00"]], "end must be after the start"),
        ([["09:00", "25:00"]], "'25:00' is not a time of day"),
        ([["24:00", "24:00"]], "'24:00' is not a time of day"),
        ([["09:60", "10:00"]], "'09:60' is not a time of day"),
        ([["0900", "1000"]], "'0900' is not a time of day"),
        ([["09:00"]], r"must be a \[start, end\] pair"),
        ("09:00-18:00", "must be a list"),
    ],
)
def test_parse_hours_rejects_malformed_hours(value, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(value)


def test_format_hours_is_the_inverse_of_parse_hours():
    text = [["00:00", "08:15"], ["09:00", "12:00"], ["13:30", "24:00"]]
    assert format_hours(parse_hours(text)) == text
    assert parse_hours(format_hours(SPLIT_SHIFT)) == SPLIT_SHIFT


def test_a_shift_on_a_dst_day_counts_elapsed_time_from_local_midnight():
    """Berlin springs forward at 02:00 on 2026-03-29: 09:00-18:00 becomes 10:00-19:00 on the wall clock."""
    berlin = ZoneInfo("Europe/Berlin")
    cal = Calendar(berlin, week=(((540, 1080),),) * 7)
    day_start, day_end = datetime(2026, 3, 29, tzinfo=berlin), datetime(2026, 3, 30, tzinfo=berlin)
    assert business_minutes_between(cal, day_start, day_end) == 540
    assert add_business_minutes(cal, day_start, 1) == datetime(2026, 3, 29, 10, 1, tzinfo=berlin)
