"""The order book of bench/scan.py: N orders with a realistic mix, loaded in bulk, not through the ORM.

Run by scan.py in a child process against a freshly migrated database (Django settings from the
environment)::

    python bench/_scan_data.py --orders N --now 2026-11-20T12:00:00+00:00 [--seed 20261120]

Every row comes from one seeded RNG, so SQLite and PostgreSQL get the same data and the same
matches. Rows are built in Python in batches and loaded with ``executemany`` inside one
transaction (SQLite) or ``COPY`` (PostgreSQL), with the plain indexes dropped during the load and
rebuilt after it, then ANALYZE. The verdict columns and the basket and shipped signatures are computed with
``apps.orders.verdicts``, as the services store them at write time.

The mix: ~2.9 lines per order over 500 SKUs (a few without a product or a stock record, a dozen
nearly out of stock), payments (split, retried, failed, short or missing), shipments for shipped
and delivered orders with 0-4 tracking events, and around 1 % of orders with each imperfection the
built-in rules look for, plus near-boundary cases that must not match (a total 0.01 off, a price
at exactly 50 % / 150 % of list, a resubmission 31-60 minutes after the first order).
Prints a JSON summary as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from apps.orders import demo_data, verdicts  # noqa: E402

BATCH = 20_000
SKU_COUNT = 500
TABLES: dict[str, tuple[str, ...]] = {
    "orders_customer": ("id", "created_at", "updated_at", "channel", "external_id", "name", "phone", "email", "tags"),
    "orders_product": ("id", "created_at", "updated_at", "sku", "name", "list_price", "currency", "is_active"),
    "orders_stocklevel": ("id", "created_at", "updated_at", "sku", "on_hand", "reserved"),
    "orders_order": (
        "id",
        "created_at",
        "updated_at",
        "channel",
        "external_id",
        "status",
        "status_changed_at",
        "placed_at",
        "paid_at",
        "promised_ship_by",
        "currency",
        "total_amount",
        "shipping_fee",
        "discount",
        "customer_phone",
        "ship_recipient",
        "ship_phone",
        "ship_province",
        "ship_city",
        "ship_district",
        "ship_detail",
        "ship_postcode",
        "data",
        "customer_id",
        "address_is_valid",
        "customer_email_is_valid",
        "customer_phone_is_valid",
        "line_signature",
        "shipped_signature",
        "paid_total",
        "lines_total",
    ),
    "orders_orderline": ("id", "line_no", "sku", "name", "quantity", "unit_price", "order_id"),
    "orders_payment": (
        "id",
        "created_at",
        "updated_at",
        "transaction_id",
        "amount",
        "currency",
        "status",
        "paid_at",
        "method",
        "order_id",
    ),
    "orders_shipment": (
        "id",
        "created_at",
        "updated_at",
        "carrier",
        "tracking_number",
        "shipped_at",
        "order_id",
        "tracking_is_valid",
    ),
    "orders_shipmentline": ("id", "sku", "quantity", "shipment_id", "is_on_order"),
    "orders_trackingevent": ("id", "created_at", "updated_at", "occurred_at", "status", "description", "shipment_id"),
}
ORDER_TABLES = list(TABLES)[3:]

# Status mix (percent): most orders are delivered; the open ones are recent.
STATUS_WEIGHTS = [
    ("pending_payment", 7),
    ("paid", 9),
    ("reviewed", 7),
    ("shipped", 20),
    ("delivered", 49),
    ("cancelled", 5),
    ("refunded", 3),
]
CHANNEL_WEIGHTS = [("taobao", 30), ("tmall", 15), ("jd", 20), ("pinduoduo", 20), ("douyin", 10), ("webshop", 5)]
PROMISE_HOURS = {"jd": 24, "webshop": 72}  # others: SPEC §3's 48 h
METHODS = {"jd": "jd_pay", "pinduoduo": "wechat_pay", "douyin": "douyin_pay"}
MIN, HOUR, DAY = 60, 3600, 86400

# Shares of the imperfections (of orders, of the orders a variant applies to, or of lines).
DUPLICATE_RATE = 0.008  # an order resubmitted 1-29 min (matches) or 31-60 min (doesn't) after the previous one
BAD_NAME, BAD_PHONE, EMPTY_PHONE, HAS_EMAIL, BAD_EMAIL = 0.005, 0.006, 0.003, 0.3, 0.04  # of customers
BAD_ADDRESS = 0.015
UNKNOWN_SKU_LINE, SPLIT_SKU = 0.007, 0.015
PRICE_ANOMALY_LINE, PRICE_BOUNDARY_LINE = 0.004, 0.0005
AMOUNT_OFF, AMOUNT_CENT, AMOUNT_TWO_CENTS = 0.008, 0.002, 0.002
PAID_SHORT, PAID_SPLIT, PAID_RETRIED = 0.015, 0.03, 0.015  # of paid-like orders
ITEM_WRONG_SKU, ITEM_WRONG_QTY = 0.005, 0.005  # of shipped / delivered orders
BAD_TRACKING, UNKNOWN_CARRIER, EMPTY_TRACKING = 0.01, 0.003, 0.002  # of shipments
PARTIAL_SHIPMENT = 0.01  # of reviewed orders: one shipment on its way, the rest to follow


def _table(weights: list[tuple[str, int]]) -> list[str]:
    return [value for value, weight in weights for _ in range(weight)]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class Clock:
    """Epoch seconds to the text both databases read: 'YYYY-MM-DD HH:MM:SS' (+00 on PostgreSQL)."""

    def __init__(self, now: datetime, suffix: str):
        self.now = int(now.timestamp())
        start = (now - timedelta(days=200)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.base = int(start.timestamp())
        # 210 days: promised ship-by dates run into the future.
        self.days = [(start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(210)]
        self.suffix = suffix

    def __call__(self, t: int | None) -> str | None:
        if t is None:
            return None
        day, rest = divmod(t - self.base, DAY)
        return f"{self.days[day]} {rest // HOUR:02d}:{rest // MIN % 60:02d}:{rest % 60:02d}{self.suffix}"


class Generator:
    def __init__(self, orders: int, now: datetime, seed: int, suffix: str, carriers: dict[str, list[str]]):
        self.n = orders
        self.rng = random.Random(seed)
        self.ts = Clock(now, suffix)
        self.now = self.ts.now
        self.patterns = {code: verdicts.compile_patterns(tuple(p)) for code, p in carriers.items()}
        self.statuses = _table(STATUS_WEIGHTS)
        self.channels = _table(CHANNEL_WEIGHTS)
        self.carriers = {ch: _table(w) for ch, w in demo_data.CHANNEL_CARRIERS.items()}
        self.places = _table([(place, place[4]) for place in demo_data.PLACES])
        self.address_cache: dict[tuple[str, str, str, bool], bool] = {}
        self.ids = dict.fromkeys(TABLES, 0)
        self.counts: dict[str, int] = {}
        self._catalogue()

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # --- Reference data --------------------------------------------------------------------

    def _catalogue(self) -> None:
        rng = self.rng
        items = [(name, price) for _p, _c, goods in demo_data.CATALOGUE for name, price in goods]
        self.skus, self.sku_names, self.list_cents = [], [], []
        self.has_product, self.available = [], []
        for index in range(SKU_COUNT):
            name, price = items[index % len(items)]
            # Whole dimes: half and one and a half times the price are exact cents.
            cents = round(float(price) * 100) // 10 * 10 or 990
            self.skus.append(f"SKU-{index + 1:04d}")
            self.sku_names.append(name)
            self.list_cents.append(cents)
            self.has_product.append(index % 25 != 24)  # new SKUs the catalogue doesn't list yet
            if index % 12 == 5:
                self.available.append(None)  # no stock record: never a shortage
            elif index % 40 == 7:
                self.available.append(rng.randint(0, 3))  # nearly out of stock
            else:
                self.available.append(rng.randint(150, 5000))

    def reference_rows(self) -> dict[str, list[tuple]]:
        ts, rng = self.ts, self.rng
        stamp = ts(self.now - 120 * DAY)
        products, stock = [], []
        for index, sku in enumerate(self.skus):
            if self.has_product[index]:
                row = (self._next("orders_product"), stamp, stamp, sku, self.sku_names[index])
                products.append((*row, _money(self.list_cents[index]), "CNY", True))
            available = self.available[index]
            if available is not None:
                reserved = rng.randint(0, 3) if available < 4 else rng.randint(0, 150)
                stock.append((self._next("orders_stocklevel"), stamp, stamp, sku, available + reserved, reserved))
        return {"orders_product": products, "orders_stocklevel": stock}

    def customers(self) -> list[tuple]:
        """The customer pool (a third as many as orders: people come back), with their verdicts."""
        rng, rnd = self.rng, self.rng.random
        rows, self.people = [], []
        stamp = self.ts(self.now - 150 * DAY)
        for index in range(max(10, self.n // 3)):
            channel = self.channels[int(rnd() * len(self.channels))]
            name = rng.choice(demo_data.SURNAMES) + "".join(rng.choices(demo_data.GIVEN_CHARS, k=rng.randint(1, 2)))
            if rnd() < BAD_NAME:
                name = ""
            phone = rng.choice(demo_data.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            roll = rnd()
            if roll < EMPTY_PHONE:
                phone = ""
            elif roll < EMPTY_PHONE + BAD_PHONE:
                phone = rng.choice([phone[:3] + "****" + phone[7:], phone[:10], "12" + phone[2:], phone + "-1234"])
            email = ""
            if rnd() < HAS_EMAIL:
                local = "".join(rng.choices(demo_data.PINYIN_SYLLABLES, k=2)) + str(rng.randint(1, 9999))
                email = f"{local}@{rng.choice(demo_data.EMAIL_DOMAINS)}"
                if rnd() < BAD_EMAIL:
                    email = rng.choice([f"{local}@", f"{local}.163.com", f"{local}@@163.com", f"{local}@qq。com"])
            rows.append((index + 1, stamp, stamp, channel, f"C{index + 1:08d}", name, phone, email, "[]"))
            self.people.append((channel, name, phone, verdicts.phone_is_valid(phone), verdicts.email_is_valid(email)))
        self.ids["orders_customer"] = len(rows)
        return rows

    # --- Orders ----------------------------------------------------------------------------

    def _address(self) -> tuple[str, str, str, str, str, bool]:
        rng, rnd = self.rng, self.rng.random
        province, city, districts, postcode, _weight = self.places[int(rnd() * len(self.places))]
        district = districts[int(rnd() * len(districts))]
        detail = f"{rng.choice(demo_data.ROADS)}{rng.randint(1, 999)}号{rng.choice(demo_data.COMMUNITIES)}"
        if rnd() < BAD_ADDRESS:
            variant = rng.randrange(5)
            if variant == 0:  # a city of another province
                other = rng.choice([p for p in demo_data.PLACES if p[0] != province])
                city, district = other[1], rng.choice(other[2])
            elif variant == 1:  # a district of another city
                district = rng.choice([d for p in demo_data.PLACES if p[1] != city for d in p[2]])
            elif variant == 2:
                province = ""
            elif variant == 3:
                city = ""
            else:
                detail = ""
        key = (province, city, district, bool(detail))
        valid = self.address_cache.get(key)
        if valid is None:
            valid = verdicts.address_is_valid(province=province, city=city, district=district, detail=detail)
            self.address_cache[key] = valid
        return province, city, district, detail, postcode, valid

    def _lines(self) -> list[tuple[str, str, int, int]]:
        """(sku, name, quantity, unit price in cents) for a new basket."""
        rnd = self.rng.random
        count = (1, 1, 2, 2, 3, 3, 3, 4, 4, 5)[int(rnd() * 10)]
        picked: list[int] = []
        while len(picked) < count:
            index = int(SKU_COUNT * rnd() ** 1.4)  # some SKUs sell far more than others
            if index not in picked:
                picked.append(index)
        lines = []
        for index in picked:
            roll = rnd()
            quantity = 1 if roll < 0.6 else 2 if roll < 0.85 else 3 if roll < 0.95 else 4 + int(rnd() * 5)
            sku, name, list_cents = self.skus[index], self.sku_names[index], self.list_cents[index]
            if rnd() < UNKNOWN_SKU_LINE:
                sku, name = f"SKU-9{int(rnd() * 1000):03d}", "未建档商品"  # no product, no stock record
            roll = rnd()
            if roll < PRICE_ANOMALY_LINE:
                ratio = 0.2 + rnd() * 0.25 if rnd() < 0.5 else 1.6 + rnd() * 0.9
                cents = max(1, int(list_cents * ratio))
            elif roll < PRICE_ANOMALY_LINE + PRICE_BOUNDARY_LINE:
                cents = list_cents // 2 if rnd() < 0.5 else list_cents * 3 // 2  # exactly 50 % / 150 %: no anomaly
            elif roll < 0.2:
                cents = int(list_cents * (0.85 + rnd() * 0.14))  # a shop discount
            else:
                cents = list_cents
            lines.append((sku, name, quantity, cents))
        if rnd() < SPLIT_SKU:  # the same SKU on two lines (a gift line, a re-added item)
            sku, name, _q, cents = lines[0]
            lines.append((sku, name, 1, cents))
        return lines

    def _amounts(self, lines: list[tuple[str, str, int, int]]) -> tuple[int, int, int]:
        rnd = self.rng.random
        lines_total = sum(quantity * cents for _s, _n, quantity, cents in lines)
        fee = (600 + int(rnd() * 10) * 100) if rnd() < 0.15 else 0
        discount = min(300 + int(rnd() * 28) * 100, lines_total // 2) if rnd() < 0.2 else 0
        total = lines_total + fee - discount
        roll = rnd()
        if roll < AMOUNT_OFF:  # a coupon not recorded, freight not added
            total = max(0, total + (1 if rnd() < 0.5 else -1) * (100 + int(rnd() * 4900)))
        elif roll < AMOUNT_OFF + AMOUNT_CENT:  # rounding by the platform: within tolerance
            total = total + 1 if rnd() < 0.5 or total == 0 else total - 1
        elif roll < AMOUNT_OFF + AMOUNT_CENT + AMOUNT_TWO_CENTS:  # just over the tolerance
            total = total + 2 if rnd() < 0.5 or total < 2 else total - 2
        return fee, discount, total

    def _placed_age(self, status: str) -> int:
        rnd = self.rng.random
        if status == "pending_payment":
            return int(rnd() * 20 * HOUR) + MIN
        if status == "paid":  # most are waiting minutes for review, some for hours
            return int(5 * MIN + rnd() * 110 * MIN) if rnd() < 0.88 else int(2 * HOUR + rnd() * 58 * HOUR)
        if status == "reviewed":
            return int(HOUR + rnd() * 59 * HOUR)
        if status == "shipped":
            return int(20 * HOUR + rnd() * 76 * HOUR) if rnd() < 0.93 else int(4 * DAY + rnd() * 8 * DAY)
        if status == "delivered":
            return int(8 * DAY + rnd() * 82 * DAY)
        if status == "cancelled":
            return int(HOUR + rnd() * 89 * DAY)
        return int(8 * DAY + rnd() * 82 * DAY)  # refunded

    def orders(self):
        """Yield batches {table: rows} of BATCH orders with their lines, payments and shipments."""
        rnd, now = self.rng.random, self.now
        batch = {table: [] for table in ORDER_TABLES}
        prev = None
        for order_id in range(1, self.n + 1):
            if prev is not None and rnd() < DUPLICATE_RATE and prev["placed"] < now - 62 * MIN:
                # Resubmitted: same customer, basket and total, another external id.
                gap = int((1 + rnd() * 28) * MIN) if rnd() < 0.8 else int((31 + rnd() * 29) * MIN)
                spec = dict(prev, placed=prev["placed"] + gap, duplicate=True)
            else:
                lines = self._lines()
                fee, discount, total = self._amounts(lines)
                status = self.statuses[int(rnd() * len(self.statuses))]
                spec = {
                    "customer": int(rnd() * len(self.people)),
                    "status": status,
                    "lines": lines,
                    "fee": fee,
                    "discount": discount,
                    "total": total,
                    "placed": now - self._placed_age(status),
                    "duplicate": False,
                }
            prev = spec
            self.ids["orders_order"] = order_id
            self._order(order_id, spec, batch)
            if order_id % BATCH == 0:
                yield batch
                batch = {table: [] for table in ORDER_TABLES}
        if batch["orders_order"]:
            yield batch

    def _order(self, order_id: int, spec: dict, batch: dict[str, list[tuple]]) -> None:
        rng, rnd, ts, now = self.rng, self.rng.random, self.ts, self.now
        status, placed, total, lines = spec["status"], spec["placed"], spec["total"], spec["lines"]
        channel, name, phone, phone_ok, email_ok = self.people[spec["customer"]]
        self.counts["duplicates"] = self.counts.get("duplicates", 0) + spec["duplicate"]

        def soon(start: int, low: int, high: int) -> int:
            return min(start + low + int(rnd() * (high - low)), now - 1)

        paid_like = status in ("paid", "reviewed", "shipped", "delivered")
        paid_at = soon(placed, 30, 15 * MIN) if paid_like or status == "refunded" else None
        pay_time = paid_at
        if status == "paid" and rnd() < 0.05:
            paid_at = None  # the channel didn't say when: the status change tells
        promised = None
        if rnd() < 0.75:
            promised = placed + PROMISE_HOURS.get(channel, 48) * HOUR
        changed = placed
        shipments: list[tuple[int, list[tuple[str, int]]]] = []  # (shipped_at, [(sku, qty)])
        if status in ("shipped", "delivered") or (status == "reviewed" and rnd() < PARTIAL_SHIPMENT):
            shipped_at = soon(pay_time, 2 * HOUR, 40 * HOUR)
            ordered: dict[str, int] = {}
            for sku, _n, quantity, _c in lines:
                ordered[sku] = ordered.get(sku, 0) + quantity
            parcels = [list(ordered.items())]
            if status == "reviewed":
                parcels = [parcels[0][:1]]
            elif len(parcels[0]) > 1 and rnd() < 0.05:  # shipped in two parcels
                cut = 1 + int(rnd() * (len(parcels[0]) - 1))
                parcels = [parcels[0][:cut], parcels[0][cut:]]
            if status != "reviewed":
                roll = rnd()
                if roll < ITEM_WRONG_SKU:  # the picker grabbed another SKU
                    wrong = self.skus[int(rnd() * SKU_COUNT)]
                    if wrong not in ordered:
                        parcels[0][0] = (wrong, parcels[0][0][1])
                elif roll < ITEM_WRONG_SKU + ITEM_WRONG_QTY:  # one short, or one too many
                    sku, quantity = parcels[0][0]
                    parcels[0][0] = (sku, quantity - 1 if quantity > 1 and rnd() < 0.7 else quantity + 1)
            for number, parcel in enumerate(parcels):
                shipments.append((shipped_at + number * 3 * HOUR if number else shipped_at, parcel))
            changed = shipped_at
        if status == "paid":
            changed = pay_time
        elif status == "reviewed":
            changed = soon(pay_time, 5 * MIN, 60 * MIN)
        elif status == "cancelled":
            changed = soon(placed, 10 * MIN, 24 * HOUR)
        elif status == "refunded":
            changed = soon(placed, 3 * DAY, 8 * DAY)

        # Lines and their signature.
        line_rows = batch["orders_orderline"]
        for number, (sku, item, quantity, cents) in enumerate(lines, start=1):
            line_rows.append((self._next("orders_orderline"), number, sku, item, quantity, _money(cents), order_id))
        signature = verdicts.line_signature([(sku, quantity) for sku, _n, quantity, _c in lines])

        # Payments.
        method = METHODS.get(channel, "alipay")
        pays: list[tuple[int, str, int | None]] = []  # (amount, status, paid_at)
        if paid_like:
            roll = rnd()
            if roll < PAID_SHORT:
                variant = rng.randrange(3)
                if variant == 0:
                    pays = [(max(0, total - 100 - int(rnd() * total * 0.5)), "succeeded", pay_time)]
                elif variant == 1:
                    pays = [(total, "pending", None)]
                # variant 2: the status moved on, no payment ever arrived
            elif roll < PAID_SHORT + PAID_SPLIT:  # store credit plus a card
                first = int(total * (0.2 + rnd() * 0.6))
                pays = [(first, "succeeded", pay_time), (total - first, "succeeded", pay_time)]
            elif roll < PAID_SHORT + PAID_SPLIT + PAID_RETRIED:
                pays = [(total, "failed", max(placed, pay_time - 2 * MIN)), (total, "succeeded", pay_time)]
            else:
                pays = [(total, "succeeded", pay_time)]
        elif status == "pending_payment":
            roll = rnd()
            attempt = soon(placed, MIN, 30 * MIN)
            if roll < 0.25:
                pays = [(total, "failed", attempt)]
            elif roll < 0.35:  # a failed attempt, then one still pending (no time yet)
                pays = [(total, "failed", attempt), (total, "pending", None)]
            elif roll < 0.45:
                pays = [(total, "pending", None)]
        elif status == "cancelled":
            if rnd() < 0.4:
                pays = [(total, "failed", soon(placed, MIN, 30 * MIN))]
        else:  # refunded
            pays = [(total, "refunded", pay_time)]
        for amount, pay_status, at in pays:
            pay_id = self._next("orders_payment")
            stamp = ts(at if at is not None else soon(placed, MIN, 20 * MIN))
            batch["orders_payment"].append(
                (pay_id, stamp, stamp, f"T{pay_id:012d}", _money(amount), "CNY", pay_status, ts(at), method, order_id)
            )

        # Shipments, their lines and tracking events.
        shipped_pairs = [pair for _at, parcel in shipments for pair in parcel]
        ordered_skus = {sku for sku, _n, _q, _c in lines}
        shipped_signature = verdicts.line_signature(shipped_pairs)
        for shipped_at, parcel in shipments:
            shipment_id = self._next("orders_shipment")
            carriers = self.carriers[channel]
            carrier = carriers[int(rnd() * len(carriers))]
            roll = rnd()
            if roll < UNKNOWN_CARRIER:
                carrier, number = "JTSD", f"JT{shipment_id:013d}"
            elif roll < UNKNOWN_CARRIER + EMPTY_TRACKING:
                number = ""
            elif roll < UNKNOWN_CARRIER + EMPTY_TRACKING + BAD_TRACKING:
                number = f"{carrier[:2]}{shipment_id:08d}"  # too short for every format
            else:
                number = {
                    "SF": f"SF{shipment_id:012d}",
                    "JD": f"JDVA{shipment_id:011d}",
                    "YTO": f"YT{shipment_id:013d}",
                    "ZTO": f"7{shipment_id:011d}",
                    "STO": f"77{shipment_id:011d}",
                    "YUNDA": f"43{shipment_id:011d}",
                    "EMS": f"EA{shipment_id:09d}CN",
                }[carrier]
            valid = verdicts.tracking_is_valid(number, self.patterns.get(carrier))
            stamp = ts(shipped_at)
            batch["orders_shipment"].append(
                (shipment_id, stamp, stamp, carrier, number, stamp, order_id, valid)
            )  # fmt: skip
            for sku, quantity in parcel:
                batch["orders_shipmentline"].append(
                    (self._next("orders_shipmentline"), sku, quantity, shipment_id, sku in ordered_skus)
                )
            if status == "delivered":
                steps = ["picked_up", "in_transit", "out_for_delivery", "delivered"][-(2 + int(rnd() * 3)) :]
            elif status == "shipped" and rnd() < 0.05:
                steps = []  # the carrier never reported: the shipping time is the last sign of life
            else:
                steps = ["picked_up", "in_transit", "in_transit", "out_for_delivery"][: 1 + int(rnd() * 3)]
            at = shipped_at
            for step in steps:
                at += 4 * HOUR + int(rnd() * 26 * HOUR)
                if at >= now:
                    break
                event = ts(at)
                batch["orders_trackingevent"].append(
                    (self._next("orders_trackingevent"), event, event, event, step, "", shipment_id)
                )
                if step == "delivered":
                    changed = at
        if status == "delivered" and not shipments:
            changed = soon(placed, 3 * DAY, 5 * DAY)

        province, city, district, detail, postcode, address_ok = self._address()
        stamp, changed_stamp = ts(placed), ts(max(changed, placed))
        batch["orders_order"].append(
            (
                order_id, stamp, changed_stamp, channel, f"E{order_id:010d}", status, changed_stamp,
                stamp, ts(paid_at), ts(promised), "CNY", _money(total), _money(spec["fee"]), _money(spec["discount"]),
                phone, name, phone, province, city, district, detail, postcode, "{}", spec["customer"] + 1,
                address_ok, email_ok, phone_ok, signature, shipped_signature,
                _money(sum(amount for amount, pay_status, _at in pays if pay_status == "succeeded")),
                _money(sum(quantity * cents for _s, _n, quantity, cents in lines)),
            )
        )  # fmt: skip


# --- Loading -----------------------------------------------------------------------------------


class SQLiteLoader:
    def __init__(self, path: str):
        import sqlite3

        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-1000000")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self.db.execute("BEGIN")
        tables = ",".join(f"'{t}'" for t in TABLES)
        self.indexes = self.db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name IN ({tables}) "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
        ).fetchall()
        for name, _sql in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            columns = TABLES[table]
            marks = ",".join("?" * len(columns))
            self.db.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)

    def finish(self) -> float:
        for _name, sql in self.indexes:
            self.db.execute(sql)
        self.db.execute("COMMIT")
        started = time.perf_counter()
        self.db.execute("ANALYZE")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.close()
        return time.perf_counter() - started


class PostgresLoader:
    def __init__(self, url: str):
        import psycopg

        self.db = psycopg.connect(url, autocommit=True)
        # Our own throw-away database: skip the per-row foreign-key triggers during the load.
        self.db.execute("SET session_replication_role = replica")
        self.db.execute("SET synchronous_commit = off")
        self.db.execute("SET maintenance_work_mem = '512MB'")
        self.indexes = self.db.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(%s) AND i.indexdef NOT LIKE 'CREATE UNIQUE%%' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [list(TABLES)],
        ).fetchall()
        for name, _sql in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            with self.db.cursor().copy(f"COPY {table} ({','.join(TABLES[table])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def finish(self) -> float:
        for _name, sql in self.indexes:
            self.db.execute(sql)
        for table in TABLES:
            self.db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        started = time.perf_counter()
        for table in TABLES:
            self.db.execute(f"VACUUM (ANALYZE) {table}")
        self.db.close()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--seed", type=int, default=20261120)
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now).astimezone(UTC)

    database = settings.DATABASES["default"]
    postgres = database["ENGINE"] == "django.db.backends.postgresql"
    if postgres:
        loader: SQLiteLoader | PostgresLoader = PostgresLoader(os.environ["DATABASE_URL"])
        carriers = dict(loader.db.execute("SELECT code, patterns FROM orders_carrier WHERE is_active").fetchall())
    else:
        loader = SQLiteLoader(str(database["NAME"]))
        carriers = {
            code: json.loads(patterns)
            for code, patterns in loader.db.execute("SELECT code, patterns FROM orders_carrier WHERE is_active")
        }
    started = time.perf_counter()
    generator = Generator(args.orders, now, args.seed, "+00" if postgres else "", carriers)
    for table, rows in generator.reference_rows().items():
        loader.write(table, rows)
    loader.write("orders_customer", generator.customers())
    for batch in generator.orders():
        for table in ORDER_TABLES:
            loader.write(table, batch[table])
        done = generator.ids["orders_order"]
        if done % (BATCH * 10) == 0:
            print(f"  generated {done:,} orders in {time.perf_counter() - started:.0f} s", flush=True)
    loaded = time.perf_counter() - started
    analyze = loader.finish()
    total = time.perf_counter() - started
    rows = {table: generator.ids[table] for table in TABLES}
    print(
        json.dumps(
            {
                "seconds": round(total, 1),
                "load_seconds": round(loaded, 1),
                "index_seconds": round(total - loaded - analyze, 1),
                "analyze_seconds": round(analyze, 1),
                "rows": rows,
                "duplicates_injected": generator.counts.get("duplicates", 0),
            }
        )
    )


if __name__ == "__main__":
    main()
