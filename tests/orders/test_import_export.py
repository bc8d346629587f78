"""CSV / XLSX import and export of products, stock levels and orders through the admin.

An upload is a dry run that shows a preview or row errors; only the confirm step stores rows.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tablib
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from import_export.formats.base_formats import CSV, XLSX
from import_export.results import RowResult

from apps.exceptions.models import OrderException
from apps.orders import services
from apps.orders.api import OrderInput
from apps.orders.models import Customer, Order, Product, StockLevel
from apps.orders.resources import OrderResource
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

FORMATS = {"csv": CSV, "xlsx": XLSX}
ORDER_COLUMNS = [
    "channel",
    "external_id",
    "status",
    "placed_at",
    "paid_at",
    "promised_ship_by",
    "currency",
    "total_amount",
    "shipping_fee",
    "discount",
    "customer_external_id",
    "customer_name",
    "customer_phone",
    "customer_email",
    "ship_recipient",
    "ship_phone",
    "ship_province",
    "ship_city",
    "ship_district",
    "ship_detail",
    "ship_postcode",
    "lines",
]


def spreadsheet(fmt: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """A CSV or XLSX file; XLSX keeps numbers as numbers, the way Excel stores them."""
    dataset = tablib.Dataset(*rows, headers=headers)
    content = dataset.export(fmt)
    return content.encode() if isinstance(content, str) else content


def format_choice(model, fmt: str) -> str:
    return str(admin.site._registry[model].get_import_formats().index(FORMATS[fmt]))


def upload(client, model, content: bytes, fmt: str, mode: str | None = None):
    """Post a file to the model's import page: the dry run. Without ``mode`` the form's field is left out."""
    name = model._meta.model_name
    data = {"format": format_choice(model, fmt), "import_file": SimpleUploadedFile(f"{name}.{fmt}", content)}
    if mode is not None:
        data["import_mode"] = mode
    return client.post(reverse(f"admin:orders_{name}_import"), data)


def confirm(client, model, preview):
    """Press "Confirm import" on a preview page."""
    assert "confirm_form" in preview.context, preview.context["result"].invalid_rows
    form = preview.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    return client.post(reverse(f"admin:orders_{model._meta.model_name}_process_import"), data)


def row_errors(preview) -> dict[int, dict[str, list[str]]]:
    """Row number → column → messages, as the preview lists them."""
    result = preview.context["result"]
    return {row.number: row.error_dict for row in result.invalid_rows}


def totals(preview) -> dict[str, int]:
    counted = preview.context["result"].totals
    return {kind: count for kind, count in counted.items() if count}


@pytest.fixture
def browser(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(("model", "column"), [(Product, "list_price"), (StockLevel, "on_hand"), (Order, "lines")])
@pytest.mark.parametrize("page", ["import", "export"])
def test_import_and_export_pages_render_with_the_columns(browser, model, column, page):
    """The import and export pages list the columns a file has."""
    response = browser.get(reverse(f"admin:orders_{model._meta.model_name}_{page}"))
    assert response.status_code == 200
    assert column in response.content.decode()


# --- Products -------------------------------------------------------------------------------------

PRODUCT_HEADERS = ["sku", "name", "list_price", "currency"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_product_file_with_bad_rows_shows_row_errors_and_applies_nothing(browser, fmt):
    """Negative and malformed prices and a bad currency are row errors naming the column."""
    content = spreadsheet(
        fmt,
        PRODUCT_HEADERS,
        [
            ["SKU-1", "保温杯", 129.5, "CNY"],
            ["SKU-2", "杯盖", -1, "CNY"],
            ["SKU-3", "礼盒", "12,x", "CNY"],
            ["SKU-4", "手提袋", 5, "cny"],
            ["", "无编码", 5, "CNY"],
        ],
    )
    preview = upload(browser, Product, content, fmt)
    assert preview.status_code == 200
    errors = row_errors(preview)
    assert {number: list(columns) for number, columns in errors.items()} == {
        2: ["list_price"],
        3: ["list_price"],
        4: ["currency"],
        5: ["sku"],
    }
    assert errors[2]["list_price"] == ["Ensure this value is greater than or equal to 0."]
    assert errors[3]["list_price"] == ["A valid number is required."]
    assert "confirm_form" not in preview.context
    assert "Ensure this value is greater than or equal to 0." in preview.content.decode()
    assert not Product.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_clean_product_file_is_previewed_then_applied_on_confirm(browser, fmt):
    """The upload only previews; confirming stores the products."""
    content = spreadsheet(fmt, PRODUCT_HEADERS, [["SKU-1", "保温杯", "129.50", "CNY"], ["SKU-2", "杯盖", 9, ""]])
    preview = upload(browser, Product, content, fmt)
    assert totals(preview) == {RowResult.IMPORT_TYPE_NEW: 2}
    assert not Product.objects.exists()

    assert confirm(browser, Product, preview).status_code == 302
    stored = {p.sku: (p.name, p.list_price, p.currency) for p in Product.objects.all()}
    assert stored == {"SKU-1": ("保温杯", Decimal("129.50"), "CNY"), "SKU-2": ("杯盖", Decimal("9.00"), "CNY")}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_reimporting_products_updates_them_by_sku(browser, fmt):
    """A known SKU is updated in place, an identical row is skipped, a new SKU is added."""
    services.product_upsert(sku="SKU-1", name="杯", list_price=Decimal("10.00"))
    services.product_upsert(sku="SKU-2", name="杯盖", list_price=Decimal("9.00"))
    content = spreadsheet(
        fmt,
        PRODUCT_HEADERS,
        [["SKU-1", "保温杯", "12.50", "CNY"], ["SKU-2", "杯盖", "9.00", "CNY"], ["SKU-3", "礼盒", "20", "CNY"]],
    )
    preview = upload(browser, Product, content, fmt)
    assert totals(preview) == {
        RowResult.IMPORT_TYPE_NEW: 1,
        RowResult.IMPORT_TYPE_UPDATE: 1,
        RowResult.IMPORT_TYPE_SKIP: 1,
    }
    assert confirm(browser, Product, preview).status_code == 302
    assert Product.objects.count() == 3
    updated = Product.objects.get(sku="SKU-1")
    assert (updated.name, updated.list_price) == ("保温杯", Decimal("12.50"))


def test_empty_rows_below_the_data_are_skipped_not_reported(browser):
    """Excel keeps formatted empty rows; they neither fail the file nor create anything."""
    content = spreadsheet("xlsx", PRODUCT_HEADERS, [["SKU-1", "杯", 1, "CNY"], [None, None, None, None]])
    preview = upload(browser, Product, content, "xlsx")
    assert totals(preview) == {RowResult.IMPORT_TYPE_NEW: 1, RowResult.IMPORT_TYPE_SKIP: 1}
    confirm(browser, Product, preview)
    assert list(Product.objects.values_list("sku", flat=True)) == ["SKU-1"]


def test_a_file_that_fails_on_confirm_applies_nothing(browser):
    """If rows fail when confirmed (the stored upload changed since the preview), no row is kept."""
    preview = upload(browser, Product, spreadsheet("csv", PRODUCT_HEADERS, [["SKU-1", "杯", "1", "CNY"]]), "csv")
    stored_upload = Path(tempfile.gettempdir()) / Path(preview.context["confirm_form"]["import_file_name"].value()).name
    stored_upload.write_bytes(
        spreadsheet("csv", PRODUCT_HEADERS, [["SKU-1", "杯", "1", "CNY"], ["SKU-2", "盖", "-1", ""]])
    )

    response = confirm(browser, Product, preview)
    assert response.status_code == 302
    assert not Product.objects.exists()
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == ["Nothing was imported: some rows no longer pass the checks. Upload the file again to see them."]


def test_a_product_file_without_a_sku_column_is_refused_whole(browser):
    """Rows can't be matched without their key column: the file is refused, nothing stored."""
    preview = upload(browser, Product, spreadsheet("csv", ["name", "list_price"], [["杯", "1"]]), "csv")
    assert preview.status_code == 200
    assert preview.context["result"].has_errors()
    assert "sku" in str(preview.context["result"].base_errors[0].error)
    assert "confirm_form" not in preview.context
    assert not Product.objects.exists()


def test_a_file_that_is_not_the_chosen_format_is_a_form_error(browser):
    """Text uploaded as XLSX is reported on the file field, not as a server error."""
    response = upload(browser, Product, b"sku,name\nSKU-1,x\n", "xlsx")
    assert response.status_code == 200
    assert "import_file" in response.context["form"].errors


# --- Stock levels ---------------------------------------------------------------------------------

STOCK_HEADERS = ["sku", "on_hand", "reserved"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_stock_file_with_bad_rows_shows_row_errors_and_applies_nothing(browser, fmt):
    """Negative, fractional and non-numeric quantities are row errors naming the column."""
    content = spreadsheet(
        fmt,
        STOCK_HEADERS,
        [["SKU-1", 10, 2], ["SKU-2", -3, 0], ["SKU-3", 5, "abc"], ["SKU-4", 1.5, 0], ["SKU-5", 4, -1]],
    )
    preview = upload(browser, StockLevel, content, fmt)
    errors = row_errors(preview)
    assert {number: list(columns) for number, columns in errors.items()} == {
        2: ["on_hand"],
        3: ["reserved"],
        4: ["on_hand"],
        5: ["reserved"],
    }
    assert errors[3]["reserved"] == ["A valid integer is required."]
    assert "confirm_form" not in preview.context
    assert not StockLevel.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_clean_stock_file_is_applied_on_confirm_and_updates_by_sku_when_reimported(browser, fmt):
    """Confirming stores the levels; a second file changes the known SKU instead of adding one."""
    first = upload(browser, StockLevel, spreadsheet(fmt, STOCK_HEADERS, [["SKU-1", 10, 2], ["SKU-2", 5, ""]]), fmt)
    assert not StockLevel.objects.exists()
    assert confirm(browser, StockLevel, first).status_code == 302
    assert {s.sku: (s.on_hand, s.reserved) for s in StockLevel.objects.all()} == {"SKU-1": (10, 2), "SKU-2": (5, 0)}

    second = upload(browser, StockLevel, spreadsheet(fmt, STOCK_HEADERS, [["SKU-1", 7, 1]]), fmt)
    assert totals(second) == {RowResult.IMPORT_TYPE_UPDATE: 1}
    assert confirm(browser, StockLevel, second).status_code == 302
    assert StockLevel.objects.count() == 2
    assert StockLevel.objects.get(sku="SKU-1").available == 6


# --- Orders ---------------------------------------------------------------------------------------


def order_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "channel": "taobao",
        "external_id": "TB-IMP-0001",
        "status": "paid",
        "placed_at": "2026-11-24T10:00:00+08:00",
        "paid_at": "2026-11-24 10:02:00",
        "promised_ship_by": "",
        "currency": "CNY",
        "total_amount": "269.00",
        "shipping_fee": "10.00",
        "discount": "",
        "customer_external_id": "C-1",
        "customer_name": "张三",
        "customer_phone": "13800138000",
        "customer_email": "zs@example.com",
        "ship_recipient": "张三",
        "ship_phone": "13800138000",
        "ship_province": "浙江省",
        "ship_city": "杭州市",
        "ship_district": "西湖区",
        "ship_detail": "文三路100号",
        "ship_postcode": "310000",
        "lines": "SKU-1*2@129.50; SKU-2*1@0.00",
    }
    row.update(overrides)
    return row


def order_file(rows: list[dict[str, Any]], fmt: str = "csv") -> bytes:
    return spreadsheet(fmt, ORDER_COLUMNS, [[row[column] for column in ORDER_COLUMNS] for row in rows])


def test_good_order_rows_are_created_with_lines_and_customer_on_confirm(browser):
    """Each row becomes an order with its lines, customer and address, once confirmed."""
    content = order_file([order_row(), order_row(external_id="TB-IMP-0002", lines="SKU-9*1@99")])
    preview = upload(browser, Order, content, "csv")
    assert totals(preview) == {RowResult.IMPORT_TYPE_NEW: 2}
    assert "SKU-1*2@129.50; SKU-2*1@0.00" in preview.content.decode()
    assert not Order.objects.exists()

    assert confirm(browser, Order, preview).status_code == 302
    order = Order.objects.get(external_id="TB-IMP-0001")
    assert (order.status, order.total_amount, order.shipping_fee, order.discount) == (
        "paid",
        Decimal("269.00"),
        Decimal("10.00"),
        Decimal("0.00"),
    )
    assert order.placed_at.isoformat() == "2026-11-24T02:00:00+00:00"
    # A time without an offset is read in the site's time zone (Asia/Shanghai).
    assert order.paid_at.isoformat() == "2026-11-24T02:02:00+00:00"
    assert order.promised_ship_by is None
    assert order.status_changed_at is not None
    assert (order.customer.external_id, order.customer.name, order.customer_phone) == ("C-1", "张三", "13800138000")
    assert (order.ship_city, order.ship_postcode) == ("杭州市", "310000")
    assert list(order.lines.values_list("line_no", "sku", "quantity", "unit_price")) == [
        (1, "SKU-1", 2, Decimal("129.50")),
        (2, "SKU-2", 1, Decimal("0.00")),
    ]
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"status": "lost"}, "status", '"lost" is not a valid choice.'),
        ({"lines": "SKU-1 x 2"}, "lines", "Line 1 (“SKU-1 x 2”): write sku*quantity@unit_price, e.g. SKU-1*2@129.50."),
        ({"lines": "SKU-1*-2@10.00"}, "lines", "Line 1, quantity: Ensure this value is greater than or equal to 1."),
        ({"lines": "SKU-1*1@1; SKU-2*two@1"}, "lines", "Line 2, quantity: A valid integer is required."),
        ({"lines": ""}, "lines", "Ensure this field has at least 1 elements."),
        ({"placed_at": "yesterday"}, "placed_at", "Datetime has wrong format."),
        ({"total_amount": "-5"}, "total_amount", "Ensure this value is greater than or equal to 0."),
        ({"channel": "ebay"}, "channel", '"ebay" is not a valid choice.'),
        ({"customer_phone": "1" * 40}, "customer_phone", "Ensure this field has no more than 32 characters."),
        ({"ship_city": "市" * 40}, "ship_city", "Ensure this field has no more than 32 characters."),
    ],
    ids=[
        "unknown-status",
        "bad-lines-text",
        "negative-quantity",
        "non-numeric-quantity",
        "no-lines",
        "bad-time",
        "negative-total",
        "unknown-channel",
        "long-customer-phone",
        "long-ship-city",
    ],
)
def test_a_bad_order_row_names_the_column_and_nothing_is_applied(browser, change, column, message):
    """The row is checked by the API's OrderInput; its error names the spreadsheet column."""
    content = order_file([order_row(), order_row(external_id="TB-IMP-0002", **change)])
    preview = upload(browser, Order, content, "csv")
    errors = row_errors(preview)
    assert list(errors) == [2]
    assert list(errors[2]) == [column]
    assert errors[2][column][0].startswith(message)
    assert "confirm_form" not in preview.context
    assert not Order.objects.exists()
    assert not Customer.objects.exists()


def test_several_errors_in_one_row_are_all_reported(browser):
    """Every bad column of a row is listed at once, so one round of fixes is enough."""
    content = order_file([order_row(status="lost", currency="rmb", lines="SKU-1*0@1")])
    errors = row_errors(upload(browser, Order, content, "csv"))
    assert sorted(errors[1]) == ["currency", "lines", "status"]


def test_reimporting_the_same_orders_creates_nothing_new(browser):
    """Idempotent like the API: known (channel, external_id) rows are skipped and left as stored."""
    rows = [order_row(), order_row(external_id="TB-IMP-0002")]
    assert confirm(browser, Order, upload(browser, Order, order_file(rows), "csv")).status_code == 302
    stored = {o.external_id: (o.pk, o.total_amount) for o in Order.objects.all()}

    rows[0]["total_amount"] = "1.00"
    again = upload(browser, Order, order_file(rows), "csv")
    assert totals(again) == {RowResult.IMPORT_TYPE_SKIP: 2}
    assert confirm(browser, Order, again).status_code == 302
    assert {o.external_id: (o.pk, o.total_amount) for o in Order.objects.all()} == stored


def test_a_repeated_order_in_one_file_is_created_once(browser):
    """A second row with the same key is skipped, as a repeat in one bulk request is."""
    preview = upload(browser, Order, order_file([order_row(), order_row(status="shipped")]), "csv")
    assert totals(preview) == {RowResult.IMPORT_TYPE_NEW: 1, RowResult.IMPORT_TYPE_SKIP: 1}
    confirm(browser, Order, preview)
    assert list(Order.objects.values_list("status", flat=True)) == ["paid"]


def _ingest(**overrides: Any) -> None:
    serializer = OrderInput(data=order_body(**overrides))
    serializer.is_valid(raise_exception=True)
    services.order_ingest(data=serializer.validated_data)


def _orders_as_rows() -> list[tuple]:
    orders = Order.objects.select_related("customer").prefetch_related("lines").order_by("external_id")
    return [
        (
            *(getattr(order, name) for name in ("channel", "external_id", "status", "placed_at", "paid_at")),
            *(getattr(order, name) for name in ("promised_ship_by", "currency", "total_amount", "shipping_fee")),
            order.discount,
            (order.customer.external_id, order.customer.name, order.customer_phone, order.customer.email),
            tuple(getattr(order, column) for column in services.ADDRESS_FIELDS.values()),
            tuple((line.line_no, line.sku, line.quantity, line.unit_price) for line in order.lines.all()),
        )
        for order in orders
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_orders_import_back_as_the_same_orders(browser, fmt):
    """Export writes the import columns; importing the file into an empty shop recreates the orders."""
    _ingest(
        lines=[
            {"sku": "SKU-1", "quantity": 2, "unit_price": "129.50"},
            {"sku": "SKU*2@x", "quantity": 1, "unit_price": "0.99"},
        ],
        shipping_fee="10.00",
        discount="0.99",
        total_amount="269.00",
    )
    _ingest(
        channel="jd",
        status="pending_payment",
        paid_at=None,
        promised_ship_by="2026-11-26T18:00:00+08:00",
        customer={"external_id": "", "name": "", "phone": "", "email": ""},
        shipping_address={"recipient": "李四", "postcode": "100000"},
    )
    before = _orders_as_rows()

    fields = {f"orderresource_{name}": "on" for name in OrderResource().get_export_order()}
    exported = browser.post(reverse("admin:orders_order_export"), {"format": format_choice(Order, fmt), **fields})
    assert exported.status_code == 200
    content = exported.content
    dataset = FORMATS[fmt](encoding="utf-8-sig").create_dataset(content)
    assert dataset.headers == ORDER_COLUMNS
    assert len(dataset) == 2

    OrderException.objects.all().delete()  # they protect the orders they are about
    Order.objects.all().delete()
    Customer.objects.all().delete()
    preview = upload(browser, Order, content, fmt)
    assert totals(preview) == {RowResult.IMPORT_TYPE_NEW: 2}
    assert confirm(browser, Order, preview).status_code == 302
    assert _orders_as_rows() == before


# --- Permissions ----------------------------------------------------------------------------------


def test_a_staff_member_cannot_import_products(client, staff_user):
    """Staff have no admin access: the import page sends them to the login page, nothing is stored."""
    client.force_login(staff_user)
    response = upload(client, Product, spreadsheet("csv", PRODUCT_HEADERS, [["SKU-1", "杯", "1", "CNY"]]), "csv")
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not Product.objects.exists()


def test_a_manager_may_export_but_not_import(client, manager_user):
    """View permission allows export; importing needs add and change."""
    client.force_login(manager_user)
    content = spreadsheet("csv", PRODUCT_HEADERS, [["SKU-1", "杯", "1", "CNY"]])
    assert upload(client, Product, content, "csv").status_code == 403
    assert client.get(reverse("admin:orders_product_import")).status_code == 403
    assert client.get(reverse("admin:orders_product_export")).status_code == 200
    assert not Product.objects.exists()


def test_the_changelist_offers_import_only_to_whoever_may_import(client, admin_user, manager_user):
    """The import button is shown to admins and hidden from managers."""
    import_url = reverse("admin:orders_product_import")
    client.force_login(admin_user)
    assert import_url in client.get(reverse("admin:orders_product_changelist")).content.decode()
    client.force_login(manager_user)
    assert import_url not in client.get(reverse("admin:orders_product_changelist")).content.decode()
