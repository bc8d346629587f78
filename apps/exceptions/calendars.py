"""Business calendars as data (SPEC §9.4, §10.6): the official holidays, each department's working
time, the calendar document of the configuration API, and the ``Calendar`` the SLA counts on.

The arithmetic is ``apps.exceptions.calendar`` (pure); this module turns rows into its
``Calendar``: the company's own holidays win over the official make-up days, its own make-up days
over the official holidays. A department without a calendar of its own works on the company's.
Loaded calendars are kept per process and re-read when any calendar row or official day changes
(one cheap query tells).
"""

from __future__ import annotations

import threading
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Department, User
from apps.common.errors import DomainError
from apps.exceptions.calendar import Calendar, add_business_time, business_time_between, format_hours, parse_hours
from apps.exceptions.models import BusinessCalendar, CalendarDay, DayKind, OfficialDay
from apps.formdesigner.document import DocumentError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DOCUMENT_KEYS = frozenset(
    {
        "department",
        "time_zone",
        "always_open",
        "official_calendar",
        "week",
        "make_up_day_hours",
        "holidays",
        "make_up_days",
    }
)
MAX_DAYS = 1000
COMPANY = "default"  # the department key of the company calendar in the API


# --- official days ----------------------------------------------------------------------------


def official_days_load() -> int:
    """Copy the ``chinese-calendar`` package's holidays and make-up days into ``OfficialDay``.

    Rows already there (an admin's edits, an earlier load) are kept. Returns the rows added.
    """
    from chinese_calendar import constants

    have = set(OfficialDay.objects.values_list("date", flat=True))
    rows = [
        OfficialDay(date=day, kind=kind, name=str(name or ""), source=OfficialDay.Source.PACKAGE)
        for kind, table in ((DayKind.HOLIDAY, constants.holidays), (DayKind.MAKE_UP, constants.workdays))
        for day, name in table.items()
        if day not in have
    ]
    OfficialDay.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@dataclass(frozen=True)
class YearCoverage:
    year: int
    holidays: int
    make_up_days: int
    from_package: bool


def official_years() -> list[YearCoverage]:
    """Which years the official calendar has (the console shows it: a year missing here has no
    public holidays until an admin adds them)."""
    years: dict[int, dict[str, Any]] = {}
    for day, kind, source in OfficialDay.objects.values_list("date", "kind", "source"):
        entry = years.setdefault(day.year, {"holiday": 0, "make_up": 0, "package": False})
        entry[kind] += 1
        entry["package"] |= source == OfficialDay.Source.PACKAGE
    return [
        YearCoverage(year=year, holidays=e["holiday"], make_up_days=e["make_up"], from_package=e["package"])
        for year, e in sorted(years.items())
    ]


def official_years_missing(today: date | None = None) -> list[int]:
    """This year and next, if the official calendar has no holiday in them."""
    today = today or timezone.localdate()
    have = {c.year for c in official_years() if c.holidays}
    return [year for year in (today.year, today.year + 1) if year not in have]


# --- loading calendars --------------------------------------------------------------------------


class Calendars:
    """Every calendar, loaded once: ``for_department(id)`` gives its ``Calendar`` (the company's
    when it has none)."""

    def __init__(self, by_department: dict[int | None, Calendar]):
        self._by_department = by_department

    def for_department(self, department_id: int | None) -> Calendar:
        found = self._by_department.get(department_id)
        return found if found is not None else self._by_department[None]

    def add(self, department_id: int | None, start: datetime, delta: timedelta) -> datetime:
        return add_business_time(self.for_department(department_id), start, delta)

    def between(self, department_id: int | None, a: datetime, b: datetime) -> timedelta:
        return business_time_between(self.for_department(department_id), a, b)


FALLBACK = BusinessCalendar(time_zone="Asia/Shanghai", always_open=True, official_calendar=False)

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"stamp": None, "calendars": None}


def _stamp() -> tuple:
    """What changes whenever a calendar, its days or an official day does: one query."""
    tables = {
        "cal": BusinessCalendar._meta.db_table,
        "day": CalendarDay._meta.db_table,
        "off": OfficialDay._meta.db_table,
    }
    # The table names are the models' own, quoted: no input reaches this SQL.
    sql = (  # noqa: S608
        "SELECT (SELECT COUNT(*) FROM {cal}), (SELECT MAX(updated_at) FROM {cal}),"
        " (SELECT COUNT(*) FROM {day}), (SELECT MAX(id) FROM {day}), (SELECT MIN(id) FROM {day}),"
        " (SELECT COUNT(*) FROM {off}), (SELECT MAX(updated_at) FROM {off})"
    ).format(**{key: connection.ops.quote_name(name) for key, name in tables.items()})
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def _build(row: BusinessCalendar, own: list[CalendarDay], official: dict[date, str]) -> Calendar:
    own_holidays = {d.date for d in own if d.kind == DayKind.HOLIDAY}
    own_make_up = {d.date for d in own if d.kind == DayKind.MAKE_UP}
    holidays, make_up = set(own_holidays), set(own_make_up)
    if row.official_calendar:
        holidays |= {day for day, kind in official.items() if kind == DayKind.HOLIDAY and day not in own_make_up}
        make_up |= {day for day, kind in official.items() if kind == DayKind.MAKE_UP and day not in own_holidays}
    week = tuple(parse_hours((row.week or {}).get(day) or []) for day in WEEKDAYS)
    return Calendar(
        zone=zoneinfo.ZoneInfo(row.time_zone or "Asia/Shanghai"),
        always_open=row.always_open,
        week=week,
        make_up_day_hours=parse_hours(row.make_up_day_hours) if row.make_up_day_hours else week[0],
        holidays=frozenset(holidays - make_up),
        make_up_days=frozenset(make_up),
    )


def calendars_load() -> Calendars:
    """The calendars as they are now (re-read only when a row changed since the last load)."""
    stamp = _stamp()
    with _cache_lock:
        if _cache["stamp"] == stamp and _cache["calendars"] is not None:
            return _cache["calendars"]
    official = dict(OfficialDay.objects.values_list("date", "kind"))
    days: dict[int, list[CalendarDay]] = {}
    for day in CalendarDay.objects.all():
        days.setdefault(day.calendar_id, []).append(day)
    by_department: dict[int | None, Calendar] = {}
    for row in BusinessCalendar.objects.all():
        by_department[row.department_id] = _build(row, days.get(row.pk, []), official)
    if None not in by_department:
        by_department[None] = _build(FALLBACK, [], official)
    loaded = Calendars(by_department)
    with _cache_lock:
        _cache["stamp"], _cache["calendars"] = stamp, loaded
    return loaded


def calendar_for(department_id: int | None) -> Calendar:
    return calendars_load().for_department(department_id)


# --- the calendar document ----------------------------------------------------------------------


def _department_of(key: str) -> Department | None:
    if key == COMPANY:
        return None
    department = Department.objects.filter(code=key).first()
    if department is None:
        raise DomainError(code="not_found", field="department", message=_("No such department."), status_code=404)
    return department


def calendar_row(key: str) -> tuple[Department | None, BusinessCalendar | None]:
    """The department of ``key`` (``default``: the company) and its own calendar row, if any."""
    department = _department_of(key)
    row = BusinessCalendar.objects.filter(department=department).prefetch_related("days").first()
    return department, row


def calendar_document(key: str) -> dict[str, Any]:
    """The calendar document of SPEC §10.6; a department without its own shows the company's with
    ``"inherited": true``."""
    department, row = calendar_row(key)
    inherited = row is None and department is not None
    if row is None:
        row = BusinessCalendar.objects.filter(department__isnull=True).prefetch_related("days").first() or FALLBACK
    days = list(row.days.all()) if row.pk else []
    week = row.week or {}
    return {
        "department": key,
        "inherited": inherited,
        "time_zone": row.time_zone,
        "always_open": row.always_open,
        "official_calendar": row.official_calendar,
        "week": {day: format_hours(parse_hours(week.get(day) or [])) for day in WEEKDAYS},
        "make_up_day_hours": format_hours(parse_hours(row.make_up_day_hours or [])),
        "holidays": [d.date.isoformat() for d in days if d.kind == DayKind.HOLIDAY],
        "make_up_days": [d.date.isoformat() for d in days if d.kind == DayKind.MAKE_UP],
    }


def _hours(errors: dict[str, list[str]], path: str, raw: Any) -> list[list[str]]:
    if not isinstance(raw, list):
        errors[path] = [_('Give a list of ["HH:MM", "HH:MM"] shifts.')]
        return []
    bad = False
    for index, pair in enumerate(raw):
        try:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise ValueError(_('a shift is ["HH:MM", "HH:MM"]'))
            parse_hours([pair])
        except ValueError as error:
            errors[f"{path}.{index}"] = [_("This shift is not valid: %(problem)s") % {"problem": error}]
            bad = True
    if bad:
        return []
    try:
        return format_hours(parse_hours(raw))
    except ValueError as error:
        errors[path] = [_("These hours are not valid: %(problem)s") % {"problem": error}]
        return []


def _dates(errors: dict[str, list[str]], path: str, raw: Any) -> list[date]:
    if not isinstance(raw, list):
        errors[path] = [_("Give a list of dates (YYYY-MM-DD).")]
        return []
    if len(raw) > MAX_DAYS:
        errors[path] = [_("At most %(count)d dates.") % {"count": MAX_DAYS}]
        return []
    found = []
    for index, item in enumerate(raw):
        try:
            found.append(date.fromisoformat(item) if isinstance(item, str) and len(item) == 10 else None)
        except ValueError:
            found.append(None)
        if found[-1] is None:
            errors[f"{path}.{index}"] = [_("Give a date as YYYY-MM-DD.")]
    if len(set(found)) != len(found) and not any(f is None for f in found):
        errors[path] = [_("A date is listed twice.")]
    return [day for day in found if day is not None]


@dataclass(frozen=True)
class CalendarSpec:
    time_zone: str
    always_open: bool
    official_calendar: bool
    week: dict[str, list[list[str]]]
    make_up_day_hours: list[list[str]]
    holidays: list[date]
    make_up_days: list[date]


def calendar_parse(document: Any) -> CalendarSpec:
    """Check a calendar document; ``DocumentError`` names each bad part's path."""
    errors: dict[str, list[str]] = {}
    if not isinstance(document, dict):
        raise DocumentError({"": [_("A calendar is a JSON object.")]})
    for key in sorted(set(document) - DOCUMENT_KEYS - {"inherited"}):
        errors[key] = [_("Unknown key.")]
    zone = document.get("time_zone", "Asia/Shanghai")
    try:
        if not isinstance(zone, str) or not zone or len(zone) > 64:
            raise ValueError(zone)
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        errors["time_zone"] = [_("%(zone)s is not a known time zone.") % {"zone": zone}]
    flags = {}
    for key, default in (("always_open", False), ("official_calendar", True)):
        value = document.get(key, default)
        if not isinstance(value, bool):
            errors[key] = [_("Give true or false.")]
        flags[key] = value is True
    raw_week = document.get("week", {})
    week: dict[str, list[list[str]]] = {}
    if not isinstance(raw_week, dict):
        errors["week"] = [_("Give the shifts of mon, tue, wed, thu, fri, sat and sun.")]
        raw_week = {}
    for key in sorted(set(raw_week) - set(WEEKDAYS)):
        errors[f"week.{key}"] = [_("Unknown day: use mon, tue, wed, thu, fri, sat or sun.")]
    for day in WEEKDAYS:
        week[day] = _hours(errors, f"week.{day}", raw_week.get(day, []))
    make_up_hours = _hours(errors, "make_up_day_hours", document.get("make_up_day_hours", []))
    holidays = _dates(errors, "holidays", document.get("holidays", []))
    make_up_days = _dates(errors, "make_up_days", document.get("make_up_days", []))
    both = sorted(set(holidays) & set(make_up_days))
    if both:
        errors["make_up_days"] = [
            _("%(day)s is also listed as a holiday: a day is one or the other.") % {"day": both[0].isoformat()}
        ]
    if not errors and not flags["always_open"] and not any(week.values()) and not make_up_days:
        errors["week"] = [_("Give some working hours, or make the calendar 24×7.")]
    if errors:
        raise DocumentError(errors)
    return CalendarSpec(
        time_zone=zone,
        always_open=flags["always_open"],
        official_calendar=flags["official_calendar"],
        week=week,
        make_up_day_hours=make_up_hours,
        holidays=sorted(holidays),
        make_up_days=sorted(make_up_days),
    )


@transaction.atomic
def calendar_save(*, key: str, document: Any, actor: User | None) -> BusinessCalendar:
    """Replace the calendar of ``key`` (a department code or ``default``) with the document's.

    Deadlines already set keep their moment; new ones count on the new calendar.
    """
    department = _department_of(key)
    spec = calendar_parse(document)
    row, _created = BusinessCalendar.objects.select_for_update().get_or_create(department=department)
    row.time_zone = spec.time_zone
    row.always_open = spec.always_open
    row.official_calendar = spec.official_calendar
    row.week = spec.week
    row.make_up_day_hours = spec.make_up_day_hours
    row.updated_by = actor
    row.save()
    names = {d.date: d.name for d in row.days.all()}
    row.days.all().delete()
    CalendarDay.objects.bulk_create(
        [CalendarDay(calendar=row, date=day, kind=DayKind.HOLIDAY, name=names.get(day, "")) for day in spec.holidays]
        + [
            CalendarDay(calendar=row, date=day, kind=DayKind.MAKE_UP, name=names.get(day, ""))
            for day in spec.make_up_days
        ]
    )
    return row


def calendar_reset(*, key: str) -> None:
    """A department goes back to the company calendar (its own is removed)."""
    department = _department_of(key)
    if department is None:
        raise DomainError(code="invalid", field="department", message=_("The company calendar stays."))
    BusinessCalendar.objects.filter(department=department).delete()
