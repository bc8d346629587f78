"""The configuration API of SLA and grading (SPEC §10.5, §10.6): business calendars, escalation
ladders and the grading table, each refused with the path of its bad part, for admins only; and
what a saved calendar or grading row does to the next exception's deadlines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.accounts.models import Department
from apps.exceptions.models import BusinessCalendar, EscalationLevel, GradingRule, OrderException
from apps.exceptions.services import exceptions_sync
from apps.rules.models import Category, Severity
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
SPLIT = [["09:00", "12:00"], ["13:30", "18:00"]]
FINANCE = {
    "department": "finance",
    "time_zone": "Asia/Shanghai",
    "always_open": False,
    "official_calendar": True,
    "week": {"mon": SPLIT, "tue": SPLIT, "wed": SPLIT, "thu": SPLIT, "fri": SPLIT, "sat": [], "sun": []},
    "make_up_day_hours": [["09:00", "12:00"], ["13:30", "17:00"]],
    "holidays": ["2026-12-24"],
    "make_up_days": ["2026-12-27"],
}


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def raise_at(rule, at: datetime) -> OrderException:
    """Raise ``rule``'s exception on a new order at ``at``, graded as detection grades it."""
    order = OrderFactory(total_amount=Decimal("100.00"))
    result = exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}}, now=at)
    return OrderException.objects.get(pk=result.created_ids[0])


# --- calendars ----------------------------------------------------------------------------------


def test_a_calendar_put_is_read_back_as_sent(api):
    saved = api.put("/api/v1/calendars/finance/", FINANCE, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json() == {**FINANCE, "inherited": False}
    assert api.get("/api/v1/calendars/finance/").json() == {**FINANCE, "inherited": False}
    row = BusinessCalendar.objects.get(department__code="finance")
    assert row.updated_by.username == "ops-admin" and row.days.count() == 2

    # PUT replaces: what is left out takes its default, the company's own days go.
    api.put("/api/v1/calendars/finance/", {"always_open": True}, format="json")
    body = api.get("/api/v1/calendars/finance/").json()
    assert body["always_open"] is True and body["holidays"] == [] and body["make_up_days"] == []


def test_a_department_without_its_own_calendar_shows_the_company_one_as_inherited(api):
    assert not BusinessCalendar.objects.filter(department__code="finance").exists()
    company = api.get("/api/v1/calendars/default/").json()
    finance = api.get("/api/v1/calendars/finance/").json()
    assert company["inherited"] is False and finance["inherited"] is True
    assert {**finance, "department": "default", "inherited": False} == company
    assert not BusinessCalendar.objects.filter(department__code="finance").exists()  # reading creates nothing


def test_the_list_has_the_company_every_department_and_the_official_years(api):
    api.put("/api/v1/calendars/finance/", FINANCE, format="json")
    body = api.get("/api/v1/calendars/").json()
    by_key = {calendar["department"]: calendar for calendar in body["calendars"]}
    assert body["calendars"][0]["department"] == "default"
    assert set(by_key) == {"default", *Department.objects.values_list("code", flat=True)}
    assert by_key["finance"]["inherited"] is False and by_key["finance"]["holidays"] == ["2026-12-24"]
    assert by_key["logistics"]["inherited"] is True
    assert by_key["customer_service"]["inherited"] is False  # its own, seeded
    years = {year["year"]: year for year in body["official_years"]}
    assert years[2026]["holidays"] > 20 and years[2026]["make_up_days"] > 0 and years[2026]["from_package"] is True


def test_a_bad_calendar_names_each_bad_part_by_its_path_and_stores_nothing(api):
    bad = {
        **FINANCE,
        "time_zone": "Mars/Olympus_Mons",
        "week": {**FINANCE["week"], "mon": [["18:00", "09:00"]], "fun": []},
        "holidays": ["2026-12-24", "24/12/2026", "2026-13-01"],
        "colour": "blue",
    }
    refused = api.put("/api/v1/calendars/finance/", bad, format="json")
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "invalid_document"
    assert {"time_zone", "week.fun", "holidays.1", "holidays.2", "colour"} <= set(body["fields"])
    assert any(path == "week.mon" or path.startswith("week.mon.") for path in body["fields"])
    assert not BusinessCalendar.objects.filter(department__code="finance").exists()

    both = api.put("/api/v1/calendars/finance/", {**FINANCE, "make_up_days": ["2026-12-24"]}, format="json")
    assert both.status_code == 400 and list(both.json()["fields"]) == ["make_up_days"]
    nothing = api.put("/api/v1/calendars/finance/", {"week": {}}, format="json")
    assert nothing.status_code == 400 and list(nothing.json()["fields"]) == ["week"]
    for body in (["not", "an", "object"], {"time_zone": "Asia/Shanghai\x00"}):
        assert api.put("/api/v1/calendars/finance/", body, format="json").status_code == 400
    for zone in ("a" * 5000, "../../etc/passwd", 8, ""):
        refused = api.put("/api/v1/calendars/finance/", {**FINANCE, "time_zone": zone}, format="json")
        assert refused.status_code == 400 and list(refused.json()["fields"]) == ["time_zone"], zone


def test_an_unknown_department_is_a_404(api):
    for path in ("/api/v1/calendars/nowhere/", "/api/v1/calendars/no%20where/", "/api/v1/calendars/x%00y/"):
        assert api.get(path).status_code == 404, path
        assert api.put(path, FINANCE, format="json").status_code == 404, path
    assert (
        not BusinessCalendar.objects.filter(department__isnull=False)
        .exclude(department__code__in=["customer_service", "warehouse"])
        .exists()
    )


def test_staff_may_not_see_calendars_and_managers_only_read_them(staff_api, manager_api):
    assert staff_api.get("/api/v1/calendars/").status_code == 403
    assert staff_api.get("/api/v1/calendars/finance/").status_code == 403
    assert staff_api.put("/api/v1/calendars/finance/", FINANCE, format="json").status_code == 403
    assert manager_api.get("/api/v1/calendars/finance/").status_code == 200
    assert manager_api.put("/api/v1/calendars/finance/", FINANCE, format="json").status_code == 403
    assert not BusinessCalendar.objects.filter(department__code="finance").exists()


@pytest.mark.business_calendars
def test_after_a_split_shift_calendar_for_finance_its_exceptions_get_business_time_deadlines(api, make_rule):
    """The seeded grading row sends payment exceptions to finance: 30 minutes to respond, 120 to resolve."""
    assert api.put("/api/v1/calendars/finance/", FINANCE, format="json").status_code == 200
    rule = make_rule(Category.PAYMENT, Severity.MEDIUM)

    # Wednesday 11:45: 15 minutes before lunch, the rest after 13:30.
    exc = raise_at(rule, local(2026, 11, 4, 11, 45))
    assert exc.department.code == "finance"
    assert exc.first_response_due_at == local(2026, 11, 4, 13, 45)
    assert exc.due_at == local(2026, 11, 4, 15, 15)

    # Friday 17:45 before the company's own make-up Sunday: 15 minutes on Friday, the rest on
    # Sunday (09:00–12:00 on a make-up day).
    exc = raise_at(rule, local(2026, 12, 25, 17, 45))
    assert exc.first_response_due_at == local(2026, 12, 27, 9, 15)
    assert exc.due_at == local(2026, 12, 27, 10, 45)

    # Wednesday 23 December 17:00: the 24th is the company's own holiday, so Friday the 25th.
    exc = raise_at(rule, local(2026, 12, 23, 17, 0))
    assert exc.first_response_due_at == local(2026, 12, 23, 17, 30)
    assert exc.due_at == local(2026, 12, 25, 10, 0)

    # The official National Day holidays (1–7 October) count on finance's own calendar too.
    exc = raise_at(rule, local(2026, 9, 30, 17, 0))
    assert exc.due_at == local(2026, 10, 8, 10, 0)


# --- ladders ------------------------------------------------------------------------------------

LADDER = {
    "severity": "high",
    "levels": [
        {"clock": "first_response", "trigger": "breach", "action": "notify_lead"},
        {"clock": "resolution", "trigger": "share", "share": 75, "action": "remind"},
        {"clock": "resolution", "trigger": "after_breach", "after": "90m", "action": "approval"},
    ],
}


def test_the_ladders_are_listed_one_per_severity(api):
    body = api.get("/api/v1/ladders/").json()
    assert [ladder["severity"] for ladder in body["ladders"]] == ["urgent", "high", "medium", "low"]
    high = next(ladder for ladder in body["ladders"] if ladder["severity"] == "high")
    assert high["levels"][0] == {"clock": "resolution", "trigger": "share", "share": 80, "action": "remind"}
    assert high["levels"][2] == {"clock": "resolution", "trigger": "after_breach", "after": "2h", "action": "approval"}


def test_a_ladder_put_is_read_back_as_sent(api):
    saved = api.put("/api/v1/ladders/high/", LADDER, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json() == LADDER
    assert api.get("/api/v1/ladders/high/").json() == LADDER
    levels = EscalationLevel.objects.filter(ladder__severity="high").order_by("position")
    assert [(level.trigger, level.share_percent, level.after) for level in levels] == [
        ("breach", None, ""),
        ("share", 75, ""),
        ("after_breach", None, "90m"),
    ]
    # Without the severity (the path names it), and with no levels at all.
    assert api.put("/api/v1/ladders/low/", {"levels": []}, format="json").json() == {"severity": "low", "levels": []}


def test_a_bad_ladder_names_each_bad_part_by_its_path(api):
    bad = {
        "levels": [
            {"trigger": "breach", "action": "remind"},
            {"trigger": "share", "share": 150, "action": "remind"},
            {"trigger": "after_breach", "action": "explode"},
            {"trigger": "breach", "share": 10, "action": "remind", "colour": "red"},
        ]
    }
    refused = api.put("/api/v1/ladders/high/", bad, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_document"
    assert set(refused.json()["fields"]) == {
        "levels.1.share",
        "levels.2.after",
        "levels.2.action",
        "levels.3.share",
        "levels.3.colour",
    }
    other = api.put("/api/v1/ladders/high/", {**LADDER, "severity": "low"}, format="json")
    assert other.status_code == 400 and list(other.json()["fields"]) == ["severity"]
    missing = api.put("/api/v1/ladders/high/", {"severity": "high"}, format="json")
    assert missing.status_code == 400 and list(missing.json()["fields"]) == ["levels"]
    assert EscalationLevel.objects.filter(ladder__severity="high").count() == 3  # the seeded ones stay


def test_an_unknown_severity_is_a_404_and_staff_may_not_see_ladders(api, staff_api, manager_api):
    assert api.get("/api/v1/ladders/dire/").status_code == 404
    assert api.put("/api/v1/ladders/dire/", LADDER, format="json").status_code == 404
    assert staff_api.get("/api/v1/ladders/").status_code == 403
    assert staff_api.put("/api/v1/ladders/high/", LADDER, format="json").status_code == 403
    assert manager_api.get("/api/v1/ladders/high/").status_code == 200
    assert manager_api.put("/api/v1/ladders/high/", LADDER, format="json").status_code == 403


# --- grading rows -------------------------------------------------------------------------------

ROW = {
    "position": 5,
    "name": {"zh-hans": "大额京东付款", "en": "Large JD payments"},
    "is_active": True,
    "category": "payment",
    "rule": None,
    "channel": "jd",
    "min_amount": "1000.00",
    "max_amount": "5000.00",
    "customer_tag": "vip",
    "time_from": "22:00",
    "time_to": "06:00",
    "severity": "high",
    "department": "finance",
    "handling": "manual_check",
    "first_response_minutes": 15,
    "resolution_minutes": 60,
    "notify_channels": ["email", "in_app"],
}


def test_grading_rows_are_created_read_replaced_and_deleted(api, make_rule):
    created = api.post("/api/v1/grading-rules/", ROW, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    row_id = body.pop("id")
    assert body == ROW
    assert api.get(f"/api/v1/grading-rules/{row_id}/").json() == {"id": row_id, **ROW}
    listed = api.get("/api/v1/grading-rules/").json()["results"]
    assert listed[0]["id"] == row_id  # position 5 comes before the seeded rows
    assert [row["position"] for row in listed] == sorted(row["position"] for row in listed)

    rule = make_rule(Category.PAYMENT)
    replaced = api.put(
        f"/api/v1/grading-rules/{row_id}/",
        {"rule": rule.code, "department": "management", "handling": "triage", "first_response_minutes": 45},
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert (body["rule"], body["department"], body["first_response_minutes"]) == (rule.code, "management", 45)
    # PUT replaces the row: what is left out takes its default.
    assert (body["position"], body["channel"], body["time_from"], body["min_amount"], body["notify_channels"]) == (
        100,
        "",
        None,
        None,
        [],
    )
    assert body["name"] == {"zh-hans": "", "en": ""}

    assert api.delete(f"/api/v1/grading-rules/{row_id}/").status_code == 204
    assert api.get(f"/api/v1/grading-rules/{row_id}/").status_code == 404
    assert api.delete(f"/api/v1/grading-rules/{row_id}/").status_code == 404
    assert not GradingRule.objects.filter(pk=row_id).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_amount": "6000.00"}, "max_amount"),
        ({"time_to": None}, "time_to"),
        ({"time_from": None}, "time_from"),
        ({"time_to": "22:00"}, "time_to"),
        ({"time_from": "9:30"}, "time_from"),
        ({"time_from": "24:00"}, "time_from"),
        ({"resolution_minutes": 10}, "resolution_minutes"),
        ({"first_response_minutes": 0}, "first_response_minutes"),
        ({"first_response_minutes": "15"}, "first_response_minutes"),
        ({"position": -1}, "position"),
        ({"min_amount": "-1.00"}, "min_amount"),
        ({"min_amount": 1000}, "min_amount"),
        ({"rule": "NO_SUCH_RULE"}, "rule"),
        ({"department": "nowhere"}, "department"),
        ({"department": "fin\x00ance"}, "department"),
        ({"department": None}, "department"),
        ({"handling": "shrug"}, "handling"),
        ({"severity": "dire"}, "severity"),
        ({"channel": "ebay"}, "channel"),
        ({"category": "weather"}, "category"),
        ({"notify_channels": ["email", "pigeon"]}, "notify_channels.1"),
        ({"notify_channels": "email"}, "notify_channels"),
        ({"name": {"en": "x" * 129}}, "name.en"),
        ({"customer_tag": "t" * 33}, "customer_tag"),
    ],
)
def test_a_bad_grading_row_is_a_400_naming_the_field(api, change, field):
    before = GradingRule.objects.count()
    refused = api.post("/api/v1/grading-rules/", {**ROW, **change}, format="json")
    assert refused.status_code == 400, refused.content
    assert list(refused.json()["fields"]) == [field], refused.json()
    row = GradingRule.objects.order_by("position", "id").first()
    replaced = api.put(f"/api/v1/grading-rules/{row.pk}/", {**ROW, **change}, format="json")
    assert replaced.status_code == 400 and list(replaced.json()["fields"]) == [field]
    assert GradingRule.objects.count() == before
    row.refresh_from_db()
    assert row.channel == ""  # the seeded row is unchanged


def test_missing_fields_are_named(api):
    refused = api.post("/api/v1/grading-rules/", {}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"department", "handling", "first_response_minutes"}
    assert api.post("/api/v1/grading-rules/", [ROW], format="json").status_code == 400
    assert api.get("/api/v1/grading-rules/99999999999999999999/").status_code == 404


def test_only_admins_change_the_grading_table(staff_api, manager_api):
    row = GradingRule.objects.first()
    assert staff_api.get("/api/v1/grading-rules/").status_code == 403
    assert manager_api.get(f"/api/v1/grading-rules/{row.pk}/").status_code == 200
    assert manager_api.post("/api/v1/grading-rules/", ROW, format="json").status_code == 403
    assert manager_api.put(f"/api/v1/grading-rules/{row.pk}/", ROW, format="json").status_code == 403
    assert manager_api.delete(f"/api/v1/grading-rules/{row.pk}/").status_code == 403
    assert GradingRule.objects.filter(pk=row.pk).exists()


def test_a_row_added_through_the_api_grades_the_next_exception(api, make_rule):
    rule = make_rule(Category.INVENTORY, Severity.LOW)
    row = {
        "position": 1,
        "rule": rule.code,
        "severity": "urgent",
        "department": "logistics",
        "handling": "carrier_liaison",
        "first_response_minutes": 7,
        "notify_channels": ["in_app"],
    }
    assert api.post("/api/v1/grading-rules/", row, format="json").status_code == 201
    at = local(2026, 11, 4, 10, 0)
    exc = raise_at(rule, at)
    assert (exc.severity, exc.department.code, exc.handling) == ("urgent", "logistics", "carrier_liaison")
    assert (exc.first_response_due_at - at).total_seconds() == 7 * 60  # 24×7 in this test
    assert (exc.due_at - at).total_seconds() == 4 * 7 * 60
