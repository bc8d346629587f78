"""The 13 built-in rules of SPEC §3, as data: editable and disableable like any other rule.

"Cancelled and refunded orders raise nothing" is applied by the detection service to every
rule, so the conditions don't repeat it.
"""

from django.db import migrations

PAID_LIKE = ["paid", "reviewed", "shipped", "delivered"]

RULES = [
    {
        "code": "PAYMENT_STATUS_MISMATCH",
        "name": "付款未到账但订单状态已更新",
        "name_en": "Paid status without the money",
        "category": "payment",
        "default_severity": "medium",
        "description": "Paid-like, but the succeeded payments add up to less than the order total.",
        "params": {"paid_like_statuses": PAID_LIKE},
        "condition": {
            "all": [
                {"field": "status", "op": "in", "value": {"param": "paid_like_statuses"}},
                {"field": "paid_total", "op": "lt", "value": {"field": "total_amount"}},
            ]
        },
    },
    {
        "code": "PAYMENT_FAILED",
        "name": "支付失败",
        "name_en": "Payment failed",
        "category": "payment",
        "default_severity": "medium",
        "description": "Pending payment, and the latest payment attempt failed.",
        "params": {},
        "condition": {
            "all": [
                {"field": "status", "op": "eq", "value": "pending_payment"},
                {"field": "latest_payment_status", "op": "eq", "value": "failed"},
            ]
        },
    },
    {
        "code": "STOCK_SHORTAGE",
        "name": "库存不足",
        "name_en": "Stock shortage",
        "category": "inventory",
        "default_severity": "high",
        "description": "An open order's line asks for more than on hand − reserved of a SKU that has a stock record.",
        "params": {"open_statuses": ["pending_payment", "paid", "reviewed"]},
        "condition": {
            "all": [
                {"field": "status", "op": "in", "value": {"param": "open_statuses"}},
                {
                    "lines": "any",
                    "where": {
                        "all": [
                            {"field": "has_stock_record", "op": "eq", "value": True},
                            {"field": "quantity", "op": "gt", "value": {"field": "available_stock"}},
                        ]
                    },
                },
            ]
        },
    },
    {
        "code": "CUSTOMER_INFO_INVALID",
        "name": "客户信息无效",
        "name_en": "Customer details invalid",
        "category": "information",
        "default_severity": "low",
        "description": "Empty customer name, empty or invalid phone (region CN), or a malformed e-mail.",
        "params": {},
        "condition": {
            "any": [
                {"field": "customer.name", "op": "is_empty"},
                {"field": "customer_phone", "op": "is_empty"},
                {"not": {"field": "customer_phone", "op": "valid_phone"}},
                {
                    "all": [
                        {"field": "customer.email", "op": "is_not_empty"},
                        {"not": {"field": "customer.email", "op": "valid_email"}},
                    ]
                },
            ]
        },
    },
    {
        "code": "ADDRESS_INVALID",
        "name": "收货地址无效",
        "name_en": "Address invalid",
        "category": "information",
        "default_severity": "low",
        "description": "Province, city or detail empty, or province / city / district that don't belong together.",
        "params": {},
        "condition": {
            "any": [
                {"field": "address.province", "op": "is_empty"},
                {"field": "address.city", "op": "is_empty"},
                {"field": "address.detail", "op": "is_empty"},
                {"field": "address_is_valid", "op": "eq", "value": False},
            ]
        },
    },
    {
        "code": "TRACKING_INVALID",
        "name": "运单号无效",
        "name_en": "Tracking number invalid",
        "category": "logistics",
        "default_severity": "medium",
        "description": "A shipment's tracking number doesn't fit its carrier's format; an unknown carrier is invalid.",
        "params": {},
        "condition": {"shipments": "any", "where": {"not": {"field": "tracking_number", "op": "valid_tracking"}}},
    },
    {
        "code": "SHIPPING_DELAY",
        "name": "发货/物流延迟",
        "name_en": "Shipping delay",
        "category": "logistics",
        "default_severity": "medium",
        "description": (
            "Paid or reviewed, no shipment, and past promised_ship_by (default placed_at + 48 h); "
            "or shipped and the last tracking event (or the shipping time) is over 72 h old."
        ),
        "params": {"ship_within": "48h", "tracking_stale_after": "72h"},
        "is_time_based": True,
        "condition": {
            "any": [
                {
                    "all": [
                        {"field": "status", "op": "in", "value": ["paid", "reviewed"]},
                        {"field": "shipment_count", "op": "eq", "value": 0},
                        {
                            "any": [
                                {"field": "promised_ship_by", "op": "older_than", "value": "0m"},
                                {
                                    "all": [
                                        {"field": "promised_ship_by", "op": "is_empty"},
                                        {"field": "placed_at", "op": "older_than", "value": {"param": "ship_within"}},
                                    ]
                                },
                            ]
                        },
                    ]
                },
                {
                    "all": [
                        {"field": "status", "op": "eq", "value": "shipped"},
                        {"field": "last_tracking_event_age", "op": "gt", "value": {"param": "tracking_stale_after"}},
                    ]
                },
            ]
        },
    },
    {
        "code": "DUPLICATE_ORDER",
        "name": "重复订单",
        "name_en": "Duplicate order",
        "category": "information",
        "default_severity": "low",
        "description": (
            "An earlier, not cancelled order with another external_id, the same customer phone, the same "
            "SKUs and quantities and the same total, placed within 30 minutes before this one."
        ),
        "params": {"window": "30m"},
        "condition": {
            "all": [
                {"field": "customer_phone", "op": "is_not_empty"},
                {"field": "earlier_duplicate_gap", "op": "le", "value": {"param": "window"}},
            ]
        },
    },
    {
        "code": "MISSING_ORDER",
        "name": "漏单",
        "name_en": "Missing order",
        "category": "integration",
        "default_severity": "high",
        "description": "A platform reconciliation lists an order the system does not have.",
        "params": {},
        "source": "reconciliation",
        "condition": {},
    },
    {
        "code": "ITEM_MISMATCH",
        "name": "商品错配",
        "name_en": "Item mismatch",
        "category": "logistics",
        "default_severity": "high",
        "description": (
            "A shipment contains a SKU that is not on the order, or the order is shipped / delivered and "
            "the shipped quantities per SKU differ from the ordered ones."
        ),
        "params": {},
        "condition": {
            "any": [
                {"shipment_lines": "any", "where": {"field": "on_order", "op": "eq", "value": False}},
                {
                    "all": [
                        {"field": "status", "op": "in", "value": ["shipped", "delivered"]},
                        {"field": "shipped_quantities_match", "op": "eq", "value": False},
                    ]
                },
            ]
        },
    },
    {
        "code": "PRICE_ANOMALY",
        "name": "价格异常",
        "name_en": "Price anomaly",
        "category": "pricing",
        "default_severity": "medium",
        "description": "A unit price below 50 % or above 150 % of its product's list price.",
        "params": {"min_ratio": "0.5", "max_ratio": "1.5"},
        "condition": {
            "lines": "any",
            "where": {
                "any": [
                    {"field": "price_ratio", "op": "lt", "value": {"param": "min_ratio"}},
                    {"field": "price_ratio", "op": "gt", "value": {"param": "max_ratio"}},
                ]
            },
        },
    },
    {
        "code": "AMOUNT_MISMATCH",
        "name": "金额不符",
        "name_en": "Amount mismatch",
        "category": "information",
        "default_severity": "medium",
        "description": "total_amount differs by more than 0.01 from Σ(quantity × unit_price) + shipping_fee − discount.",
        "params": {"tolerance": "0.01"},
        "condition": {"field": "amount_gap", "op": "gt", "value": {"param": "tolerance"}},
    },
    {
        "code": "REVIEW_TIMEOUT",
        "name": "超时未处理",
        "name_en": "Review timeout",
        "category": "process",
        "default_severity": "medium",
        "description": "Status paid, and paid_at (or, without it, the moment the order became paid) over 2 hours ago.",
        "params": {"within": "2h"},
        "is_time_based": True,
        "condition": {
            "all": [
                {"field": "status", "op": "eq", "value": "paid"},
                {
                    "any": [
                        {"field": "paid_at", "op": "older_than", "value": {"param": "within"}},
                        {
                            "all": [
                                {"field": "paid_at", "op": "is_empty"},
                                {"field": "hours_since_status_change", "op": "gt", "value": {"param": "within"}},
                            ]
                        },
                    ]
                },
            ]
        },
    },
]


def install(apps, schema_editor):
    ExceptionRule = apps.get_model("rules", "ExceptionRule")
    for rule in RULES:
        fields = {"source": "condition", "is_time_based": False, **rule, "is_builtin": True}
        code = fields.pop("code")
        ExceptionRule.objects.update_or_create(code=code, defaults=fields)


def uninstall(apps, schema_editor):
    apps.get_model("rules", "ExceptionRule").objects.filter(code__in=[r["code"] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("rules", "0002_source")]

    operations = [migrations.RunPython(install, uninstall)]
