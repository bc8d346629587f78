"""Every rule that exists when versions arrive gets its version 1: its document as it is now, by
no one (the system), so that the first change made through the services has something to differ from."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations
from django.utils import timezone


def _document(rule) -> dict:
    # The same document as apps.rules.diff.rule_document (historical models have no methods).
    document = {
        "code": rule.code,
        "name": {"zh-hans": rule.name, "en": rule.name_en},
        "description": rule.description,
        "category": rule.category,
        "severity": rule.default_severity,
        "condition": rule.condition or {},
        "params": rule.params or {},
        "is_active": rule.is_active,
    }
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


def first_versions(apps, schema_editor):
    ExceptionRule = apps.get_model("rules", "ExceptionRule")
    RuleVersion = apps.get_model("rules", "RuleVersion")
    now = timezone.now()
    versioned = set(RuleVersion.objects.values_list("rule_id", flat=True))
    RuleVersion.objects.bulk_create(
        RuleVersion(rule=rule, number=1, document=_document(rule), changes=[{"change": "created"}], created_at=now)
        for rule in ExceptionRule.objects.order_by("pk")
        if rule.pk not in versioned
    )


class Migration(migrations.Migration):
    dependencies = [("rules", "0005_versions_and_backtests")]

    operations = [migrations.RunPython(first_versions, migrations.RunPython.noop)]
