"""Run by bench/ingest.py in a fresh process: the raw bulk_create rate of the same rows.

Validation is not part of the physical limit, so rows are parsed first, outside the timing.
Prints orders/s on the last line.
"""

import json
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.orders.api import OrderInput  # noqa: E402
from apps.orders.models import Customer, Order, OrderLine  # noqa: E402

BATCH = 500


def main(path: str) -> None:
    validator = OrderInput()
    items = [validator.run_validation(body) for body in json.loads(Path(path).read_text())]
    start = time.perf_counter()
    for offset in range(0, len(items), BATCH):
        batch = items[offset : offset + BATCH]
        with transaction.atomic():
            now = timezone.now()
            customers = [
                Customer(
                    channel=item["channel"],
                    external_id=f"{item['customer']['external_id']}-{offset}-{n}",
                    name=item["customer"]["name"],
                    phone=item["customer"]["phone"],
                    email=item["customer"]["email"],
                )
                for n, item in enumerate(batch)
            ]
            Customer.objects.bulk_create(customers)
            orders = [
                Order(
                    channel=item["channel"],
                    external_id=item["external_id"],
                    status=item["status"],
                    status_changed_at=now,
                    placed_at=item["placed_at"],
                    paid_at=item.get("paid_at"),
                    currency=item["currency"],
                    total_amount=item["total_amount"],
                    customer=customer,
                    customer_phone=customer.phone,
                    ship_recipient=item["shipping_address"]["recipient"],
                    ship_province=item["shipping_address"]["province"],
                    ship_city=item["shipping_address"]["city"],
                    ship_district=item["shipping_address"]["district"],
                    ship_detail=item["shipping_address"]["detail"],
                )
                for item, customer in zip(batch, customers, strict=True)
            ]
            Order.objects.bulk_create(orders)
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        line_no=k,
                        sku=line["sku"],
                        name=line["name"],
                        quantity=line["quantity"],
                        unit_price=line["unit_price"],
                    )
                    for order, item in zip(orders, batch, strict=True)
                    for k, line in enumerate(item["lines"], 1)
                ]
            )
    print(len(items) / (time.perf_counter() - start))


if __name__ == "__main__":
    main(sys.argv[1])
