"""The order domain: what shop platforms, ERPs, gateways and carriers tell OrderGuard.

Imperfect business data (an empty name, a bad phone, a total that doesn't add up) is stored
as it arrives: flagging it is the detection rules' job. The database only refuses what
cannot be an order at all (negative quantities or amounts, duplicates of a key).
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Channel(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD.com")
    PINDUODUO = "pinduoduo", _("Pinduoduo")
    DOUYIN = "douyin", _("Douyin")
    WEBSHOP = "webshop", _("Own web shop")
    OFFLINE = "offline", _("Offline / wholesale")


class Customer(TimeStampedModel):
    """A buyer as a channel knows them; the latest order's details win."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_id = models.CharField(_("external ID"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=128, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="orders_customer_channel_external_id_uniq",
            ),
        ]
        indexes = [models.Index(fields=["phone"], name="orders_customer_phone_idx")]

    def __str__(self) -> str:
        return self.name or self.phone or self.external_id or f"#{self.pk}"


class Order(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", pgettext_lazy("order status", "Pending payment")
        PAID = "paid", pgettext_lazy("order status", "Paid")
        REVIEWED = "reviewed", pgettext_lazy("order status", "Reviewed")
        SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
        DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
        CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
        REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")

    PAID_LIKE = (Status.PAID, Status.REVIEWED, Status.SHIPPED, Status.DELIVERED)

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_id = models.CharField(_("external ID"), max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    status_changed_at = models.DateTimeField(_("status changed at"))
    placed_at = models.DateTimeField(_("placed at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    promised_ship_by = models.DateTimeField(_("promised ship-by"), null=True, blank=True)

    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    total_amount = models.DecimalField(_("total amount"), **MONEY)
    shipping_fee = models.DecimalField(_("shipping fee"), default=ZERO, **MONEY)
    discount = models.DecimalField(_("discount"), default=ZERO, **MONEY)

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    # Copied from the customer at write time so that duplicate lookups use one index
    # (orders_order_duplicate_idx, which also serves lookups by phone alone).
    customer_phone = models.CharField(_("customer phone"), max_length=32, blank=True)

    ship_recipient = models.CharField(_("recipient"), max_length=128, blank=True)
    ship_phone = models.CharField(_("recipient phone"), max_length=32, blank=True)
    ship_province = models.CharField(_("province"), max_length=32, blank=True)
    ship_city = models.CharField(_("city"), max_length=32, blank=True)
    ship_district = models.CharField(_("district"), max_length=32, blank=True)
    ship_detail = models.CharField(_("address detail"), max_length=255, blank=True)
    ship_postcode = models.CharField(_("postcode"), max_length=16, blank=True)

    data = models.JSONField(_("custom fields"), default=dict, blank=True)

    # Verdicts of checks that need a library, stored by the services at every write so that the
    # detection rules filter on columns (SPEC §4). The defaults hold for rows written outside the
    # services until ``order_verdicts_refresh`` runs over them.
    # The phone's verdict is about ``customer_phone``, the phone the order was placed with; the
    # e-mail's follows the customer, whose latest details win, on all of the customer's orders.
    customer_phone_is_valid = models.BooleanField(_("customer phone is valid"), default=True)
    customer_email_is_valid = models.BooleanField(_("customer e-mail is valid"), default=True)
    address_is_valid = models.BooleanField(_("address is valid"), default=True)
    # SHA-1 of the sorted (SKU, total quantity) pairs: duplicate orders share it (verdicts.line_signature).
    line_signature = models.CharField(_("line signature"), max_length=40, blank=True, default="")
    # The same signature over everything shipped so far (verdicts.NOTHING_SHIPPED before the
    # first shipment; empty for rows written around the services and not refreshed). Equal to
    # line_signature exactly when the shipped quantities per SKU are the ordered ones.
    shipped_signature = models.CharField(_("shipped signature"), max_length=40, blank=True, default="")
    # Σ succeeded payments and Σ quantity × unit price, stored by the services at every payment
    # and lines write, so that scans compare columns instead of summing per order.
    paid_total = models.DecimalField(_("paid total"), default=ZERO, editable=False, **MONEY)
    lines_total = models.DecimalField(_("lines total"), default=ZERO, editable=False, **MONEY)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="orders_order_channel_external_id_uniq"),
            models.CheckConstraint(
                condition=Q(total_amount__gte=0) & Q(shipping_fee__gte=0) & Q(discount__gte=0),
                name="orders_order_amounts_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "placed_at"], name="orders_order_status_placed_idx"),
            models.Index(fields=["status", "paid_at"], name="orders_order_status_paid_idx"),
            models.Index(fields=["status", "promised_ship_by"], name="orders_order_status_ship_idx"),
            models.Index(fields=["status", "status_changed_at"], name="orders_order_status_chg_idx"),
            models.Index(fields=["placed_at"], name="orders_order_placed_idx"),
            # DUPLICATE_ORDER: same phone and basket, placed within a window before this one.
            models.Index(fields=["customer_phone", "line_signature", "placed_at"], name="orders_order_duplicate_idx"),
            # Few orders fail a check, so each verdict gets a small partial index of the failures.
            models.Index(
                fields=["status"], condition=Q(customer_phone_is_valid=False), name="orders_order_bad_phone_idx"
            ),
            models.Index(
                fields=["status"], condition=Q(customer_email_is_valid=False), name="orders_order_bad_email_idx"
            ),
            models.Index(fields=["status"], condition=Q(address_is_valid=False), name="orders_order_bad_addr_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.external_id}"


def _sku_relation(model: str, verbose_name) -> models.ForeignObject:
    """A relation on the SKU with no column of its own (a SKU need not have the record)."""
    return models.ForeignObject(
        model,
        verbose_name=verbose_name,
        on_delete=models.DO_NOTHING,
        from_fields=["sku"],
        to_fields=["sku"],
        related_name="+",
        null=True,
        editable=False,
        serialize=False,
    )


class OrderLine(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField(_("line number"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("item name"), max_length=255, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    # Relations on the SKU, with no column of their own: the rule fields read a line's list
    # price and stock through them, so a scan joins the tables in one pass instead of looking
    # every line up (SPEC §4). A SKU need not have either record.
    product = _sku_relation("Product", _("product"))
    stock = _sku_relation("StockLevel", _("stock level"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orders_orderline_order_line_no_uniq"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orders_orderline_unit_price_non_negative"),
        ]
        indexes = [models.Index(fields=["sku"], name="orders_orderline_sku_idx")]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"

    def clean_fields(self, exclude=None):
        # product and stock are joins on the SKU, not values: a SKU need have neither record.
        super().clean_fields(exclude={*(exclude or ()), "product", "stock"})


class Product(TimeStampedModel):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255)
    list_price = models.DecimalField(_("list price"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(list_price__gte=0), name="orders_product_list_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class StockLevel(TimeStampedModel):
    """Stock as the inventory system reports it; OrderGuard does not reserve stock itself."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    on_hand = models.IntegerField(_("on hand"))
    reserved = models.IntegerField(_("reserved"), default=0)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(on_hand__gte=0) & Q(reserved__gte=0), name="orders_stocklevel_quantities_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku}: {self.on_hand} / {self.reserved}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Payment(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("payment status", "Pending")
        SUCCEEDED = "succeeded", pgettext_lazy("payment status", "Succeeded")
        FAILED = "failed", pgettext_lazy("payment status", "Failed")
        REFUNDED = "refunded", pgettext_lazy("payment status", "Refunded")

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="payments")
    transaction_id = models.CharField(_("transaction ID"), max_length=128, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="orders_payment_amount_non_negative"),
        ]
        indexes = [models.Index(fields=["order", "status"], name="orders_payment_order_st_idx")]

    def __str__(self) -> str:
        return self.transaction_id


class Carrier(TimeStampedModel):
    """A carrier and the formats of its tracking numbers (SPEC §3), editable data.

    A tracking number is valid when it fully matches one of ``patterns`` (Python regular
    expressions, ASCII); the numbers of an unknown or inactive carrier are all invalid.
    """

    code = models.CharField(
        _("code"), max_length=32, unique=True, help_text=_("Upper case, as shipments name it: SF, JD, EMS.")
    )
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    patterns = models.JSONField(_("tracking number patterns"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code=Upper("code")) & ~Q(code=""), name="orders_carrier_code_upper_case"
            ),
        ]

    def __str__(self) -> str:
        name = self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name
        return f"{self.code} {name}"


class Shipment(TimeStampedModel):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=32)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"))
    # Whether the number fits its carrier's patterns (Carrier), stored by the services; re-computed
    # for a carrier's shipments when an admin changes the carrier.
    tracking_is_valid = models.BooleanField(_("tracking number is valid"), default=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-shipped_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="orders_shipment_carrier_tracking_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "shipped_at"], name="orders_shipment_order_idx"),
            models.Index(fields=["order"], condition=Q(tracking_is_valid=False), name="orders_shipment_bad_track_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("SKU"), max_length=64)
    quantity = models.PositiveIntegerField(_("quantity"))
    # Whether the SKU is on the shipment's order, stored by the services when the shipment is
    # recorded and when the order's lines change: a scan finds foreign SKUs by a partial index.
    is_on_order = models.BooleanField(_("on the order"), default=True, editable=False)

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_shipmentline_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["sku"], name="orders_shipmentline_sku_idx"),
            models.Index(fields=["shipment"], condition=Q(is_on_order=False), name="orders_shipline_foreign_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class TrackingEvent(TimeStampedModel):
    class Status(models.TextChoices):
        PICKED_UP = "picked_up", pgettext_lazy("tracking status", "Picked up")
        IN_TRANSIT = "in_transit", pgettext_lazy("tracking status", "In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", pgettext_lazy("tracking status", "Out for delivery")
        DELIVERED = "delivered", pgettext_lazy("tracking status", "Delivered")
        EXCEPTION = "exception", pgettext_lazy("tracking status", "Carrier exception")
        RETURNED = "returned", pgettext_lazy("tracking status", "Returned to sender")

    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField(_("occurred at"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    description = models.CharField(_("description"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["shipment_id", "occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "occurred_at", "status"], name="orders_trackingevent_shipment_time_status_uniq"
            ),
        ]
        indexes = [models.Index(fields=["shipment", "occurred_at"], name="orders_trackingevent_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class PurchaseRequest(TimeStampedModel):
    """A request to buy stock for a SKU that orders are short of (the automatic replenishment step).

    The handling engine raises one per short SKU of a stock-shortage exception; the warehouse
    confirms quantity and date in the next step. The ERP call that places it comes with the
    integrations issue.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", pgettext_lazy("purchase request", "Requested")
        CONFIRMED = "confirmed", pgettext_lazy("purchase request", "Confirmed")
        CANCELED = "canceled", pgettext_lazy("purchase request", "Canceled")

    sku = models.CharField(_("SKU"), max_length=64)
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED)
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchase_requests",
    )
    exception = models.ForeignKey(
        "exceptions.OrderException",
        verbose_name=_("exception"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchase_requests",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("purchase request")
        verbose_name_plural = _("purchase requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_purchaserequest_quantity_positive"),
            # One open request per SKU and exception: a retried step does not ask twice.
            models.UniqueConstraint(
                fields=["exception", "sku"],
                condition=Q(status="requested"),
                name="orders_purchaserequest_one_open_per_exception_sku",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"
