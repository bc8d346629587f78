"""Every database starts with the order form (a draft without fields: order ``data`` stays
free-form until an admin publishes it) and the default handling steps' forms, published."""

from django.db import migrations
from django.utils import timezone

from apps.formdesigner.builtin import ORDER_FORM, STEP_FORMS


def install(apps, schema_editor):
    FormDefinition = apps.get_model("formdesigner", "FormDefinition")
    FormVersion = apps.get_model("formdesigner", "FormVersion")
    FormChange = apps.get_model("formdesigner", "FormChange")
    now = timezone.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as services.to_milliseconds
    for document in [ORDER_FORM, *STEP_FORMS]:
        if FormDefinition.objects.filter(key=document["key"]).exists():
            continue
        form = FormDefinition.objects.create(
            key=document["key"],
            kind=document["kind"],
            name_zh=document["name"]["zh-hans"],
            name_en=document["name"]["en"],
            draft=document,
            draft_updated_at=now,
        )
        FormChange.objects.create(form=form, action="created", at=now, changes=[])
        if document["kind"] == "step":
            version = FormVersion.objects.create(form=form, number=1, document=document, published_at=now, note="")
            form.published = version
            form.save(update_fields=["published"])
            FormChange.objects.create(form=form, action="published", at=now, version=1, changes=[])


class Migration(migrations.Migration):
    dependencies = [("formdesigner", "0002_published_versions_immutable")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
