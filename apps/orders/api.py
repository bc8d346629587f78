"""REST API v1 for the order domain (SPEC §5). Views parse, call one service, render."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import UpsertModelPermissions
from apps.common.api import flatten_errors
from apps.common.errors import ErrorCode
from apps.common.fields import (
    ID_MAX,
    INT32_MAX,
    CurrencyField,
    DecimalOutputField,
    MoneyField,
    OutputModelSerializer,
    StrictCharField,
    StrictDateTimeField,
    StrictDictField,
    StrictIntegerField,
    StrictIsoDateTimeFilter,
)
from apps.common.schema import error_response
from apps.formdesigner import selectors as form_selectors
from apps.formdesigner.build import FormDataField
from apps.orders import selectors, services
from apps.orders.models import (
    MONEY,
    Channel,
    Order,
    Payment,
    Product,
    Shipment,
    StockLevel,
    TrackingEvent,
)

# The largest quantity a line or shipment line takes; far below what the column stores.
MAX_QUANTITY = 1_000_000


def money(**kwargs: Any) -> MoneyField:
    return MoneyField(**MONEY, min_value=0, **kwargs)


def _api_context(request) -> dict[str, Any]:
    """The serializer context of an API body: with the request, the fields apply the JSON rules."""
    return {"request": request}


# --- Order input --------------------------------------------------------------------------------


class CustomerInput(serializers.Serializer):
    external_id = StrictCharField(max_length=64, required=False, allow_blank=True)
    name = StrictCharField(max_length=128, required=False, allow_blank=True, trim_whitespace=False)
    phone = StrictCharField(max_length=32, required=False, allow_blank=True)
    # Stored as given: a malformed e-mail is flagged by detection, not refused here.
    email = StrictCharField(max_length=254, required=False, allow_blank=True)
    tags = serializers.ListField(child=StrictCharField(max_length=32), required=False, max_length=20)


class AddressInput(serializers.Serializer):
    recipient = StrictCharField(max_length=128, required=False, allow_blank=True)
    phone = StrictCharField(max_length=32, required=False, allow_blank=True)
    province = StrictCharField(max_length=32, required=False, allow_blank=True)
    city = StrictCharField(max_length=32, required=False, allow_blank=True)
    district = StrictCharField(max_length=32, required=False, allow_blank=True)
    detail = StrictCharField(max_length=255, required=False, allow_blank=True)
    postcode = StrictCharField(max_length=16, required=False, allow_blank=True)


class LineInput(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    name = StrictCharField(max_length=255, required=False, allow_blank=True)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = money()


class LinesField(serializers.ListField):
    """A complete list of order lines, 1 to ORDERGUARD_MAX_LINES_PER_ORDER of them.

    Lines are checked by a standalone ``LineInput`` (its own root, never partial), so a
    partial PATCH of the order still needs whole lines. The one instance is reused for every
    line: building serializer fields is the expensive part of DRF validation.

    Each line's quantity × unit price and their sum must fit the order's stored lines total
    (``services.MONEY_MAX``): a bigger sum would fail the write in the database.
    """

    child = LineInput()

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)
        # Read here, not at import time, so that the setting can change under tests.
        kwargs.setdefault("max_length", settings.ORDERGUARD_MAX_LINES_PER_ORDER)
        super().__init__(**kwargs)
        self._line: LineInput | None = None

    def run_child_validation(self, data):
        # Before validating each line: 10,000 lines are refused without reading them.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if self._line is None:
            self._line = LineInput(context=self.context)
        result, errors = [], {}
        for index, item in enumerate(data):
            try:
                result.append(self._line.run_validation(item))
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        totals = [line["quantity"] * line["unit_price"] for line in result]
        limit = services.MONEY_MAX
        for index, total in enumerate(totals):
            if total > limit:
                message = _("Quantity × unit price is %(total)s, more than the largest amount stored, %(max)s.")
                errors[index] = {"unit_price": [message % {"total": total, "max": limit}]}
        if errors:
            raise serializers.ValidationError(errors)
        if (total := sum(totals)) > limit:
            message = _("The lines add up to %(total)s, more than the largest amount stored, %(max)s.")
            raise serializers.ValidationError(message % {"total": total, "max": limit})
        return result


ORDER_FORM_CONTEXT = "order_form"
_UNREAD = object()


class OrderDataField(StrictDictField):
    """The order's custom fields, checked against the published order form (form designer).

    Before an order form is published ``data`` is any JSON object, as it always was. Once one
    is, each key must be a field of it and each value must fit its field: errors name
    ``data.<key>``. The form is read once per serializer instance, so a bulk request of
    1,000 orders reads it once; a caller that validates many rows with one serializer each
    (a file import) passes the form it read in the context as ``order_form``.
    """

    def to_internal_value(self, data):
        if not hasattr(self, "_order_form"):
            given = self.context.get(ORDER_FORM_CONTEXT, _UNREAD)
            self._order_form = form_selectors.order_form() if given is _UNREAD else given
        form = self._order_form
        if form is None:
            return super().to_internal_value(data)
        return FormDataField(spec=form.spec, archived=form.archived).to_internal_value(data)


class OrderDataFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "apps.orders.api.OrderDataField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "object",
            "additionalProperties": {},
            "description": _ORDER_DATA_HELP,
        }


_ORDER_DATA_HELP = gettext_lazy(
    "The order's custom fields. Once an order form is published in the form designer, every key must be "
    "one of its fields and every value must fit it (a 400 names data.<key>); the JSON Schema of the "
    "published order form is served at /api/v1/forms/order/schema/. Before that, any JSON object."
)


class OrderInput(serializers.Serializer):
    external_id = StrictCharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=Order.Status.choices)
    placed_at = StrictDateTimeField()
    paid_at = StrictDateTimeField(required=False, allow_null=True)
    promised_ship_by = StrictDateTimeField(required=False, allow_null=True)
    currency = CurrencyField()
    total_amount = money()
    shipping_fee = money(default="0.00")
    discount = money(default="0.00")
    customer = CustomerInput()
    shipping_address = AddressInput()
    lines = LinesField()
    data = OrderDataField(required=False)


class OrderPatchInput(OrderInput):
    """The fields of an order that PATCH may change; validated with ``partial=True``."""

    _IDENTIFIES = gettext_lazy("Identifies the order: may be sent as stored; another value is a 400 immutable_field.")
    external_id = StrictCharField(max_length=64, help_text=_IDENTIFIES)
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=_IDENTIFIES)


# --- Order output -------------------------------------------------------------------------------


class LineOutput(serializers.Serializer):
    line_no = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = DecimalOutputField(**MONEY)


class CustomerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())


class AddressOutput(serializers.Serializer):
    recipient = serializers.CharField(source="ship_recipient")
    phone = serializers.CharField(source="ship_phone")
    province = serializers.CharField(source="ship_province")
    city = serializers.CharField(source="ship_city")
    district = serializers.CharField(source="ship_district")
    detail = serializers.CharField(source="ship_detail")
    postcode = serializers.CharField(source="ship_postcode")


class OrderOutput(OutputModelSerializer):
    customer = CustomerOutput()
    shipping_address = AddressOutput(source="*")
    lines = LineOutput(many=True)

    class Meta:
        model = Order
        fields = (
            "id",
            "external_id",
            "channel",
            "status",
            "status_changed_at",
            "placed_at",
            "paid_at",
            "promised_ship_by",
            "currency",
            "total_amount",
            "shipping_fee",
            "discount",
            "customer",
            "shipping_address",
            "lines",
            "data",
            "created_at",
            "updated_at",
        )


class PaymentOutput(OutputModelSerializer):
    class Meta:
        model = Payment
        fields = ("id", "order", "transaction_id", "amount", "currency", "status", "paid_at", "method", "created_at")


class ShipmentLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class TrackingEventOutput(OutputModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ("id", "shipment", "occurred_at", "status", "description", "created_at")


class ShipmentOutput(OutputModelSerializer):
    lines = ShipmentLineOutput(many=True)
    events = TrackingEventOutput(many=True)

    class Meta:
        model = Shipment
        fields = ("id", "order", "carrier", "tracking_number", "shipped_at", "lines", "events", "created_at")


class OrderDetailOutput(OrderOutput):
    payments = PaymentOutput(many=True)
    shipments = ShipmentOutput(many=True)

    class Meta(OrderOutput.Meta):
        fields = (*OrderOutput.Meta.fields, "payments", "shipments")


# --- Order views --------------------------------------------------------------------------------


class OrderFilter(django_filters.FilterSet):
    placed_after = StrictIsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = StrictIsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    sku = django_filters.CharFilter(field_name="lines__sku", distinct=True)

    class Meta:
        model = Order
        fields = ("channel", "status", "external_id", "customer_phone")


def _order_response(order_id: int, status_code: int) -> Response:
    order = selectors.order_detail_queryset().get(pk=order_id)
    return Response(OrderDetailOutput(order).data, status=status_code)


def _order_created_response(order_id: int, created: bool) -> Response:
    # Ingest answers with the order and its lines only: an integration posting thousands of
    # orders doesn't need payments and shipments echoed back (GET has them).
    order = selectors.order_list().get(pk=order_id)
    return Response(OrderOutput(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderListCreateApi(generics.ListAPIView):
    """List orders (filtered, paginated) or store one order, idempotent on (channel, external_id)."""

    queryset = Order.objects.none()
    serializer_class = OrderOutput
    filterset_class = OrderFilter

    def get_queryset(self):
        return selectors.order_list()

    @extend_schema(
        request=OrderInput,
        responses={201: OrderOutput, 200: OrderOutput},
    )
    def post(self, request):
        serializer = OrderInput(data=request.data, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        result = services.order_ingest(data=serializer.validated_data)
        return _order_created_response(result.order_id, result.created)


class BulkOrderResult(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 created, 200 already known, 400 refused")
    id = serializers.IntegerField(required=False)
    external_id = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class BulkOrdersField(serializers.ListField):
    """1 to ORDERGUARD_BULK_MAX_ORDERS orders."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", OrderInput())
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", settings.ORDERGUARD_BULK_MAX_ORDERS)
        super().__init__(**kwargs)


class OrderBulkInput(serializers.Serializer):
    """The bulk envelope, for the schema: the view validates each order on its own, so that a bad
    order fails alone."""

    orders = BulkOrdersField()


class OrderBulkCreateApi(APIView):
    """Store many orders at once: every item gets its own result; a bad item never stops the good ones."""

    queryset = Order.objects.none()

    @extend_schema(
        request=OrderBulkInput,
        responses={
            200: inline_serializer(
                name="OrderBulkResponse",
                fields={
                    "created": serializers.IntegerField(),
                    "existing": serializers.IntegerField(),
                    "failed": serializers.IntegerField(),
                    "results": BulkOrderResult(many=True),
                },
            )
        },
    )
    def post(self, request):
        envelope = request.data
        if not isinstance(envelope, dict) or not isinstance(envelope.get("orders"), list):
            raise serializers.ValidationError({"orders": [_('Send a JSON object with an "orders" list.')]})
        raw = envelope["orders"]
        cap = settings.ORDERGUARD_BULK_MAX_ORDERS
        if not raw or len(raw) > cap:
            raise serializers.ValidationError(
                {"orders": [_("Send between 1 and %(cap)d orders per request.") % {"cap": cap}]}
            )
        results: list[dict[str, Any]] = [{} for _item in raw]
        valid: list[tuple[int, dict[str, Any]]] = []
        # One validator for the whole batch, as DRF's ListSerializer does: its fields are
        # built once instead of once per order.
        validator = OrderInput(context=_api_context(request))
        for index, item in enumerate(raw):
            try:
                valid.append((index, validator.run_validation(item)))
            except serializers.ValidationError as exc:
                fields = flatten_errors(exc.detail)
                results[index] = {"index": index, "status": 400, "code": ErrorCode.INVALID, "fields": fields}
        if valid:
            ingested = services.order_bulk_ingest(items=[data for _index, data in valid])
            for (index, data), result in zip(valid, ingested, strict=True):
                results[index] = {
                    "index": index,
                    "status": 201 if result.created else 200,
                    "id": result.order_id,
                    "external_id": data["external_id"],
                }
        counts = {"created": 0, "existing": 0, "failed": 0}
        for result in results:
            counts[{201: "created", 200: "existing"}.get(result["status"], "failed")] += 1
        return Response({**counts, "results": results}, status=status.HTTP_200_OK)


class OrderDetailApi(APIView):
    """Read an order with its lines, payments and shipments, or change it (PATCH)."""

    queryset = Order.objects.none()

    @extend_schema(responses=OrderDetailOutput)
    def get(self, request, order_id: int):
        order = get_object_or_404(selectors.order_detail_queryset(), pk=order_id)
        return Response(OrderDetailOutput(order).data)

    @extend_schema(request=OrderPatchInput, responses=OrderDetailOutput)
    def patch(self, request, order_id: int):
        get_object_or_404(Order.objects.only("id"), pk=order_id)
        serializer = OrderPatchInput(data=request.data, partial=True, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        order = services.order_update(order_id=order_id, data=serializer.validated_data)
        return _order_response(order.pk, status.HTTP_200_OK)


# --- Payments, shipments, events ----------------------------------------------------------------


class PaymentInput(serializers.Serializer):
    order = StrictIntegerField(min_value=1, max_value=ID_MAX)
    transaction_id = StrictCharField(max_length=128)
    amount = money()
    currency = CurrencyField()
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    paid_at = StrictDateTimeField(required=False, allow_null=True)
    method = StrictCharField(max_length=32, required=False, allow_blank=True)


class PaymentCreateApi(APIView):
    """Record a payment attempt; idempotent on ``transaction_id`` (a repeat returns 200)."""

    queryset = Payment.objects.none()

    @extend_schema(
        request=PaymentInput,
        responses={
            201: PaymentOutput,
            200: PaymentOutput,
            409: error_response(gettext_lazy("A repeat of the transaction names another order or amount.")),
        },
    )
    def post(self, request):
        serializer = PaymentInput(data=request.data, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        payment, created = services.payment_record(order_id=data.pop("order"), **data)
        return Response(PaymentOutput(payment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PaymentDetailApi(generics.RetrieveAPIView):
    queryset = Payment.objects.all()
    serializer_class = PaymentOutput
    lookup_url_kwarg = "payment_id"


class ShipmentLineInput(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)


class ShipmentInput(serializers.Serializer):
    order = StrictIntegerField(min_value=1, max_value=ID_MAX)
    carrier = StrictCharField(max_length=32)
    tracking_number = StrictCharField(max_length=64, allow_blank=True)
    shipped_at = StrictDateTimeField()
    lines = serializers.ListField(child=ShipmentLineInput(), min_length=1, max_length=500)


class ShipmentCreateApi(APIView):
    """Record a shipment; idempotent on (carrier, tracking number)."""

    queryset = Shipment.objects.none()

    @extend_schema(
        request=ShipmentInput,
        responses={
            201: ShipmentOutput,
            200: ShipmentOutput,
            409: error_response(gettext_lazy("The carrier's tracking number is recorded for another order.")),
        },
    )
    def post(self, request):
        serializer = ShipmentInput(data=request.data, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shipment, created = services.shipment_create(order_id=data.pop("order"), **data)
        shipment = selectors.shipment_detail_queryset().get(pk=shipment.pk)
        return Response(
            ShipmentOutput(shipment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ShipmentDetailApi(generics.RetrieveAPIView):
    queryset = Shipment.objects.none()
    serializer_class = ShipmentOutput
    lookup_url_kwarg = "shipment_id"

    def get_queryset(self):
        return selectors.shipment_detail_queryset()


class TrackingEventInput(serializers.Serializer):
    occurred_at = StrictDateTimeField()
    status = serializers.ChoiceField(choices=TrackingEvent.Status.choices)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class TrackingEventCreateApi(APIView):
    """Record a carrier's tracking event for a shipment; a repeat returns 200."""

    queryset = TrackingEvent.objects.none()

    @extend_schema(request=TrackingEventInput, responses={201: TrackingEventOutput, 200: TrackingEventOutput})
    def post(self, request, shipment_id: int):
        get_object_or_404(Shipment.objects.only("id"), pk=shipment_id)
        serializer = TrackingEventInput(data=request.data, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        event, created = services.tracking_event_record(shipment_id=shipment_id, **serializer.validated_data)
        return Response(
            TrackingEventOutput(event).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


# --- Products and inventory ---------------------------------------------------------------------


class SkuField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)


class ProductInput(serializers.Serializer):
    name = StrictCharField(max_length=255)
    list_price = money()
    currency = CurrencyField()


class ProductOutput(OutputModelSerializer):
    class Meta:
        model = Product
        fields = ("sku", "name", "list_price", "currency", "is_active", "updated_at")


class StockLevelInput(serializers.Serializer):
    # StockLevel's columns are IntegerFields: 32 bits on PostgreSQL.
    on_hand = StrictIntegerField(min_value=0, max_value=INT32_MAX)
    reserved = StrictIntegerField(min_value=0, max_value=INT32_MAX, default=0)


class StockLevelOutput(OutputModelSerializer):
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = ("sku", "on_hand", "reserved", "available", "updated_at")


def _is_sku(sku: str) -> bool:
    return 0 < len(sku) <= 64 and "\x00" not in sku


def _check_sku(sku: str) -> None:
    if not _is_sku(sku):
        raise serializers.ValidationError({"sku": [_("A SKU has 1 to 64 characters, none of them NUL.")]})


def _get_by_sku_or_404(model, sku: str):
    # A path that cannot be a SKU names no record (and PostgreSQL refuses a NUL in a query).
    if not _is_sku(sku):
        raise Http404
    return get_object_or_404(model, sku=sku)


class ProductListApi(generics.ListAPIView):
    queryset = Product.objects.all()
    serializer_class = ProductOutput
    filterset_fields = ("sku", "is_active")


class ProductDetailApi(APIView):
    """Read a product, or create / replace it by SKU (PUT: 201 new, 200 updated)."""

    queryset = Product.objects.none()
    permission_classes = [UpsertModelPermissions]
    put_creates = True

    @extend_schema(responses=ProductOutput)
    def get(self, request, sku: str):
        return Response(ProductOutput(_get_by_sku_or_404(Product, sku)).data)

    @extend_schema(request=ProductInput, responses={201: ProductOutput, 200: ProductOutput})
    def put(self, request, sku: str):
        _check_sku(sku)
        serializer = ProductInput(data=request.data, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        product, created = services.product_upsert(sku=sku, **serializer.validated_data)
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class StockLevelListApi(generics.ListAPIView):
    queryset = StockLevel.objects.all()
    serializer_class = StockLevelOutput
    filterset_fields = ("sku",)


class StockLevelDetailApi(APIView):
    """Read or set the stock the inventory system reports for a SKU (PUT: 201 new, 200 updated)."""

    queryset = StockLevel.objects.none()
    permission_classes = [UpsertModelPermissions]
    put_creates = True

    @extend_schema(responses=StockLevelOutput)
    def get(self, request, sku: str):
        return Response(StockLevelOutput(_get_by_sku_or_404(StockLevel, sku)).data)

    @extend_schema(request=StockLevelInput, responses={201: StockLevelOutput, 200: StockLevelOutput})
    def put(self, request, sku: str):
        _check_sku(sku)
        serializer = StockLevelInput(data=request.data, context=_api_context(request))
        serializer.is_valid(raise_exception=True)
        stock, created = services.stock_level_set(sku=sku, **serializer.validated_data)
        return Response(StockLevelOutput(stock).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
