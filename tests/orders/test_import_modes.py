"""The import page for business people: the two modes, the inline error table, templates, times.

Every test uploads through the admin as an admin user (upload = dry run and preview, then
confirm), as a person does; nothing is stored until the confirm step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from io import BytesIO

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.exceptions.models import OrderException
from apps.orders import services
from apps.orders.api import OrderInput
from apps.orders.models import Order, Product, StockLevel
from tests.orders.payloads import order_body
from tests.orders.test_import_export import (
    FORMATS,
    ORDER_COLUMNS,
    PRODUCT_HEADERS,
    STOCK_HEADERS,
    confirm,
    order_file,
    order_row,
    spreadsheet,
    totals,
    upload,
)

pytestmark = pytest.mark.django_db

ALL_OR_NOTHING = "all_or_nothing"
GOOD_ROWS = "good_rows"


@pytest.fixture
def browser(client, admin_user):
    client.force_login(admin_user)
    return client


class _ProblemTable(HTMLParser):
    """Reads the error tables of a page (``table.og-import__problems``) into rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._depth = 0  # >0 while inside a problems table
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and "og-import__problems" in classes:
            self._depth = 1
            self.tables.append([])
        elif self._depth and tag == "table":
            self._depth += 1
        elif self._depth and tag == "tr":
            self.tables[-1].append([])
        elif self._depth and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if self._depth and tag == "td" and self._cell is not None:
            self.tables[-1][-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif self._depth and tag == "table":
            self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def problem_tables(html: str) -> list[list[list[str]]]:
    """Each problems table on the page: its body rows as [row, column, value, message] texts."""
    parser = _ProblemTable()
    parser.feed(html)
    return [[row for row in table if row] for table in parser.tables]


class _ImportText(HTMLParser):
    """Collects the text of the import page's own part (``div.og-import``)."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self._divs = 0  # open divs since the og-import one, which counts as 1

    def handle_starttag(self, tag, attrs):
        if tag != "div":
            return
        if self._divs:
            self._divs += 1
        elif "og-import" in (dict(attrs).get("class") or "").split():
            self._divs = 1

    def handle_endtag(self, tag):
        if tag == "div" and self._divs:
            self._divs -= 1

    def handle_data(self, data):
        if self._divs:
            self.text.append(data)


def assert_readable(html: str) -> None:
    """No traceback anywhere; no raw JSON, dict or list repr in what the import page says."""
    assert "Traceback" not in html
    parser = _ImportText()
    parser.feed(html)
    text = " ".join(parser.text)
    assert text.strip()
    for leak in ("{'", "['", '{"', '["', "ValidationError", "Error:"):
        assert leak not in text, leak


# --- Orders: one bad row, both modes -------------------------------------------------------------


def _orders_with_one_bad_row() -> bytes:
    """Three orders; the second (spreadsheet row 3) has an unreadable lines cell.

    The third has a phone no one can call, which detection flags once the order is stored.
    """
    return order_file(
        [
            order_row(external_id="TB-GOOD-1"),
            order_row(external_id="TB-BAD-2", lines="SKU-1 x 2"),
            order_row(external_id="TB-GOOD-3", customer_phone="12345"),
        ]
    )


LINES_MESSAGE = "Line 1 (“SKU-1 x 2”): write sku*quantity@unit_price, e.g. SKU-1*2@129.50."


def test_all_or_nothing_shows_the_bad_row_inline_and_stores_nothing(browser):
    """The default mode lists row 3's lines error in a table, offers no confirm and stores no order."""
    preview = upload(browser, Order, _orders_with_one_bad_row(), "csv", mode=ALL_OR_NOTHING)
    assert preview.status_code == 200
    assert "confirm_form" not in preview.context
    html = preview.content.decode()
    assert problem_tables(html) == [[["3", "lines order lines", "SKU-1 x 2", LINES_MESSAGE]]]
    assert "Nothing will be imported." in html
    assert_readable(html)
    assert not Order.objects.exists()


def test_good_rows_mode_imports_the_good_rows_on_confirm_and_reports_the_bad_one(browser):
    """The preview lists the bad row and still offers confirm; confirming stores the other two orders,
    runs detection on them, and the next page names the skipped row, its column and why."""
    preview = upload(browser, Order, _orders_with_one_bad_row(), "csv", mode=GOOD_ROWS)
    assert "confirm_form" in preview.context
    html = preview.content.decode()
    assert problem_tables(html) == [[["3", "lines order lines", "SKU-1 x 2", LINES_MESSAGE]]]
    assert "Confirming imports the 2 new or changed rows." in html
    assert "The 1 row with errors listed above is skipped." in html
    assert_readable(html)
    assert not Order.objects.exists()

    response = confirm(browser, Order, preview)
    assert response.status_code == 302
    assert set(Order.objects.values_list("external_id", flat=True)) == {"TB-GOOD-1", "TB-GOOD-3"}
    flagged = Order.objects.get(external_id="TB-GOOD-3")
    assert OrderException.objects.filter(order=flagged, rule__code="CUSTOMER_INFO_INVALID").exists()

    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown[0] == "Import finished: 2 new, 0 updated, 0 deleted and 0 skipped orders."
    assert "1 row was not imported because of errors; fix it and import it again:" in shown[1]
    assert problem_tables(shown[1]) == [[["3", "lines order lines", "SKU-1 x 2", LINES_MESSAGE]]]
    # The message keeps its table through the redirect: the change list renders it as HTML.
    changelist = browser.get(response["Location"]).content.decode()
    assert problem_tables(changelist) == [[["3", "lines order lines", "SKU-1 x 2", LINES_MESSAGE]]]


def test_the_mode_defaults_to_all_or_nothing(browser):
    """A form without the mode field (a script, an old page) behaves as before: all or nothing."""
    preview = upload(browser, Order, _orders_with_one_bad_row(), "csv")
    assert "confirm_form" not in preview.context
    page = browser.get(reverse("admin:orders_order_import"))
    assert page.context["form"]["import_mode"].value() == ALL_OR_NOTHING


def test_good_rows_mode_offers_no_confirm_when_no_row_passes(browser):
    """With every row refused there is nothing to import: the errors are listed, no confirm."""
    content = order_file([order_row(status="lost"), order_row(external_id="TB-2", total_amount="-1")])
    preview = upload(browser, Order, content, "csv", mode=GOOD_ROWS)
    assert "confirm_form" not in preview.context
    rows = problem_tables(preview.content.decode())[0]
    assert [(row[0], row[1].split()[0]) for row in rows] == [("2", "status"), ("3", "total_amount")]
    assert "No other row of the file would be imported, so there is nothing to confirm." in preview.content.decode()


def test_every_error_of_a_row_is_its_own_line_in_the_table(browser):
    """Several bad cells in one row: one table line per column and message, each with its cell value."""
    content = order_file([order_row(status="lost", currency="rmb", lines="SKU-1*0@1")])
    rows = problem_tables(upload(browser, Order, content, "csv", mode=GOOD_ROWS).content.decode())[0]
    assert [(row[0], row[1].split()[0], row[2]) for row in rows] == [
        ("2", "status", "lost"),
        ("2", "currency", "rmb"),
        ("2", "lines", "SKU-1*0@1"),
    ]
    assert rows[2][3] == "Line 1, quantity: Ensure this value is greater than or equal to 1."


def test_good_rows_mode_skips_rows_that_fail_only_on_confirm(browser):
    """If the stored upload changed after the preview, the rows that now fail are skipped and named."""
    content = spreadsheet("csv", PRODUCT_HEADERS, [["SKU-1", "杯", "1", "CNY"], ["SKU-X", "", "1", "CNY"]])
    preview = upload(browser, Product, content, "csv", mode=GOOD_ROWS)
    assert "confirm_form" in preview.context
    stored_upload = preview.context["confirm_form"]["import_file_name"].value()
    with open(stored_upload, "wb") as changed:
        changed.write(spreadsheet("csv", PRODUCT_HEADERS, [["SKU-1", "杯", "1", "CNY"], ["SKU-2", "盖", "-1", ""]]))

    response = confirm(browser, Product, preview)
    assert list(Product.objects.values_list("sku", flat=True)) == ["SKU-1"]
    warning = [str(message) for message in get_messages(response.wsgi_request)][1]
    assert problem_tables(warning) == [
        [["3", "list_price list price", "-1", "Ensure this value is greater than or equal to 0."]]
    ]


# --- Products and stock levels: both modes -------------------------------------------------------

SHEETS = {
    Product: (PRODUCT_HEADERS, [["SKU-1", "保温杯", "129.50", "CNY"], ["SKU-2", "杯盖", "12,50", "CNY"]]),
    StockLevel: (STOCK_HEADERS, [["SKU-1", 10, 2], ["SKU-2", -3, 0]]),
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("model", [Product, StockLevel])
@pytest.mark.parametrize("mode", [ALL_OR_NOTHING, GOOD_ROWS])
def test_catalogue_files_with_one_bad_row_in_each_mode(browser, model, mode, fmt):
    """Row 3 is refused in both modes; only the good-rows mode stores SKU-1, and detection's
    services store it (product_upsert / stock_level_set set the record the API would)."""
    headers, rows = SHEETS[model]
    preview = upload(browser, model, spreadsheet(fmt, headers, rows), fmt, mode=mode)
    [[problem]] = problem_tables(preview.content.decode())
    assert problem[0] == "3"
    assert problem[1].split()[0] == ("list_price" if model is Product else "on_hand")

    if mode == ALL_OR_NOTHING:
        assert "confirm_form" not in preview.context
        assert not model.objects.exists()
        return
    confirm(browser, model, preview)
    assert list(model.objects.values_list("sku", flat=True)) == ["SKU-1"]


def test_a_stock_import_of_good_rows_re_evaluates_the_orders_holding_the_sku(browser):
    """Detection runs for rows stored in the good-rows mode: less stock than an open order needs
    raises a shortage on it, as the same change through the API would."""
    serializer = OrderInput(data=order_body(lines=[{"sku": "SKU-1", "quantity": 20, "unit_price": "1.00"}]))
    serializer.is_valid(raise_exception=True)
    order = Order.objects.get(pk=services.order_ingest(data=serializer.validated_data).order_id)
    assert not OrderException.objects.filter(order=order, rule__code="STOCK_SHORTAGE").exists()

    headers, rows = SHEETS[StockLevel]
    preview = upload(browser, StockLevel, spreadsheet("csv", headers, rows), "csv", mode=GOOD_ROWS)
    confirm(browser, StockLevel, preview)
    assert StockLevel.objects.get().available == 8
    assert OrderException.objects.filter(order=order, rule__code="STOCK_SHORTAGE").exists()


def test_the_message_after_a_good_rows_import_lists_at_most_fifty_skipped_rows(browser):
    """A file with many bad rows: the message names the first 50 and counts the rest."""
    rows = [["SKU-OK", 1, 0]] + [[f"SKU-{n}", -1, 0] for n in range(52)]
    preview = upload(browser, StockLevel, spreadsheet("csv", STOCK_HEADERS, rows), "csv", mode=GOOD_ROWS)
    assert len(problem_tables(preview.content.decode())[0]) == 52
    response = confirm(browser, StockLevel, preview)
    warning = [str(message) for message in get_messages(response.wsgi_request)][1]
    listed = problem_tables(warning)[0]
    assert [row[0] for row in listed] == [str(number) for number in range(3, 53)]
    assert "… and 2 more rows; upload the file again to see every error." in warning
    assert list(StockLevel.objects.values_list("sku", flat=True)) == ["SKU-OK"]


# --- Templates ------------------------------------------------------------------------------------

TEMPLATE_HEADERS = {Order: ORDER_COLUMNS, Product: PRODUCT_HEADERS, StockLevel: STOCK_HEADERS}


def _template(client, model, fmt: str):
    return client.get(reverse(f"admin:orders_{model._meta.model_name}_import_template"), {"format": fmt})


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("model", [Order, Product, StockLevel])
def test_the_template_has_the_import_columns_and_an_example_row_that_imports_cleanly(browser, model, fmt):
    """The downloaded file parses back with the columns the import reads; uploaded as it is, its
    example row passes every check and is stored on confirm."""
    response = _template(browser, model, fmt)
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS[fmt].CONTENT_TYPE
    assert response["Content-Disposition"] == f'attachment; filename="{model._meta.model_name}-import-template.{fmt}"'
    dataset = FORMATS[fmt](encoding="utf-8-sig").create_dataset(response.content)
    assert dataset.headers == TEMPLATE_HEADERS[model]
    assert len(dataset) == 1

    preview = upload(browser, model, response.content, fmt, mode=ALL_OR_NOTHING)
    assert not preview.context["result"].has_errors()
    assert not preview.context["result"].has_validation_errors()
    assert totals(preview) == {"new": 1}
    assert confirm(browser, model, preview).status_code == 302
    assert model.objects.count() == 1


def test_the_csv_template_opens_in_excel_as_utf8_and_holds_the_documented_example(browser):
    """A byte order mark, so Excel shows the Chinese cells; the example is the one the page shows."""
    content = _template(browser, Order, "csv").content
    assert content.startswith(b"\xef\xbb\xbf")
    header, example = content.decode("utf-8-sig").splitlines()
    assert header == ",".join(ORDER_COLUMNS)
    cells = dict(zip(ORDER_COLUMNS, example.split(","), strict=True))
    assert cells["lines"] == "SKU-1001*2@129.50; SKU-1002*1@10.00"
    assert (cells["total_amount"], cells["placed_at"]) == ("279.00", "2026-11-24 10:00:00")
    assert cells["customer_name"] == "张三"


def test_the_xlsx_template_types_its_cells_as_excel_does(browser):
    """Money and counts are number cells, times date-time cells, phones and postcodes text."""
    sheet = openpyxl.load_workbook(BytesIO(_template(browser, Order, "xlsx").content)).active
    cells = dict(zip(ORDER_COLUMNS, (cell.value for cell in sheet[2]), strict=True))
    assert cells["placed_at"] == datetime(2026, 11, 24, 10, 0)
    assert cells["total_amount"] == 279
    assert (cells["customer_phone"], cells["ship_postcode"]) == ("13800138000", "310000")


def test_the_imported_template_order_is_read_in_the_site_time_zone(browser):
    """The XLSX example's 10:00 (a cell without zone) is 10:00 in Shanghai, 02:00 UTC."""
    content = _template(browser, Order, "xlsx").content
    confirm(browser, Order, upload(browser, Order, content, "xlsx", mode=ALL_OR_NOTHING))
    order = Order.objects.get()
    assert order.placed_at.isoformat() == "2026-11-24T02:00:00+00:00"
    assert order.total_amount == Decimal("279.00")
    assert list(order.lines.values_list("sku", "quantity")) == [("SKU-1001", 2), ("SKU-1002", 1)]


def test_templates_need_the_import_permission(client, manager_user):
    """A manager, who may not import, gets no template; a stranger is sent to sign in."""
    assert _template(client, Product, "csv").status_code == 302
    client.force_login(manager_user)
    assert _template(client, Product, "csv").status_code == 403


@pytest.mark.parametrize("query", [{"format": "json"}, {"format": "csv", "resource": "7"}, {"resource": "x"}])
def test_an_unknown_template_format_or_resource_is_not_found(browser, query):
    url = reverse("admin:orders_product_import_template")
    assert browser.get(url, query).status_code == 404


# --- Times without an offset ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "fmt"),
    [
        ("2026-11-24 10:00:00", "csv"),
        ("2026-11-24 10:00", "csv"),
        ("2026-11-24T10:00:00", "csv"),
        (datetime(2026, 11, 24, 10, 0), "xlsx"),
    ],
    ids=["text", "text-without-seconds", "iso-text", "xlsx-date-cell"],
)
def test_a_time_without_an_offset_is_read_in_the_site_time_zone_not_the_users(client, admin_user, cell, fmt):
    """10:00 in a file is 10:00 in Asia/Shanghai (02:00 UTC), also for an admin whose pages show
    London time: a file means the shop's local time, whoever uploads it."""
    admin_user.time_zone = "Europe/London"
    admin_user.save(update_fields=["time_zone"])
    client.force_login(admin_user)
    content = order_file([order_row(placed_at=cell, paid_at=cell)], fmt)
    confirm(client, Order, upload(client, Order, content, fmt))
    order = Order.objects.get()
    assert order.placed_at.isoformat() == "2026-11-24T02:00:00+00:00"
    assert order.paid_at == order.placed_at


def test_the_site_time_zone_is_read_when_the_file_is(browser, settings):
    """The zone is the TIME_ZONE setting at import time, not one fixed when the code was loaded."""
    settings.TIME_ZONE = "Asia/Tokyo"
    confirm(browser, Order, upload(browser, Order, order_file([order_row(placed_at="2026-11-24 10:00")]), "csv"))
    assert Order.objects.get().placed_at.isoformat() == "2026-11-24T01:00:00+00:00"


def test_a_time_with_an_offset_is_read_as_written(browser):
    content = order_file([order_row(placed_at="2026-11-24T10:00:00Z", paid_at="2026-11-24T10:00:00-05:00")])
    confirm(browser, Order, upload(browser, Order, content, "csv"))
    order = Order.objects.get()
    assert (order.placed_at.isoformat(), order.paid_at.isoformat()) == (
        "2026-11-24T10:00:00+00:00",
        "2026-11-24T15:00:00+00:00",
    )


def test_an_impossible_time_is_a_row_error_not_a_crash(browser):
    """2026-02-30 looks like a time but is none: the cell is refused with the serializer's message."""
    rows = problem_tables(
        upload(browser, Order, order_file([order_row(placed_at="2026-02-30 10:00")]), "csv").content.decode()
    )[0]
    assert [(row[0], row[1].split()[0], row[2]) for row in rows] == [("2", "placed_at", "2026-02-30 10:00")]
    assert rows[0][3].startswith("Datetime has wrong format.")


# --- The page explains the columns ----------------------------------------------------------------


def _guide(response) -> dict[str, object]:
    [guide] = response.context["import_guides"]
    return {column.name: column for column in guide["columns"]}


def test_the_order_import_page_explains_every_column(browser):
    """Name, required or not, format and example for each column, from the resource's definitions."""
    response = browser.get(reverse("admin:orders_order_import"))
    columns = _guide(response)
    assert list(columns) == ORDER_COLUMNS
    assert {name for name, column in columns.items() if column.is_required} == {
        "channel",
        "external_id",
        "status",
        "placed_at",
        "total_amount",
        "lines",
    }
    assert ("jd", "JD.com") in columns["channel"].choices
    assert ("pending_payment", "Pending payment") in columns["status"].choices
    assert (columns["currency"].default, columns["shipping_fee"].default) == ("CNY", "0.00")
    assert "129.50" in columns["total_amount"].format
    assert "sku*quantity@unit_price" in columns["lines"].format

    html = response.content.decode()
    assert "Times without a UTC offset are read in Asia/Shanghai time (UTC+08:00)." in html
    for name in ORDER_COLUMNS:
        assert f'<tr data-column="{name}">' in html
    assert "<code>SKU-1001*2@129.50; SKU-1002*1@10.00</code>" in html
    assert reverse("admin:orders_order_import_template") + "?format=xlsx" in html


def test_the_import_page_speaks_the_chosen_language(browser):
    """Allowed values keep their code and show their name in the page's language."""
    browser.cookies["django_language"] = "zh-hans"
    columns = _guide(browser.get(reverse("admin:orders_order_import")))
    assert ("jd", "京东") in columns["channel"].choices
    assert ("paid", "已付款") in columns["status"].choices


@pytest.mark.parametrize("model", [Product, StockLevel])
def test_catalogue_pages_state_no_time_rule_and_their_key(browser, model):
    """Pages without time columns leave the time-zone sentence out; the SKU column says it is the key."""
    response = browser.get(reverse(f"admin:orders_{model._meta.model_name}_import"))
    assert "UTC offset" not in response.content.decode()
    assert _guide(response)["sku"].is_required
    assert "known SKU" in _guide(response)["sku"].note


# --- Files that cannot be read ---------------------------------------------------------------------


def test_a_file_missing_a_required_column_names_it_and_stores_nothing(browser):
    """Without the lines column no order can be read: one message for the file, not one per row."""
    columns = [column for column in ORDER_COLUMNS if column != "lines"]
    content = spreadsheet("csv", columns, [[order_row()[column] for column in columns]])
    preview = upload(browser, Order, content, "csv", mode=GOOD_ROWS)
    html = preview.content.decode()
    assert "The file has no column lines." in html
    assert problem_tables(html) == []
    assert "confirm_form" not in preview.context
    assert_readable(html)
    assert not Order.objects.exists()


def test_headers_with_spaces_or_capitals_are_read(browser):
    """Spreadsheets often carry " SKU " in the header row; the column is still found."""
    content = spreadsheet("csv", [" SKU", "Name ", "LIST_PRICE", "currency"], [["SKU-1", "杯", "1.00", "CNY"]])
    confirm(browser, Product, upload(browser, Product, content, "csv"))
    assert list(Product.objects.values_list("sku", "name")) == [("SKU-1", "杯")]
