"""REST API v1 for the order domain (SPEC §5). Views parse, call one service, render."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import UpsertModelPermissions
from apps.common.api import flatten_errors
from apps.common.errors import ErrorCode
from apps.common.fields import StrictCharField, StrictDictField, StrictIntegerField
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

CURRENCY = {"max_length": 3, "min_length": 3, "default": "CNY"}


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, min_value=0, **kwargs)


class CurrencyField(StrictCharField):
    default_error_messages = {"currency": gettext_lazy("Use a three-letter upper-case ISO 4217 code, e.g. CNY.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
            self.fail("currency")
        return value


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
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)
    unit_price = money()


class LinesField(serializers.ListField):
    """A complete list of order lines, 1 to ORDERGUARD_MAX_LINES_PER_ORDER of them.

    Lines are checked by a standalone ``LineInput`` (its own root, never partial), so a
    partial PATCH of the order still needs whole lines. The one instance is reused for every
    line: building serializer fields is the expensive part of DRF validation.
    """

    child = LineInput()

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)
        super().__init__(**kwargs)
        # Read here, not at import time, so that the setting can change under tests.
        self.max_length = settings.ORDERGUARD_MAX_LINES_PER_ORDER
        self._line = LineInput()

    def run_child_validation(self, data):
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        result, errors = [], {}
        for index, item in enumerate(data):
            try:
                result.append(self._line.run_validation(item))
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return result


class OrderInput(serializers.Serializer):
    external_id = StrictCharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=Order.Status.choices)
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(required=False, allow_null=True)
    promised_ship_by = serializers.DateTimeField(required=False, allow_null=True)
    currency = CurrencyField(**CURRENCY)
    total_amount = money()
    shipping_fee = money(default="0.00")
    discount = money(default="0.00")
    customer = CustomerInput()
    shipping_address = AddressInput()
    lines = LinesField()
    data = StrictDictField(required=False)


class OrderPatchInput(OrderInput):
    """The fields of an order that PATCH may change; validated with ``partial=True``."""


# --- Order output -------------------------------------------------------------------------------


class LineOutput(serializers.Serializer):
    line_no = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)


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


class OrderOutput(serializers.ModelSerializer):
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


class PaymentOutput(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ("id", "order", "transaction_id", "amount", "currency", "status", "paid_at", "method", "created_at")


class ShipmentLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class TrackingEventOutput(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ("id", "shipment", "occurred_at", "status", "description", "created_at")


class ShipmentOutput(serializers.ModelSerializer):
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
    placed_after = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
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
        responses={201: OrderOutput, 200: OrderOutput, 400: OpenApiResponse(description="invalid")},
    )
    def post(self, request):
        serializer = OrderInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.order_ingest(data=serializer.validated_data)
        return _order_created_response(result.order_id, result.created)


class BulkOrderResult(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 created, 200 already known, 400 refused")
    id = serializers.IntegerField(required=False)
    external_id = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    fields = serializers.DictField(required=False)


class OrderBulkCreateApi(APIView):
    """Store many orders at once: every item gets its own result; a bad item never stops the good ones."""

    queryset = Order.objects.none()

    @extend_schema(
        request=inline_serializer(name="OrderBulkRequest", fields={"orders": OrderInput(many=True)}),
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
        validator = OrderInput()
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
        serializer = OrderPatchInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        order = services.order_update(order_id=order_id, data=serializer.validated_data)
        return _order_response(order.pk, status.HTTP_200_OK)


# --- Payments, shipments, events ----------------------------------------------------------------


class PaymentInput(serializers.Serializer):
    order = StrictIntegerField(min_value=1)
    transaction_id = StrictCharField(max_length=128)
    amount = money()
    currency = CurrencyField(**CURRENCY)
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    paid_at = serializers.DateTimeField(required=False, allow_null=True)
    method = StrictCharField(max_length=32, required=False, allow_blank=True)


class PaymentCreateApi(APIView):
    """Record a payment attempt; idempotent on ``transaction_id`` (a repeat returns 200)."""

    queryset = Payment.objects.none()

    @extend_schema(request=PaymentInput, responses={201: PaymentOutput, 200: PaymentOutput})
    def post(self, request):
        serializer = PaymentInput(data=request.data)
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
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class ShipmentInput(serializers.Serializer):
    order = StrictIntegerField(min_value=1)
    carrier = StrictCharField(max_length=32)
    tracking_number = StrictCharField(max_length=64, allow_blank=True)
    shipped_at = serializers.DateTimeField()
    lines = serializers.ListField(child=ShipmentLineInput(), min_length=1, max_length=500)


class ShipmentCreateApi(APIView):
    """Record a shipment; idempotent on (carrier, tracking number)."""

    queryset = Shipment.objects.none()

    @extend_schema(request=ShipmentInput, responses={201: ShipmentOutput, 200: ShipmentOutput})
    def post(self, request):
        serializer = ShipmentInput(data=request.data)
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
    occurred_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=TrackingEvent.Status.choices)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class TrackingEventCreateApi(APIView):
    """Record a carrier's tracking event for a shipment; a repeat returns 200."""

    queryset = TrackingEvent.objects.none()

    @extend_schema(request=TrackingEventInput, responses={201: TrackingEventOutput, 200: TrackingEventOutput})
    def post(self, request, shipment_id: int):
        get_object_or_404(Shipment.objects.only("id"), pk=shipment_id)
        serializer = TrackingEventInput(data=request.data)
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
    currency = CurrencyField(**CURRENCY)


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ("sku", "name", "list_price", "currency", "is_active", "updated_at")


class StockLevelInput(serializers.Serializer):
    on_hand = StrictIntegerField(min_value=0)
    reserved = StrictIntegerField(min_value=0, default=0)


class StockLevelOutput(serializers.ModelSerializer):
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = ("sku", "on_hand", "reserved", "available", "updated_at")


def _check_sku(sku: str) -> None:
    if not sku or len(sku) > 64:
        raise serializers.ValidationError({"sku": [_("A SKU has 1 to 64 characters.")]})


class ProductListApi(generics.ListAPIView):
    queryset = Product.objects.all()
    serializer_class = ProductOutput
    filterset_fields = ("sku", "is_active")


class ProductDetailApi(APIView):
    """Read a product, or create / replace it by SKU (PUT: 201 new, 200 updated)."""

    queryset = Product.objects.none()
    permission_classes = [UpsertModelPermissions]

    @extend_schema(responses=ProductOutput)
    def get(self, request, sku: str):
        return Response(ProductOutput(get_object_or_404(Product, sku=sku)).data)

    @extend_schema(request=ProductInput, responses={201: ProductOutput, 200: ProductOutput})
    def put(self, request, sku: str):
        _check_sku(sku)
        serializer = ProductInput(data=request.data)
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

    @extend_schema(responses=StockLevelOutput)
    def get(self, request, sku: str):
        return Response(StockLevelOutput(get_object_or_404(StockLevel, sku=sku)).data)

    @extend_schema(request=StockLevelInput, responses={201: StockLevelOutput, 200: StockLevelOutput})
    def put(self, request, sku: str):
        _check_sku(sku)
        serializer = StockLevelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        stock, created = services.stock_level_set(sku=sku, **serializer.validated_data)
        return Response(StockLevelOutput(stock).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
