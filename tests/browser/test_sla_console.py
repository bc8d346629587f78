"""The SLA screens in Debian's Chromium: a calendar edited and saved as text, the official holidays
with their coverage, and the dashboard's timer panel, in both languages at 1366 and 375 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.services import user_create
from apps.exceptions.models import BusinessCalendar, Heartbeat, OrderException, TimerFiring
from tests.browser import screens
from tests.console.conftest import ingest_orders, shortage_body
from tests.orders.payloads import order_body

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.business_calendars]

CASES = [(language, viewport) for language in screens.LANGUAGES for viewport in screens.VIEWPORTS]


@pytest.fixture
def console_admin(db):
    return user_create(username="sla-admin", password=screens.PASSWORD, role="admin", department_code="management")


@pytest.fixture
def firings(db):
    """A few timer firings of the last hour (one late) and a beat that ran just now."""
    ingest_orders(shortage_body(), order_body())
    exception = OrderException.objects.order_by("pk").first()
    now = timezone.now()
    for n, (lag, actions) in enumerate([(120, ["remind"]), (480, ["breach", "notify_lead"]), (2300, ["approval"])]):
        TimerFiring.objects.create(
            timer_task_id=9000 + n,
            exception=exception,
            due_at=now - dt.timedelta(minutes=10 * n + 1, milliseconds=lag),
            fired_at=now - dt.timedelta(minutes=10 * n + 1),
            lag_ms=lag,
            actions=actions,
        )
    Heartbeat.objects.update_or_create(name="timers", defaults={"at": now})


def _check(page, name: str) -> str:
    screens.shoot(page, name)
    assert screens.raw_json_on(page) == [], f"{name} shows raw JSON"
    assert page.foreign_requests == [], f"{name} loaded {page.foreign_requests}"
    return screens.visible_text(page)


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_an_admin_types_a_week_into_the_calendar_form_and_saves_it(
    browser, live_server, console_admin, language, viewport
):
    calendar = BusinessCalendar.objects.get(department__code="warehouse")
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "sla-admin")
    page.goto(f"{live_server.url}/admin/exceptions/businesscalendar/")
    text = _check(page, f"sla-calendars-{language}-{viewport}")
    assert "08:00–12:00, 13:00–20:00" in text

    page.goto(f"{live_server.url}/admin/exceptions/businesscalendar/{calendar.pk}/change/")
    assert page.input_value("input[name=mon]") == "08:00-12:00, 13:00-20:00"
    _check(page, f"sla-calendar-form-{language}-{viewport}")
    if viewport == "desktop":
        assert not screens.overflows(page), "the calendar form scrolls sideways at 1366 px"

    page.fill("input[name=sat]", "09:00-25:00")
    with page.expect_navigation():
        page.click("button[name=_save]")
    error = page.locator(".errorlist").first.inner_text()
    assert "09:00-25:00" in error
    _check(page, f"sla-calendar-form-error-{language}-{viewport}")

    page.fill("input[name=sat]", "09:00-15:00")
    with page.expect_navigation():
        page.click("button[name=_save]")
    assert page.url.endswith("/admin/exceptions/businesscalendar/")
    calendar.refresh_from_db()
    assert calendar.week["sat"] == [["09:00", "15:00"]]
    assert calendar.week["mon"] == [["08:00", "12:00"], ["13:00", "20:00"]]


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_official_days_show_their_years_and_which_one_is_missing(
    browser, live_server, console_admin, language, viewport
):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "sla-admin")
    page.goto(f"{live_server.url}/admin/exceptions/officialday/?year=2026")
    text = _check(page, f"sla-official-days-{language}-{viewport}")
    assert page.locator("[data-official-years] tr[data-year='2026']").count() == 1
    assert ("National Day" if language == "en" else "国庆节") in text
    if viewport == "desktop":
        assert not screens.overflows(page), "the official days scroll sideways at 1366 px"

    with page.expect_navigation():
        page.click("[data-official-load]")
    assert page.url.endswith("/admin/exceptions/officialday/")


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_dashboard_shows_the_timer_lag_and_clocks(browser, live_server, console_admin, firings, language, viewport):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "sla-admin")
    panel = page.locator("[data-panel=sla-timers]")
    unit = "毫秒" if language == "zh-hans" else "ms"
    assert panel.locator("[data-lag=p50]").inner_text() == f"480 {unit}"
    assert panel.locator("[data-lag=max]").inner_text() == f"2300 {unit}"
    assert page.locator("[data-sla-warning=beat]").count() == 0
    panel.scroll_into_view_if_needed()
    _check(page, f"sla-dashboard-{language}-{viewport}")
    if viewport == "desktop":
        assert not screens.overflows(page), "the dashboard scrolls sideways at 1366 px"

    Heartbeat.objects.filter(name="timers").update(at=timezone.now() - dt.timedelta(minutes=5))
    page.reload()
    assert page.locator("[data-sla-warning=beat]").count() == 1
    _check(page, f"sla-dashboard-no-beat-{language}-{viewport}")
