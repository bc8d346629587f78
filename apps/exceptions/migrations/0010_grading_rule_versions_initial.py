"""Every grading row that exists when versions arrive gets its version 1: the row as it is now,
by no one (the system), so that the first change made through the services has something to differ from."""

from django.db import migrations
from django.utils import timezone


def _document(row) -> dict:
    # The same document as apps.exceptions.grading.grading_row_document (historical models have no methods).
    return {
        "position": row.position,
        "name": {"zh-hans": row.name, "en": row.name_en},
        "is_active": row.is_active,
        "category": row.category,
        "rule": row.rule.code if row.rule_id else None,
        "channel": row.channel,
        "min_amount": None if row.min_amount is None else f"{row.min_amount:.2f}",
        "max_amount": None if row.max_amount is None else f"{row.max_amount:.2f}",
        "customer_tag": row.customer_tag,
        "time_from": None if row.time_from is None else f"{row.time_from:%H:%M}",
        "time_to": None if row.time_to is None else f"{row.time_to:%H:%M}",
        "severity": row.severity,
        "department": row.department.code,
        "handling": row.handling,
        "first_response_minutes": row.first_response_minutes,
        "resolution_minutes": row.resolution_minutes,
        "notify_channels": list(row.notify_channels or []),
    }


def first_versions(apps, schema_editor):
    GradingRule = apps.get_model("exceptions", "GradingRule")
    GradingRuleVersion = apps.get_model("exceptions", "GradingRuleVersion")
    now = timezone.now()
    versioned = set(GradingRuleVersion.objects.values_list("row_id", flat=True))
    GradingRuleVersion.objects.bulk_create(
        GradingRuleVersion(row_id=row.pk, number=1, action="created", document=_document(row), created_at=now)
        for row in GradingRule.objects.select_related("rule", "department").order_by("pk")
        if row.pk not in versioned
    )


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0009_grading_rule_versions")]

    operations = [migrations.RunPython(first_versions, migrations.RunPython.noop)]
