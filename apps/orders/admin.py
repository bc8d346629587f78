"""Back office for the order domain.

Writes pass through ``services`` (and the API input serializers validate them first), so an
admin edit behaves like the same change arriving over the API. Records that other systems own
and that have no update service (customers, payments, shipments, tracking events) are read-only
here; payments and tracking events can be added, through their idempotent services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F, Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path as url_path
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ConfirmImportForm
from import_export.results import RowResult
from rest_framework import serializers
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultiple,
    UnfoldAdminEmailInputWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from apps.common.api import flatten_errors
from apps.common.errors import DomainError
from apps.formdesigner.build import django_field
from apps.formdesigner.build import initial_value as display_initial
from apps.formdesigner.selectors import PublishedForm, order_form
from apps.orders import api, services
from apps.orders.models import (
    Carrier,
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
    TrackingEvent,
)
from apps.orders.presentation import custom_field_rows
from apps.orders.resources import (
    ColumnKind,
    OrderResource,
    ProductResource,
    ProductRowInput,
    StockLevelResource,
    StockLevelRowInput,
    file_problems,
    file_row,
    import_problems,
    site_time_zone,
)

TIMESTAMPS = ("created_at", "updated_at")


def _adopt(instance: Model, stored: Model) -> None:
    """Make the admin's unsaved instance the row the service stored, for the redirect and the log."""
    instance.__dict__.update(stored.__dict__)


# --- Forms validated like the API -----------------------------------------------------------------


class ServiceInputForm(forms.ModelForm):
    """A model form that also runs the API's input serializer, so the admin accepts what the API accepts.

    After validation ``service_input`` holds the serializer's validated data for the service call.
    ``error_fields`` maps serializer error paths that are not form field names to form fields.
    """

    input_serializer: type[serializers.Serializer]
    partial = False
    error_fields: dict[str, str] = {}

    def input_data(self) -> dict[str, Any]:
        """The serializer input; a field shown read-only (a SKU once created) comes from the instance."""
        data = {}
        for name in self.input_serializer().fields:
            if name in self.cleaned_data:
                data[name] = self.cleaned_data[name]
            elif name not in self.fields and self.instance.pk is not None:
                data[name] = getattr(self.instance, name)
        return data

    def clean(self):
        cleaned = super().clean()
        serializer = self.input_serializer(data=self.input_data(), partial=self.partial)
        if serializer.is_valid():
            self.service_input = dict(serializer.validated_data)
            return cleaned
        for path, errors in flatten_errors(serializer.errors).items():
            field = self.error_fields.get(path, path)
            if field in self.errors:
                continue  # the form field already says what is wrong with it
            self.add_error(field if field in self.fields else None, errors)
        return cleaned


DATA_PREFIX = "data__"


class OrderAdminForm(ServiceInputForm):
    """Validates only what the user changed, so a stored imperfection doesn't block other edits.

    With a published order form, its fields are form fields named ``data__<key>`` (see
    ``OrderAdmin.get_form``); changing any of them sends the whole ``data`` through the API's
    check, whose errors come back at the field.
    """

    input_serializer = api.OrderPatchInput
    partial = True
    error_fields = {f"shipping_address.{key}": column for key, column in services.ADDRESS_FIELDS.items()}
    data_keys: tuple[str, ...] = ()

    def input_data(self):
        changed = {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}
        data = {name: value for name, value in changed.items() if name in services.ORDER_SCALAR_FIELDS}
        address = {key: changed[column] for key, column in services.ADDRESS_FIELDS.items() if column in changed}
        if address:
            data["shipping_address"] = address
        if any(name.startswith(DATA_PREFIX) for name in self.changed_data):
            values = {key: self.cleaned_data.get(DATA_PREFIX + key) for key in self.data_keys}
            data["data"] = {key: value for key, value in values.items() if value is not None}
        return data


class ProductAdminForm(ServiceInputForm):
    input_serializer = ProductRowInput


class StockLevelAdminForm(ServiceInputForm):
    input_serializer = StockLevelRowInput


class PaymentAdminForm(ServiceInputForm):
    input_serializer = api.PaymentInput

    def input_data(self):
        data = {name: value for name, value in self.cleaned_data.items() if name != "order"}
        if self.cleaned_data.get("order") is not None:
            data["order"] = self.cleaned_data["order"].pk
        return data


class TrackingEventAdminForm(ServiceInputForm):
    input_serializer = api.TrackingEventInput


# --- Import / export ------------------------------------------------------------------------------


class ImportMode(models.TextChoices):
    """What an import does with a file in which some rows fail the checks (SPEC §7)."""

    ALL_OR_NOTHING = "all_or_nothing", _("Apply nothing if any row fails")
    GOOD_ROWS = "good_rows", _("Apply the good rows and report the rest")


def import_mode_of(form: forms.Form | None) -> str:
    """The mode a (validated) import or confirm form asks for; all or nothing unless told."""
    chosen = getattr(form, "cleaned_data", {}).get("import_mode")
    return chosen if chosen in ImportMode.values else ImportMode.ALL_OR_NOTHING


class ModeImportForm(ImportForm):
    import_mode = forms.ChoiceField(
        label=_("If some rows fail"),
        choices=ImportMode.choices,
        initial=ImportMode.ALL_OR_NOTHING,
        # Left out (an older form, a script), the file is applied all or nothing, as before.
        required=False,
        widget=forms.RadioSelect,
    )


class ModeConfirmImportForm(ConfirmImportForm):
    import_mode = forms.ChoiceField(choices=ImportMode.choices, required=False, widget=forms.HiddenInput)


# The template formats offered, by the ``format`` query value.
TEMPLATE_FORMATS = {"csv": CSV, "xlsx": XLSX}
# Rows listed in the message after an import that skipped rows; the preview listed them all.
SKIPPED_ROWS_SHOWN = 50


class ImportExportAdmin(ImportExportModelAdmin, ModelAdmin):
    """CSV and XLSX import and export; import checks the model permissions an import uses.

    Imports upsert, so by default they need both ``add`` and ``change``; export needs ``view``.
    The import page offers a template per resource and explains each column; the user chooses
    whether a file with bad rows applies nothing or its good rows (``ImportMode``).
    """

    formats = [CSV, XLSX]
    import_form_class = ModeImportForm
    confirm_form_class = ModeConfirmImportForm
    export_form_class = ExportForm
    import_actions: tuple[str, ...] = ("add", "change")

    def has_import_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return all(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in self.import_actions
        )

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        template = url_path(
            "import/template/",
            self.admin_site.admin_view(self.import_template_view),
            name="{}_{}_import_template".format(*info),
        )
        return [template, *super().get_urls()]

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        """The file to fill in: the header row the import reads and one example row (``?format=csv|xlsx``)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        file_format = TEMPLATE_FORMATS.get(request.GET.get("format", "csv"))
        resource_classes = self.get_import_resource_classes(request)
        index = request.GET.get("resource", "0")
        if file_format is None or not index.isdigit() or int(index) >= len(resource_classes):
            raise Http404
        resource = resource_classes[int(index)](**self.get_import_resource_kwargs(request))
        content = file_format().export_data(resource.template_dataset(native=file_format is XLSX))
        if isinstance(content, str):
            # With the byte order mark Excel reads the file as UTF-8 (Chinese names survive).
            content = content.encode("utf-8-sig")
        response = HttpResponse(content, content_type=file_format.CONTENT_TYPE)
        filename = f"{self.opts.model_name}-import-template.{file_format().get_extension()}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is None:
            return response
        form = context["form"]
        mode = import_mode_of(form) if form.is_bound else ImportMode.ALL_OR_NOTHING
        context.update(self.import_guide_context(request), import_mode=mode)
        result = context.get("result")
        if result is None:
            return response
        resource = self.choose_import_resource_class(form, request)(**self.get_import_resource_kwargs(request))
        context["problems"] = problems = import_problems(result, resource)
        context["problem_row_count"] = len({problem.row for problem in problems})
        context["file_problems"] = file_problems(result)
        importable = result.totals[RowResult.IMPORT_TYPE_NEW] + result.totals[RowResult.IMPORT_TYPE_UPDATE]
        context["importable_count"] = importable
        context["skipped_row_count"] = len(result.invalid_rows)
        # In the good-rows mode a file with row errors can still be confirmed: the bad rows are skipped.
        if mode == ImportMode.GOOD_ROWS and not result.has_errors() and result.has_validation_errors() and importable:
            context["confirm_form"] = self.create_confirm_form(request, import_form=form)
        return response

    def import_guide_context(self, request: HttpRequest) -> dict[str, Any]:
        """Per resource: its column guides and template links; and the site's time zone."""
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import_template")
        guides = []
        for index, resource_class in enumerate(self.get_import_resource_classes(request)):
            columns = resource_class(**self.get_import_resource_kwargs(request)).column_guides()
            query = {"resource": index} if index else {}
            guides.append(
                {
                    "name": resource_class.get_display_name(),
                    "columns": columns,
                    "has_times": any(column.kind is ColumnKind.TIME for column in columns),
                    "csv_url": url + "?" + urlencode({**query, "format": "csv"}),
                    "xlsx_url": url + "?" + urlencode({**query, "format": "xlsx"}),
                }
            )
        zone, offset = site_time_zone()
        return {"import_guides": guides, "time_zone": zone, "time_zone_offset": offset}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["import_mode"] = import_mode_of(import_form)
        return initial

    def get_import_data_kwargs(self, **kwargs):
        # All or nothing: a row that fails on confirm (the data changed since the preview) rolls
        # the whole file back instead of storing the rows around it. In the good-rows mode each
        # row is stored in its own savepoint, so a refused row leaves the others in place.
        all_or_nothing = import_mode_of(kwargs.get("form")) == ImportMode.ALL_OR_NOTHING
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": all_or_nothing}

    def process_dataset(self, dataset, form, request, **kwargs):
        result = super().process_dataset(dataset, form, request, **kwargs)
        # process_result is handed only the result: it carries what the report needs.
        result.import_mode = import_mode_of(form)
        result.resource = self.choose_import_resource_class(form, request)(**self.get_import_resource_kwargs(request))
        return result

    def process_result(self, result, request):
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if result.has_errors():
            # import_data rolls back any file with an unexpected error, whatever the mode.
            rows = sorted({file_row(failed.number) for failed in result.error_rows})
            if rows:
                message = ngettext(
                    "Nothing was imported: row %(rows)s could not be stored. Upload the file again to see why.",
                    "Nothing was imported: rows %(rows)s could not be stored. Upload the file again to see why.",
                    len(rows),
                ) % {"rows": ", ".join(map(str, rows))}
            else:
                message = gettext("Nothing was imported: the file could not be read. Upload it again to see why.")
            messages.error(request, message)
            return HttpResponseRedirect(changelist)
        good_rows = getattr(result, "import_mode", ImportMode.ALL_OR_NOTHING) == ImportMode.GOOD_ROWS
        if result.has_validation_errors() and not good_rows:
            messages.error(
                request,
                gettext(
                    "Nothing was imported: some rows no longer pass the checks. Upload the file again to see them."
                ),
            )
            return HttpResponseRedirect(changelist)
        response = super().process_result(result, request)
        if result.has_validation_errors():
            problems = import_problems(result, getattr(result, "resource", None))
            count = len(result.invalid_rows)
            shown_rows = sorted({problem.row for problem in problems})[:SKIPPED_ROWS_SHOWN]
            messages.warning(
                request,
                render_to_string(
                    "admin/import_export/og_skipped_rows_message.html",
                    {
                        "summary": ngettext(
                            "%(count)d row was not imported because of errors; fix it and import it again:",
                            "%(count)d rows were not imported because of errors; fix them and import them again:",
                            count,
                        )
                        % {"count": count},
                        "problems": [problem for problem in problems if problem.row in shown_rows],
                        "more_rows": count - len(shown_rows),
                    },
                    request=request,
                ),
            )
        return response


class ReadOnlyMixin:
    """Shown, never added, changed or deleted here (the records belong to other systems)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyMixin, TabularInline):
    extra = 0
    can_delete = False


# --- Customers ------------------------------------------------------------------------------------


@admin.register(Customer)
class CustomerAdmin(ReadOnlyMixin, ModelAdmin):
    """Read-only: every order upserts its customer (the latest details win), so edits here would not last."""

    list_display = ("__str__", "channel", "external_id", "phone", "email", "created_at")
    list_filter = ("channel",)
    search_fields = ("name", "phone", "=external_id", "email")
    readonly_fields = ("orders_link",)
    fields = ("channel", "external_id", "name", "phone", "email", "tags", "orders_link", *TIMESTAMPS)

    @admin.display(description=_("orders"))
    def orders_link(self, obj: Customer) -> str:
        url = reverse("admin:orders_order_changelist") + "?" + urlencode({"customer__id__exact": obj.pk})
        return format_html('<a href="{}">{}</a>', url, obj.orders.count())


# --- Orders ---------------------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("line_no", "sku", "name", "quantity", "unit_price")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("transaction_id", "amount", "currency", "status", "method", "paid_at")
    show_change_link = True


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("carrier", "tracking_number", "shipped_at")
    show_change_link = True


@admin.register(Order)
class OrderAdmin(ImportExportAdmin):
    """Orders arrive through the API or a file import; here they are read and corrected.

    Lines are shown, not edited: ``order_update`` replaces them as a whole (API PATCH).
    """

    resource_classes = [OrderResource]
    # Order imports only create; a known order is skipped, never changed.
    import_actions = ("add",)
    form = OrderAdminForm
    list_display = (
        "external_id",
        "channel",
        "status",
        "customer",
        "customer_phone",
        "total_amount",
        "currency",
        "placed_at",
        "status_changed_at",
    )
    # Status and channel have choices, so their filters cost no query over the orders.
    list_filter = ("status", "channel")
    list_select_related = ("customer",)
    date_hierarchy = "placed_at"
    search_fields = (
        "external_id",
        "customer__name",
        "customer_phone",
        "=lines__sku",
        "=shipments__tracking_number",
    )
    search_help_text = _("External ID, customer name or phone, exact SKU or tracking number.")
    # Counting every order on each page view is a full scan of the largest table.
    show_full_result_count = False
    readonly_fields = (
        "channel",
        "external_id",
        "status_changed_at",
        "customer",
        "customer_phone",
        "exceptions_table",
        "custom_fields",
        "archived_fields",
        *services.ORDER_VERDICT_FIELDS,
        *TIMESTAMPS,
    )
    fieldsets = (
        (None, {"fields": ("channel", "external_id", "status", "status_changed_at")}),
        (_("Exceptions"), {"fields": ("exceptions_table",)}),
        (_("Dates"), {"fields": ("placed_at", "paid_at", "promised_ship_by")}),
        (_("Amounts"), {"fields": ("currency", "total_amount", "shipping_fee", "discount")}),
        (_("Customer"), {"fields": ("customer", "customer_phone")}),
        (_("Shipping address"), {"fields": tuple(services.ADDRESS_FIELDS.values())}),
        (_("Custom fields"), {"fields": ("custom_fields",)}),
        # Set by the services at every write; shown so that a flagged order explains itself.
        (_("Checks"), {"fields": services.ORDER_VERDICT_FIELDS, "classes": ("collapse",)}),
        (_("Record"), {"fields": TIMESTAMPS, "classes": ("collapse",)}),
    )
    inlines = (OrderLineInline, PaymentInline, ShipmentInline)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer")

    def _order_form(self, request):
        # Once per request: the fieldsets and the form both ask.
        if not hasattr(request, "_og_order_form"):
            request._og_order_form = order_form()
        return request._og_order_form

    def _edits_data(self, request, obj) -> bool:
        return obj is not None and self._order_form(request) is not None and self.has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._edits_data(request, obj):
            return fieldsets
        form = self._order_form(request)
        keys = tuple(DATA_PREFIX + spec.key for spec in form.spec.fields)
        # Editable custom fields in the order form's order; below them, read-only, the values
        # stored under keys the form no longer has (archived), if the order holds any.
        if any(form.spec.field(key) is None for key in obj.data or {}):
            keys = (*keys, "archived_fields")
        return [
            (name, {**options, "fields": keys}) if "custom_fields" in options["fields"] else (name, options)
            for name, options in fieldsets
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self._edits_data(request, obj):
            kwargs["form"] = order_data_form(self.form, self._order_form(request), obj.data or {})
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description=_("exceptions"))
    def exceptions_table(self, obj: Order):
        rows = obj.exceptions.select_related("rule", "department", "assignee").order_by("-detected_at", "-id")
        return render_to_string(
            "og/components/exception_table.html",
            {"exceptions": rows, "link": "admin", "empty_text": gettext("Detection found nothing wrong.")},
        )

    @admin.display(description=_("custom fields"))
    def custom_fields(self, obj: Order):
        return render_to_string("og/components/custom_fields.html", {"rows": custom_field_rows(obj.data)})

    @admin.display(description=_("archived fields"))
    def archived_fields(self, obj: Order):
        rows = [row for row in custom_field_rows(obj.data) if row.is_archived]
        return render_to_string("og/components/custom_fields.html", {"rows": rows})

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        _adopt(obj, services.order_update(order_id=obj.pk, data=form.service_input))


_UNFOLD_WIDGETS = {
    forms.TextInput: UnfoldAdminTextInputWidget,
    forms.EmailInput: UnfoldAdminEmailInputWidget,
    forms.URLInput: UnfoldAdminTextInputWidget,
    forms.NumberInput: UnfoldAdminTextInputWidget,
    forms.DateInput: UnfoldAdminTextInputWidget,
    forms.DateTimeInput: UnfoldAdminTextInputWidget,
    forms.Textarea: UnfoldAdminTextareaWidget,
    forms.Select: UnfoldAdminSelectWidget,
    forms.RadioSelect: UnfoldAdminRadioSelectWidget,
    forms.CheckboxSelectMultiple: UnfoldAdminCheckboxSelectMultiple,
}


def order_data_form(base: type[OrderAdminForm], form: PublishedForm, stored: dict[str, Any]) -> type[OrderAdminForm]:
    """``base`` plus the published order form's fields as ``data__<key>``, styled like the console."""
    attrs: dict[str, Any] = {
        "data_keys": form.spec.keys,
        "error_fields": {**base.error_fields, **{f"data.{key}": DATA_PREFIX + key for key in form.spec.keys}},
    }
    for spec in form.spec.fields:
        field = django_field(spec)
        widget_class = _UNFOLD_WIDGETS.get(type(field.widget))
        if widget_class is not None:
            old = field.widget
            field.widget = widget_class(attrs=old.attrs)
            if hasattr(old, "choices"):
                field.widget.choices = old.choices
            if getattr(old, "input_type", None) in ("date", "datetime-local", "number", "url", "tel"):
                field.widget.input_type = old.input_type
        field.initial = display_initial(spec, stored.get(spec.key, spec.default))
        attrs[DATA_PREFIX + spec.key] = field
    return type("OrderDataAdminForm", (base,), attrs)


# --- Catalogue and stock --------------------------------------------------------------------------


class SkuKeyedAdmin(ImportExportAdmin):
    """The SKU is the key imports and the API use; once stored it is shown, not edited."""

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return ("sku", *fields) if obj is not None else fields


@admin.register(Product)
class ProductAdmin(SkuKeyedAdmin):
    resource_classes = [ProductResource]
    form = ProductAdminForm
    list_display = ("sku", "name", "list_price", "currency", "is_active", "updated_at")
    list_filter = ("is_active", "currency")
    search_fields = ("sku", "name")
    fields = ("sku", "name", "list_price", "currency", "is_active", *TIMESTAMPS)
    # product_upsert sets name, price and currency only.
    readonly_fields = ("is_active", *TIMESTAMPS)

    def save_model(self, request, obj, form, change):
        product, _created = services.product_upsert(**form.service_input)
        _adopt(obj, product)

    def delete_model(self, request, obj):
        services.product_delete(sku=obj.sku)

    def delete_queryset(self, request, queryset):
        for sku in queryset.values_list("sku", flat=True):
            services.product_delete(sku=sku)


@admin.register(StockLevel)
class StockLevelAdmin(SkuKeyedAdmin):
    resource_classes = [StockLevelResource]
    form = StockLevelAdminForm
    list_display = ("sku", "on_hand", "reserved", "available", "updated_at")
    search_fields = ("sku",)
    fields = ("sku", "on_hand", "reserved", *TIMESTAMPS)
    readonly_fields = TIMESTAMPS

    @admin.display(description=_("available"), ordering=F("on_hand") - F("reserved"))
    def available(self, obj: StockLevel) -> int:
        return obj.available

    def save_model(self, request, obj, form, change):
        stock, _created = services.stock_level_set(**form.service_input)
        _adopt(obj, stock)

    def delete_model(self, request, obj):
        services.stock_level_delete(sku=obj.sku)

    def delete_queryset(self, request, queryset):
        for sku in queryset.values_list("sku", flat=True):
            services.stock_level_delete(sku=sku)


# --- Payments, shipments, tracking --------------------------------------------------------------


class AddOnlyAdmin(ModelAdmin):
    """Records a gateway or carrier reports: they can be added by hand, not changed or deleted."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(AddOnlyAdmin):
    form = PaymentAdminForm
    list_display = ("transaction_id", "order", "amount", "currency", "status", "method", "paid_at")
    list_filter = ("status", "method", "currency")
    list_select_related = ("order",)
    date_hierarchy = "paid_at"
    search_fields = ("=transaction_id", "order__external_id")
    autocomplete_fields = ("order",)
    fields = ("order", "transaction_id", "amount", "currency", "status", "paid_at", "method")

    def save_model(self, request, obj, form, change):
        data = dict(form.service_input)
        payment, _created = services.payment_record(order_id=data.pop("order"), **data)
        _adopt(obj, payment)


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = ("sku", "quantity")


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ("occurred_at", "status", "description")
    ordering = ("occurred_at",)


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyMixin, ModelAdmin):
    """Read-only: shipments come from the carrier integration with their lines (no update service)."""

    list_display = ("tracking_number", "carrier", "tracking_is_valid", "order", "shipped_at")
    list_filter = ("carrier", "tracking_is_valid")
    list_select_related = ("order",)
    date_hierarchy = "shipped_at"
    search_fields = ("=tracking_number", "order__external_id")
    fields = ("order", "carrier", "tracking_number", "tracking_is_valid", "shipped_at", *TIMESTAMPS)
    inlines = (ShipmentLineInline, TrackingEventInline)


@admin.register(TrackingEvent)
class TrackingEventAdmin(AddOnlyAdmin):
    form = TrackingEventAdminForm
    list_display = ("shipment", "status", "occurred_at", "description")
    list_filter = ("status", "shipment__carrier")
    list_select_related = ("shipment",)
    date_hierarchy = "occurred_at"
    search_fields = ("=shipment__tracking_number", "shipment__order__external_id")
    autocomplete_fields = ("shipment",)
    fields = ("shipment", "occurred_at", "status", "description")

    def save_model(self, request, obj, form, change):
        event, _created = services.tracking_event_record(shipment_id=obj.shipment_id, **form.service_input)
        _adopt(obj, event)


# --- Carriers -------------------------------------------------------------------------------------


class PatternsField(forms.CharField):
    """A list of regular expressions edited as text, one per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60, "spellcheck": "false"})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [line.strip() for line in super().to_python(value).splitlines() if line.strip()]


class CarrierAdminForm(forms.ModelForm):
    patterns = PatternsField(
        label=_("tracking number patterns"),
        help_text=_(
            "One regular expression per line, e.g. ^SF\\d{12,13}$. A number is valid when it matches one of "
            "them in full; \\d means the digits 0-9."
        ),
    )

    class Meta:
        model = Carrier
        fields = ("code", "name", "name_en", "patterns", "is_active")

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def clean_patterns(self):
        try:
            return services.carrier_patterns_clean(patterns=self.cleaned_data["patterns"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


@admin.register(Carrier)
class CarrierAdmin(ModelAdmin):
    """Tracking-number formats: a save re-judges the carrier's shipments (``services.carrier_upsert``)."""

    form = CarrierAdminForm
    list_display = ("code", "name", "name_en", "pattern_list", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "name_en")
    fields = ("code", "name", "name_en", "patterns", "is_active", *TIMESTAMPS)
    readonly_fields = TIMESTAMPS

    def get_readonly_fields(self, request, obj=None):
        # Shipments name their carrier by code: renaming one would orphan them.
        fields = tuple(super().get_readonly_fields(request, obj))
        return ("code", *fields) if obj is not None else fields

    @admin.display(description=_("tracking number patterns"))
    def pattern_list(self, obj: Carrier) -> str:
        return "  |  ".join(obj.patterns)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        carrier, _created = services.carrier_upsert(
            code=obj.code,
            name=data["name"],
            name_en=data.get("name_en", ""),
            patterns=data["patterns"],
            is_active=data.get("is_active", False),
        )
        _adopt(obj, carrier)
        invalid = Shipment.objects.filter(carrier=carrier.code, tracking_is_valid=False).count()
        messages.info(
            request,
            ngettext(
                "%(count)d shipment of %(carrier)s has a tracking number that fits none of the patterns.",
                "%(count)d shipments of %(carrier)s have a tracking number that fits none of the patterns.",
                invalid,
            )
            % {"count": invalid, "carrier": carrier.code},
        )

    def delete_model(self, request, obj):
        services.carrier_delete(code=obj.code)

    def delete_queryset(self, request, queryset):
        for code in queryset.values_list("code", flat=True):
            services.carrier_delete(code=code)
