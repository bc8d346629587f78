"""The default workflows (workflows/defaults.py), published as version 1, and the engine's beat
schedules: the timers every second, the sweep every five seconds (admins change the intervals
under Periodic tasks, like the scan's)."""

from django.db import migrations
from django.utils import timezone

from workflows.defaults import DEFAULT_WORKFLOWS

SCHEDULES = [
    ("Handling: fire due timers", "workflows.timers_fire", 1),
    ("Handling: start missed cases, end finished ones", "workflows.cases_sweep", 5),
]


def install(apps, schema_editor):
    WorkflowDefinition = apps.get_model("workflows", "WorkflowDefinition")
    WorkflowVersion = apps.get_model("workflows", "WorkflowVersion")
    WorkflowChange = apps.get_model("workflows", "WorkflowChange")
    now = timezone.now().replace(microsecond=0)
    for document in DEFAULT_WORKFLOWS:
        definition, created = WorkflowDefinition.objects.get_or_create(
            key=document["key"],
            defaults={"name_zh": document["name"]["zh-hans"], "name_en": document["name"]["en"], "draft": document},
        )
        if not created:
            continue
        version = WorkflowVersion.objects.create(
            definition=definition, number=1, document=document, published_at=now, note="Built in"
        )
        definition.published = version
        definition.save(update_fields=["published"])
        WorkflowChange.objects.create(definition=definition, at=now, kind="published", version=1, note="Built in")

    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in SCHEDULES:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0001_initial"),
        ("formdesigner", "0003_builtin_forms"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
