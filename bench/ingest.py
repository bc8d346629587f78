"""Ingest throughput: orders/s through the REST API against the raw bulk_create limit.

Starts a throw-away platform (fresh database, ASGI server), then measures in one run:
  1. POST /api/v1/orders/bulk/ in batches of 500,
  2. single POST /api/v1/orders/ one after another,
  3. the raw ``bulk_create`` rate of the same rows (customers, orders, lines) in this process
     against another fresh database: the physical limit of the database.
Prints the rates, the API/raw ratios and the server's peak RSS. With ``--order-form`` the demo's
order form is published first and every order carries its two custom fields, so each write
also checks ``data`` against the form.

    .venv/bin/python bench/ingest.py [--bulk 20000] [--single 1000] [--order-form]
    DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py     # on PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    PYTHON,
    ROOT,
    fresh_database,
    is_postgres,
    make_orders,
    manage,
    peak_rss_mib,
    platform_instance,
)


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
    with tempfile.TemporaryDirectory(prefix="og-bench-raw-") as tmp, fresh_database(Path(tmp)) as env:
        manage(env, "migrate", "--noinput")
        rows = Path(tmp) / "rows.json"
        rows.write_text(json.dumps(orders))
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        script = str(Path(__file__).resolve().parent / "_raw_bulk_create.py")
        out = subprocess.run(
            [PYTHON, script, str(rows)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
        return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=20000, help="orders sent through the bulk endpoint")
    parser.add_argument("--single", type=int, default=1000, help="orders sent one by one")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--order-form", action="store_true", help="publish an order form; orders carry its fields")
    args = parser.parse_args()

    bulk_orders = make_orders(args.bulk, prefix="BULK")
    single_orders = make_orders(args.single, seed=11, prefix="ONE")
    if args.order_form:
        for index, order in enumerate(bulk_orders + single_orders):
            order["data"] = {"invoice_title": f"某某公司 {index}", "buyer_note": "请尽快发货"}
    with platform_instance() as (base, token, env, server):
        vendor = "PostgreSQL" if is_postgres(env) else "SQLite (WAL)"
        if args.order_form:
            publish = "from apps.formdesigner.demo import demo_order_form_publish; demo_order_form_publish()"
            manage(env, "shell", "-c", publish)
            vendor += ", order form published"
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
