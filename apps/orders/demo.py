"""Demo data: users for every role and department, a catalogue with stock, and a month of orders.

The orders are clean except for a known set of injected imperfections, one per affected order,
so that every built-in rule of SPEC §3 has positives and the summary says how many each rule
should find. Clean data is kept clear of the rules on purpose (reviews finish within two
hours, shipments leave before the promised time, open orders only buy SKUs with ample stock):
otherwise the counts would be guesses.

Randomness is reproducible: external ids depend on the seed only, everything else on the seed
and the moment of the run (orders are placed relative to "now").
"""

from __future__ import annotations

import bisect
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.services import api_token_issue, user_create
from apps.common.errors import DomainError
from apps.orders import demo_data, selectors, verdicts
from apps.orders.models import (
    Channel,
    Order,
    Payment,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
    TrackingEvent,
)
from apps.orders.services import (
    order_bulk_ingest,
    order_detection_run,
    order_paid_totals_refresh,
    order_shipped_signatures_refresh,
    product_upsert,
    shipment_lines_on_order_refresh,
    stock_level_set,
)

DEMO_PASSWORD = "orderguard"  # noqa: S105 (printed for the demo; never a real account's password)
DEFAULT_SEED = 20261111
INTEGRATION_USERNAME = "integration"
# order_bulk_ingest inserts in chunks of 500 itself; matching it keeps one ingest per chunk.
BATCH_SIZE = 500

Status = Order.Status
OPEN_STATUSES = {Status.PENDING_PAYMENT, Status.PAID, Status.REVIEWED}
CLOSED_STATUSES = {Status.CANCELLED, Status.REFUNDED}
CENT = Decimal("0.01")

# Clean open orders buy at most this many of a SKU, and only SKUs with at least this much
# available stock (or none recorded), so that STOCK_SHORTAGE fires only where injected.
NATURAL_MAX_QTY = 30

# Hours after placement. Pinduoduo and Douyin close an unpaid order after half an hour.
PROMISE_HOURS = {"jd": 24, "webshop": 72, "offline": None}
DEFAULT_PROMISE_HOURS = 48  # SPEC §3: without a promise, placed_at + 48 h
CLOSE_UNPAID_HOURS = {"pinduoduo": 0.5, "douyin": 0.5, "offline": 72}
DEFAULT_CLOSE_UNPAID_HOURS = 24

CHANNEL_WEIGHTS = [
    ("taobao", 27),
    ("tmall", 20),
    ("jd", 20),
    ("pinduoduo", 15),
    ("douyin", 12),
    ("webshop", 5),
    ("offline", 1),
]
# Orders per local hour of the day: quiet at night, a lunch bump, the evening peak.
# fmt: off
HOUR_WEIGHTS = [
    2.2, 1.2, 0.6, 0.35, 0.25, 0.25,  # 0-5 h
    0.45, 1.0, 1.6, 2.2, 2.8, 3.0,  # 6-11 h
    3.2, 3.0, 2.7, 2.6, 2.6, 2.5,  # 12-17 h
    2.6, 3.2, 4.2, 4.8, 4.5, 3.4,  # 18-23 h
]
# fmt: on

# 618, 双十一 and 双十二: (month, day) of the big sales festivals.
PROMOTION_DAYS = {(6, 18), (11, 11), (12, 12)}

# (rule code, variant, share of all orders). A variant of None: the rule's VARIANTS in turn.
INJECTIONS: list[tuple[str, str | None, float]] = [
    ("PAYMENT_STATUS_MISMATCH", None, 0.012),
    ("PAYMENT_FAILED", None, 0.008),
    ("STOCK_SHORTAGE", None, 0.010),
    ("CUSTOMER_INFO_INVALID", None, 0.020),
    ("ADDRESS_INVALID", None, 0.015),
    ("TRACKING_INVALID", None, 0.010),
    ("SHIPPING_DELAY", "unshipped_past_promise", 0.010),
    ("SHIPPING_DELAY", "stale_tracking", 0.008),
    ("DUPLICATE_ORDER", None, 0.008),
    ("ITEM_MISMATCH", "wrong_sku", 0.004),
    ("ITEM_MISMATCH", "quantity_differs", 0.005),
    ("PRICE_ANOMALY", None, 0.012),
    ("AMOUNT_MISMATCH", None, 0.010),
    ("REVIEW_TIMEOUT", None, 0.008),
]
VARIANTS: dict[str, list[str]] = {
    "PAYMENT_STATUS_MISMATCH": ["no_payment", "pending_only", "short_payment"],
    "PAYMENT_FAILED": ["failed_attempt"],
    "STOCK_SHORTAGE": ["low_stock_sku", "bulk_quantity"],
    "CUSTOMER_INFO_INVALID": ["empty_name", "invalid_phone", "empty_phone", "malformed_email"],
    "ADDRESS_INVALID": [
        "province_city_mismatch",
        "district_not_in_city",
        "empty_province",
        "empty_city",
        "empty_detail",
    ],
    "TRACKING_INVALID": ["wrong_format", "unknown_carrier"],
    "DUPLICATE_ORDER": ["resubmitted"],
    "PRICE_ANOMALY": ["below_half", "above_150_percent"],
    "AMOUNT_MISMATCH": ["coupon_not_recorded", "shipping_not_added", "rounding"],
    "REVIEW_TIMEOUT": ["paid_not_reviewed"],
}
RULE_CODES = list(dict.fromkeys(code for code, _variant, _rate in INJECTIONS))


# --- Users --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    department: str | None
    first_name: str
    last_name: str
    is_superuser: bool = False


DEMO_USERS = [
    DemoUser("admin", "admin", "management", "管理员", "系统", is_superuser=True),
    DemoUser("manager", "manager", "management", "建国", "王"),
    DemoUser("warehouse_lead", "manager", "warehouse", "磊", "赵"),
    DemoUser("warehouse", "staff", "warehouse", "强", "李"),
    DemoUser("finance", "staff", "finance", "静", "陈"),
    DemoUser("service", "staff", "customer_service", "敏", "张"),
    DemoUser("service2", "staff", "customer_service", "婷", "周"),
    DemoUser("logistics", "staff", "logistics", "洋", "刘"),
    DemoUser(INTEGRATION_USERNAME, "admin", None, "集成", "ERP"),
]


def demo_users_create(*, password: str = DEMO_PASSWORD) -> list[tuple[DemoUser, bool]]:
    """Create the demo accounts; a username that exists already is left as it is.

    Returns (user, created) per demo account, in ``DEMO_USERS`` order.
    """
    # One hash for all accounts: nine PBKDF2 rounds would take seconds, and the shared
    # password is printed anyway.
    encoded = make_password(password)
    out = []
    for spec in DEMO_USERS:
        try:
            user = user_create(
                username=spec.username,
                password=None,
                role=spec.role,
                department_code=spec.department,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@orderguard.example",
                is_superuser=spec.is_superuser,
            )
        except DomainError as exc:
            if exc.code != "conflict":
                raise
            out.append((spec, False))
        else:
            user.password = encoded
            user.save(update_fields=["password"])
            out.append((spec, True))
    return out


# Department leads get a department's tasks when nobody in it is available (SPEC §9.2).
DEMO_LEADS = {"warehouse": "warehouse_lead", "finance": "finance", "customer_service": "service"}


def demo_leads_set() -> None:
    """Make the demo's leads the leads of their departments (left alone where one is set)."""
    from apps.accounts.models import Department, User
    from apps.accounts.services import department_set_lead

    admin = User.objects.filter(username="admin").first()
    if admin is None:
        return
    for code, username in DEMO_LEADS.items():
        if Department.objects.filter(code=code, lead__isnull=True).exists():
            department_set_lead(department_code=code, username=username, actor=admin)


def demo_integration_token() -> str | None:
    """The integration account's API token (issued on first use), or None without that account."""
    try:
        return api_token_issue(username=INTEGRATION_USERNAME).key
    except DomainError:
        return None


# --- Catalogue and stock ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    list_price: Decimal
    available: int | None  # None: no stock record
    popularity: float


@dataclass
class DemoCatalogue:
    products: list[DemoProduct]
    # Open clean orders may buy these (no stock record, or plenty available).
    ample: list[DemoProduct] = field(init=False)
    # Stock records with little or nothing available.
    scarce: list[DemoProduct] = field(init=False)
    by_sku: dict[str, DemoProduct] = field(init=False)

    def __post_init__(self) -> None:
        self.ample = [p for p in self.products if p.available is None or p.available >= 2 * NATURAL_MAX_QTY]
        self.scarce = [p for p in self.products if p.available is not None and p.available < NATURAL_MAX_QTY]
        self.by_sku = {p.sku: p for p in self.products}


def _catalogue_rows() -> list[tuple[str, str, str, Decimal]]:
    return [
        (f"{prefix}-{n:04d}", name, category, Decimal(price))
        for prefix, category, items in demo_data.CATALOGUE
        for n, (name, price) in enumerate(items, start=1)
    ]


def demo_catalogue_create(*, seed: int = DEFAULT_SEED) -> DemoCatalogue:
    """Create the demo products and their stock where missing; existing records are kept.

    About 8 % of SKUs get no stock record (drop-shipped) and 6 % almost none available.
    """
    rng = random.Random(f"{seed}:catalogue")
    rows = _catalogue_rows()
    skus = [sku for sku, *_rest in rows]
    existing_products = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    existing_stock = set(StockLevel.objects.filter(sku__in=skus).values_list("sku", flat=True))
    for sku, name, _category, price in rows:
        # Drawn for every SKU so that the stock plan does not depend on what exists already.
        roll = rng.random()
        if roll < 0.08:
            on_hand, reserved = None, 0
        elif roll < 0.14:
            on_hand = rng.randint(0, 4)
            reserved = rng.randint(0, on_hand)
        else:
            on_hand = 2 * NATURAL_MAX_QTY + int(rng.lognormvariate(5.3, 0.8))
            reserved = rng.randint(0, on_hand // 10)
        if sku not in existing_products:
            product_upsert(sku=sku, name=name, list_price=price)
        if on_hand is not None and sku not in existing_stock:
            stock_level_set(sku=sku, on_hand=on_hand, reserved=reserved)

    prices = dict(Product.objects.filter(sku__in=skus).values_list("sku", "list_price"))
    available = {s.sku: s.available for s in StockLevel.objects.filter(sku__in=skus)}
    products = [
        DemoProduct(
            sku=sku,
            name=name,
            category=category,
            list_price=prices[sku],
            available=available.get(sku),
            popularity=rng.lognormvariate(0, 0.9),
        )
        for sku, name, category, _price in rows
    ]
    return DemoCatalogue(products)


# --- Time ---------------------------------------------------------------------------------------


class _AgeSampler:
    """Draws order ages (hours before now) following the daily and hourly shopping pattern.

    One hourly bucket per hour of the window; its weight is the hour-of-day weight times a day
    weight (weekends busier, sales festivals, a slight upward trend). Sampling inverts the
    piecewise-constant distribution, so it costs one random draw and no retries.
    """

    def __init__(self, *, now: datetime, days: int) -> None:
        tz = timezone.get_default_timezone()
        today = timezone.localtime(now, tz).date()
        dates = [today - timedelta(days=d) for d in range(days + 1)]
        promotions = {d for d in dates if (d.month, d.day) in PROMOTION_DAYS}
        if not promotions and days >= 3:
            promotions = {today - timedelta(days=round(days * 0.4))}
        self.hours = days * 24
        self.weights: list[float] = []
        for bucket in range(self.hours):
            local = timezone.localtime(now - timedelta(hours=bucket + 0.5), tz)
            day = local.date()
            weight = HOUR_WEIGHTS[local.hour] * (0.85 + 0.3 * (1 - (today - day).days / days))
            if local.weekday() >= 5:
                weight *= 1.15
            if day in promotions:
                # Festival sales open at midnight: the first hour is the busiest of the year.
                weight *= 8 if local.hour == 0 else 2.5
            elif day + timedelta(days=1) in promotions:
                weight *= 1.3
            self.weights.append(weight)
        self.prefix = [0.0]
        for weight in self.weights:
            self.prefix.append(self.prefix[-1] + weight)

    def _cdf(self, hours: float) -> float:
        whole = min(int(hours), self.hours - 1)
        return self.prefix[whole] + (hours - whole) * self.weights[whole]

    def sample(self, rng: random.Random, low: float = 0.0, high: float | None = None) -> float | None:
        """An age in [low, high] hours, or None when the window lies outside the period."""
        low = max(low, 0.0)
        high = self.hours if high is None else min(high, self.hours)
        if low >= high:
            return None
        a, b = self._cdf(low), self._cdf(high)
        u = a + rng.random() * (b - a)
        bucket = min(max(bisect.bisect_right(self.prefix, u) - 1, 0), self.hours - 1)
        age = bucket + (u - self.prefix[bucket]) / self.weights[bucket]
        return min(max(age, low), high)


# --- One order ----------------------------------------------------------------------------------


@dataclass
class _Timeline:
    """Hours after placement at which each step happens; None: never."""

    fate: str  # complete | unpaid | cancel | refund
    promise: float  # effective promised ship-by (rules default to 48 h)
    close: float | None = None
    pay: float | None = None
    failed_attempts: list[float] = field(default_factory=list)
    review: float | None = None
    ship: float | None = None
    parcels: list[list[tuple[float, str, str]]] = field(default_factory=list)  # events per shipment
    cancel: float | None = None
    refund: float | None = None

    @property
    def deliver(self) -> float | None:
        times = [events[-1][0] for events in self.parcels if events and events[-1][1] == "delivered"]
        if not self.parcels or len(times) < len(self.parcels):
            return None
        return max(times)

    def state(self, age: float) -> tuple[str, float]:
        """(status, hours after placement when it began) at ``age`` hours after placement."""
        if self.fate == "unpaid":
            assert self.close is not None
            return (Status.PENDING_PAYMENT, 0.0) if age < self.close else (Status.CANCELLED, self.close)
        assert self.pay is not None
        if age < self.pay:
            return Status.PENDING_PAYMENT, 0.0
        if self.cancel is not None and age >= self.cancel:
            return Status.CANCELLED, self.cancel
        if self.review is None or age < self.review:
            return Status.PAID, self.pay
        if self.ship is None or age < self.ship:
            return Status.REVIEWED, self.review
        if self.refund is not None and age >= self.refund:
            return Status.REFUNDED, self.refund
        deliver = self.deliver
        if deliver is None or age < deliver:
            return Status.SHIPPED, self.ship
        return Status.DELIVERED, deliver


@dataclass
class _PaymentPlan:
    status: str
    amount: Decimal
    at: float  # hours after placement
    is_paid: bool


@dataclass
class _ShipmentPlan:
    at: float  # hours after placement
    carrier: str
    tracking_number: str
    lines: list[tuple[str, int]]
    events: list[tuple[float, str, str]]


@dataclass
class _OrderPlan:
    index: int
    channel: str
    external_id: str
    code: str | None
    variant: str | None
    age: float = 0.0
    placed_at: datetime | None = None
    status: str = ""
    customer: dict[str, Any] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    shipping_fee: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    item: dict[str, Any] = field(default_factory=dict)
    timeline: _Timeline | None = None
    payments: list[_PaymentPlan] = field(default_factory=list)
    shipments: list[_ShipmentPlan] = field(default_factory=list)
    method: str = ""

    @property
    def is_duplicate_source(self) -> bool:
        """Clean, alive and buying only ample-stock SKUs: a safe original to re-submit."""
        return (
            self.code is None
            and self.status not in CLOSED_STATUSES
            and bool(self.customer.get("phone"))
            and all(not line["scarce"] for line in self.lines)
        )


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    return rng.choices([value for value, _w in pairs], weights=[w for _v, w in pairs])[0]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.digits, k=n))


def _money(value: Decimal | float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class DemoOrderGenerator:
    """Plans orders in memory; ``demo_orders_create`` writes them."""

    def __init__(self, *, count: int, days: int, seed: int, now: datetime, catalogue: DemoCatalogue) -> None:
        self.count = count
        self.days = days
        self.seed = seed
        self.now = now
        self.catalogue = catalogue
        self.sampler = _AgeSampler(now=now, days=days)
        self.used_phones: set[str] = set()
        self.used_customer_ids: set[tuple[str, str]] = set()
        self.persons: dict[tuple[str, int], dict[str, Any]] = {}
        self.pool_sizes: dict[str, int] = {}
        self.used_transactions = set(Payment.objects.values_list("transaction_id", flat=True))
        self.used_tracking = set(Shipment.objects.values_list("carrier", "tracking_number"))
        self._product_weights = [p.popularity for p in catalogue.products]
        self._ample_weights = [p.popularity for p in catalogue.ample]

    # Identity: channel, external id and injected kind depend on the seed only.

    def _identities(self) -> list[tuple[str, str, str | None, str | None]]:
        channel_rng = random.Random(f"{self.seed}:channels")
        channels = [_weighted(channel_rng, CHANNEL_WEIGHTS) for _ in range(self.count)]
        streams = {channel: random.Random(f"{self.seed}:ids:{channel}") for channel in Channel.values}
        seen: set[tuple[str, str]] = set()
        ids = []
        for channel in channels:
            while True:
                external_id = self._external_id(streams[channel], channel)
                if (channel, external_id) not in seen:
                    seen.add((channel, external_id))
                    break
            ids.append(external_id)
        kinds: list[tuple[str | None, str | None]] = []
        for code, variant, rate in INJECTIONS:
            n = round(rate * self.count)
            if self.count >= 100:
                # Small demo sets still get one of each, so that every rule has a positive.
                n = max(n, 1)
            # Variants take turns, so that even a small demo shows each way a rule can fire.
            options = [variant] if variant else VARIANTS[code]
            kinds.extend((code, options[k % len(options)]) for k in range(n))
        kinds = kinds[: self.count]
        kinds.extend([(None, None)] * (self.count - len(kinds)))
        random.Random(f"{self.seed}:kinds").shuffle(kinds)
        for channel in Channel.values:
            self.pool_sizes[channel] = max(3, round(0.62 * channels.count(channel)))
        return [(ch, ext, code, variant) for ch, ext, (code, variant) in zip(channels, ids, kinds, strict=True)]

    @staticmethod
    def _external_id(rng: random.Random, channel: str) -> str:
        if channel in ("taobao", "tmall"):
            return rng.choice("123") + _digits(rng, 18)
        if channel == "jd":
            return rng.choice("23") + _digits(rng, 11)
        if channel == "pinduoduo":
            # Pinduoduo numbers start with a date; a fixed calendar keeps the id independent of now.
            day = date(2025, 1, 1) + timedelta(days=rng.randrange(730))
            return f"{day:%y%m%d}-{_digits(rng, 15)}"
        if channel == "douyin":
            return "69" + _digits(rng, 17)
        if channel == "webshop":
            return "WS" + _digits(rng, 10)
        return "PF" + _digits(rng, 8)

    # People and places.

    def _phone(self, rng: random.Random) -> str:
        while True:
            phone = rng.choice(demo_data.MOBILE_PREFIXES) + _digits(rng, 8)
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    @staticmethod
    def _name(rng: random.Random) -> str:
        surname = rng.choice(demo_data.SURNAMES[:20]) if rng.random() < 0.5 else rng.choice(demo_data.SURNAMES)
        given = "".join(rng.choices(demo_data.GIVEN_CHARS, k=1 if rng.random() < 0.3 else 2))
        return surname + given

    @staticmethod
    def _email(rng: random.Random) -> str:
        if rng.random() < 0.4:
            return f"{rng.randint(10000, 3999999999)}@qq.com"
        local = "".join(rng.choices(demo_data.PINYIN_SYLLABLES, k=rng.randint(2, 3)))
        if rng.random() < 0.5:
            local += str(rng.randint(1, 2005))
        return f"{local}@{rng.choice(demo_data.EMAIL_DOMAINS)}"

    def _customer_id(self, rng: random.Random, channel: str) -> str:
        while True:
            external_id = {
                "taobao": lambda: "tb" + _digits(rng, 10),
                "tmall": lambda: "tb" + _digits(rng, 10),
                "jd": lambda: "jd_" + "".join(rng.choices("0123456789abcdef", k=12)),
                "pinduoduo": lambda: "pdd" + _digits(rng, 11),
                "douyin": lambda: "dy" + _digits(rng, 11),
                "webshop": lambda: "U" + _digits(rng, 7),
                "offline": lambda: "KH" + _digits(rng, 5),
            }[channel]()
            if (channel, external_id) not in self.used_customer_ids:
                self.used_customer_ids.add((channel, external_id))
                return external_id

    def _address(self, rng: random.Random, recipient: str, phone: str) -> dict[str, str]:
        province, city, districts, postcode, _w = _weighted(rng, [(p, p[4]) for p in demo_data.PLACES])
        road = rng.choice(demo_data.ROADS)
        if rng.random() < 0.75:
            detail = (
                f"{road}{rng.randint(1, 999)}号{rng.choice(demo_data.COMMUNITIES)}"
                f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
            )
        else:
            detail = f"{road}{rng.randint(1, 999)}号{rng.choice(demo_data.OFFICES)}{rng.randint(2, 40)}楼"
        roll = rng.random()
        # Many platforms send no postcode or the placeholder 000000.
        postcode = "" if roll < 0.15 else "000000" if roll < 0.25 else postcode
        return {
            "recipient": recipient,
            "phone": phone,
            "province": province,
            "city": city,
            "district": rng.choice(districts),
            "detail": detail,
            "postcode": postcode,
        }

    def _person(self, channel: str, number: int) -> dict[str, Any]:
        key = (channel, number)
        if key not in self.persons:
            rng = random.Random(f"{self.seed}:person:{channel}:{number}")
            if channel == "offline":
                place = rng.choice(demo_data.PLACES)
                name = (
                    place[1].removesuffix("市")
                    + rng.choice(demo_data.COMPANY_WORDS)
                    + rng.choice(demo_data.COMPANY_KINDS)
                )
                tags = ["企业客户"]
            else:
                name = self._name(rng)
                tags = ["VIP"] if rng.random() < 0.06 else ["会员"] if rng.random() < 0.25 else []
            phone = self._phone(rng)
            customer = {
                "external_id": self._customer_id(rng, channel),
                "name": name,
                # Some shops send the international form; it is as valid as the plain one.
                "phone": ("+86 " + phone) if rng.random() < 0.03 else phone,
                "email": self._email(rng) if rng.random() < 0.3 or channel == "offline" else "",
                "tags": tags,
            }
            contact = self._name(rng) if channel == "offline" else name
            addresses = [self._address(rng, contact, phone)]
            if rng.random() < 0.2:
                other = self._name(rng)
                addresses.append(self._address(rng, other, self._phone(rng)))
            self.persons[key] = {"customer": customer, "addresses": addresses}
        return self.persons[key]

    def _fresh_person(self, rng: random.Random, channel: str) -> dict[str, Any]:
        name = self._name(rng)
        phone = self._phone(rng)
        customer = {
            "external_id": self._customer_id(rng, channel),
            "name": name,
            "phone": phone,
            "email": self._email(rng) if rng.random() < 0.3 else "",
            "tags": [],
        }
        return {"customer": customer, "addresses": [self._address(rng, name, phone)]}

    def _pick_person(self, rng: random.Random, channel: str) -> dict[str, Any]:
        size = self.pool_sizes[channel]
        # Three orders in ten come from a loyal tenth of the buyers: repeat customers.
        loyal = max(1, size // 10)
        number = rng.randrange(loyal) if rng.random() < 0.3 else rng.randrange(size)
        return self._person(channel, number)

    # Timelines.

    def _timeline(self, rng: random.Random, channel: str, remote: bool, fate: str) -> _Timeline:
        promise = PROMISE_HOURS.get(channel, DEFAULT_PROMISE_HOURS) or DEFAULT_PROMISE_HOURS
        close = CLOSE_UNPAID_HOURS.get(channel, DEFAULT_CLOSE_UNPAID_HOURS)
        tl = _Timeline(fate=fate, promise=promise)
        if fate == "unpaid":
            tl.close = close
            return tl
        roll = rng.random()
        if roll < 0.7:
            pay = rng.uniform(0.3, 5) / 60
        elif roll < 0.95:
            pay = rng.uniform(5, 60) / 60
        else:
            pay = rng.uniform(1, 20)
        tl.pay = min(pay, close * 0.9)
        if rng.random() < 0.06:
            tl.failed_attempts = [tl.pay * rng.uniform(0.2, 0.8)]
        # Reviews finish within two hours of payment: REVIEW_TIMEOUT only where injected.
        tl.review = tl.pay + rng.uniform(2, 100) / 60
        latest_ship = tl.promise - rng.uniform(0.2, 2)
        tl.ship = max(tl.review + 5 / 60, min(tl.review + rng.uniform(2, 30), latest_ship))
        parcels = 2 if rng.random() < 0.03 else 1
        tl.parcels = [self._events(rng, tl.ship, remote) for _ in range(parcels)]
        if fate == "cancel":
            tl.cancel = tl.pay + (tl.ship - tl.pay) * rng.uniform(0.1, 0.9)
        elif fate == "refund":
            tl.refund = (tl.deliver or tl.ship) + rng.uniform(24, 144)
        return tl

    @staticmethod
    def _events(rng: random.Random, ship: float, remote: bool) -> list[tuple[float, str, str]]:
        """Carrier scans of one parcel; no gap reaches the 72 h of SHIPPING_DELAY."""
        t = ship + rng.uniform(0.3, 3)
        events = [(t, "picked_up", "")]
        hubs = rng.sample(demo_data.HUBS, k=rng.randint(3, 4) if remote else rng.randint(1, 3))
        for hub in hubs:
            t += rng.uniform(4, 18) + (6 if remote else 0)
            events.append((t, "in_transit", hub))
        t += rng.uniform(3, 14)
        events.append((t, "out_for_delivery", ""))
        if rng.random() < 0.02:
            t += rng.uniform(2, 6)
            events.append((t, "exception", ""))
            t += rng.uniform(14, 24)
            events.append((t, "out_for_delivery", ""))
        t += rng.uniform(0.5, 5)
        events.append((t, "delivered", ""))
        return events

    # Lines and amounts.

    def _lines(self, rng: random.Random, channel: str, is_open: bool) -> list[dict[str, Any]]:
        pool = self.catalogue.ample if is_open else self.catalogue.products
        weights = self._ample_weights if is_open else self._product_weights
        n = _weighted(rng, [(1, 60), (2, 25), (3, 10), (4, 5)])
        n = min(n, len(pool))
        chosen: list[DemoProduct] = []
        while len(chosen) < n:
            product = rng.choices(pool, weights=weights)[0]
            if product not in chosen:
                chosen.append(product)
        lines = []
        for product in chosen:
            if channel == "offline":
                quantity = rng.randint(5, NATURAL_MAX_QTY)
            else:
                quantity = _weighted(rng, [(1, 78), (2, 15), (3, 4), (rng.randint(4, 6), 3)])
            price = product.list_price
            if rng.random() < 0.3:
                # Shop promotions: 80-95 % of list price, never near the PRICE_ANOMALY bounds.
                price = _money(price * Decimal(str(round(rng.uniform(0.8, 0.95), 2))))
            lines.append(self._line(product.sku, product.name, quantity, price))
        if rng.random() < 0.04:
            sku, name = rng.choice(demo_data.GIFTS)
            lines.append(self._line(sku, name, 1, Decimal("0.00")))
        return lines

    def _line(self, sku: str, name: str, quantity: int, price: Decimal) -> dict[str, Any]:
        product = self.catalogue.by_sku.get(sku)
        scarce = product is not None and product.available is not None and product.available < 2 * NATURAL_MAX_QTY
        return {"sku": sku, "name": name, "quantity": quantity, "unit_price": price, "scarce": scarce}

    @staticmethod
    def _subtotal(lines: list[dict[str, Any]]) -> Decimal:
        return sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0.00"))

    def _amounts(self, rng: random.Random, plan: _OrderPlan, remote: bool) -> None:
        subtotal = self._subtotal(plan.lines)
        fee = Decimal("0.00")
        if plan.channel == "offline":
            if rng.random() < 0.5:
                fee = Decimal(rng.choice([50, 80, 120, 200]))
        elif remote and rng.random() < 0.6:
            fee = Decimal(rng.choice([15, 20, 25]))
        elif rng.random() < 0.1:
            fee = Decimal(rng.choice([6, 8, 10, 12, 15]))
        discount = Decimal("0.00")
        if rng.random() < 0.35:
            if subtotal >= 300:
                discount = Decimal(rng.choice([20, 30, 40, 50]))
            elif subtotal >= 100:
                discount = Decimal(rng.choice([5, 10, 15, 20]))
            elif subtotal >= 30:
                discount = Decimal(rng.choice([3, 5]))
        plan.shipping_fee = _money(fee)
        plan.discount = _money(discount)
        plan.total = _money(subtotal + fee - discount)

    # Carriers.

    def _tracking_number(self, rng: random.Random, carrier: str) -> str:
        while True:
            number = {
                "SF": lambda: "SF" + _digits(rng, 13),
                "JD": lambda: "JDV" + rng.choice("ABCDE") + _digits(rng, 11),
                "YTO": lambda: "YT" + _digits(rng, 13),
                "ZTO": lambda: rng.choice(["73", "75", "78"]) + _digits(rng, 12),
                "STO": lambda: rng.choice(["77", "88"]) + _digits(rng, 11),
                "YUNDA": lambda: rng.choice(["43", "46", "31"]) + _digits(rng, 11),
                "EMS": lambda: (
                    "E" + rng.choice("ABCDEFGHJK") + _digits(rng, 9) + "CN"
                    if rng.random() < 0.5
                    else "1" + _digits(rng, 12)
                ),
            }[carrier]()
            if (carrier, number) not in self.used_tracking:
                self.used_tracking.add((carrier, number))
                return number

    def _bad_tracking(self, rng: random.Random, variant: str) -> tuple[str, str]:
        while True:
            if variant == "unknown_carrier":
                carrier, prefix = rng.choice(demo_data.UNKNOWN_CARRIERS)
                number = prefix + _digits(rng, 13)
            else:
                carrier, number = rng.choice(
                    [
                        ("SF", "SF" + _digits(rng, 8)),  # truncated when typed in
                        ("YTO", rng.choice(["73", "75"]) + _digits(rng, 12)),  # a ZTO number under YTO
                        ("ZTO", "ZT" + _digits(rng, 12)),  # digits only at ZTO
                        ("STO", _digits(rng, 18)),  # too long
                        ("EMS", "EA" + _digits(rng, 7) + "CN"),  # too short
                        ("JD", "JD" + _digits(rng, 8)),  # too short
                    ]
                )
            if (carrier, number) not in self.used_tracking:
                self.used_tracking.add((carrier, number))
                return carrier, number

    def _carrier(self, rng: random.Random, channel: str, province: str) -> str:
        if province in demo_data.REMOTE_PROVINCES and channel != "jd" and rng.random() < 0.6:
            return "EMS"
        return _weighted(rng, demo_data.CHANNEL_CARRIERS[channel])

    # Payments.

    def transaction_id(self, rng: random.Random, method: str, at: datetime) -> str:
        """A unique gateway transaction id in the style of the payment method."""
        while True:
            if method == "alipay":
                tx = timezone.localtime(at).strftime("%Y%m%d") + "22" + _digits(rng, 18)
            elif method == "wechat_pay":
                tx = "42000" + _digits(rng, 23)
            elif method == "jd_pay":
                tx = "JDP" + _digits(rng, 19)
            elif method == "douyin_pay":
                tx = "DYP" + _digits(rng, 19)
            elif method == "unionpay":
                tx = "6" + _digits(rng, 20)
            else:
                tx = "BT" + timezone.localtime(at).strftime("%Y%m%d") + _digits(rng, 6)
            if tx not in self.used_transactions:
                self.used_transactions.add(tx)
                return tx

    # Assembly.

    def plan(self) -> list[_OrderPlan]:
        """Plan every order: the clean ones and the injected ones, duplicates last."""
        identities = self._identities()
        plans: list[_OrderPlan] = []
        duplicates: list[_OrderPlan] = []
        for index, (channel, external_id, code, variant) in enumerate(identities):
            plan = _OrderPlan(index=index, channel=channel, external_id=external_id, code=code, variant=variant)
            if code == "DUPLICATE_ORDER":
                duplicates.append(plan)
            else:
                self._plan_order(plan)
                plans.append(plan)
        sources: dict[str, list[_OrderPlan]] = {}
        for plan in plans:
            if plan.is_duplicate_source:
                sources.setdefault(plan.channel, []).append(plan)
        used: set[int] = set()
        for plan in duplicates:
            self._plan_duplicate(plan, sources, used)
            plans.append(plan)
        for plan in plans:
            self._finish(plan)
        plans.sort(key=lambda p: (p.placed_at, p.index))
        return plans

    def _rng(self, plan: _OrderPlan) -> random.Random:
        return random.Random(f"{self.seed}:order:{plan.channel}:{plan.external_id}")

    def _plan_order(self, plan: _OrderPlan) -> None:
        rng = self._rng(plan)
        code = plan.code
        person = self._fresh_person(rng, plan.channel) if code == "CUSTOMER_INFO_INVALID" else None
        person = person or self._pick_person(rng, plan.channel)
        plan.customer = dict(person["customer"])
        plan.address = dict(rng.choice(person["addresses"]))
        remote = plan.address["province"] in demo_data.REMOTE_PROVINCES

        fate = "complete"
        if code is None:
            fate = _weighted(rng, [("complete", 89.5), ("unpaid", 6), ("cancel", 2.5), ("refund", 2)])
        elif code == "PAYMENT_FAILED":
            fate = "unpaid"
        tl = self._timeline(rng, plan.channel, remote, fate)
        age = self._age(rng, plan, tl)
        if age is None:
            # The period is too short for this imperfection: the order stays clean.
            plan.code = plan.variant = None
            tl = self._timeline(rng, plan.channel, remote, "complete")
            age = self.sampler.sample(rng)
            assert age is not None
        plan.age, plan.timeline = age, tl
        plan.status = tl.state(age)[0]
        plan.lines = self._lines(rng, plan.channel, is_open=plan.status in OPEN_STATUSES)
        self._inject_before_amounts(rng, plan)
        self._amounts(rng, plan, remote)
        self._inject_after_amounts(rng, plan)

    def _age(self, rng: random.Random, plan: _OrderPlan, tl: _Timeline) -> float | None:
        """Sample the order's age so that it is in the state its injected imperfection needs.

        Also bends the timeline where the imperfection is a step that never happened.
        """
        code, variant, sample = plan.code, plan.variant, self.sampler.sample
        if code is None:
            return sample(rng)
        if code == "PAYMENT_FAILED":
            attempts = sorted(rng.uniform(0.5, 4) / 60 for _ in range(rng.randint(1, 2)))
            tl.failed_attempts = attempts
            return sample(rng, attempts[-1] + 0.02, (tl.close or 0) - 0.02)
        assert tl.pay is not None and tl.review is not None and tl.ship is not None
        if code == "PAYMENT_STATUS_MISMATCH":
            return sample(rng, tl.pay + 0.05)
        if code == "STOCK_SHORTAGE":
            tl.failed_attempts = []
            stage = _weighted(rng, [("pending", 35), ("paid", 25), ("reviewed", 40)])
            low, high = {"pending": (0, tl.pay), "paid": (tl.pay, tl.review), "reviewed": (tl.review, tl.ship)}[stage]
            return sample(rng, low, high)
        if code in ("TRACKING_INVALID", "ITEM_MISMATCH"):
            tl.parcels = tl.parcels[:1]
            return sample(rng, tl.ship + 0.01)
        if code == "SHIPPING_DELAY" and variant == "unshipped_past_promise":
            tl.ship, tl.parcels = None, []
            return sample(rng, max(tl.review, tl.promise) + 0.5, tl.promise + 7 * 24)
        if code == "SHIPPING_DELAY":
            tl.parcels = tl.parcels[:1]
            # Scans stop more than 72 h before now; the cut is applied in ``_finish``.
            return sample(rng, tl.ship + 80, tl.ship + 10 * 24)
        if code == "REVIEW_TIMEOUT":
            tl.pay = rng.uniform(0.3, 20) / 60
            tl.failed_attempts, tl.review, tl.ship, tl.parcels = [], None, None, []
            return sample(rng, tl.pay + 2.2, tl.promise - 0.5)
        return sample(rng)

    def _inject_before_amounts(self, rng: random.Random, plan: _OrderPlan) -> None:
        if plan.code == "STOCK_SHORTAGE":
            taken = {line["sku"] for line in plan.lines[1:]}
            scarce = [p for p in self.catalogue.scarce if p.sku not in taken]
            if plan.variant == "low_stock_sku" and scarce:
                product = rng.choice(scarce)
                quantity = max(product.available or 0, 0) + rng.randint(1, 3)
            else:
                plan.variant = "bulk_quantity"
                # A company buys more than the shop holds of a well-stocked SKU (团购).
                stocked = sorted(
                    (p for p in self.catalogue.ample if p.available is not None and p.sku not in taken),
                    key=lambda p: p.available or 0,
                )
                product = rng.choice(stocked[:10])
                quantity = (product.available or 0) + rng.randint(1, 40)
            plan.lines[0] = self._line(product.sku, product.name, quantity, product.list_price)
        elif plan.code == "PRICE_ANOMALY":
            line = plan.lines[0]
            list_price = self.catalogue.by_sku[line["sku"]].list_price
            if plan.variant == "below_half":
                factor = 0.01 / float(list_price) if rng.random() < 0.2 else rng.uniform(0.05, 0.45)
            else:
                factor = rng.uniform(1.6, 3.0)
            line["unit_price"] = max(_money(list_price * Decimal(str(factor))), CENT)

    def _inject_after_amounts(self, rng: random.Random, plan: _OrderPlan) -> None:
        code, variant = plan.code, plan.variant
        if code == "AMOUNT_MISMATCH":
            if variant == "coupon_not_recorded" and plan.total > 20:
                # The platform's coupon reached the total but not the discount field.
                plan.total -= Decimal(rng.choice([5, 10, 20]))
            elif variant in ("coupon_not_recorded", "shipping_not_added"):
                # Freight charged separately: recorded as a fee, missing from the total.
                plan.variant = "shipping_not_added"
                plan.shipping_fee += Decimal(rng.choice([6, 8, 10, 12]))
            else:
                delta = _money(rng.uniform(0.05, 3.0))
                plan.total = plan.total + delta if rng.random() < 0.5 or plan.total <= delta else plan.total - delta
        elif code == "CUSTOMER_INFO_INVALID":
            if variant == "empty_name":
                plan.customer["name"] = ""
            elif variant == "empty_phone":
                plan.customer["phone"] = ""
            elif variant == "invalid_phone":
                phone = plan.customer["phone"]
                plan.customer["phone"] = rng.choice(
                    [
                        phone[:3] + "****" + phone[7:],  # masked by the platform
                        phone[:10],  # a digit lost
                        "12" + phone[2:],  # no such prefix
                        "170" + phone[3:] + "-" + _digits(rng, 4),  # privacy number with extension
                    ]
                )
            else:
                local = plan.customer["email"].split("@")[0] if plan.customer["email"] else "zhangwei"
                plan.customer["email"] = rng.choice(
                    [f"{local}@", f"{local}.163.com", f"{local}@qq", f"{local}@@163.com", f"{local}@qq。com"]
                )
        elif code == "ADDRESS_INVALID":
            address = plan.address
            if variant == "province_city_mismatch":
                others = [p for p in demo_data.PLACES if p[0] != address["province"]]
                _prov, city, districts, _pc, _w = rng.choice(others)
                address["city"], address["district"] = city, rng.choice(districts)
            elif variant == "district_not_in_city":
                own = next(p[2] for p in demo_data.PLACES if p[1] == address["city"])
                foreign = sorted({d for p in demo_data.PLACES for d in p[2]} - set(own))
                address["district"] = rng.choice(foreign)
            else:
                address[variant.removeprefix("empty_")] = ""

    def _plan_duplicate(self, plan: _OrderPlan, sources: dict[str, list[_OrderPlan]], used: set[int]) -> None:
        rng = self._rng(plan)
        plan.variant = "resubmitted"
        gap = rng.uniform(1, 25) / 60
        channels = [plan.channel, *sorted(set(sources) - {plan.channel})]
        candidates = [
            s for channel in channels for s in sources.get(channel, []) if s.index not in used and s.age > gap + 0.02
        ]
        if not candidates:
            plan.code = plan.variant = None
            self._plan_order(plan)
            return
        same_channel = [s for s in candidates if s.channel == plan.channel]
        source = rng.choice(same_channel or candidates)
        used.add(source.index)
        # The buyer pressed "submit" twice, or ordered the same basket again on another channel.
        plan.customer = dict(source.customer)
        if source.channel != plan.channel:
            plan.customer["external_id"] = self._customer_id(rng, plan.channel)
        plan.address = dict(source.address)
        plan.lines = [dict(line) for line in source.lines]
        plan.shipping_fee, plan.discount, plan.total = source.shipping_fee, source.discount, source.total
        remote = plan.address["province"] in demo_data.REMOTE_PROVINCES
        plan.timeline = self._timeline(rng, plan.channel, remote, "complete")
        plan.age = source.age - gap
        plan.status = plan.timeline.state(plan.age)[0]

    def _finish(self, plan: _OrderPlan) -> None:
        """Turn the plan's timeline into absolute times, payments, shipments and the item."""
        rng = random.Random(f"{self.seed}:finish:{plan.channel}:{plan.external_id}")
        tl, age = plan.timeline, plan.age
        assert tl is not None
        placed_at = self.now - timedelta(hours=age)
        plan.placed_at = placed_at
        if plan.code == "SHIPPING_DELAY" and plan.variant == "stale_tracking":
            keep = [e for e in tl.parcels[0] if e[0] < age - 73 and e[1] in ("picked_up", "in_transit")]
            # One in five never got a scan at all: shipped_at alone is over 72 h old.
            tl.parcels = [keep if rng.random() < 0.8 else []]
        status, since = tl.state(age)
        plan.status = status
        plan.method = _weighted(rng, demo_data.CHANNEL_METHODS[plan.channel])
        self._payments(rng, plan, tl, status)

        if tl.ship is not None and age >= tl.ship and status != Status.CANCELLED:
            self._shipments(rng, plan, tl, age)

        promise = PROMISE_HOURS.get(plan.channel, DEFAULT_PROMISE_HOURS)
        data: dict[str, Any] = {}
        if plan.channel == "offline":
            data["invoice_title"] = plan.customer["name"]
        elif rng.random() < 0.12:
            data["buyer_note"] = rng.choice(demo_data.BUYER_NOTES)
        paid_at = self.absolute(plan, tl.pay) if tl.pay is not None and age >= tl.pay else None
        plan.item = {
            "channel": plan.channel,
            "external_id": plan.external_id,
            "status": status,
            "status_changed_at": self.absolute(plan, since),
            "placed_at": placed_at,
            "paid_at": paid_at,
            "promised_ship_by": self.absolute(plan, promise) if promise else None,
            "currency": "CNY",
            "total_amount": plan.total,
            "shipping_fee": plan.shipping_fee,
            "discount": plan.discount,
            "customer": plan.customer,
            "shipping_address": plan.address,
            "lines": [{k: v for k, v in line.items() if k != "scarce"} for line in plan.lines],
            "data": data,
        }

    def _payments(self, rng: random.Random, plan: _OrderPlan, tl: _Timeline, status: str) -> None:
        code, variant, age = plan.code, plan.variant, plan.age
        out = plan.payments
        if tl.fate == "unpaid":
            if code == "PAYMENT_FAILED":
                out.extend(_PaymentPlan("failed", plan.total, t, False) for t in tl.failed_attempts)
                return
            roll = rng.random()
            attempts: list[tuple[str, float]] = []
            if roll < 0.35:
                attempts = [("pending", rng.uniform(0.5, 5) / 60)]
            elif roll < 0.5:
                first = rng.uniform(0.5, 3) / 60
                attempts = [("failed", first), ("pending", first + rng.uniform(1, 5) / 60)]
            # Only a complete attempt history: a lone failure would be a PAYMENT_FAILED.
            if attempts and attempts[-1][1] <= age:
                for pay_status, t in attempts:
                    final = "failed" if status == Status.CANCELLED and pay_status == "pending" else pay_status
                    out.append(_PaymentPlan(final, plan.total, t, False))
            return
        assert tl.pay is not None
        if status == Status.PENDING_PAYMENT:
            return
        for t in tl.failed_attempts:
            out.append(_PaymentPlan("failed", plan.total, t, False))
        if code == "PAYMENT_STATUS_MISMATCH":
            if variant == "pending_only":
                out.append(_PaymentPlan("pending", plan.total, tl.pay, False))
            elif variant == "short_payment" and plan.total > 1:
                short = _money(plan.total * Decimal(str(round(rng.uniform(0.5, 0.95), 2))))
                out.append(_PaymentPlan("succeeded", min(short, plan.total - CENT), tl.pay, True))
            else:
                plan.variant = "no_payment"
            return
        final = "refunded" if status in CLOSED_STATUSES else "succeeded"
        out.append(_PaymentPlan(final, plan.total, tl.pay, True))

    def _shipments(self, rng: random.Random, plan: _OrderPlan, tl: _Timeline, age: float) -> None:
        assert tl.ship is not None
        lines = [(line["sku"], line["quantity"]) for line in plan.lines]
        parcels = tl.parcels if len(lines) > 1 else tl.parcels[:1]
        if len(parcels) > 1:
            split = rng.randint(1, len(lines) - 1)
            groups = [lines[:split], lines[split:]]
        else:
            groups = [lines]
        if plan.code == "ITEM_MISMATCH":
            groups = [self._mismatched(rng, plan, groups[0])]
        province = plan.address["province"]
        for events, group in zip(parcels, groups, strict=False):
            carrier = self._carrier(rng, plan.channel, province)
            number = self._tracking_number(rng, carrier)
            plan.shipments.append(
                _ShipmentPlan(
                    at=tl.ship,
                    carrier=carrier,
                    tracking_number=number,
                    lines=group,
                    events=[e for e in events if e[0] <= age],
                )
            )
        if plan.code == "TRACKING_INVALID":
            shipment = plan.shipments[0]
            self.used_tracking.discard((shipment.carrier, shipment.tracking_number))
            shipment.carrier, shipment.tracking_number = self._bad_tracking(rng, plan.variant or "wrong_format")

    def _mismatched(self, rng: random.Random, plan: _OrderPlan, lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
        lines = list(lines)
        index = rng.randrange(len(lines))
        sku, quantity = lines[index]
        if plan.variant == "wrong_sku":
            on_order = {line["sku"] for line in plan.lines}
            # The picker grabbed a neighbouring bin: another SKU of the same category.
            product = self.catalogue.by_sku.get(sku)
            same = [
                p
                for p in self.catalogue.products
                if p.sku not in on_order and (product is None or p.category == product.category)
            ]
            other = rng.choice(same or [p for p in self.catalogue.products if p.sku not in on_order])
            lines[index] = (other.sku, quantity)
        elif len(lines) > 1 and rng.random() < 0.4:
            del lines[index]  # one item left behind (漏发)
        else:
            lines[index] = (sku, quantity - 1 if quantity > 1 else quantity + 1)
        return lines

    def absolute(self, plan: _OrderPlan, hours_after_placement: float) -> datetime:
        assert plan.placed_at is not None
        return plan.placed_at + timedelta(hours=hours_after_placement)


# --- Writing ------------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    orders_created: int = 0
    orders_existing: int = 0
    lines: int = 0
    payments: int = 0
    shipments: int = 0
    events: int = 0
    statuses: Counter = field(default_factory=Counter)
    # Orders that each rule should flag, and how, keyed by rule code / (code, variant).
    injected: Counter = field(default_factory=Counter)
    variants: Counter = field(default_factory=Counter)
    flagged: dict[str, set[int]] = field(default_factory=dict)


def _event_description(rng: random.Random, plan: _OrderPlan, carrier: str, status: str, hub: str) -> str:
    name = demo_data.CARRIER_NAMES.get(carrier, carrier)
    city = plan.address.get("city") or plan.address.get("province") or ""
    if status == "picked_up":
        return f"【杭州市】{name}已揽收"
    if status == "in_transit":
        return f"快件已到达【{hub}】"
    if status == "out_for_delivery":
        courier = rng.choice(demo_data.SURNAMES[:20])
        return f"【{city}】快件正在派送中，派件员：{courier}师傅"
    if status == "exception":
        return "派送不成功：收件人电话无人接听，将于次日再次派送"
    return f"快件已签收，签收人：{rng.choice(['本人', '家门口', '快递柜', '菜鸟驿站', '前台'])}"


def _write_batch(
    gen: DemoOrderGenerator, plans: list[_OrderPlan], summary: DemoSummary, patterns: dict[str, Any]
) -> None:
    """Orders through ``order_bulk_ingest`` (which stores their verdicts); the rest set-based."""
    # Detection runs once the batch's payments and shipments are written too (end of the batch).
    results = order_bulk_ingest(items=[plan.item for plan in plans], detect=False)
    created = [(plan, result.order_id) for plan, result in zip(plans, results, strict=True) if result.created]
    summary.orders_existing += len(plans) - len(created)
    summary.orders_created += len(created)
    payments: list[tuple[Payment, datetime]] = []
    shipments: list[tuple[Shipment, _ShipmentPlan, _OrderPlan]] = []
    for plan, order_id in created:
        summary.lines += len(plan.lines)
        summary.statuses[plan.status] += 1
        if plan.code:
            summary.injected[plan.code] += 1
            summary.variants[(plan.code, plan.variant)] += 1
            summary.flagged.setdefault(plan.code, set()).add(order_id)
        rng = random.Random(f"{gen.seed}:write:{plan.channel}:{plan.external_id}")
        for p in plan.payments:
            at = gen.absolute(plan, p.at)
            payment = Payment(
                order_id=order_id,
                transaction_id=gen.transaction_id(rng, plan.method, at),
                amount=p.amount,
                currency="CNY",
                status=p.status,
                paid_at=at if p.is_paid else None,
                method=plan.method,
            )
            payments.append((payment, at))
        for s in plan.shipments:
            shipment = Shipment(
                order_id=order_id,
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                shipped_at=gen.absolute(plan, s.at),
                # What shipment_create would store: these rows skip the service for speed.
                tracking_is_valid=verdicts.tracking_is_valid(s.tracking_number, patterns.get(s.carrier)),
            )
            shipments.append((shipment, s, plan))

    Payment.objects.bulk_create([p for p, _at in payments])
    # auto_now_add stamps "now" on insert; attempts are dated when they happened so that the
    # latest attempt of an order is also its latest row. Most have paid_at to copy from.
    unpaid = []
    for payment, at in payments:
        if payment.paid_at is None:
            payment.created_at = at
            unpaid.append(payment)
    Payment.objects.bulk_update(unpaid, ["created_at"], batch_size=BATCH_SIZE)
    Shipment.objects.bulk_create([s for s, _plan, _order in shipments])
    lines, events = [], []
    for shipment, s, plan in shipments:
        lines.extend(ShipmentLine(shipment=shipment, sku=sku, quantity=quantity) for sku, quantity in s.lines)
        rng = random.Random(f"{gen.seed}:events:{shipment.carrier}:{shipment.tracking_number}")
        events.extend(
            TrackingEvent(
                shipment=shipment,
                occurred_at=gen.absolute(plan, t),
                status=status,
                description=_event_description(rng, plan, s.carrier, status, hub),
            )
            for t, status, hub in s.events
        )
    ShipmentLine.objects.bulk_create(lines, batch_size=1000)
    TrackingEvent.objects.bulk_create(events, batch_size=1000)
    order_ids = [order_id for _plan, order_id in created]
    Order.objects.filter(pk__in=order_ids).update(created_at=F("placed_at"))
    Payment.objects.filter(order_id__in=order_ids, paid_at__isnull=False).update(created_at=F("paid_at"))
    Shipment.objects.filter(order_id__in=order_ids).update(created_at=F("shipped_at"))
    TrackingEvent.objects.filter(shipment__order_id__in=order_ids).update(created_at=F("occurred_at"))
    order_shipped_signatures_refresh(order_ids=order_ids)
    shipment_lines_on_order_refresh(order_ids=order_ids)
    order_paid_totals_refresh(order_ids=order_ids)
    order_detection_run(order_ids=order_ids)
    summary.payments += len(payments)
    summary.shipments += len(shipments)
    summary.events += len(events)


@transaction.atomic
def demo_orders_create(
    *, count: int, days: int, seed: int = DEFAULT_SEED, now: datetime | None = None, catalogue: DemoCatalogue
) -> DemoSummary:
    """Create ``count`` orders placed over the last ``days`` days, with payments and shipments.

    Orders whose (channel, external_id) exists already are skipped with their payments and
    shipments, so a re-run with the same seed adds nothing. All or nothing.
    """
    gen = DemoOrderGenerator(count=count, days=days, seed=seed, now=now or timezone.now(), catalogue=catalogue)
    plans = gen.plan()
    summary = DemoSummary()
    patterns = selectors.carrier_patterns()
    for start in range(0, len(plans), BATCH_SIZE):
        _write_batch(gen, plans[start : start + BATCH_SIZE], summary, patterns)
    return summary


def demo_is_seeded() -> bool:
    return Order.objects.exists()
