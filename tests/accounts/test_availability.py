"""Who can take work: away, leave and shift windows, the services that set them, and their admin."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.accounts.availability import available_members, is_available
from apps.accounts.models import AssignmentCursor, Department, Leave, ShiftWindow, User, Weekday
from apps.accounts.services import department_set_lead, leave_add, user_set_away
from apps.common.errors import DomainError
from tests.conftest import _make_user

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in December 2026, site time; 2026-12-07 is a Monday."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


MONDAY_10 = local(7, 10)


@pytest.fixture
def finance():
    return Department.objects.get(code="finance")


@pytest.fixture
def clerk():
    return _make_user("fin-clerk", "staff", "finance")


@pytest.fixture
def lead(finance, admin_user):
    user = _make_user("fin-lead", "staff", "finance")
    department_set_lead(department_code="finance", username=user.username, actor=admin_user)
    return user


def shift(department: Department, weekday: int, starts: str, ends: str) -> ShiftWindow:
    return ShiftWindow.objects.create(
        department=department,
        weekday=weekday,
        starts_at=dt.time.fromisoformat(starts),
        ends_at=dt.time.fromisoformat(ends),
    )


# --- is_available ---------------------------------------------------------------------------------


def test_an_active_member_of_a_department_without_shifts_is_available_at_any_hour(clerk):
    assert is_available(clerk, MONDAY_10)
    assert is_available(clerk, local(13, 3))


def test_an_inactive_user_is_not_available(clerk):
    User.objects.filter(pk=clerk.pk).update(is_active=False)
    assert not is_available(clerk, MONDAY_10)


def test_a_user_who_is_away_is_not_available_until_back(clerk):
    user_set_away(user_id=clerk.pk, away=True, note="外出培训", actor=clerk)
    assert not is_available(clerk, MONDAY_10)
    user_set_away(user_id=clerk.pk, away=False, actor=clerk)
    assert is_available(clerk, MONDAY_10)


def test_leave_covers_its_first_and_last_day_in_site_time(clerk):
    leave_add(user_id=clerk.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 8), note="年假", actor=clerk)
    assert is_available(clerk, local(6, 23, 59))
    assert not is_available(clerk, local(7, 0, 0))
    assert not is_available(clerk, local(8, 23, 59))
    assert is_available(clerk, local(9, 0, 0))


def test_the_leave_date_is_the_site_date_not_the_utc_one(clerk):
    """2026-12-06 17:00 UTC is already 2026-12-07 01:00 in Shanghai: the first day of the leave."""
    leave_add(user_id=clerk.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 7), note="", actor=clerk)
    assert not is_available(clerk, dt.datetime(2026, 12, 6, 17, 0, tzinfo=dt.UTC))
    assert is_available(clerk, dt.datetime(2026, 12, 6, 15, 59, tzinfo=dt.UTC))


def test_with_shift_windows_a_member_is_available_only_inside_them(finance, clerk):
    shift(finance, Weekday.MONDAY, "09:00", "18:00")
    assert is_available(clerk, local(7, 9, 0))
    assert is_available(clerk, local(7, 17, 59))
    assert not is_available(clerk, local(7, 18, 0))
    assert not is_available(clerk, local(7, 8, 59))
    assert not is_available(clerk, local(8, 10, 0)), "Tuesday has no window"


def test_a_night_shift_wraps_past_midnight_and_belongs_to_the_day_it_starts(finance, clerk):
    shift(finance, Weekday.MONDAY, "22:00", "06:00")
    assert is_available(clerk, local(7, 22, 0))
    assert is_available(clerk, local(7, 23, 59))
    assert is_available(clerk, local(8, 0, 0)), "Tuesday's small hours are Monday's shift"
    assert is_available(clerk, local(8, 5, 59))
    assert not is_available(clerk, local(8, 6, 0))
    assert not is_available(clerk, local(7, 3, 0)), "Monday's small hours are Sunday's, which has no shift"
    assert not is_available(clerk, local(8, 23, 0)), "Tuesday has no night shift"


def test_sundays_night_shift_runs_into_monday(finance, clerk):
    shift(finance, Weekday.SUNDAY, "22:00", "06:00")
    assert is_available(clerk, local(7, 5, 0))
    assert is_available(clerk, local(13, 23, 0))
    assert not is_available(clerk, local(7, 7, 0))


def test_shift_times_are_site_times_whatever_the_users_own_time_zone(finance, clerk):
    User.objects.filter(pk=clerk.pk).update(time_zone="Europe/Berlin")
    shift(finance, Weekday.MONDAY, "09:00", "18:00")
    assert is_available(clerk, dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)), "09:00 in Shanghai"


def test_another_departments_shifts_do_not_apply(finance):
    packer = _make_user("wh-packer", "staff", "warehouse")
    shift(finance, Weekday.MONDAY, "09:00", "10:00")
    assert is_available(packer, local(7, 15))


# --- available_members ----------------------------------------------------------------------------


def test_available_members_are_the_departments_available_members_by_id(finance, clerk):
    away = _make_user("fin-away", "staff", "finance")
    on_leave = _make_user("fin-leave", "manager", "finance")
    second = _make_user("fin-second", "staff", "finance")
    _make_user("wh-other", "staff", "warehouse")
    user_set_away(user_id=away.pk, away=True, actor=away)
    leave_add(user_id=on_leave.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 7), actor=on_leave)
    assert available_members(finance, MONDAY_10) == [clerk, second]


def test_available_members_costs_two_queries_however_many_members(finance, django_assert_num_queries):
    for n in range(2):
        _make_user(f"fin-few-{n}", "staff", "finance")
    shift(finance, Weekday.MONDAY, "09:00", "18:00")
    with django_assert_num_queries(2):
        assert len(available_members(finance, MONDAY_10)) == 2
    for n in range(6):
        member = _make_user(f"fin-many-{n}", "staff", "finance")
        leave_add(user_id=member.pk, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 2), actor=member)
    with django_assert_num_queries(2):
        assert len(available_members(finance, MONDAY_10)) == 8


def test_off_shift_the_department_has_no_available_members(finance, clerk):
    shift(finance, Weekday.MONDAY, "09:00", "18:00")
    assert available_members(finance, local(7, 20)) == []


# --- user_set_away --------------------------------------------------------------------------------


def test_a_user_marks_themselves_away_with_a_note_and_coming_back_clears_it(clerk):
    user = user_set_away(user_id=clerk.pk, away=True, note="  外出培训 ", actor=clerk)
    clerk.refresh_from_db()
    assert (user.away, clerk.away, clerk.away_note) == (True, True, "外出培训")
    user_set_away(user_id=clerk.pk, away=False, note="ignored", actor=clerk)
    clerk.refresh_from_db()
    assert (clerk.away, clerk.away_note) == (False, "")


def test_the_lead_of_the_users_department_and_an_admin_may_mark_them_away(clerk, lead, admin_user):
    user_set_away(user_id=clerk.pk, away=True, actor=lead)
    clerk.refresh_from_db()
    assert clerk.away
    user_set_away(user_id=clerk.pk, away=False, actor=admin_user)
    clerk.refresh_from_db()
    assert not clerk.away


@pytest.mark.parametrize(
    ("username", "role", "department"),
    [("fin-colleague", "staff", "finance"), ("boss-2", "manager", "management"), ("wh-lead", "staff", "warehouse")],
)
def test_anyone_else_may_not_mark_a_user_away(clerk, lead, admin_user, username, role, department):
    other = _make_user(username, role, department)
    if username == "wh-lead":
        department_set_lead(department_code="warehouse", username=username, actor=admin_user)
    with pytest.raises(DomainError) as refused:
        user_set_away(user_id=clerk.pk, away=True, actor=other)
    assert (refused.value.status_code, refused.value.code) == (403, "permission_denied")
    clerk.refresh_from_db()
    assert not clerk.away


def test_an_away_note_longer_than_the_field_is_refused_on_note(clerk):
    with pytest.raises(DomainError) as refused:
        user_set_away(user_id=clerk.pk, away=True, note="x" * 201, actor=clerk)
    assert (refused.value.status_code, refused.value.field) == (400, "note")


def test_marking_an_unknown_user_away_is_not_found(admin_user):
    with pytest.raises(DomainError) as refused:
        user_set_away(user_id=987654, away=True, actor=admin_user)
    assert (refused.value.status_code, refused.value.code) == (404, "not_found")


# --- leave_add ------------------------------------------------------------------------------------


def test_leave_is_recorded_with_who_added_it(clerk, lead):
    leave = leave_add(
        user_id=clerk.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 9), note="病假", actor=lead
    )
    stored = Leave.objects.get(pk=leave.pk)
    assert (stored.user, stored.starts_on, stored.ends_on, stored.note, stored.created_by) == (
        clerk,
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 9),
        "病假",
        lead,
    )


def test_a_one_day_leave_is_allowed(clerk):
    leave = leave_add(user_id=clerk.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 7), actor=clerk)
    assert leave.pk is not None


def test_a_leave_ending_before_it_starts_is_refused_on_ends_on(clerk):
    with pytest.raises(DomainError) as refused:
        leave_add(user_id=clerk.pk, starts_on=dt.date(2026, 12, 9), ends_on=dt.date(2026, 12, 8), actor=clerk)
    assert (refused.value.status_code, refused.value.code, refused.value.field) == (400, "invalid", "ends_on")
    assert not Leave.objects.exists()


def test_a_colleague_may_not_add_a_users_leave(clerk):
    colleague = _make_user("fin-colleague", "staff", "finance")
    with pytest.raises(DomainError) as refused:
        leave_add(user_id=clerk.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 7), actor=colleague)
    assert refused.value.status_code == 403
    assert not Leave.objects.exists()


# --- department_set_lead --------------------------------------------------------------------------


def test_an_admin_makes_an_active_member_the_lead_and_can_clear_it(finance, clerk, admin_user):
    department = department_set_lead(department_code="finance", username=clerk.username, actor=admin_user)
    finance.refresh_from_db()
    assert department.lead == finance.lead == clerk
    assert list(clerk.led_departments.all()) == [finance]
    department_set_lead(department_code="finance", username="", actor=admin_user)
    finance.refresh_from_db()
    assert finance.lead is None


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_an_admin_may_choose_a_lead(finance, clerk, role):
    actor = _make_user("someone", role, "finance")
    with pytest.raises(DomainError) as refused:
        department_set_lead(department_code="finance", username=clerk.username, actor=actor)
    assert (refused.value.status_code, refused.value.code) == (403, "permission_denied")
    finance.refresh_from_db()
    assert finance.lead is None


def test_the_lead_must_be_an_active_member_of_the_department(finance, clerk, admin_user):
    outsider = _make_user("wh-outsider", "staff", "warehouse")
    with pytest.raises(DomainError) as refused:
        department_set_lead(department_code="finance", username=outsider.username, actor=admin_user)
    assert (refused.value.status_code, refused.value.field) == (400, "username")
    User.objects.filter(pk=clerk.pk).update(is_active=False)
    with pytest.raises(DomainError) as refused:
        department_set_lead(department_code="finance", username=clerk.username, actor=admin_user)
    assert refused.value.field == "username"
    finance.refresh_from_db()
    assert finance.lead is None


def test_setting_the_lead_of_an_unknown_department_is_not_found(admin_user):
    with pytest.raises(DomainError) as refused:
        department_set_lead(department_code="nowhere", username=admin_user.username, actor=admin_user)
    assert (refused.value.status_code, refused.value.field) == (404, "department")


# --- constraints ----------------------------------------------------------------------------------


def test_a_leave_ending_before_it_starts_is_refused_by_the_database(clerk):
    with pytest.raises(IntegrityError), transaction.atomic():
        Leave.objects.create(user=clerk, starts_on=dt.date(2026, 12, 9), ends_on=dt.date(2026, 12, 8))


def test_a_leave_ending_before_it_starts_fails_full_clean(clerk):
    with pytest.raises(ValidationError) as invalid:
        Leave(user=clerk, starts_on=dt.date(2026, 12, 9), ends_on=dt.date(2026, 12, 8)).full_clean()
    assert "The last day cannot be before the first day." in str(invalid.value)


def test_a_weekday_outside_monday_to_sunday_is_refused_by_the_database(finance):
    with pytest.raises(IntegrityError), transaction.atomic():
        shift(finance, 7, "09:00", "18:00")


def test_a_weekday_outside_monday_to_sunday_fails_full_clean(finance):
    window = ShiftWindow(department=finance, weekday=7, starts_at=dt.time(9), ends_at=dt.time(18))
    with pytest.raises(ValidationError) as invalid:
        window.full_clean()
    assert "weekday" in invalid.value.message_dict


def test_a_shift_ending_when_it_starts_is_refused_by_the_database(finance):
    with pytest.raises(IntegrityError), transaction.atomic():
        shift(finance, Weekday.MONDAY, "09:00", "09:00")


def test_a_shift_ending_when_it_starts_fails_full_clean(finance):
    window = ShiftWindow(department=finance, weekday=Weekday.MONDAY, starts_at=dt.time(9), ends_at=dt.time(9))
    with pytest.raises(ValidationError) as invalid:
        window.full_clean()
    assert "A shift cannot end when it starts." in str(invalid.value)


def test_one_assignment_cursor_per_department_and_scope_in_the_database(finance):
    AssignmentCursor.objects.create(department=finance, scope="check")
    AssignmentCursor.objects.create(department=finance, scope="approve")
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignmentCursor.objects.create(department=finance, scope="check")


def test_a_second_assignment_cursor_for_a_department_and_scope_fails_full_clean(finance):
    AssignmentCursor.objects.create(department=finance, scope="check")
    with pytest.raises(ValidationError):
        AssignmentCursor(department=finance, scope="check").full_clean()


# --- admin ----------------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_department_page_offers_only_its_active_members_as_lead_and_lists_shifts(admin_browser, finance, clerk):
    outsider = _make_user("wh-outsider", "staff", "warehouse")
    shift(finance, Weekday.MONDAY, "22:00", "06:00")
    response = admin_browser.get(reverse("admin:accounts_department_change", args=[finance.pk]))
    assert response.status_code == 200
    lead_choices = [value for value, _label in response.context["adminform"].form.fields["lead"].choices if value]
    assert [str(value) for value in lead_choices] == [str(clerk.pk)]
    assert outsider.pk not in lead_choices
    assert b"22:00" in response.content


def test_saving_the_department_page_sets_the_lead_and_adds_a_shift(admin_browser, finance, clerk):
    url = reverse("admin:accounts_department_change", args=[finance.pk])
    response = admin_browser.post(
        url,
        {
            "code": "finance",
            "name": finance.name,
            "name_en": finance.name_en,
            "is_active": "on",
            "lead": str(clerk.pk),
            "shifts-TOTAL_FORMS": "1",
            "shifts-INITIAL_FORMS": "0",
            "shifts-MIN_NUM_FORMS": "0",
            "shifts-MAX_NUM_FORMS": "1000",
            "shifts-0-weekday": str(Weekday.FRIDAY),
            "shifts-0-starts_at": "09:00",
            "shifts-0-ends_at": "18:00",
            "shifts-0-department": str(finance.pk),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    finance.refresh_from_db()
    assert finance.lead == clerk
    assert list(finance.shifts.values_list("weekday", "starts_at", "ends_at")) == [
        (Weekday.FRIDAY, dt.time(9), dt.time(18))
    ]


def test_the_user_page_shows_away_and_the_users_leaves(admin_browser, clerk, admin_user):
    leave_add(user_id=clerk.pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 9), note="年假", actor=clerk)
    response = admin_browser.get(reverse("admin:accounts_user_change", args=[clerk.pk]))
    assert response.status_code == 200
    assert "away" in response.context["adminform"].form.fields
    assert "年假" in response.content.decode()
    changelist = admin_browser.get(reverse("admin:accounts_user_changelist"), {"away__exact": "0"})
    assert changelist.status_code == 200


def test_a_leave_added_on_the_user_page_records_who_added_it(admin_browser, clerk, admin_user):
    url = reverse("admin:accounts_user_change", args=[clerk.pk])
    joined = clerk.date_joined.astimezone(SHANGHAI)
    data = {
        "username": clerk.username,
        "is_active": "on",
        "groups": [str(pk) for pk in clerk.groups.values_list("pk", flat=True)],
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "department": str(clerk.department_id),
        "away": "on",
        "away_note": "出差",
        "leaves-TOTAL_FORMS": "1",
        "leaves-INITIAL_FORMS": "0",
        "leaves-MIN_NUM_FORMS": "0",
        "leaves-MAX_NUM_FORMS": "1000",
        "leaves-0-starts_on": "2026-12-07",
        "leaves-0-ends_on": "2026-12-08",
        "leaves-0-note": "出差",
        "leaves-0-user": str(clerk.pk),
    }
    response = admin_browser.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    clerk.refresh_from_db()
    assert (clerk.away, clerk.away_note) == (True, "出差")
    assert list(clerk.leaves.values_list("starts_on", "ends_on", "created_by")) == [
        (dt.date(2026, 12, 7), dt.date(2026, 12, 8), admin_user.pk)
    ]


def test_a_manager_sees_a_departments_shifts_without_editing_them(client, manager_user, finance):
    shift(finance, Weekday.MONDAY, "22:00", "06:00")
    client.force_login(manager_user)
    response = client.get(reverse("admin:accounts_department_change", args=[finance.pk]))
    assert response.status_code == 200
    assert b"22:00" in response.content
    assert not response.context["has_change_permission"]
