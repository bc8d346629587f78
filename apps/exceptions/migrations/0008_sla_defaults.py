"""The official holidays from the chinese-calendar package, the company calendar, the demo
departments' own working time, and an escalation ladder per severity (SPEC §9.4, §9.5)."""

from django.db import migrations

SHIFT = [["09:00", "12:00"], ["13:30", "18:00"]]
OFFICE_WEEK = {"mon": SHIFT, "tue": SHIFT, "wed": SHIFT, "thu": SHIFT, "fri": SHIFT, "sat": [], "sun": []}
# Customer service answers every day, holidays included; the warehouse ships Monday to Saturday.
LONG_DAY = [["08:00", "22:00"]]
WAREHOUSE_DAY = [["08:00", "12:00"], ["13:00", "20:00"]]
OWN = {
    "customer_service": {
        "official_calendar": False,
        "week": {day: LONG_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    },
    "warehouse": {
        "official_calendar": True,
        "week": {**{day: WAREHOUSE_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat")}, "sun": []},
    },
}


def _level(clock, trigger, action, share=None, after=""):
    return {"clock": clock, "trigger": trigger, "action": action, "share_percent": share, "after": after}


LADDERS = {
    "urgent": [
        _level("first_response", "breach", "notify_lead"),
        _level("resolution", "share", "remind", share=80),
        _level("resolution", "breach", "notify_lead"),
        _level("resolution", "after_breach", "approval", after="30m"),
    ],
    "high": [
        _level("resolution", "share", "remind", share=80),
        _level("resolution", "breach", "notify_lead"),
        _level("resolution", "after_breach", "approval", after="2h"),
    ],
    "medium": [
        _level("resolution", "share", "remind", share=80),
        _level("resolution", "breach", "notify_lead"),
        _level("resolution", "after_breach", "approval", after="1d"),
    ],
    "low": [
        _level("resolution", "share", "remind", share=80),
        _level("resolution", "breach", "notify_lead"),
    ],
}


def seed(apps, schema_editor):
    from chinese_calendar import constants

    OfficialDay = apps.get_model("exceptions", "OfficialDay")
    BusinessCalendar = apps.get_model("exceptions", "BusinessCalendar")
    Department = apps.get_model("accounts", "Department")
    EscalationLadder = apps.get_model("exceptions", "EscalationLadder")
    EscalationLevel = apps.get_model("exceptions", "EscalationLevel")

    have = set(OfficialDay.objects.values_list("date", flat=True))
    OfficialDay.objects.bulk_create(
        [
            OfficialDay(date=day, kind=kind, name=str(name or ""), source="package")
            for kind, table in (("holiday", constants.holidays), ("make_up", constants.workdays))
            for day, name in table.items()
            if day not in have
        ]
    )
    if not BusinessCalendar.objects.filter(department__isnull=True).exists():
        BusinessCalendar.objects.create(department=None, time_zone="Asia/Shanghai", week=OFFICE_WEEK)
    for code, own in OWN.items():
        department = Department.objects.filter(code=code).first()
        if department is not None and not BusinessCalendar.objects.filter(department=department).exists():
            BusinessCalendar.objects.create(department=department, time_zone="Asia/Shanghai", **own)
    for severity, levels in LADDERS.items():
        ladder, created = EscalationLadder.objects.get_or_create(severity=severity)
        if created:
            EscalationLevel.objects.bulk_create(
                EscalationLevel(ladder=ladder, position=index, **level) for index, level in enumerate(levels)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0007_sla"),
        ("accounts", "0005_department_approval_limit"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
