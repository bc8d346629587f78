"""The screens a person uses first: the admin's order list and the API docs, in a real browser."""

from __future__ import annotations

import pytest

from apps.orders import services
from apps.orders.api import OrderInput
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _ingest(count: int) -> list[str]:
    validator = OrderInput()
    bodies = [order_body(channel="jd") for _ in range(count)]
    services.order_bulk_ingest(items=[validator.run_validation(body) for body in bodies])
    return [body["external_id"] for body in bodies]


def test_an_admin_signs_in_sees_the_orders_in_chinese_and_switches_to_english(page, live_server, admin_user):
    external_ids = _ingest(3)
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "pw-" + admin_user.username + "-Secret1")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == live_server.url + "/admin/"
    assert "订单卫士" in page.title()

    page.goto(live_server.url + "/admin/orders/order/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    listing = page.inner_text("#result_list")
    assert all(external_id in listing for external_id in external_ids)
    assert "京东" in listing

    # The console's language switch sits in the user menu at the foot of the sidebar.
    page.locator("form[action='/i18n/setlang/'] input[name=language][value=en]").locator("..").locator(
        "button"
    ).dispatch_event("click")
    page.wait_for_load_state("networkidle")
    assert "OrderGuard" in page.title()
    assert "JD.com" in page.inner_text("#result_list")
    assert page.foreign_requests == []


def test_the_api_docs_render_every_endpoint_from_local_files(page, live_server):
    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/v1/orders/", "/api/v1/orders/bulk/", "/api/v1/inventory/{sku}/"} <= {p.strip() for p in paths}
    assert "OrderGuard API" in page.inner_text(".info")
    assert page.foreign_requests == []
