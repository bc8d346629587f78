"""The grading decision table of SPEC §3, plus rows for the categories it leaves out and a catch-all.

Choices beyond SPEC's four rows:
- pricing → finance: a price far from list price is a margin or overcharge question, and
  correcting it means correcting the order's money, which finance owns (like payments).
- process → customer service: REVIEW_TIMEOUT is a paid order nobody reviewed (审单), which is
  customer service's work; it is already two hours late, hence 30 minutes.
- integration → management: MISSING_ORDER (漏单) means an order the channel has and OrderGuard
  lacks; re-syncing it is done by the business admins who run the integrations, and money may
  already have been taken, hence high severity.
- the last row catches anything else (new categories, rows an admin disabled) so that every
  exception gets a department; its empty severity keeps the rule's default.
"""

from django.db import migrations

# position, name, category, severity, department, handling, first response (min), channels
ROWS = [
    (10, "库存异常：自动补货申请", "inventory", "high", "warehouse", "auto_replenishment", 10, ["in_app"]),
    (20, "支付异常：人工核实", "payment", "medium", "finance", "manual_check", 30, ["email", "in_app"]),
    (30, "信息异常：客户回访", "information", "low", "customer_service", "customer_callback", 120, ["sms", "in_app"]),
    (40, "物流异常：承运商对接", "logistics", "medium", "logistics", "carrier_liaison", 60, ["wecom", "in_app"]),
    (50, "价格异常：价格复核", "pricing", "medium", "finance", "price_review", 60, ["email", "in_app"]),
    (60, "流程异常：流程跟进", "process", "medium", "customer_service", "process_follow_up", 30, ["in_app"]),
    (70, "对接异常：重新同步订单", "integration", "high", "management", "order_resync", 30, ["email", "in_app"]),
    (1000, "其他：分诊", "", "", "management", "triage", 60, ["in_app"]),
]


def seed(apps, schema_editor):
    GradingRule = apps.get_model("exceptions", "GradingRule")
    Department = apps.get_model("accounts", "Department")
    departments = {d.code: d for d in Department.objects.all()}
    for position, name, category, severity, department, handling, minutes, channels in ROWS:
        GradingRule.objects.update_or_create(
            position=position,
            name=name,
            defaults={
                "category": category,
                "severity": severity,
                "department": departments[department],
                "handling": handling,
                "first_response_minutes": minutes,
                "notify_channels": channels,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("exceptions", "GradingRule").objects.filter(name__in=[row[1] for row in ROWS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0001_initial"),
        ("accounts", "0002_seed_departments_and_roles"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
