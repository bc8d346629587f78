import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet

from apps.orders.models import Carrier, Order, OrderLine, Payment, Shipment, TrackingEvent
from apps.orders.verdicts import compile_patterns

logger = logging.getLogger(__name__)

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


def order_ids_of_customers(*, customer_ids: Iterable[int]) -> list[int]:
    """Ids of the orders of these customers."""
    ids = sorted(set(customer_ids))
    out: list[int] = []
    for start in range(0, len(ids), _KEY_CHUNK):
        out += Order.objects.filter(customer_id__in=ids[start : start + _KEY_CHUNK]).values_list("pk", flat=True)
    return out


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


def carrier_patterns(*, codes: Iterable[str] | None = None) -> dict[str, tuple[re.Pattern[str], ...]]:
    """Compiled tracking-number patterns of the active carriers (all, or those in ``codes``).

    Read from the database on every call (one small query), so an admin's change reaches every
    process at once; compiling is cached by pattern text.
    """
    carriers = Carrier.objects.filter(is_active=True)
    if codes is not None:
        carriers = carriers.filter(code__in=list(codes))
    out: dict[str, tuple[re.Pattern[str], ...]] = {}
    for code, patterns in carriers.values_list("code", "patterns"):
        try:
            out[code] = compile_patterns(tuple(patterns))
        except (re.error, TypeError):
            # The admin and carrier_upsert refuse such patterns; a row edited around them makes
            # the carrier's numbers invalid rather than every shipment write fail.
            logger.error("Carrier %s has a pattern that does not compile: %r", code, patterns)
            out[code] = ()
    return out


def order_data_values(*, key: str) -> Iterator[tuple[int, Any]]:
    """(order id, value) of every order whose custom ``data`` holds ``key``, read in chunks."""
    rows = Order.objects.filter(data__has_key=key).order_by("pk").values_list("pk", "data")
    for order_id, data in rows.iterator(chunk_size=2000):
        yield order_id, data[key]
