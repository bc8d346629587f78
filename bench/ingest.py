"""Ingest throughput: orders/s through the REST API against the raw bulk_create limit.

Starts a throw-away platform (fresh database, ASGI server), then measures in one run:
  1. POST /api/v1/orders/bulk/ in batches of 500,
  2. single POST /api/v1/orders/ one after another,
  3. the raw ``bulk_create`` rate of the same rows (customers, orders, lines) in this process
     against another fresh database: the physical limit of the database.
Prints the rates, the API/raw ratios and the server's peak RSS.

    .venv/bin/python bench/ingest.py [--bulk 20000] [--single 1000]
    DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py     # on PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, bench_env, make_orders, manage, peak_rss_mib, platform_instance  # noqa: E402

RAW_SCRIPT = """
import json, sys, time
import django
django.setup()
from django.db import transaction
from apps.orders.api import OrderInput
from apps.orders.models import Customer, Order, OrderLine
from django.utils import timezone

rows = json.load(open(sys.argv[1]))
# Validation is not part of the physical limit: parse once, outside the timing.
items = []
for body in rows:
    s = OrderInput(data=body)
    s.is_valid(raise_exception=True)
    items.append(s.validated_data)
start = time.perf_counter()
for i in range(0, len(items), 500):
    batch = items[i:i + 500]
    with transaction.atomic():
        now = timezone.now()
        customers = [Customer(channel=it["channel"], external_id=it["customer"]["external_id"] + f"-{i}-{n}",
                              name=it["customer"]["name"], phone=it["customer"]["phone"],
                              email=it["customer"]["email"]) for n, it in enumerate(batch)]
        Customer.objects.bulk_create(customers)
        orders = [Order(channel=it["channel"], external_id=it["external_id"], status=it["status"],
                        status_changed_at=now, placed_at=it["placed_at"], paid_at=it.get("paid_at"),
                        currency=it["currency"], total_amount=it["total_amount"], customer=c,
                        customer_phone=c.phone, ship_province=it["shipping_address"]["province"],
                        ship_city=it["shipping_address"]["city"], ship_detail=it["shipping_address"]["detail"])
                  for it, c in zip(batch, customers)]
        Order.objects.bulk_create(orders)
        OrderLine.objects.bulk_create([
            OrderLine(order=o, line_no=k, sku=l["sku"], name=l["name"], quantity=l["quantity"],
                      unit_price=l["unit_price"])
            for o, it in zip(orders, batch) for k, l in enumerate(it["lines"], 1)])
print(len(items) / (time.perf_counter() - start))
"""


def bulk_rate(base: str, token: str, orders: list[dict], batch: int) -> float:
    headers = {"Authorization": f"Token {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        bodies = [json.dumps({"orders": orders[i : i + batch]}) for i in range(0, len(orders), batch)]
        start = time.perf_counter()
        for body in bodies:
            response = client.post("/api/v1/orders/bulk/", content=body, headers={"Content-Type": "application/json"})
            response.raise_for_status()
            assert response.json()["created"] == len(json.loads(body)["orders"]), response.text[:500]
        return len(orders) / (time.perf_counter() - start)


def single_rate(base: str, token: str, orders: list[dict]) -> float:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        bodies = [json.dumps(order) for order in orders]
        start = time.perf_counter()
        for body in bodies:
            response = client.post("/api/v1/orders/", content=body)
            assert response.status_code == 201, response.text[:500]
        return len(orders) / (time.perf_counter() - start)


def raw_rate(orders: list[dict]) -> float:
    with tempfile.TemporaryDirectory(prefix="og-bench-raw-") as tmp:
        env = bench_env(Path(tmp))
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        manage(env, "flush", "--noinput") if os.environ.get("DATABASE_URL") else manage(env, "migrate", "--noinput")
        rows = Path(tmp) / "rows.json"
        rows.write_text(json.dumps(orders))
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        out = subprocess.run(
            [PYTHON, "-c", RAW_SCRIPT, str(rows)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
        return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=20000, help="orders sent through the bulk endpoint")
    parser.add_argument("--single", type=int, default=1000, help="orders sent one by one")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    bulk_orders = make_orders(args.bulk, prefix="BULK")
    single_orders = make_orders(args.single, seed=11, prefix="ONE")
    with platform_instance() as (base, token, env, server):
        vendor = "PostgreSQL" if "postgres" in env.get("DATABASE_URL", "") else "SQLite (WAL)"
        bulk = bulk_rate(base, token, bulk_orders, args.batch)
        single = single_rate(base, token, single_orders)
        rss = peak_rss_mib(server.pid)
    raw = raw_rate(bulk_orders)
    lines = sum(len(order["lines"]) for order in bulk_orders) / len(bulk_orders)
    print(
        f"database: {vendor}; {args.bulk} bulk orders (batches of {args.batch}), {args.single} single; "
        f"{lines:.2f} lines/order"
    )
    print(f"raw bulk_create (limit):      {raw:10,.0f} orders/s")
    print(f"POST /orders/bulk/:           {bulk:10,.0f} orders/s   ratio to raw {bulk / raw:6.2f}")
    print(f"POST /orders/ (one by one):   {single:10,.0f} orders/s   ratio to raw {single / raw:6.2f}")
    print(f"server peak RSS:              {rss:10,.0f} MiB")


if __name__ == "__main__":
    main()
