"""Console screens for the SLA (SPEC §9.4, §9.5): business calendars, the official holidays, the
escalation ladders and the timer firings.

Everything reads as words: a week is "Mon–Fri 09:00–12:00, 13:30–18:00", a ladder "80 % of the
resolution deadline → Remind the assignee", a firing "Remind the assignee". Working hours are
typed as text ("09:00-12:00, 13:30-18:00") and checked with ``parse_hours``.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import cache
from itertools import pairwise

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from apps.common.i18n import localized
from apps.console import components
from apps.exceptions.calendar import format_hours, parse_hours
from apps.exceptions.calendars import WEEKDAYS as DAY_KEYS
from apps.exceptions.calendars import official_days_load, official_years, official_years_missing
from apps.exceptions.evidence import duration_text
from apps.exceptions.models import (
    BusinessCalendar,
    CalendarDay,
    DayKind,
    EscalationLadder,
    EscalationLevel,
    OfficialDay,
    TimerFiring,
)
from apps.rules.models import Severity
from workflows.document import format_duration, parse_duration

# SPEC §9.5: a breach is acted on within 2 s of its due time; a slower firing is marked late.
LAG_TARGET_MS = 2000
# The official-days banner lists this many of the latest years one by one, the rest as a range.
RECENT_YEARS = 4

# --- working hours as text --------------------------------------------------------------------

# One shift: "09:00-12:00" (also with –, —, ~, ～, 至 or "to", and spaces around it).
SHIFT_PATTERN = re.compile(r"(\d{1,2}):(\d{2})\s*(?:-|–|—|~|～|至|to)\s*(\d{1,2}):(\d{2})")
# What may stand between shifts: commas (also Chinese ones), semicolons, 、 and spaces.
BETWEEN_SHIFTS = re.compile(r"[\s,，;；、]*")


def _minute(hour: str, minute: str, *, is_end: bool) -> int | None:
    h, m = int(hour), int(minute)
    if m < 60 and (h < 24 or (is_end and h == 24 and m == 0)):
        return h * 60 + m
    return None


def hours_from_text(text: str) -> list[list[str]]:
    """``"09:00-12:00, 13:30-18:00"`` as ``[["09:00", "12:00"], ["13:30", "18:00"]]`` (empty: none).

    ``ValidationError`` names every problem in words a person can act on; ``parse_hours`` has the
    last word on what a day's hours may be.
    """
    text = (text or "").strip()
    errors: list[ValidationError] = []
    shifts: list[tuple[int, int, str]] = []
    cursor = 0
    for match in SHIFT_PATTERN.finditer(text):
        if not BETWEEN_SHIFTS.fullmatch(text[cursor : match.start()]):
            errors.append(_not_a_shift(text[cursor : match.start()]))
        cursor = match.end()
        start = _minute(match[1], match[2], is_end=False)
        end = _minute(match[3], match[4], is_end=True)
        shown = match[0].strip()
        if start is None or end is None:
            errors.append(
                ValidationError(
                    _("%(shift)s: a time of day is written 00:00 to 23:59 (24:00 as the end of the day)."),
                    code="invalid_time",
                    params={"shift": shown},
                )
            )
        elif end <= start:
            errors.append(
                ValidationError(
                    _("%(shift)s: the end must be after the start."), code="end_before_start", params={"shift": shown}
                )
            )
        else:
            shifts.append((start, end, shown))
    if not BETWEEN_SHIFTS.fullmatch(text[cursor:]):
        errors.append(_not_a_shift(text[cursor:]))
    shifts.sort()
    for (_s1, end1, first), (start2, _e2, second) in pairwise(shifts):
        if start2 < end1:
            errors.append(
                ValidationError(
                    _("%(first)s and %(second)s overlap."), code="overlap", params={"first": first, "second": second}
                )
            )
    if errors:
        raise ValidationError(errors)
    pairs = [[_clock(start), _clock(end)] for start, end, _shown in shifts]
    try:
        return format_hours(parse_hours(pairs))
    except ValueError as error:
        raise ValidationError(_("These hours are not valid."), code="invalid") from error


def _not_a_shift(piece: str) -> ValidationError:
    return ValidationError(
        _("“%(text)s” is not a shift: write each as 09:00-12:00, separated by commas."),
        code="not_a_shift",
        params={"text": piece.strip(" ,，;；、")},
    )


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hours_text(hours: list | None, *, dash: str = "-") -> str:
    """``[["09:00", "12:00"], ["13:30", "18:00"]]`` as ``"09:00-12:00, 13:30-18:00"``."""
    return ", ".join(f"{start}{dash}{end}" for start, end in hours or [])


def week_text(calendar: BusinessCalendar) -> str:
    """The week in words: ``Mon–Fri 09:00–12:00, 13:30–18:00; Sat 08:00–12:00`` (days off left out)."""
    if calendar.always_open:
        return gettext("Open around the clock, every day")
    week = calendar.week or {}
    days = [(index, hours_text(week.get(key), dash="–")) for index, key in enumerate(DAY_KEYS)]
    groups: list[list] = []  # [first index, last index, hours]
    for index, hours in days:
        if groups and groups[-1][2] == hours and groups[-1][1] == index - 1:
            groups[-1][1] = index
        else:
            groups.append([index, index, hours])
    parts = []
    for first, last, hours in groups:
        if not hours:
            continue
        if first == last:
            span = str(WEEKDAYS_ABBR[first])
        else:
            span = pgettext("weekday range", "%(first)s–%(last)s") % {
                "first": WEEKDAYS_ABBR[first],
                "last": WEEKDAYS_ABBR[last],
            }
        parts.append(f"{span} {hours}")
    return "; ".join(parts) if parts else gettext("No working hours")


# --- business calendars -----------------------------------------------------------------------


@cache
def _time_zones() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


def _day_field(index: int) -> forms.CharField:
    return forms.CharField(
        label=WEEKDAYS[index],
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": _("Day off"), "autocomplete": "off"}),
    )


class BusinessCalendarForm(forms.ModelForm):
    """The week as seven text inputs ("09:00-12:00, 13:30-18:00"; empty: a day off)."""

    time_zone = forms.ChoiceField(label=capfirst(_("time zone")), choices=_time_zones, widget=UnfoldAdminSelectWidget)
    mon = _day_field(0)
    tue = _day_field(1)
    wed = _day_field(2)
    thu = _day_field(3)
    fri = _day_field(4)
    sat = _day_field(5)
    sun = _day_field(6)
    make_up_hours = forms.CharField(
        label=capfirst(_("hours of a make-up working day")),
        required=False,
        help_text=_("A weekend day made a working day (调休) keeps these hours. Empty: Monday's."),
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": _("Same as Monday"), "autocomplete": "off"}),
    )

    class Meta:
        model = BusinessCalendar
        fields = ("department", "time_zone", "always_open", "official_calendar")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        week = self.instance.week or {}
        for key in DAY_KEYS:
            self.initial.setdefault(key, hours_text(week.get(key)))
        self.initial.setdefault("make_up_hours", hours_text(self.instance.make_up_day_hours))

    def clean(self):
        data = super().clean()
        week = {}
        for key in DAY_KEYS:
            try:
                week[key] = hours_from_text(data.get(key, ""))
            except ValidationError as error:
                self.add_error(key, error)
        try:
            data["make_up_day_hours"] = hours_from_text(data.get("make_up_hours", ""))
        except ValidationError as error:
            self.add_error("make_up_hours", error)
        if len(week) == len(DAY_KEYS):
            data["week"] = week
            if not data.get("always_open") and not any(week.values()):
                self.add_error(None, _("Give some working hours, or make the calendar 24×7."))
        return data

    def save(self, commit=True):
        self.instance.week = self.cleaned_data["week"]
        self.instance.make_up_day_hours = self.cleaned_data["make_up_day_hours"]
        return super().save(commit=commit)


class CalendarDayInline(TabularInline):
    model = CalendarDay
    fields = ("date", "kind", "name")
    ordering = ("date",)
    extra = 0
    hide_title = True
    verbose_name = _("company holiday or make-up day")
    verbose_name_plural = _("company holidays and make-up days")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ModelAdmin):
    """The company calendar and each department's own; a department without one works on the company's."""

    form = BusinessCalendarForm
    inlines = (CalendarDayInline,)
    list_display = ("calendar_name", "time_zone", "always_open", "official_calendar", "hours", "own_days")
    list_display_links = ("calendar_name",)
    list_select_related = ("department",)
    list_before_template = "admin/exceptions/og_sla_list.html"
    ordering = ("department__code",)
    fieldsets = (
        (None, {"fields": ("department", "time_zone", "always_open", "official_calendar")}),
        (
            _("Working hours"),
            {
                "description": _(
                    "Write each day's shifts as 09:00-12:00, 13:30-18:00. Leave a day empty for a day off."
                ),
                "fields": (*DAY_KEYS, "make_up_hours"),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        # A calendar belongs to its department for good; another department gets a calendar of its own.
        return ("department",) if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("days")

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("calendar"), ordering="department__code")
    def calendar_name(self, obj: BusinessCalendar) -> str:
        return obj.department.display_name if obj.department_id else gettext("Company calendar")

    @admin.display(description=_("working hours"))
    def hours(self, obj: BusinessCalendar):
        return format_html('<span class="og-sla-phrase">{}</span>', week_text(obj))

    @admin.display(description=_("company holidays and make-up days"))
    def own_days(self, obj: BusinessCalendar):
        days = list(obj.days.all())
        holidays = sum(1 for day in days if day.kind == DayKind.HOLIDAY)
        make_up = len(days) - holidays
        if not days:
            return components.DASH
        parts = []
        if holidays:
            parts.append(ngettext("%(count)d holiday", "%(count)d holidays", holidays) % {"count": holidays})
        if make_up:
            parts.append(ngettext("%(count)d make-up day", "%(count)d make-up days", make_up) % {"count": make_up})
        return ", ".join(parts)


# --- official holidays ------------------------------------------------------------------------


@cache
def _package_names() -> dict[str, str]:
    """The chinese-calendar package's holiday names, English to Chinese (it ships both)."""
    from chinese_calendar.constants import Holiday

    return {holiday.value: holiday.chinese for holiday in Holiday}


def official_day_name(day: OfficialDay) -> str:
    """The day's name in the page's language (the package's names come in both)."""
    chinese = _package_names().get(day.name)
    return localized(chinese, day.name) if chinese else day.name


def day_text(value: date) -> str:
    """``2026年10月1日 星期四`` / ``Oct. 1, 2026 (Thursday)``."""
    return pgettext("date and weekday", "%(date)s (%(weekday)s)") % {
        "date": date_format(value, "DATE_FORMAT"),
        "weekday": WEEKDAYS[value.weekday()],
    }


class YearFilter(admin.SimpleListFilter):
    """One year at a time, this year first: the years a person checks are this one and the next."""

    title = _("year")
    parameter_name = "year"
    ALL = "all"

    def lookups(self, request, model_admin):
        years = {day.year for day in OfficialDay.objects.dates("date", "year")}
        years.add(timezone.localdate().year)
        return [(str(year), str(year)) for year in sorted(years, reverse=True)]

    def value(self):
        return super().value() or str(timezone.localdate().year)

    def choices(self, changelist):
        current = self.value()
        yield {
            "selected": current == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": _("All years"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL or not value.isdigit():
            return queryset
        return queryset.filter(date__year=int(value))


class OfficialDayForm(forms.ModelForm):
    class Meta:
        model = OfficialDay
        fields = ("date", "kind", "name")


@admin.register(OfficialDay)
class OfficialDayAdmin(ModelAdmin):
    """The State Council's holidays and make-up days: loaded from the package, completed by admins."""

    form = OfficialDayForm
    list_display = ("day", "kind_label", "name_display", "source")
    list_display_links = ("day",)
    list_filter = (YearFilter, "kind", "source")
    ordering = ("date",)
    search_fields = ("name",)
    list_per_page = 100
    list_before_template = "admin/exceptions/og_official_years.html"
    readonly_fields = ("source",)

    def get_urls(self):
        load = path(
            "load/",
            self.admin_site.admin_view(self.load_view),
            name="exceptions_officialday_load",
        )
        return [load, *super().get_urls()]

    def get_fields(self, request, obj=None):
        return ("date", "kind", "name", "source") if obj is not None else ("date", "kind", "name")

    def changelist_view(self, request, extra_context=None):
        years = official_years()
        context = {
            "official_recent_years": years[-RECENT_YEARS:],
            "official_older_years": years[:-RECENT_YEARS],
            "official_missing_years": ", ".join(str(year) for year in official_years_missing()),
            "official_missing_count": len(official_years_missing()),
            "official_may_load": self.has_add_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def load_view(self, request: HttpRequest):
        """POST: copy the package's days that are not here yet, and say how many were added."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        added = official_days_load()
        if added:
            messages.success(
                request,
                ngettext(
                    "%(count)d day was added from the chinese-calendar package.",
                    "%(count)d days were added from the chinese-calendar package.",
                    added,
                )
                % {"count": added},
            )
        else:
            messages.info(request, gettext("The chinese-calendar package has no day that is not here already."))
        return HttpResponseRedirect(reverse("admin:exceptions_officialday_changelist"))

    def save_model(self, request, obj, form, change):
        # A row an admin wrote or corrected is theirs: loading the package again keeps it.
        obj.source = OfficialDay.Source.ADMIN
        super().save_model(request, obj, form, change)

    @admin.display(description=_("date"), ordering="date")
    def day(self, obj: OfficialDay) -> str:
        return day_text(obj.date)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: OfficialDay):
        return components.badge(kind=obj.kind, label=obj.get_kind_display())

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: OfficialDay) -> str:
        return official_day_name(obj)


# --- escalation ladders -----------------------------------------------------------------------

CLOCK_PHRASES = {
    EscalationLevel.Clock.RESOLUTION: pgettext_lazy("ladder", "the resolution deadline"),
    EscalationLevel.Clock.FIRST_RESPONSE: pgettext_lazy("ladder", "the first-response deadline"),
}


def period_text(after: str) -> str:
    """``"90m"`` as "1 h 30 min", ``"45s"`` as "45 s"; what it is if it does not parse."""
    delta = parse_duration(after)
    if delta is None:
        return after
    seconds = int(delta.total_seconds())
    if seconds % 60:
        return gettext("%(seconds)d s") % {"seconds": seconds}
    return duration_text(seconds // 60)


def level_moment(level: EscalationLevel) -> str:
    """When a level acts: "80 % of the resolution deadline", "at the resolution deadline"…"""
    clock = CLOCK_PHRASES.get(level.clock, level.clock)
    if level.trigger == EscalationLevel.Trigger.SHARE:
        return pgettext("ladder", "%(share)s %% of %(clock)s") % {"share": level.share_percent, "clock": clock}
    if level.trigger == EscalationLevel.Trigger.AFTER_BREACH:
        return pgettext("ladder", "%(period)s after %(clock)s") % {"period": period_text(level.after), "clock": clock}
    return pgettext("ladder", "at %(clock)s") % {"clock": clock}


def level_text(level: EscalationLevel) -> str:
    """One rung in words: "80 % of the resolution deadline → Remind the assignee"."""
    return pgettext("ladder", "%(moment)s → %(action)s") % {
        "moment": level_moment(level),
        "action": level.get_action_display(),
    }


class EscalationLevelForm(forms.ModelForm):
    """A share needs its percentage, a period after the breach its period; the other field is cleared."""

    class Meta:
        model = EscalationLevel
        fields = ("position", "clock", "trigger", "share_percent", "after", "action")
        # Numbers and periods are short, the choices long: without these the choices are cut off.
        widgets = {
            "position": UnfoldAdminIntegerFieldWidget(attrs={"style": "width:3.5rem"}),
            "share_percent": UnfoldAdminIntegerFieldWidget(attrs={"style": "width:4.5rem"}),
            "after": UnfoldAdminTextInputWidget(attrs={"style": "width:5rem", "autocomplete": "off"}),
            "clock": UnfoldAdminSelectWidget(attrs={"style": "min-width:10.5rem"}),
            "trigger": UnfoldAdminSelectWidget(attrs={"style": "min-width:12rem"}),
            "action": UnfoldAdminSelectWidget(attrs={"style": "min-width:12rem"}),
        }

    def clean(self):
        data = super().clean()
        trigger = data.get("trigger")
        if trigger == EscalationLevel.Trigger.SHARE:
            share = data.get("share_percent")
            if share is None and "share_percent" not in self.errors:
                self.add_error("share_percent", _("Give how much of the deadline has passed, from 1 to 99 %."))
            elif share is not None and not 1 <= share <= 99:
                self.add_error("share_percent", _("A share is between 1 and 99 %."))
        elif trigger:
            data["share_percent"] = None
        if trigger == EscalationLevel.Trigger.AFTER_BREACH:
            after = (data.get("after") or "").strip()
            period = parse_duration(after)
            if not after:
                self.add_error("after", _("Give the period after the breach, such as 30m, 2h or 1d."))
            elif period is None:
                self.add_error(
                    "after",
                    _("“%(value)s” is not a period: write a number and m, h or d (30m, 2h, 1d; s for seconds).")
                    % {"value": after},
                )
            else:
                data["after"] = format_duration(period)
        elif trigger:
            data["after"] = ""
        return data


class EscalationLevelInline(TabularInline):
    model = EscalationLevel
    form = EscalationLevelForm
    fields = ("position", "clock", "trigger", "share_percent", "after", "action")
    ordering = ("position", "id")
    extra = 0
    hide_title = True  # "High #2" says nothing the row does not
    max_num = 10  # ladders.MAX_LEVELS: the configuration API accepts no more either


SEVERITY_ORDER = Case(
    *[When(severity=value, then=Value(index)) for index, value in enumerate(Severity.values)],
    output_field=IntegerField(),
)


@admin.register(EscalationLadder)
class EscalationLadderAdmin(ModelAdmin):
    """One ladder per severity; tasks already open keep the timeline they were given."""

    inlines = (EscalationLevelInline,)
    list_display = ("severity_badge", "levels_text", "updated_at", "updated_by")
    list_display_links = ("severity_badge",)
    list_select_related = ("updated_by",)
    list_before_template = "admin/exceptions/og_sla_list.html"
    fields = ("severity",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("levels")

    def get_ordering(self, request):
        # Most severe first, as everywhere else (the severity codes sort alphabetically otherwise).
        return (SEVERITY_ORDER.asc(),)

    def get_readonly_fields(self, request, obj=None):
        return ("severity",) if obj is not None else ()

    def has_add_permission(self, request):
        # One ladder per severity: nothing to add once every severity has one.
        taken = set(EscalationLadder.objects.values_list("severity", flat=True))
        return super().has_add_permission(request) and bool(set(Severity.values) - taken)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "severity":
            taken = set(EscalationLadder.objects.values_list("severity", flat=True))
            kwargs["choices"] = [(value, label) for value, label in Severity.choices if value not in taken]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("severity"), ordering=SEVERITY_ORDER)
    def severity_badge(self, obj: EscalationLadder):
        return components.badge(kind=obj.severity, label=obj.get_severity_display())

    @admin.display(description=_("levels"))
    def levels_text(self, obj: EscalationLadder):
        levels = sorted(obj.levels.all(), key=lambda level: (level.position, level.pk))
        if not levels:
            return format_html('<span class="og-muted">{}</span>', gettext("No escalation"))
        lines = format_html_join("", "<span>{}</span>", ((level_text(level),) for level in levels))
        return format_html('<span class="og-sla-phrase">{}</span>', lines)


# --- timer firings ----------------------------------------------------------------------------

FIRED_ACTIONS = {
    "breach": pgettext_lazy("timer action", "Breach recorded"),
    **dict(EscalationLevel.Action.choices),
}


class LagFilter(admin.SimpleListFilter):
    title = _("lag")
    parameter_name = "lag"

    def lookups(self, request, model_admin):
        return (("late", _("Later than 2 s")), ("on_time", _("Within 2 s")))

    def queryset(self, request, queryset):
        if self.value() == "late":
            return queryset.filter(lag_ms__gt=LAG_TARGET_MS)
        if self.value() == "on_time":
            return queryset.filter(lag_ms__lte=LAG_TARGET_MS)
        return queryset


@admin.register(TimerFiring)
class TimerFiringAdmin(ModelAdmin):
    """Read-only: every SLA timer that fired, with how late it fired (the handling engine writes these)."""

    list_display = ("fired", "due", "lag", "actions_text", "exception_link")
    list_display_links = ("fired",)
    list_filter = (LagFilter,)
    list_before_template = "admin/exceptions/og_sla_list.html"
    list_select_related = ("exception__rule",)
    date_hierarchy = "fired_at"
    ordering = ("-fired_at", "-id")
    show_full_result_count = False
    list_per_page = 100
    fields = ("fired", "due", "lag", "actions_text", "exception_link")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("fired at"), ordering="fired_at")
    def fired(self, obj: TimerFiring) -> str:
        return components.when(obj.fired_at)

    @admin.display(description=_("due at"), ordering="due_at")
    def due(self, obj: TimerFiring) -> str:
        return components.when(obj.due_at)

    @admin.display(description=_("lag"), ordering="lag_ms")
    def lag(self, obj: TimerFiring):
        text = gettext("%(ms)s ms") % {"ms": obj.lag_ms}
        if obj.lag_ms > LAG_TARGET_MS:
            return format_html("{} {}", text, components.badge(kind="overdue", label=gettext("late")))
        return text

    @admin.display(description=_("actions"))
    def actions_text(self, obj: TimerFiring):
        if not obj.actions:
            return format_html('<span class="og-muted">{}</span>', gettext("Nothing left to do"))
        return components.labels(FIRED_ACTIONS.get(action, action) for action in obj.actions)

    @admin.display(description=_("exception"), ordering="exception")
    def exception_link(self, obj: TimerFiring):
        exception = obj.exception
        label = f"#{exception.pk} {exception.rule.display_name}"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:exceptions_orderexception_change", args=[exception.pk]), label
        )
