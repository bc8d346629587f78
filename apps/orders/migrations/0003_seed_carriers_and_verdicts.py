"""The carrier formats of SPEC §3, and the verdict columns of 0002 computed for existing rows.

Uses the pure functions of ``apps.orders.verdicts`` on this migration's historical models, in
chunks, so that a large existing database is updated without loading it whole.
"""

from collections import defaultdict

from django.db import migrations

from apps.orders import verdicts

CARRIERS = [
    ("SF", "顺丰速运", "SF Express", [r"^SF\d{12,13}$"]),
    ("JD", "京东物流", "JD Logistics", [r"^JD[A-Z0-9]{13,16}$"]),
    ("YTO", "圆通速递", "YTO Express", [r"^YT\d{13,15}$"]),
    ("ZTO", "中通快递", "ZTO Express", [r"^\d{12,15}$"]),
    ("STO", "申通快递", "STO Express", [r"^\d{12,15}$"]),
    ("YUNDA", "韵达快递", "Yunda Express", [r"^\d{13,15}$"]),
    ("EMS", "中国邮政EMS", "China Post EMS", [r"^[A-Z]{2}\d{9}CN$", r"^\d{13}$"]),
]
CHUNK = 2000
ORDER_VERDICTS = ["customer_phone_is_valid", "customer_email_is_valid", "address_is_valid", "line_signature"]


def seed_carriers(apps, schema_editor):
    Carrier = apps.get_model("orders", "Carrier")
    for code, name, name_en, patterns in CARRIERS:
        Carrier.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en, "patterns": patterns})


def unseed_carriers(apps, schema_editor):
    apps.get_model("orders", "Carrier").objects.filter(code__in=[code for code, *_rest in CARRIERS]).delete()


def compute_verdicts(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    Shipment = apps.get_model("orders", "Shipment")
    Carrier = apps.get_model("orders", "Carrier")

    last = 0
    while True:
        rows = list(
            Order.objects.filter(pk__gt=last)
            .order_by("pk")
            .values(
                "pk",
                "customer_phone",
                "customer__email",
                "ship_province",
                "ship_city",
                "ship_district",
                "ship_detail",
            )[:CHUNK]
        )
        if not rows:
            break
        last = rows[-1]["pk"]
        lines = defaultdict(list)
        for order_id, sku, quantity in OrderLine.objects.filter(order_id__in=[r["pk"] for r in rows]).values_list(
            "order_id", "sku", "quantity"
        ):
            lines[order_id].append((sku, quantity))
        orders = [
            Order(
                pk=row["pk"],
                customer_phone_is_valid=verdicts.phone_is_valid(row["customer_phone"]),
                customer_email_is_valid=verdicts.email_is_valid(row["customer__email"]),
                address_is_valid=verdicts.address_is_valid(
                    province=row["ship_province"],
                    city=row["ship_city"],
                    district=row["ship_district"],
                    detail=row["ship_detail"],
                ),
                line_signature=verdicts.line_signature(lines[row["pk"]]),
            )
            for row in rows
        ]
        Order.objects.bulk_update(orders, ORDER_VERDICTS, batch_size=500)

    patterns = {
        code: verdicts.compile_patterns(tuple(carrier_patterns))
        for code, carrier_patterns in Carrier.objects.filter(is_active=True).values_list("code", "patterns")
    }
    last = 0
    while True:
        rows = list(
            Shipment.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "carrier", "tracking_number")[:CHUNK]
        )
        if not rows:
            break
        last = rows[-1][0]
        # The column defaults to valid: only the invalid ones need writing.
        invalid = [pk for pk, carrier, number in rows if not verdicts.tracking_is_valid(number, patterns.get(carrier))]
        Shipment.objects.filter(pk__in=invalid).update(tracking_is_valid=False)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_carriers_and_verdicts"),
    ]

    operations = [
        migrations.RunPython(seed_carriers, unseed_carriers),
        migrations.RunPython(compute_verdicts, migrations.RunPython.noop),
    ]
