"""CSV / XLSX import and export of products, stock levels and orders (django-import-export).

Every row takes the path an API request takes: its cells become the dict the API input
serializer reads, that serializer validates it, and a service stores it. Resources only
translate between cells and that dict; errors come back keyed by the column to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets
from import_export.results import RowResult
from rest_framework import serializers

from apps.common.api import flatten_errors
from apps.orders import selectors, services
from apps.orders.api import OrderInput, ProductInput, SkuField, StockLevelInput
from apps.orders.models import Order, OrderLine, Product, StockLevel

_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


class ProductRowInput(ProductInput):
    """A product as one row or admin form carries it: the API's product body plus its SKU."""

    sku = SkuField()


class StockLevelRowInput(StockLevelInput):
    """A stock level as one row or admin form carries it: the API's body plus its SKU."""

    sku = SkuField()


# --- Cells --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A text cell as a string; an XLSX number typed into a text column keeps its digits (13800138000)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_value(value: Any) -> Any:
    """A number or time cell for the serializer to judge; blank is ``None``, text is stripped."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def cell_whole_number(value: Any) -> Any:
    """An integer cell: CSV text "12" becomes 12; anything else is left for the serializer to refuse."""
    value = cell_value(value)
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class TextWidget(widgets.CharWidget):
    """Text in both directions; ``strip`` for key columns, where a stray space would miss the match."""

    def __init__(self, strip: bool = False):
        super().__init__(coerce_to_string=True, allow_blank=True)
        self.strip = strip

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        return text.strip() if self.strip else text


class MoneyWidget(widgets.DecimalWidget):
    """Plain ``129.50`` in CSV (no locale grouping), a number in XLSX."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class WholeNumberWidget(widgets.IntegerWidget):
    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class IsoDateTimeWidget(widgets.Widget):
    """ISO 8601 with the UTC offset, as the API speaks it; XLSX gets the same text, Excel has no time zones."""

    def render(self, value, obj=None, **kwargs):
        return timezone.localtime(value).isoformat() if value else ""


# --- Order lines in one cell ----------------------------------------------------------------------


def lines_format(lines: Iterable[OrderLine]) -> str:
    """``SKU-1*2@129.50; SKU-2*1@10.00``: sku*quantity@unit_price, in line order."""
    return "; ".join(f"{line.sku}*{line.quantity}@{line.unit_price}" for line in lines)


def lines_parse(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Split the compact lines text into API line dicts, plus a message for each unreadable line.

    Quantities and prices are passed on as written, so the line serializer judges them exactly
    as it judges the API's. The last ``*`` and ``@`` separate the parts, so a SKU may contain them.
    """
    lines: list[dict[str, Any]] = []
    errors: list[str] = []
    parts = [part.strip() for part in text.split(";")]
    for number, part in enumerate((part for part in parts if part), start=1):
        head, at, price = part.rpartition("@")
        sku, star, quantity = head.rpartition("*")
        if not (at and star and sku.strip() and quantity.strip() and price.strip()):
            errors.append(
                _("Line %(number)d (“%(text)s”): write sku*quantity@unit_price, e.g. SKU-1*2@129.50.")
                % {"number": number, "text": part}
            )
            continue
        lines.append({"sku": sku.strip(), "quantity": cell_whole_number(quantity), "unit_price": price.strip()})
    return lines, errors


class LinesWidget(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        # ``value`` is the order's line manager; an order not stored yet has no lines to show.
        if value is None or value.instance.pk is None:
            return ""
        return lines_format(value.all())


# --- Base ---------------------------------------------------------------------------------------


def _adopt(instance: Model, stored: Model) -> None:
    """Make the instance import-export holds for this row the one the service stored (pk, caches)."""
    instance.__dict__.update(stored.__dict__)


class ServiceResource(resources.ModelResource):
    """A resource whose rows are validated by an API input serializer and stored by a service.

    Subclasses say how a row becomes the serializer's input (``row_input``), which column an
    error path belongs to (``error_column``) and what to do with the validated data.
    """

    input_serializer: type[serializers.Serializer]

    def row_input(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Return the serializer input built from the row, and errors found reading its cells."""
        raise NotImplementedError

    def error_column(self, path: str, messages: list[str]) -> tuple[str, list[str]]:
        """Map a flattened serializer error path (``customer.name``) to the column to blame."""
        return (NON_FIELD_ERRORS if path == "non_field_errors" else path), messages

    def apply_input(self, instance: Model, data: dict[str, Any], **kwargs: Any) -> None:
        """Keep the validated data for ``save_instance``; by default set it on the instance."""
        for name, value in data.items():
            setattr(instance, name, value)

    def validated_input(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row as validated API input; raises ``ValidationError`` keyed by column."""
        data, errors = self.row_input(row)
        serializer = self.input_serializer(data=data)
        if serializer.is_valid() and not errors:
            return dict(serializer.validated_data)
        unreadable = set(errors)
        for path, messages in flatten_errors(serializer.errors).items():
            column, messages = self.error_column(path, messages)
            # A cell that could not be read already says why; the serializer would only add "required".
            if column not in unreadable:
                errors.setdefault(column, []).extend(messages)
        raise ValidationError(errors)

    def import_instance(self, instance, row, **kwargs):
        self.apply_input(instance, self.validated_input(row), **kwargs)

    def import_row(self, row, instance_loader, **kwargs):
        # Spreadsheets keep formatted but empty rows below the data; they are nothing to import.
        if all(cell_value(value) is None for value in row.values()):
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        return super().import_row(row, instance_loader, **kwargs)


# --- Products and stock levels ------------------------------------------------------------------


class ProductResource(ServiceResource):
    """Products keyed by SKU; a row for a known SKU updates it, an identical row is skipped."""

    input_serializer = ProductRowInput

    sku = fields.Field(attribute="sku", column_name="sku", widget=TextWidget(strip=True))
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    list_price = fields.Field(attribute="list_price", column_name="list_price", widget=MoneyWidget())
    currency = fields.Field(attribute="currency", column_name="currency", widget=TextWidget(strip=True))

    class Meta:
        model = Product
        name = gettext_lazy("Products by SKU")
        fields = ("sku", "name", "list_price", "currency")
        import_id_fields = ("sku",)
        skip_unchanged = True
        report_skipped = True

    def row_input(self, row):
        data: dict[str, Any] = {"sku": cell_text(row.get("sku")).strip()}
        if "name" in row:
            data["name"] = cell_text(row["name"])
        if (price := cell_value(row.get("list_price"))) is not None:
            data["list_price"] = price
        if currency := cell_text(row.get("currency")).strip():
            data["currency"] = currency
        return data, {}

    def do_instance_save(self, instance, is_create):
        product, _created = services.product_upsert(
            sku=instance.sku, name=instance.name, list_price=instance.list_price, currency=instance.currency
        )
        _adopt(instance, product)


class StockLevelResource(ServiceResource):
    """Stock levels keyed by SKU; ``reserved`` may be left empty (0)."""

    input_serializer = StockLevelRowInput

    sku = fields.Field(attribute="sku", column_name="sku", widget=TextWidget(strip=True))
    on_hand = fields.Field(attribute="on_hand", column_name="on_hand", widget=WholeNumberWidget())
    reserved = fields.Field(attribute="reserved", column_name="reserved", widget=WholeNumberWidget())

    class Meta:
        model = StockLevel
        name = gettext_lazy("Stock levels by SKU")
        fields = ("sku", "on_hand", "reserved")
        import_id_fields = ("sku",)
        skip_unchanged = True
        report_skipped = True

    def row_input(self, row):
        data: dict[str, Any] = {"sku": cell_text(row.get("sku")).strip()}
        for column in ("on_hand", "reserved"):
            if (value := cell_whole_number(row.get(column))) is not None:
                data[column] = value
        return data, {}

    def do_instance_save(self, instance, is_create):
        stock, _created = services.stock_level_set(
            sku=instance.sku, on_hand=instance.on_hand, reserved=instance.reserved
        )
        _adopt(instance, stock)


# --- Orders -------------------------------------------------------------------------------------

CUSTOMER_COLUMNS = {
    "external_id": "customer_external_id",
    "name": "customer_name",
    "phone": "customer_phone",
    "email": "customer_email",
}
# The API's shipping_address keys and the order's columns: recipient → ship_recipient, ...
ADDRESS_COLUMNS = services.ADDRESS_FIELDS
ORDER_TEXT_COLUMNS = ("external_id", "channel", "status", "currency")
ORDER_TIME_COLUMNS = ("placed_at", "paid_at", "promised_ship_by")
ORDER_MONEY_COLUMNS = ("total_amount", "shipping_fee", "discount")


def _text_field(attribute: str, column: str | None = None, *, strip: bool = False) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column or attribute, widget=TextWidget(strip=strip))


class OrderResource(ServiceResource):
    """One row per order, lines in one cell (``SKU-1*2@129.50; SKU-2*1@10.00``).

    Rows go through ``OrderInput`` and ``services.order_ingest``, so a file behaves like the same
    orders POSTed to the API: an order already known by (channel, external_id) is skipped and
    stays as it is. The columns carry neither line item names nor custom ``data``; an export
    re-imports as the same orders without them.
    """

    input_serializer = OrderInput

    channel = _text_field("channel", strip=True)
    external_id = _text_field("external_id", strip=True)
    status = _text_field("status", strip=True)
    placed_at = fields.Field(attribute="placed_at", column_name="placed_at", widget=IsoDateTimeWidget())
    paid_at = fields.Field(attribute="paid_at", column_name="paid_at", widget=IsoDateTimeWidget())
    promised_ship_by = fields.Field(
        attribute="promised_ship_by", column_name="promised_ship_by", widget=IsoDateTimeWidget()
    )
    currency = _text_field("currency", strip=True)
    total_amount = fields.Field(attribute="total_amount", column_name="total_amount", widget=MoneyWidget())
    shipping_fee = fields.Field(attribute="shipping_fee", column_name="shipping_fee", widget=MoneyWidget())
    discount = fields.Field(attribute="discount", column_name="discount", widget=MoneyWidget())
    customer_external_id = _text_field("customer__external_id", "customer_external_id")
    customer_name = _text_field("customer__name", "customer_name")
    # The phone as it was on this order (the customer record holds the latest one).
    customer_phone = _text_field("customer_phone")
    customer_email = _text_field("customer__email", "customer_email")
    ship_recipient = _text_field("ship_recipient")
    ship_phone = _text_field("ship_phone")
    ship_province = _text_field("ship_province")
    ship_city = _text_field("ship_city")
    ship_district = _text_field("ship_district")
    ship_detail = _text_field("ship_detail")
    ship_postcode = _text_field("ship_postcode")
    lines = fields.Field(attribute="lines", column_name="lines", widget=LinesWidget())

    class Meta:
        model = Order
        name = gettext_lazy("Orders, one row each")
        fields = (
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
        )
        import_id_fields = ("channel", "external_id")
        report_skipped = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Validated input and ingest outcome per row number, between import_instance and save_instance.
        self._inputs: dict[int, dict[str, Any]] = {}
        self._created: dict[int, bool] = {}

    def get_queryset(self):
        return selectors.order_list()

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("customer").prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("line_no"))
        )

    def row_input(self, row):
        data: dict[str, Any] = {}
        for column in ORDER_TEXT_COLUMNS:
            if value := cell_text(row.get(column)).strip():
                data[column] = value
        for column in ORDER_TIME_COLUMNS:
            value = cell_value(row.get(column))
            if value is not None or column != "placed_at":
                data[column] = value
        for column in ORDER_MONEY_COLUMNS:
            if (value := cell_value(row.get(column))) is not None:
                data[column] = value
        data["customer"] = {key: cell_text(row[column]) for key, column in CUSTOMER_COLUMNS.items() if column in row}
        data["shipping_address"] = {
            key: cell_text(row[column]) for key, column in ADDRESS_COLUMNS.items() if column in row
        }
        errors: dict[str, list[str]] = {}
        if "lines" in row:
            data["lines"], line_errors = lines_parse(cell_text(row["lines"]))
            if line_errors:
                errors["lines"] = line_errors
        return data, errors

    def error_column(self, path, messages):
        head, _dot, rest = path.partition(".")
        if head == "customer" and rest in CUSTOMER_COLUMNS:
            return CUSTOMER_COLUMNS[rest], messages
        if head == "shipping_address" and rest in ADDRESS_COLUMNS:
            return ADDRESS_COLUMNS[rest], messages
        if head == "lines" and rest:
            index, _dot, field = rest.partition(".")
            if index.isdigit():
                prefix = _("Line %(number)d, %(field)s") % {"number": int(index) + 1, "field": field or _("line")}
                return "lines", [f"{prefix}: {message}" for message in messages]
        return super().error_column(path, messages)

    def apply_input(self, instance, data, **kwargs):
        # The order is built by the service, not field by field here.
        self._inputs[kwargs["row_number"]] = data

    def skip_row(self, instance, original, row, import_validation_errors=None):
        # Idempotent like the API: a known (channel, external_id) stays as stored.
        return not import_validation_errors and instance.pk is not None

    def save_instance(self, instance, is_create, row, **kwargs):
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return
        row_number = kwargs["row_number"]
        result = services.order_ingest(data=self._inputs.pop(row_number))
        self._created[row_number] = result.created
        _adopt(instance, selectors.order_list().get(pk=result.order_id))

    def import_row(self, row, instance_loader, **kwargs):
        row_result = super().import_row(row, instance_loader, **kwargs)
        row_number = kwargs["row_number"]
        self._inputs.pop(row_number, None)
        # Another writer may have stored the same order between the lookup and the ingest.
        if row_result.import_type == RowResult.IMPORT_TYPE_NEW and not self._created.pop(row_number, True):
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
        return row_result
