from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from apps.orders.models import Order, OrderLine, Payment, Shipment, TrackingEvent

# SQLite allows 32766 bound parameters; half of that leaves room for the other clauses.
_KEY_CHUNK = 8000


def order_ids_by_keys(*, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Map (channel, external_id) to order id for the keys that exist, one query per channel chunk."""
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[tuple[str, str], int] = {}
    for channel, external_ids in by_channel.items():
        for start in range(0, len(external_ids), _KEY_CHUNK):
            chunk = external_ids[start : start + _KEY_CHUNK]
            rows = Order.objects.filter(channel=channel, external_id__in=chunk).values_list("external_id", "id")
            found.update({(channel, ext): pk for ext, pk in rows})
    return found


def order_list() -> QuerySet[Order]:
    return Order.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_no"))
    )


def order_detail_queryset() -> QuerySet[Order]:
    return order_list().prefetch_related(
        Prefetch("payments", queryset=Payment.objects.order_by("paid_at", "created_at")),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.prefetch_related(
                "lines", Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at"))
            ).order_by("shipped_at"),
        ),
    )


def shipment_detail_queryset() -> QuerySet[Shipment]:
    return Shipment.objects.prefetch_related(
        "lines", Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at"))
    )
