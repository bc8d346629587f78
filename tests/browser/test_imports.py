"""Importing orders in Debian's Chromium: a file with one bad row, in each mode, both languages, both widths.

The admin uploads, reads the inline error table (row and column of the bad cell), and either
gets nothing applied or confirms the good rows; every step is saved as a screenshot artefact.
"""

from __future__ import annotations

import pytest

from apps.accounts.services import user_create
from apps.orders.models import Order
from tests.browser import screens
from tests.orders.test_import_export import order_file, order_row

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CASES = [(language, viewport) for language in screens.LANGUAGES for viewport in screens.VIEWPORTS]
IMPORT_URL = "/admin/orders/order/import/"
# Spreadsheet row 3 (the header is row 1) has a lines cell the import cannot read.
BAD_ROW, BAD_COLUMN = "3", "lines"


@pytest.fixture
def importer(db):
    return user_create(username="import-admin", password=screens.PASSWORD, role="admin", department_code="management")


def _orders_csv() -> bytes:
    return order_file(
        [
            order_row(external_id="TB-GOOD-1"),
            order_row(external_id="TB-BAD-2", lines="SKU-1 x 2"),
            order_row(external_id="TB-GOOD-3"),
        ]
    )


def _upload(page, live_server, mode: str) -> None:
    page.goto(live_server.url + IMPORT_URL)
    page.set_input_files(
        "input[name=import_file]", files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": _orders_csv()}]
    )
    page.select_option("select[name=format]", label="csv")
    page.check(f"input[name=import_mode][value={mode}]")
    with page.expect_navigation():
        page.click("form.og-import__form button[type=submit]")


def _assert_error_table_names_the_bad_row(page, scope: str = "") -> None:
    rows = page.locator(f"{scope} table.og-import__problems tbody tr")
    assert rows.count() == 1
    row = rows.first
    assert (row.get_attribute("data-row"), row.get_attribute("data-column")) == (BAD_ROW, BAD_COLUMN)
    cells = row.locator("td")
    assert cells.nth(0).inner_text().strip().endswith(BAD_ROW)
    assert BAD_COLUMN in cells.nth(1).inner_text()
    assert "SKU-1 x 2" in cells.nth(2).inner_text()
    assert "SKU-1*2@129.50" in cells.nth(3).inner_text()  # the example of how to write a line
    assert row.is_visible()


def _check(page, name: str) -> str:
    screens.shoot(page, name)
    assert screens.raw_json_on(page) == [], f"{name} shows raw JSON"
    assert not screens.overflows(page), f"{name} scrolls sideways"
    assert page.foreign_requests == [], f"{name} loaded {page.foreign_requests}"
    return screens.visible_text(page)


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_an_admin_imports_orders_with_a_bad_row_in_each_mode(browser, live_server, importer, language, viewport):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, importer.username)
    suffix = f"{language}-{viewport}"

    page.goto(live_server.url + IMPORT_URL)
    text = _check(page, f"imports-form-{suffix}")
    assert "Asia/Shanghai" in text
    assert page.locator("table.og-import__columns tbody tr").count() == len(order_row())
    assert page.locator("a[href$='import/template/?format=xlsx']").is_visible()

    # All or nothing: the bad row is listed and there is nothing to confirm.
    _upload(page, live_server, "all_or_nothing")
    _assert_error_table_names_the_bad_row(page)
    assert page.locator("form.og-import__confirm").count() == 0
    _check(page, f"imports-all-or-nothing-{suffix}")
    assert not Order.objects.exists()

    # The good rows: the bad row is listed, the other two are previewed and imported on confirm.
    _upload(page, live_server, "good_rows")
    _assert_error_table_names_the_bad_row(page)
    confirm = page.locator("form.og-import__confirm button[type=submit]")
    assert confirm.inner_text().strip() == ("Confirm import" if language == "en" else "确认导入")
    _check(page, f"imports-good-rows-preview-{suffix}")
    with page.expect_navigation():
        confirm.click()
    assert page.url == live_server.url + "/admin/orders/order/"
    _assert_error_table_names_the_bad_row(page, ".og-import__message")
    finished = "Import finished: 2 new" if language == "en" else "新增2条记录"
    assert finished in _check(page, f"imports-good-rows-done-{suffix}")
    assert set(Order.objects.values_list("external_id", flat=True)) == {"TB-GOOD-1", "TB-GOOD-3"}
