"""CSV / XLSX import and export of products, stock levels and orders (django-import-export).

Every row takes the path an API request takes: its cells become the dict the API input
serializer reads, that serializer validates it, and a service stores it. Resources only
translate between cells and that dict; errors come back keyed by the column to fix.

Each column is a ``Column`` with an example cell; with the serializer field it fills, it
gives the import page's column guide (``column_guides``) and the downloadable template
(``template_dataset``), so neither is a copy kept by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Model, Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets
from import_export.results import Result, RowResult
from rest_framework import serializers
from rest_framework.fields import empty

from apps.common.api import flatten_errors
from apps.formdesigner import selectors as form_selectors
from apps.formdesigner.build import DataColumn, data_columns
from apps.orders import selectors, services
from apps.orders.api import ORDER_FORM_CONTEXT, OrderInput, ProductInput, SkuField, StockLevelInput
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


def cell_time(value: Any) -> Any:
    """A time cell; one without a UTC offset (text, or an XLSX date cell) is read in ``TIME_ZONE``.

    The site's zone, not the zone active for the request: a file means the shop's local time,
    whoever uploads it. Text that is not a time is left for the serializer to refuse.
    """
    value = cell_value(value)
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None  # well-formed but impossible (2026-02-30): the serializer says so
        if parsed is not None:
            value = parsed
    if isinstance(value, datetime) and timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
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


# --- Columns as people read them: the import page's guide and the downloadable template -----------


class Column(fields.Field):
    """A file column: the resource field plus its example cell and what people are told about it.

    ``example`` is the template's example cell as CSV text; the template's example row must
    import cleanly. ``label`` names the column for people (the model field's verbose name when
    not given); ``note`` adds a sentence about its role, such as being the row's key.
    """

    def __init__(self, *, example: str, label: Any = None, note: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.example = example
        self.label = label
        self.note = note


class ColumnKind(StrEnum):
    """How a column's cells are written; follows from the input serializer's field for it."""

    TEXT = "text"
    MONEY = "money"
    WHOLE_NUMBER = "whole_number"
    TIME = "time"
    CHOICE = "choice"
    CURRENCY = "currency"
    LINES = "lines"


def column_kind(field: serializers.Field) -> ColumnKind:
    # Lines are a list of line objects; a choice among codes that are their own names is the
    # currency (ISO 4217 codes), any other choice has names to show beside its values.
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.Serializer):
        return ColumnKind.LINES
    if isinstance(field, serializers.ChoiceField):
        if all(str(value) == str(label) for value, label in field.choices.items()):
            return ColumnKind.CURRENCY
        return ColumnKind.CHOICE
    if isinstance(field, serializers.DecimalField):
        return ColumnKind.MONEY
    if isinstance(field, serializers.IntegerField):
        return ColumnKind.WHOLE_NUMBER
    if isinstance(field, serializers.DateTimeField):
        return ColumnKind.TIME
    return ColumnKind.TEXT


def site_time_zone() -> tuple[str, str]:
    """The site's ``TIME_ZONE`` and its UTC offset now: ("Asia/Shanghai", "+08:00")."""
    zone = timezone.get_default_timezone()
    return timezone.get_default_timezone_name(), timezone.now().astimezone(zone).isoformat()[-6:]


def _format_sentence(kind: ColumnKind, field: serializers.Field) -> str:
    """How to write a cell of this kind, with the limits the serializer field holds."""
    if kind is ColumnKind.MONEY:
        return _(
            "An amount with a decimal point and at most %(places)d decimals, such as 129.50; no thousands "
            "separator or currency sign. In XLSX a number cell works too."
        ) % {"places": field.decimal_places}
    if kind is ColumnKind.WHOLE_NUMBER:
        return _("A whole number, %(min)d or more.") % {"min": field.min_value or 0}
    if kind is ColumnKind.TIME:
        zone, offset = site_time_zone()
        return _(
            "Date and time as YYYY-MM-DD HH:MM:SS, such as 2026-11-24 10:00:00; in XLSX a date-time cell works "
            "too. Without a UTC offset it is read in %(zone)s time (UTC%(offset)s); with one, such as "
            "2026-11-24T10:00:00+08:00, as written."
        ) % {"zone": zone, "offset": offset}
    if kind is ColumnKind.CHOICE:
        return _("One of the values listed: write the value, not its name.")
    if kind is ColumnKind.CURRENCY:
        return _("An ISO 4217 currency code in capitals: %(codes)s.") % {"codes": ", ".join(map(str, field.choices))}
    if kind is ColumnKind.LINES:
        line = field.child.fields
        return _(
            "All of the order's lines in one cell, each written sku*quantity@unit_price and separated by "
            "semicolons: SKU-1*2@129.50; SKU-2*1@10.00. The quantity is a whole number from %(min)d to "
            "%(max)d; the unit price is written like money. At most %(lines)d lines."
        ) % {
            "min": line["quantity"].min_value,
            "max": line["quantity"].max_value,
            "lines": field.max_length,
        }
    if getattr(field, "max_length", None):
        return _("Text, up to %(count)d characters.") % {"count": field.max_length}
    return _("Text.")


@dataclass(frozen=True)
class ColumnGuide:
    """One column of a file as the import page explains it; all text in the active language."""

    name: str
    label: str
    is_required: bool
    kind: ColumnKind
    format: str
    example: str
    # (value, label) for a choice column: what to write and what it means.
    choices: tuple[tuple[str, str], ...] = ()
    # What an empty cell means, or "" when an empty cell is refused or means "none".
    default: str = ""
    note: str = ""


@dataclass(frozen=True)
class RowProblem:
    """One reason a row was refused: the row as a spreadsheet numbers it, the column and the cell."""

    row: int
    column: str
    label: str
    value: str
    message: str


def file_row(number: int) -> int:
    """The spreadsheet row of import-export's data row ``number`` (1 = the first under the header)."""
    return number + 1


def _cell_shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return cell_text(value)


def import_problems(result: Result, resource: ServiceResource | None = None) -> list[RowProblem]:
    """Every refused row of an import, one entry per message, in file order.

    Validation errors name their column; an unexpected error while storing a row has no column.
    Errors about the file as a whole (``result.base_errors``) are not rows: see ``file_problems``.
    """
    labels = {guide.name: guide.label for guide in resource.column_guides()} if resource else {}
    whole_row = _("(whole row)")
    problems: list[RowProblem] = []
    for invalid in result.invalid_rows:
        cells = dict(zip(result.diff_headers, invalid.values, strict=False))
        for column, messages in invalid.error_dict.items():
            named = "" if column == NON_FIELD_ERRORS else column
            for message in messages:
                problems.append(
                    RowProblem(
                        row=file_row(invalid.number),
                        column=named,
                        label=labels.get(named, whole_row if not named else ""),
                        value=_cell_shown(cells.get(named)) if named else "",
                        message=str(message),
                    )
                )
    for failed in result.error_rows:
        for error in failed.errors:
            problems.append(
                RowProblem(
                    row=file_row(failed.number),
                    column="",
                    label=whole_row,
                    value="",
                    message=_("The row could not be stored: %(error)s") % {"error": str(error.error)[:300]},
                )
            )
    return sorted(problems, key=lambda problem: problem.row)


def file_problems(result: Result) -> list[str]:
    """Errors about the file as a whole (a missing column), as messages."""
    return [str(error.error) for error in result.base_errors]


# --- Base ---------------------------------------------------------------------------------------


class MissingColumnsError(Exception):
    """The file lacks required columns, so no row can be read; the message names them."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        super().__init__(
            _(
                "The file has no column %(columns)s. Its first row must hold the column names; "
                "download the template to see them."
            )
            % {"columns": ", ".join(columns)}
        )


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

    def serializer_context(self) -> dict[str, Any]:
        """What every row's serializer is given: whatever the resource read once for all rows."""
        return {}

    def validated_input(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row as validated API input; raises ``ValidationError`` keyed by column."""
        data, errors = self.row_input(row)
        serializer = self.input_serializer(data=data, context=self.serializer_context())
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

    # --- What the columns are ---------------------------------------------------------------

    def input_path(self, column: str) -> str:
        """The serializer input path a column fills (``customer.name``); the inverse of ``error_column``."""
        return column

    def input_field(self, column: str) -> serializers.Field | None:
        field: Any = self.input_serializer()
        for part in self.input_path(column).split("."):
            fields_ = getattr(field, "fields", None)
            if fields_ is None or part not in fields_:
                return None
            field = fields_[part]
        return field

    def columns(self) -> list[Column]:
        """The file's columns in order, each a ``Column`` with its example."""
        return [field for field in self.get_import_fields() if isinstance(field, Column)]

    def column_label(self, column: Column) -> str:
        if column.label is not None:
            return str(column.label)
        try:
            return str(self._meta.model._meta.get_field(column.attribute).verbose_name)
        except FieldDoesNotExist:
            return column.column_name

    def column_guides(self) -> list[ColumnGuide]:
        """Each column's name, whether required, format and example, from the serializer that checks it."""
        guides = []
        for column in self.columns():
            field = self.input_field(column.column_name)
            kind = column_kind(field) if field is not None else ColumnKind.TEXT
            is_required = column.column_name in self._meta.import_id_fields or bool(field and field.required)
            default = ""
            if field is not None and not is_required and field.default is not empty:
                default = str(field.default)
            choices: tuple[tuple[str, str], ...] = ()
            if kind is ColumnKind.CHOICE:
                choices = tuple((str(value), str(label)) for value, label in field.choices.items())
            guides.append(
                ColumnGuide(
                    name=column.column_name,
                    label=self.column_label(column),
                    is_required=is_required,
                    kind=kind,
                    format=_format_sentence(kind, field) if field is not None else _("Text."),
                    example=column.example,
                    choices=choices,
                    default=default,
                    note=str(column.note) if column.note else "",
                )
            )
        return guides

    def template_dataset(self, *, native: bool = False) -> tablib.Dataset:
        """The header row and the example row; ``native`` types the cells as a spreadsheet holds them.

        In XLSX money and counts are number cells and times are date-time cells (naive, as
        Excel has no time zones, so read in ``TIME_ZONE``), which is what people type there.
        """
        row: list[Any] = []
        for guide in self.column_guides():
            value: Any = guide.example
            if native and value:
                if guide.kind is ColumnKind.MONEY:
                    value = Decimal(value)
                elif guide.kind is ColumnKind.WHOLE_NUMBER:
                    value = int(value)
                elif guide.kind is ColumnKind.TIME:
                    value = parse_datetime(value)
                    if timezone.is_aware(value):
                        value = timezone.make_naive(value, timezone.get_default_timezone())
            row.append(value)
        return tablib.Dataset(row, headers=[column.column_name for column in self.columns()])

    def before_import(self, dataset, **kwargs):
        # Spreadsheet headers often carry stray spaces or capitals ("SKU "); the names are what count.
        headers = dataset.headers or []
        dataset.headers = [header.strip().lower() if isinstance(header, str) else header for header in headers]
        required = [guide.name for guide in self.column_guides() if guide.is_required]
        if missing := [name for name in required if name not in dataset.headers]:
            raise MissingColumnsError(missing)
        super().before_import(dataset, **kwargs)

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

    sku = Column(
        attribute="sku",
        column_name="sku",
        widget=TextWidget(strip=True),
        example="SKU-1001",
        note=gettext_lazy("Identifies the product: a row for a known SKU updates it."),
    )
    name = Column(attribute="name", column_name="name", widget=TextWidget(), example="保温杯 500ml")
    list_price = Column(attribute="list_price", column_name="list_price", widget=MoneyWidget(), example="129.50")
    currency = Column(attribute="currency", column_name="currency", widget=TextWidget(strip=True), example="CNY")

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

    sku = Column(
        attribute="sku",
        column_name="sku",
        widget=TextWidget(strip=True),
        example="SKU-1001",
        note=gettext_lazy("Identifies the stock level: a row for a known SKU replaces its quantities."),
    )
    on_hand = Column(attribute="on_hand", column_name="on_hand", widget=WholeNumberWidget(), example="120")
    reserved = Column(attribute="reserved", column_name="reserved", widget=WholeNumberWidget(), example="8")

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
# The column each nested input lives in, inverted: customer_name → customer.name, ...
_INPUT_PATHS = {
    **{column: f"customer.{key}" for key, column in CUSTOMER_COLUMNS.items()},
    **{column: f"shipping_address.{key}" for key, column in ADDRESS_COLUMNS.items()},
}


class DataCellWidget(widgets.Widget):
    def __init__(self, column: DataColumn):
        super().__init__()
        self.column = column

    def render(self, value, obj=None, **kwargs):
        return self.column.render(value)


class DataFieldColumn(Column):
    """A column for one field of the published order form: ``data.<key>``, read from the order's data."""

    def __init__(self, column: DataColumn):
        super().__init__(
            attribute=None,
            column_name=column.name,
            widget=DataCellWidget(column),
            example=column.example(),
            label=column.label,
        )
        self.data_column = column

    def get_value(self, instance):
        return (instance.data or {}).get(self.data_column.spec.key)


def _text_column(attribute: str, column: str | None = None, *, example: str, strip: bool = False, **kwargs) -> Column:
    return Column(
        attribute=attribute, column_name=column or attribute, widget=TextWidget(strip=strip), example=example, **kwargs
    )


def _time_column(attribute: str, *, example: str) -> Column:
    return Column(attribute=attribute, column_name=attribute, widget=IsoDateTimeWidget(), example=example)


def _money_column(attribute: str, *, example: str) -> Column:
    return Column(attribute=attribute, column_name=attribute, widget=MoneyWidget(), example=example)


class OrderResource(ServiceResource):
    """One row per order, lines in one cell (``SKU-1*2@129.50; SKU-2*1@10.00``).

    Rows go through ``OrderInput`` and ``services.order_ingest``, so a file behaves like the same
    orders POSTed to the API: an order already known by (channel, external_id) is skipped and
    stays as it is. The columns carry no line item names; each field of the published order
    form is a column ``data.<key>`` (its cells read as the field's type), so an export
    re-imports as the same orders.
    """

    input_serializer = OrderInput

    channel = _text_column(
        "channel",
        example="taobao",
        strip=True,
        note=gettext_lazy("With external_id, identifies the order: a row for an order already stored is skipped."),
    )
    external_id = _text_column(
        "external_id",
        example="TB-20261124-0001",
        strip=True,
        note=gettext_lazy("The order number on the channel."),
    )
    status = _text_column("status", example="paid", strip=True)
    placed_at = _time_column("placed_at", example="2026-11-24 10:00:00")
    paid_at = _time_column("paid_at", example="2026-11-24 10:02:00")
    promised_ship_by = _time_column("promised_ship_by", example="2026-11-26 18:00:00")
    currency = _text_column("currency", example="CNY", strip=True)
    # 2 × 129.50 + 1 × 10.00 in lines, plus 10.00 shipping: the example adds up.
    total_amount = _money_column("total_amount", example="279.00")
    shipping_fee = _money_column("shipping_fee", example="10.00")
    discount = _money_column("discount", example="0.00")
    customer_external_id = _text_column(
        "customer__external_id",
        "customer_external_id",
        example="C100",
        label=gettext_lazy("customer ID on the channel"),
    )
    customer_name = _text_column("customer__name", "customer_name", example="张三", label=gettext_lazy("customer name"))
    # The phone as it was on this order (the customer record holds the latest one).
    customer_phone = _text_column("customer_phone", example="13800138000")
    customer_email = _text_column(
        "customer__email", "customer_email", example="zhangsan@example.com", label=gettext_lazy("customer e-mail")
    )
    ship_recipient = _text_column("ship_recipient", example="张三")
    ship_phone = _text_column("ship_phone", example="13800138000")
    ship_province = _text_column("ship_province", example="浙江省")
    ship_city = _text_column("ship_city", example="杭州市")
    ship_district = _text_column("ship_district", example="西湖区")
    ship_detail = _text_column("ship_detail", example="文三路100号")
    ship_postcode = _text_column("ship_postcode", example="310000")
    lines = Column(
        attribute="lines",
        column_name="lines",
        widget=LinesWidget(),
        example="SKU-1001*2@129.50; SKU-1002*1@10.00",
        label=gettext_lazy("order lines"),
    )

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
        # The published order form's fields become columns after the fixed ones.
        self._order_form = form_selectors.order_form()
        self._data_columns = data_columns(self._order_form.spec) if self._order_form is not None else []
        for column in self._data_columns:
            self.fields[column.name] = DataFieldColumn(column)

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
            value = cell_time(row.get(column))
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
        if self._data_columns:
            values = {column.spec.key: column.parse(row.get(column.name)) for column in self._data_columns}
            data["data"] = {key: value for key, value in values.items() if value is not None}
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

    def input_path(self, column):
        return _INPUT_PATHS.get(column, column)

    def serializer_context(self):
        # The order form read with the columns, not once per row.
        return {ORDER_FORM_CONTEXT: self._order_form}

    def column_guides(self):
        guides = super().column_guides()
        by_name = {column.name: column for column in self._data_columns}
        result = []
        for guide in guides:
            column = by_name.get(guide.name)
            if column is None:
                result.append(guide)
                continue
            spec = column.spec
            result.append(
                ColumnGuide(
                    name=guide.name,
                    label=column.label,
                    is_required=spec.required and spec.visible_when is None,
                    kind=ColumnKind.CHOICE if spec.choices else ColumnKind.TEXT,
                    format=column.format(),
                    example=guide.example,
                    choices=tuple((choice.value, str(choice.label)) for choice in spec.choices),
                    default=column.render(spec.default) if spec.default is not None else "",
                    note=str(spec.help) or _("A custom field of the order form."),
                )
            )
        return result

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
