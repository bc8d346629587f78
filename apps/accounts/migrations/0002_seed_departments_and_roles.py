"""Every fresh database gets the five departments and the three role groups."""

from django.db import migrations

DEPARTMENTS = [
    ("warehouse", "仓储/采购", "Warehouse / purchasing"),
    ("finance", "财务", "Finance"),
    ("customer_service", "客服", "Customer service"),
    ("logistics", "物流", "Logistics"),
    ("management", "管理层", "Management"),
]
ROLES = ["admin", "staff", "manager"]


def seed(apps, schema_editor):
    Department = apps.get_model("accounts", "Department")
    Group = apps.get_model("auth", "Group")
    for code, name, name_en in DEPARTMENTS:
        Department.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en})
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def unseed(apps, schema_editor):
    apps.get_model("accounts", "Department").objects.filter(code__in=[c for c, *_ in DEPARTMENTS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
