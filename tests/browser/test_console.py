"""The console as a business admin uses it, in Debian's Chromium: both languages, desktop and phone.

Every page visited is checked for raw JSON in what a person reads and, in English, for rule,
department and carrier names left in Chinese; each is saved as a screenshot artefact.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from apps.accounts.models import Department
from apps.accounts.services import user_create
from apps.exceptions.models import ACTIVE_STATUSES, GradingRule, OrderException
from apps.orders import services
from apps.orders.api import OrderInput
from apps.orders.models import Carrier, Order
from apps.rules.models import ExceptionRule
from tests.browser import screens
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CASES = [(language, viewport) for language in screens.LANGUAGES for viewport in screens.VIEWPORTS]


def _ingest(*bodies: dict) -> list[Order]:
    validator = OrderInput()
    results = services.order_bulk_ingest(items=[validator.run_validation(body) for body in bodies])
    return list(Order.objects.filter(pk__in=[result.order_id for result in results]).order_by("pk"))


@pytest.fixture
def shop(db):
    """An admin and a few orders with exceptions of different kinds and severities."""
    admin = user_create(username="console-admin", password=screens.PASSWORD, role="admin", department_code="management")
    services.stock_level_set(sku="SKU-LOW", on_hand=1, reserved=0)
    recent = (timezone.now() - timedelta(hours=3)).isoformat()
    later = (timezone.now() - timedelta(hours=3) + timedelta(minutes=10)).isoformat()
    short, tracked, _first, second = _ingest(
        order_body(
            external_id="SHORT-1",
            placed_at=recent,
            paid_at=recent,
            total_amount="387.00",
            lines=[{"sku": "SKU-LOW", "name": "保温杯", "quantity": 3, "unit_price": "129.00"}],
        ),
        order_body(external_id="TRACK-1", status="shipped"),
        order_body(external_id="DUP-1", placed_at=recent, paid_at=recent),
        order_body(external_id="DUP-2", placed_at=later, paid_at=later),
    )
    services.shipment_create(
        order_id=tracked.pk,
        carrier="SF",
        tracking_number="SF-NOT-A-NUMBER",
        shipped_at=timezone.now() - timedelta(hours=1),
        lines=[{"sku": "SKU-1", "quantity": 2}],
    )
    services.payment_record(
        order_id=tracked.pk,
        transaction_id="TX-TRACK-1",
        amount=Decimal("100.00"),
        status="succeeded",
        paid_at=timezone.now() - timedelta(hours=2),
        method="alipay",
    )
    return {"admin": admin, "short": short, "tracked": tracked, "duplicate": second}


def _chinese_names() -> set[str]:
    """Names that have an English one and so must not show on an English page."""
    names = set()
    for model in (ExceptionRule, Department, Carrier):
        names |= {name for name, name_en in model.objects.values_list("name", "name_en") if name_en and name != name_en}
    names |= {name for name, name_en in GradingRule.objects.values_list("name", "name_en") if name_en}
    return names


def _check_page(page, *, language: str, name: str) -> str:
    """Save the page, refuse raw JSON, and in English refuse Chinese names; return its visible text."""
    screens.shoot(page, name)
    assert screens.raw_json_on(page) == [], f"{name} shows raw JSON"
    text = screens.visible_text(page)
    if language == "en":
        left = sorted(zh for zh in _chinese_names() if zh in text)
        assert left == [], f"{name} shows Chinese names on an English page: {left}"
    assert page.foreign_requests == [], f"{name} loaded {page.foreign_requests}"
    return text


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_admin_lands_on_a_dashboard_whose_figures_link_to_their_lists(
    browser, live_server, shop, language, viewport
):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "console-admin")
    assert page.url == live_server.url + "/admin/"

    active = OrderException.objects.filter(status__in=ACTIVE_STATUSES)
    open_figure = page.locator("[data-figure=open] .og-stat__value")
    assert int(open_figure.inner_text()) == active.count() > 0
    high = active.filter(severity="high").count()
    assert int(page.locator("tr[data-severity=high] a").inner_text()) == high
    text = _check_page(page, language=language, name=f"dashboard-{language}-{viewport}")
    assert ("Open exceptions" if language == "en" else "未处理异常") in text
    assert ("Warehouse / purchasing" if language == "en" else "仓储/采购") in text

    with page.expect_navigation():
        page.locator("[data-figure=open]").click()
    assert "/admin/exceptions/orderexception/" in page.url
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == active.count()
    _check_page(page, language=language, name=f"exception-list-{language}-{viewport}")
    if viewport == "desktop":
        assert not screens.overflows(page), "the exception list scrolls sideways at 1366 px"


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_order_page_lists_its_exceptions_with_links(browser, live_server, shop, language, viewport):
    order = shop["short"]
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "console-admin")
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")

    table = page.locator("table.og-exceptions")
    expected = list(order.exceptions.select_related("rule"))
    assert {e.rule.code for e in expected} >= {"STOCK_SHORTAGE"}
    assert table.locator("tbody tr").count() == len(expected)
    shortage = next(e for e in expected if e.rule.code == "STOCK_SHORTAGE")
    row = table.locator(f"tr[data-exception='{shortage.pk}']")
    assert (shortage.rule.name_en if language == "en" else shortage.rule.name) in row.inner_text()
    assert ("High" if language == "en" else "高") in row.inner_text()
    text = _check_page(page, language=language, name=f"order-{language}-{viewport}")
    assert "某某公司" in text  # the custom field's value, shown as words

    with page.expect_navigation():
        row.locator("a").first.click()
    assert page.url.endswith(f"/admin/exceptions/orderexception/{shortage.pk}/change/")


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_exception_page_shows_its_evidence_channels_and_timeline_in_words(
    browser, live_server, shop, language, viewport
):
    shortage = OrderException.objects.get(order=shop["short"], rule__code="STOCK_SHORTAGE")
    tracking = OrderException.objects.get(order=shop["tracked"], rule__code="TRACKING_INVALID")
    duplicate = OrderException.objects.get(order=shop["duplicate"], rule__code="DUPLICATE_ORDER")
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "console-admin")

    page.goto(f"{live_server.url}/admin/exceptions/orderexception/{shortage.pk}/change/")
    evidence = page.locator(".og-evidence").inner_text()
    assert "SKU-LOW" in evidence and "3" in evidence and "1" in evidence
    assert page.locator(".og-timeline li").count() >= 1
    assert page.locator(".og-labels .og-badge").count() == len(shortage.notify_channels) > 0
    _check_page(page, language=language, name=f"exception-shortage-{language}-{viewport}")

    page.goto(f"{live_server.url}/admin/exceptions/orderexception/{tracking.pk}/change/")
    evidence = page.locator(".og-evidence").inner_text()
    assert "SF-NOT-A-NUMBER" in evidence
    _check_page(page, language=language, name=f"exception-tracking-{language}-{viewport}")

    page.goto(f"{live_server.url}/admin/exceptions/orderexception/{duplicate.pk}/change/")
    link = page.locator(".og-evidence a")
    assert "DUP-1" in link.first.inner_text()
    _check_page(page, language=language, name=f"exception-duplicate-{language}-{viewport}")


def _start_cases() -> None:
    """The handling engine's sweep, in a thread of its own: Playwright's event loop runs in this one."""

    def sweep() -> None:
        from workflows.services import cases_sweep

        try:
            cases_sweep(grace=timedelta(0))
        finally:
            connections.close_all()

    thread = threading.Thread(target=sweep)
    thread.start()
    thread.join()


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_staff_and_managers_sign_in_to_pages_they_can_read_on_a_phone(browser, live_server, shop, language, viewport):
    user_create(username="wh-clerk", password=screens.PASSWORD, role="staff", department_code="warehouse")
    user_create(username="wh-lead", password=screens.PASSWORD, role="manager", department_code="warehouse")
    shortage = OrderException.objects.get(order=shop["short"], rule__code="STOCK_SHORTAGE")

    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    page.goto(live_server.url + "/")
    _check_page(page, language=language, name=f"sign-in-{language}-{viewport}")
    screens.sign_in(page, live_server, "wh-clerk")
    assert page.url == live_server.url + "/workspace/"
    _start_cases()
    page.goto(live_server.url + "/workspace/?scope=queue")
    assert page.locator(f"tr[data-exception='{shortage.pk}']").count() == 1
    _check_page(page, language=language, name=f"workspace-{language}-{viewport}")
    assert not screens.overflows(page)
    with page.expect_navigation():
        page.locator(f"tr[data-exception='{shortage.pk}'] a").first.click()
    assert "SKU-LOW" in page.locator(".og-evidence").inner_text()
    _check_page(page, language=language, name=f"workspace-exception-{language}-{viewport}")
    assert not screens.overflows(page)

    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "wh-lead")
    assert page.url == live_server.url + "/manager/"
    overview = page.locator("table.og-departments tbody tr")
    assert overview.count() == 1
    assert ("Warehouse / purchasing" if language == "en" else "仓储/采购") in overview.inner_text()
    _check_page(page, language=language, name=f"manager-{language}-{viewport}")
    assert not screens.overflows(page)
