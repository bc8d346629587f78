"""Grading rows get an English name, shown in the English UI; the seeded rows get theirs."""

from django.db import migrations, models

NAMES_EN = {
    "库存异常：自动补货申请": "Inventory: automatic replenishment request",
    "支付异常：人工核实": "Payment: manual check",
    "信息异常：客户回访": "Information: customer call-back",
    "物流异常：承运商对接": "Logistics: carrier liaison",
    "价格异常：价格复核": "Pricing: price review",
    "流程异常：流程跟进": "Process: follow-up",
    "对接异常：重新同步订单": "Integration: re-sync the order",
    "其他：分诊": "Other: triage",
}


def name_seeded_rows(apps, schema_editor):
    GradingRule = apps.get_model("exceptions", "GradingRule")
    for name, name_en in NAMES_EN.items():
        GradingRule.objects.filter(name=name, name_en="").update(name_en=name_en)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0003_event_redetected")]

    operations = [
        migrations.AddField(
            model_name="gradingrule",
            name="name_en",
            field=models.CharField(blank=True, max_length=128, verbose_name="English name"),
        ),
        migrations.RunPython(name_seeded_rows, migrations.RunPython.noop),
    ]
