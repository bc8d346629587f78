"""The SLA screens of the console (SPEC §9.4, §9.5): calendars edited as text, the official holidays
with their coverage and the package loader, escalation ladders in words with checked levels, the
timer firings, and the dashboard's timer health."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from apps.accounts.models import Department
from apps.exceptions.models import (
    BusinessCalendar,
    CalendarDay,
    EscalationLadder,
    Heartbeat,
    OfficialDay,
    OrderException,
    TimerFiring,
)
from apps.exceptions.sla_admin import hours_from_text, week_text

pytestmark = pytest.mark.django_db

SLA_MODELS = ("businesscalendar", "calendarday", "officialday", "escalationladder", "escalationlevel")
FLOW_REF = "workflows/tests.SlaConsoleFlow"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _text(response) -> str:
    """The page as a person reads it: tags and scripts dropped, entities decoded."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _company() -> BusinessCalendar:
    return BusinessCalendar.objects.get(department__isnull=True)


# --- pages open ---------------------------------------------------------------------------------


def test_the_admin_role_may_configure_calendars_ladders_and_read_firings(admin_user):
    for model in SLA_MODELS:
        assert admin_user.has_perm(f"exceptions.change_{model}"), model
    assert admin_user.has_perm("exceptions.view_timerfiring")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_sla_screen_opens_for_an_admin_in_both_languages(admin_client, language):
    admin_client.cookies["django_language"] = language
    ladder = EscalationLadder.objects.get(severity="high")
    pages = [
        reverse("admin:exceptions_businesscalendar_changelist"),
        reverse("admin:exceptions_businesscalendar_change", args=[_company().pk]),
        reverse("admin:exceptions_businesscalendar_add"),
        reverse("admin:exceptions_officialday_changelist"),
        reverse("admin:exceptions_officialday_changelist") + "?year=all",
        reverse("admin:exceptions_officialday_add"),
        reverse("admin:exceptions_escalationladder_changelist"),
        reverse("admin:exceptions_escalationladder_change", args=[ladder.pk]),
        reverse("admin:exceptions_timerfiring_changelist"),
        reverse("admin:accounts_department_changelist"),
        reverse("admin:index"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == language
        # Hours and ladders read as words, never as the JSON they are stored as.
        assert '[["' not in _text(response), url


@pytest.mark.business_calendars
def test_the_calendar_list_reads_the_week_in_words(admin_client):
    text = _text(admin_client.get(reverse("admin:exceptions_businesscalendar_changelist")))
    assert "Company calendar" in text
    assert "Mon–Fri 09:00–12:00, 13:30–18:00" in text
    # The seeded warehouse works Monday to Saturday, customer service every day from 08:00 to 22:00.
    assert "Mon–Sat 08:00–12:00, 13:00–20:00" in text
    assert "Mon–Sun 08:00–22:00" in text
    BusinessCalendar.objects.filter(department__code="warehouse").update(always_open=True)
    text = _text(admin_client.get(reverse("admin:exceptions_businesscalendar_changelist")))
    assert "Open around the clock, every day" in text


def test_a_week_is_summarised_by_runs_of_days_with_the_same_hours():
    shift = [["09:00", "12:00"], ["13:30", "18:00"]]
    calendar = BusinessCalendar(
        always_open=False,
        week={"mon": shift, "tue": shift, "wed": [["09:00", "12:00"]], "thu": shift, "fri": shift, "sat": []},
    )
    assert week_text(calendar) == (
        "Mon–Tue 09:00–12:00, 13:30–18:00; Wed 09:00–12:00; Thu–Fri 09:00–12:00, 13:30–18:00"
    )
    assert week_text(BusinessCalendar(always_open=False, week={})) == "No working hours"


# --- the calendar form --------------------------------------------------------------------------


def _calendar_form(calendar: BusinessCalendar, days: list[dict] | None = None, **week) -> dict:
    data = {
        "time_zone": calendar.time_zone,
        "official_calendar": "on",
        "mon": "09:00-12:00, 13:30-18:00",
        "tue": "09:00-12:00, 13:30-18:00",
        "wed": "09:00-12:00, 13:30-18:00",
        "thu": "09:00-12:00, 13:30-18:00",
        "fri": "09:00-12:00, 13:30-18:00",
        "sat": "",
        "sun": "",
        "make_up_hours": "",
        "days-TOTAL_FORMS": str(len(days or [])),
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, day in enumerate(days or []):
        for key, value in day.items():
            data[f"days-{index}-{key}"] = value
    data.update(week)
    return data


def test_the_calendar_form_turns_the_typed_week_into_the_stored_hours(admin_client, admin_user):
    calendar = _company()
    url = reverse("admin:exceptions_businesscalendar_change", args=[calendar.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="mon" value="09:00-12:00, 13:30-18:00"' in page
    saturday = re.search(r'<input[^>]*name="sat"[^>]*>', page).group(0)
    assert 'placeholder="Day off"' in saturday and 'value="' not in saturday.replace('value=""', "")

    response = admin_client.post(
        url,
        _calendar_form(
            calendar,
            days=[{"date": "2026-12-31", "kind": "holiday", "name": "年会"}],
            mon="8:30 - 12:00，13:00-17:30",
            sat="09:00-12:00",
            make_up_hours="10:00-16:00",
        ),
    )
    assert response.status_code == 302, _text(response)[:3000]
    calendar.refresh_from_db()
    assert calendar.week["mon"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert calendar.week["tue"] == [["09:00", "12:00"], ["13:30", "18:00"]]
    assert calendar.week["sat"] == [["09:00", "12:00"]]
    assert calendar.week["sun"] == []
    assert calendar.make_up_day_hours == [["10:00", "16:00"]]
    assert calendar.always_open is False
    assert calendar.updated_by == admin_user
    day = CalendarDay.objects.get(calendar=calendar)
    assert (day.date, day.kind, day.name) == (dt.date(2026, 12, 31), "holiday", "年会")

    again = admin_client.get(url).content.decode()
    assert 'name="mon" value="08:30-12:00, 13:00-17:30"' in again
    assert 'name="make_up_hours" value="10:00-16:00"' in again


@pytest.mark.parametrize(
    ("day", "typed", "message"),
    [
        ("tue", "9-12", "“9-12” is not a shift: write each as 09:00-12:00, separated by commas."),
        ("wed", "18:00-09:00", "18:00-09:00: the end must be after the start."),
        ("thu", "09:00-12:00, 11:00-14:00", "09:00-12:00 and 11:00-14:00 overlap."),
        ("fri", "09:00-25:00", "09:00-25:00: a time of day is written 00:00 to 23:59 (24:00 as the end of the day)."),
    ],
)
def test_hours_that_are_not_shifts_are_refused_on_their_day(admin_client, day, typed, message):
    calendar = _company()
    before = calendar.week
    url = reverse("admin:exceptions_businesscalendar_change", args=[calendar.pk])
    response = admin_client.post(url, _calendar_form(calendar, **{day: typed}))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == [day]
    assert form.errors[day] == [message]
    assert message in _text(response)
    calendar.refresh_from_db()
    assert calendar.week == before


def test_a_calendar_without_hours_must_be_24x7(admin_client):
    calendar = _company()
    empty = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "")
    url = reverse("admin:exceptions_businesscalendar_change", args=[calendar.pk])
    response = admin_client.post(url, _calendar_form(calendar, **empty))
    assert response.status_code == 200
    assert "Give some working hours, or make the calendar 24×7." in _text(response)
    response = admin_client.post(url, {**_calendar_form(calendar, **empty), "always_open": "on"})
    assert response.status_code == 302


def test_one_date_is_listed_once_per_calendar(admin_client):
    calendar = _company()
    url = reverse("admin:exceptions_businesscalendar_change", args=[calendar.pk])
    days = [{"date": "2026-12-31", "kind": "holiday"}, {"date": "2026-12-31", "kind": "make_up"}]
    response = admin_client.post(url, _calendar_form(calendar, days=days))
    assert response.status_code == 200
    assert not CalendarDay.objects.filter(calendar=calendar).exists()


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("", []),
        ("09:00-18:00", [["09:00", "18:00"]]),
        ("13:30-18:00, 09:00-12:00", [["09:00", "12:00"], ["13:30", "18:00"]]),
        ("9:00至12:00；13:30~18:00", [["09:00", "12:00"], ["13:30", "18:00"]]),
        ("09:00 – 12:00 13:00 – 24:00", [["09:00", "12:00"], ["13:00", "24:00"]]),
        ("09:00-12:00, 12:00-18:00", [["09:00", "12:00"], ["12:00", "18:00"]]),
    ],
)
def test_shifts_are_read_in_the_ways_people_type_them(typed, hours):
    assert hours_from_text(typed) == hours


# --- official days ------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False)
def test_the_official_days_list_shows_the_years_and_warns_that_next_year_is_missing(admin_client):
    url = reverse("admin:exceptions_officialday_changelist")
    response = admin_client.get(url)
    text = _text(response)
    assert "Years in the official calendar" in text
    html = response.content.decode()
    row = re.search(r'<tr data-year="2026">(.*?)</tr>', html, re.S).group(1)
    holidays = OfficialDay.objects.filter(date__year=2026, kind="holiday").count()
    assert f">{holidays}<" in row and "chinese-calendar package" in row
    assert "data-official-missing" in html
    assert "2027 has no public holidays yet" in text
    # The list opens on this year's days, with the package's names in the page's language.
    listed = response.context["cl"].result_count
    assert listed == OfficialDay.objects.filter(date__year=2026).count()
    assert "Spring Festival" in text

    admin_client.cookies["django_language"] = "zh-hans"
    assert "春节" in _text(admin_client.get(url))
    admin_client.cookies["django_language"] = "en"

    # An admin adds a holiday of 2027: the year is covered, as entered by an admin.
    added = admin_client.post(
        reverse("admin:exceptions_officialday_add"), {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}
    )
    assert added.status_code == 302
    assert OfficialDay.objects.get(date=dt.date(2027, 1, 1)).source == OfficialDay.Source.ADMIN
    response = admin_client.get(url)
    assert "data-official-missing" not in response.content.decode()
    row = re.search(r'<tr data-year="2027">(.*?)</tr>', response.content.decode(), re.S).group(1)
    assert "Entered by an admin" in row


def test_the_year_and_kind_filters_narrow_the_list(admin_client):
    url = reverse("admin:exceptions_officialday_changelist")
    response = admin_client.get(url, {"year": "2025", "kind__exact": "make_up"})
    assert response.context["cl"].result_count == OfficialDay.objects.filter(date__year=2025, kind="make_up").count()
    everything = admin_client.get(url, {"year": "all"})
    assert everything.context["cl"].result_count == OfficialDay.objects.count()


def test_loading_from_the_package_adds_the_missing_days_and_says_how_many(admin_client):
    url = reverse("admin:exceptions_officialday_load")
    OfficialDay.objects.filter(date__year=2025).delete()
    OfficialDay.objects.create(date=dt.date(2025, 1, 1), kind="holiday", name="元旦 (公司)", source="admin")
    from chinese_calendar import constants

    expected = sum(1 for day in [*constants.holidays, *constants.workdays] if day.year == 2025) - 1
    response = admin_client.post(url, follow=True)
    assert response.status_code == 200
    assert f"{expected} days were added from the chinese-calendar package." in _text(response)
    # The admin's own row stays as it was.
    kept = OfficialDay.objects.get(date=dt.date(2025, 1, 1))
    assert (kept.name, kept.source) == ("元旦 (公司)", "admin")

    again = admin_client.post(url, follow=True)
    assert "The chinese-calendar package has no day that is not here already." in _text(again)
    assert admin_client.get(url).status_code == 405


def test_a_manager_may_not_load_the_package(client, manager_user):
    client.force_login(manager_user)
    before = OfficialDay.objects.count()
    OfficialDay.objects.filter(date__year=2025).delete()
    response = client.post(reverse("admin:exceptions_officialday_load"))
    assert response.status_code == 403
    assert OfficialDay.objects.count() < before


# --- escalation ladders -------------------------------------------------------------------------


def _ladder_form(ladder: EscalationLadder, levels: list[dict]) -> dict:
    existing = list(ladder.levels.order_by("position", "id"))
    data = {
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": str(len(existing)),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "10",
        "_save": "Save",
    }
    for index, level in enumerate(levels):
        row = {"position": str(index), "clock": "resolution", "share_percent": "", "after": "", **level}
        if index < len(existing):
            row["id"] = str(existing[index].pk)
            row["ladder"] = str(ladder.pk)
        for key, value in row.items():
            data[f"levels-{index}-{key}"] = value
    return data


def test_the_ladder_list_reads_each_level_in_words_by_severity(admin_client):
    response = admin_client.get(reverse("admin:exceptions_escalationladder_changelist"))
    text = _text(response)
    assert "80 % of the resolution deadline → Remind the assignee" in text
    assert "at the resolution deadline → Notify the lead and mark escalated" in text
    assert "2 h after the resolution deadline → Open a manager approval" in text
    assert "at the first-response deadline → Notify the lead and mark escalated" in text
    severities = [row.severity for row in response.context["cl"].result_list]
    assert severities == ["urgent", "high", "medium", "low"]


def test_an_admin_edits_a_ladder_and_the_periods_are_kept_in_their_shortest_form(admin_client, admin_user):
    ladder = EscalationLadder.objects.get(severity="low")
    url = reverse("admin:exceptions_escalationladder_change", args=[ladder.pk])
    levels = [
        {"trigger": "share", "share_percent": "50", "action": "remind", "after": "2h"},
        {"trigger": "breach", "action": "notify_lead", "share_percent": "80"},
        {"trigger": "after_breach", "after": "120m", "action": "approval"},
    ]
    response = admin_client.post(url, _ladder_form(ladder, levels))
    assert response.status_code == 302, _text(response)[:3000]
    saved = list(ladder.levels.order_by("position").values_list("trigger", "share_percent", "after", "action"))
    assert saved == [
        ("share", 50, "", "remind"),
        ("breach", None, "", "notify_lead"),
        ("after_breach", None, "2h", "approval"),
    ]
    ladder.refresh_from_db()
    assert ladder.updated_by == admin_user


@pytest.mark.parametrize(
    ("level", "field", "message"),
    [
        ({"trigger": "share", "action": "remind"}, "share_percent", "Give how much of the deadline has passed"),
        ({"trigger": "share", "share_percent": "100", "action": "remind"}, "share_percent", "between 1 and 99 %"),
        ({"trigger": "share", "share_percent": "0", "action": "remind"}, "share_percent", "between 1 and 99 %"),
        ({"trigger": "after_breach", "action": "approval"}, "after", "Give the period after the breach"),
        ({"trigger": "after_breach", "after": "2 hours", "action": "approval"}, "after", "is not a period"),
    ],
)
def test_a_level_missing_its_share_or_period_is_refused_on_that_field(admin_client, level, field, message):
    ladder = EscalationLadder.objects.get(severity="medium")
    before = list(ladder.levels.values_list("trigger", "share_percent", "after"))
    url = reverse("admin:exceptions_escalationladder_change", args=[ladder.pk])
    response = admin_client.post(url, _ladder_form(ladder, [{"trigger": "breach", "action": "notify_lead"}, level]))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert list(formset.errors[1]) == [field]
    assert message in " ".join(formset.errors[1][field])
    assert message in _text(response)
    assert list(ladder.levels.values_list("trigger", "share_percent", "after")) == before


def test_every_severity_has_its_ladder_so_none_is_added(admin_client):
    assert admin_client.get(reverse("admin:exceptions_escalationladder_add")).status_code == 403
    EscalationLadder.objects.filter(severity="low").delete()
    page = admin_client.get(reverse("admin:exceptions_escalationladder_add"))
    assert page.status_code == 200
    choices = [value for value, _label in page.context["adminform"].form.fields["severity"].choices if value]
    assert choices == ["low"]


# --- timer firings and the dashboard ------------------------------------------------------------


@pytest.fixture
def exception(raised) -> OrderException:
    return raised.order_by("pk").first()


def _fire(exception: OrderException, *, lag_ms: int, ago: dt.timedelta, actions=("remind",)) -> TimerFiring:
    fired = timezone.now() - ago
    return TimerFiring.objects.create(
        timer_task_id=TimerFiring.objects.count() + 1,
        exception=exception,
        due_at=fired - dt.timedelta(milliseconds=lag_ms),
        fired_at=fired,
        lag_ms=lag_ms,
        actions=list(actions),
    )


def test_the_firings_list_shows_the_lag_and_the_actions_in_words(admin_client, exception):
    _fire(exception, lag_ms=340, ago=dt.timedelta(minutes=3), actions=["breach", "notify_lead"])
    _fire(exception, lag_ms=2600, ago=dt.timedelta(minutes=2), actions=[])
    url = reverse("admin:exceptions_timerfiring_changelist")
    response = admin_client.get(url)
    text = _text(response)
    assert "340 ms" in text and "2600 ms late" in text
    assert "Breach recorded" in text and "Notify the lead and mark escalated" in text
    assert "Nothing left to do" in text
    assert f"/admin/exceptions/orderexception/{exception.pk}/change/" in response.content.decode()
    assert admin_client.get(url, {"lag": "late"}).context["cl"].result_count == 1
    assert admin_client.get(reverse("admin:exceptions_timerfiring_add")).status_code == 403


def _dashboard(client) -> str:
    return client.get(reverse("admin:index")).content.decode()


def test_the_dashboard_shows_the_lag_percentiles_of_the_last_hour(admin_client, exception):
    for n in range(1, 21):  # 50, 100, …, 1000 ms
        _fire(exception, lag_ms=50 * n, ago=dt.timedelta(minutes=n))
    _fire(exception, lag_ms=99_000, ago=dt.timedelta(minutes=61))  # outside the hour
    html = _dashboard(admin_client)
    lag = {name: re.search(rf'data-lag="{name}">([^<]*)<', html).group(1) for name in ("p50", "p95", "max")}
    assert lag == {"p50": "500 ms", "p95": "950 ms", "max": "1000 ms"}
    assert "20 firings; the target is within 2 s of the due time." in html
    assert "slower than the target" not in html


def test_a_slow_hour_is_marked_against_the_target(admin_client, exception):
    _fire(exception, lag_ms=2500, ago=dt.timedelta(minutes=1))
    html = _dashboard(admin_client)
    assert re.search(r'data-lag="p95">2500 ms<', html)
    assert "slower than the target" in html


def test_without_firings_the_panel_says_so(admin_client):
    assert "No firings in the last hour." in _dashboard(admin_client)


def test_the_open_clocks_are_the_scheduled_timers(admin_client):
    process = Process.objects.create(flow_class=FLOW_REF)
    soon = timezone.now() + dt.timedelta(minutes=5)
    for status, scheduled in (("SCHEDULED", soon), ("SCHEDULED", soon), ("SCHEDULED", None), ("DONE", soon)):
        Task.objects.create(
            process=process, flow_task=f"{FLOW_REF}.wait", flow_task_type="TIMER", status=status, scheduled=scheduled
        )
    Task.objects.create(process=process, flow_task=f"{FLOW_REF}.step", flow_task_type="HUMAN", status="SCHEDULED")
    html = _dashboard(admin_client)
    assert re.search(r'data-clocks="open">3<', html)
    assert "(1 paused)" in html


def test_the_dashboard_warns_while_beat_is_not_running(admin_client):
    assert 'data-sla-warning="beat"' in _dashboard(admin_client)
    assert "Beat has never run." in _text(admin_client.get(reverse("admin:index")))

    Heartbeat.objects.create(name="timers", at=timezone.now() - dt.timedelta(seconds=45))
    html = _dashboard(admin_client)
    assert 'data-sla-warning="beat"' in html and "Beat has not run since" in html

    Heartbeat.objects.filter(name="timers").update(at=timezone.now() - dt.timedelta(seconds=3))
    html = _dashboard(admin_client)
    assert 'data-sla-warning="beat"' not in html
    assert 'data-sla="beat"' in html and "running" in html


@time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False)
def test_the_dashboard_warns_while_an_official_year_is_missing(admin_client):
    Heartbeat.objects.create(name="timers", at=timezone.now())
    html = _dashboard(admin_client)
    assert 'data-sla-warning="official-years"' in html
    assert "The official holidays of 2027 are missing" in html
    assert reverse("admin:exceptions_officialday_changelist") in html

    OfficialDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="元旦")
    assert 'data-sla-warning="official-years"' not in _dashboard(admin_client)


# --- departments --------------------------------------------------------------------------------


def test_the_department_list_and_form_carry_the_approval_limit(admin_client):
    finance = Department.objects.get(code="finance")
    Department.objects.filter(code="warehouse").update(approval_limit=None)
    text = _text(admin_client.get(reverse("admin:accounts_department_changelist")))
    assert "approval limit" in text.lower()
    assert "500.00" in text
    assert "All need approval" in text
    form = admin_client.get(reverse("admin:accounts_department_change", args=[finance.pk])).content.decode()
    assert 'name="approval_limit"' in form
