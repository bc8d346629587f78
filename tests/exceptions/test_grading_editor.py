"""The grading table editor (SPEC §10.4): the grading table's console list is an editable grid whose
cells save through the grading services, refusals name their cell, rows are reordered and removed,
and the tester says which row grades an exception and why, deciding exactly as grading does."""

from __future__ import annotations

import json
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Department, User
from apps.exceptions import grading_views
from apps.exceptions.grading import grading_rule_save
from apps.exceptions.models import GradingRule, GradingRuleVersion, OrderException
from apps.exceptions.services import exceptions_sync, grading_decide
from apps.orders.models import Channel
from apps.rules.models import Category, ExceptionRule, Severity
from tests.orders.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

PAGE = "admin:exceptions_gradingrule_changelist"


def url(name: str, *args) -> str:
    return reverse(f"admin:exceptions_gradingrule_editor_{name}", args=args)


def post_json(client, address: str, body) -> object:
    return client.post(address, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _table() -> list[GradingRule]:
    return list(GradingRule.objects.select_related("rule", "department").order_by("position", "id"))


def _cells(row: GradingRule, **changes) -> dict:
    """The row as the editor's script sends it back: every cell, with ``changes``."""
    cells = {
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
        "notify_channels": list(row.notify_channels),
    }
    cells.update(changes)
    return cells


def _payment_row() -> GradingRule:
    return GradingRule.objects.select_related("rule", "department").get(category=Category.PAYMENT)


# --- The page -----------------------------------------------------------------------------------


def test_the_grading_table_list_is_the_editor_with_every_row_in_order(admin_client):
    response = admin_client.get(reverse(PAGE))
    assert response.status_code == 200
    assert "exceptions/grading/editor.html" in [template.name for template in response.templates]
    config = response.context["editor_config"]
    assert [row["id"] for row in config["rows"]] == [row.pk for row in _table()]
    assert config["canEdit"] and config["canAdd"] and config["canDelete"]
    first = config["rows"][0]
    assert first["phrase"] == "category Inventory"
    assert first["deadlines"] == "First response within 10 min, resolution within 40 min"
    assert first["department"] == "warehouse" and first["notify_channels"] == ["in_app"]
    html = response.content.decode()
    # The selects offer names, in the page's language: categories, rules, departments, channels.
    for label in ("Inventory", "Stock shortage", "Warehouse / purchasing", "JD.com", "WeCom robot"):
        assert f">{label}</option>" in html or f">{label}</span>" in html, label


def test_the_editor_speaks_chinese_on_a_chinese_page(admin_client):
    admin_client.cookies["django_language"] = "zh-hans"
    html = admin_client.get(reverse(PAGE)).content.decode()
    for label in (">库存</option>", ">库存不足</option>", ">仓储/采购</option>", ">京东</option>"):
        assert label in html
    config = admin_client.get(reverse(PAGE)).context["editor_config"]
    assert config["rows"][0]["phrase"] == "类别 库存"


def test_a_row_after_one_that_takes_every_exception_is_marked_never_reached(admin_client):
    grading_rule_save(
        rule_id=None,
        values={"position": 2000, "department": "finance", "handling": "manual_check", "first_response_minutes": 5},
    )
    rows = admin_client.get(reverse(PAGE)).context["editor_config"]["rows"]
    assert rows[-1]["note"] == "Never reached: row 8 above takes every exception."
    assert all(row["note"] == "" for row in rows[:-1])


# --- Saving a cell ------------------------------------------------------------------------------


def test_saving_a_cell_replaces_the_row_through_the_service_and_keeps_a_version(admin_client, admin_user):
    row = _payment_row()
    response = post_json(
        admin_client,
        url("save"),
        {"id": row.pk, "row": _cells(row, min_amount="1000", channel="jd", first_response_minutes=20)},
    )
    assert response.status_code == 200, response.content
    row.refresh_from_db()
    assert (row.min_amount, row.channel, row.first_response_minutes) == (Decimal("1000.00"), "jd", 20)
    stored = next(item for item in response.json()["rows"] if item["id"] == row.pk)
    # The answer is the row as stored, written the server's way, and what it matches in words.
    assert stored["min_amount"] == "1000.00"
    assert stored["phrase"] == "category Payment, channel JD.com, amount ≥ 1000.00"
    version = GradingRuleVersion.objects.filter(row_id=row.pk).order_by("-number").first()
    assert version.actor == admin_user
    assert {change["attribute"] for change in version.changes} == {"min_amount", "channel", "first_response_minutes"}


def test_a_save_keeps_the_row_in_its_place(admin_client):
    row = _payment_row()
    position = row.position
    response = post_json(admin_client, url("save"), {"id": row.pk, "row": {**_cells(row), "position": 1}})
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.position == position


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"min_amount": "500", "max_amount": "100"},
            "max_amount",
            "The maximum amount must not be below the minimum amount.",
        ),
        ({"first_response_minutes": 0}, "first_response_minutes", "Ensure this value is greater than or equal to 1."),
        ({"first_response_minutes": None}, "first_response_minutes", "Fill this in."),
        ({"first_response_minutes": "ten"}, "first_response_minutes", "A valid integer is required."),
        (
            {"resolution_minutes": 5},
            "resolution_minutes",
            "The resolution time must not be shorter than the first response time.",
        ),
        ({"time_from": "22:00"}, "time_to", "Give both ends of the time window, or neither."),
        ({"time_from": "08:00", "time_to": "08:00"}, "time_to", "The time window must not be empty."),
        ({"min_amount": "12,5"}, "min_amount", None),
        ({"rule": "NO_SUCH_RULE"}, "rule", "No rule has the code NO_SUCH_RULE."),
        ({"name": {"zh-hans": "长" * 129, "en": ""}}, "name.zh-hans", None),
        ({"notify_channels": ["in_app", "pigeon"]}, "notify_channels.1", None),
    ],
)
def test_a_refused_cell_is_named_by_its_field_and_nothing_is_stored(admin_client, changes, field, message):
    row = _payment_row()
    before = _cells(row)
    response = post_json(admin_client, url("save"), {"id": row.pk, "row": _cells(row, **changes)})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field], body
    if message is not None:
        assert body["errors"][field] == [message]
    row.refresh_from_db()
    assert _cells(row) == before


@pytest.mark.parametrize(
    "body",
    [None, [], {"id": "1", "row": {}}, {"id": True, "row": {}}, {"row": {}}, {"id": 10**30, "row": {}}],
)
def test_a_malformed_save_is_answered_not_a_server_error(admin_client, body):
    response = admin_client.post(url("save"), data=json.dumps(body), content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert len(response.json()["rows"]) == GradingRule.objects.count()


def test_a_row_that_is_not_an_object_is_refused(admin_client):
    row = _payment_row()
    for body in ("not json", {"id": row.pk, "row": ["x"]}):
        data = body if isinstance(body, str) else json.dumps(body)
        response = admin_client.post(url("save"), data=data, content_type="application/json")
        assert response.status_code in (400, 404)
        assert "code" in response.json()


def test_saving_a_row_deleted_meanwhile_answers_the_table_as_it_is(admin_client):
    row = _payment_row()
    cells = _cells(row)
    row.delete()
    response = post_json(admin_client, url("save"), {"id": row.pk, "row": cells})
    assert response.status_code == 404
    assert row.pk not in [item["id"] for item in response.json()["rows"]]


# --- Adding, deleting, reordering ---------------------------------------------------------------


def test_a_new_row_goes_last_switched_off_routed_like_the_last_row(admin_client):
    last = _table()[-1]
    response = post_json(admin_client, url("add"), {})
    assert response.status_code == 200
    added = GradingRule.objects.get(pk=response.json()["added"])
    assert added.is_active is False
    assert added.position == last.position + 10
    assert added.department_id == last.department_id
    assert (added.handling, added.first_response_minutes, added.notify_channels) == ("triage", 60, ["in_app"])
    assert response.json()["rows"][-1]["id"] == added.pk


def test_deleting_a_row_removes_it_and_keeps_its_history(admin_client, admin_user):
    row = _payment_row()
    response = post_json(admin_client, url("delete", row.pk), {})
    assert response.status_code == 200
    assert not GradingRule.objects.filter(pk=row.pk).exists()
    assert row.pk not in [item["id"] for item in response.json()["rows"]]
    removal = GradingRuleVersion.objects.filter(row_id=row.pk).order_by("-number").first()
    assert (removal.action, removal.actor) == (GradingRuleVersion.Action.DELETED, admin_user)
    assert post_json(admin_client, url("delete", row.pk), {}).status_code == 404


def test_reordering_deals_the_positions_out_again_and_first_match_follows(admin_client, admin_user, make_rule):
    table = _table()
    positions = [row.position for row in table]
    catch_all = table[-1]
    versions = GradingRuleVersion.objects.filter(row_id=catch_all.pk).count()
    order = [catch_all.pk] + [row.pk for row in table[:-1]]
    response = post_json(admin_client, url("reorder"), {"order": order})
    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()["rows"]] == order
    assert [row.pk for row in _table()] == order
    # The numbers in use are kept, handed out in the new order.
    assert [row.position for row in _table()] == positions
    # The catch-all is tried first now: it grades a stock shortage.
    now = datetime.now(tz=ZoneInfo("UTC"))
    grade = grading_decide(rule=make_rule(Category.INVENTORY), channel="taobao", amount=None, at=now)
    assert grade.grading_rule_id == catch_all.pk
    # Each move is a change of the row like any other: a version, by whom, saying what changed.
    moved = GradingRuleVersion.objects.filter(row_id=catch_all.pk).order_by("-number")
    assert moved.count() == versions + 1
    assert moved[0].actor == admin_user
    assert moved[0].changes == [{"change": "changed", "attribute": "position", "old": 1000, "new": 10}]


def test_a_row_that_keeps_its_place_gets_no_new_version(admin_client):
    table = _table()
    counts = {row.pk: GradingRuleVersion.objects.filter(row_id=row.pk).count() for row in table}
    order = [table[1].pk, table[0].pk] + [row.pk for row in table[2:]]
    assert post_json(admin_client, url("reorder"), {"order": order}).status_code == 200
    after = {row.pk: GradingRuleVersion.objects.filter(row_id=row.pk).count() for row in table}
    assert [after[row.pk] - counts[row.pk] for row in table] == [1, 1] + [0] * (len(table) - 2)


def test_rows_sharing_a_position_get_distinct_ones_when_reordered(admin_client):
    table = _table()
    GradingRule.objects.filter(pk__in=[table[0].pk, table[1].pk]).update(position=10)
    order = [table[1].pk, table[0].pk] + [row.pk for row in table[2:]]
    assert post_json(admin_client, url("reorder"), {"order": order}).status_code == 200
    stored = _table()
    assert [row.pk for row in stored] == order
    assert [row.position for row in stored][:2] == [10, 11]


@pytest.mark.parametrize("change", ["missing", "extra", "twice"])
def test_an_order_that_is_not_the_table_is_a_conflict_answered_with_the_table(admin_client, change):
    ids = [row.pk for row in _table()]
    order = {"missing": ids[1:], "extra": [*ids, 999999], "twice": [ids[0], *ids[:-1]]}[change]
    response = post_json(admin_client, url("reorder"), {"order": order})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert [item["id"] for item in response.json()["rows"]] == ids
    assert [row.pk for row in _table()] == ids


@pytest.mark.parametrize("order", [None, "1,2", [1, "2"], [True]])
def test_a_malformed_order_is_refused(admin_client, order):
    response = post_json(admin_client, url("reorder"), {"order": order})
    assert response.status_code == 400


# --- The tester ---------------------------------------------------------------------------------


def _test(client, **facts):
    response = post_json(client, url("test"), facts)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_tester_names_the_row_and_why_each_row_above_it_missed(admin_client):
    inventory, payment = _table()[0], _table()[1]
    answer = _test(admin_client, category="payment")
    assert answer["matched"] == payment.pk
    assert answer["rows"][str(inventory.pk)] == {
        "verdict": "missed",
        "words": "No match:",
        "reasons": "the category is Payment; the row needs Inventory",
    }
    assert answer["rows"][str(payment.pk)] == {
        "verdict": "matched",
        "words": "Matches:",
        "reasons": "the category is Payment",
    }
    assert {answer["rows"][str(row.pk)]["verdict"] for row in _table()[2:]} == {"not_tried"}
    assert "Row 2 grades this exception" in answer["html"]
    assert "Finance" in answer["html"] and "30 min" in answer["html"]


def test_the_tester_explains_every_condition_of_a_row(admin_client):
    vip = grading_rule_save(
        rule_id=None,
        values={
            "position": 1,
            "name": {"zh-hans": "京东大客户夜间", "en": "JD VIP at night"},
            "rule": "STOCK_SHORTAGE",
            "channel": Channel.JD,
            "min_amount": Decimal("1000"),
            "max_amount": Decimal("9000"),
            "customer_tag": "vip",
            "time_from": time(22, 0),
            "time_to": time(6, 0),
            "severity": Severity.URGENT,
            "department": "warehouse",
            "handling": "auto_replenishment",
            "first_response_minutes": 5,
        },
    )
    missed = _test(admin_client, rule="PAYMENT_FAILED", channel="taobao", amount="50", tags="", time="12:00")
    assert missed["rows"][str(vip.pk)]["reasons"] == (
        "the rule is Payment failed; the row needs Stock shortage; "
        "the channel is Taobao; the row needs JD.com; "
        "the amount 50.00 is below the row's minimum of 1000.00; "
        "the customer is not tagged vip; "
        "12:00 is outside 22:00–06:00"
    )
    too_much = _test(admin_client, rule="STOCK_SHORTAGE", channel="jd", amount="9500", tags="vip", time="23:30")
    assert too_much["rows"][str(vip.pk)]["reasons"] == "the amount 9500.00 is above the row's maximum of 9000.00"
    matched = _test(
        admin_client, rule="STOCK_SHORTAGE", channel="jd", amount="6800", tags="wholesale, vip", time="05:59"
    )
    assert matched["matched"] == vip.pk
    assert matched["rows"][str(vip.pk)]["reasons"] == (
        "the rule is Stock shortage; the channel is JD.com; the amount 6800.00 is at least 1000.00; "
        "the amount 6800.00 is at most 9000.00; the customer is tagged vip; 05:59 is within 22:00–06:00"
    )
    # Above the high-value threshold the severity goes up a level (urgent stays urgent), and says so.
    assert "Urgent" in matched["html"]
    no_amount = _test(admin_client, rule="STOCK_SHORTAGE", channel="jd", amount=None, tags="vip", time="23:00")
    assert "no order amount; the row needs at least 1000.00" in no_amount["rows"][str(vip.pk)]["reasons"]


def test_the_tester_skips_switched_off_rows_and_says_when_nothing_matches(admin_client):
    GradingRule.objects.update(is_active=False)
    answer = _test(admin_client, category="inventory")
    assert answer["matched"] is None
    assert {entry["verdict"] for entry in answer["rows"].values()} == {"off"}
    assert answer["rows"][str(_table()[0].pk)]["reasons"] == "the row is switched off"
    assert "No row matches" in answer["html"]


def test_the_high_value_raise_is_explained(admin_client):
    answer = _test(admin_client, rule="PAYMENT_STATUS_MISMATCH", amount="8000.00")
    assert "one level up from Medium: the amount is above 5000.00" in answer["html"]
    assert ">High<" in answer["html"]


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({}, "category"),
        ({"rule": "NO_SUCH_RULE"}, "rule"),
        ({"category": "weather"}, "category"),
        ({"category": "payment", "amount": "a lot"}, "amount"),
        ({"category": "payment", "time": "25:00"}, "time"),
        ({"category": "payment", "channel": "ebay"}, "channel"),
    ],
)
def test_the_tester_names_what_it_cannot_read(admin_client, facts, field):
    response = post_json(admin_client, url("test"), facts)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_tester_decides_as_grading_does(admin_client, make_rule):
    """One definition of a match: for many exceptions the tester's row is the one grading picks."""
    for values in (
        {"position": 5, "channel": Channel.JD, "min_amount": Decimal("100")},
        {"position": 6, "customer_tag": "vip", "max_amount": Decimal("300")},
        {"position": 7, "time_from": time(9, 0), "time_to": time(18, 0), "category": Category.LOGISTICS},
    ):
        grading_rule_save(
            rule_id=None,
            values={**values, "department": "finance", "handling": "manual_check", "first_response_minutes": 5},
        )
    zone = ZoneInfo("Asia/Shanghai")
    rules = [make_rule(category) for category in (Category.PAYMENT, Category.LOGISTICS, Category.PRICING)]
    for rule in rules:
        for channel in ("jd", "taobao"):
            for amount in ("50.00", "250.00", "6000.00"):
                for tags in ("", "vip"):
                    for clock in ("08:00", "12:00"):
                        answer = _test(
                            admin_client, rule=rule.code, channel=channel, amount=amount, tags=tags, time=clock
                        )
                        at = datetime.now(tz=zone).replace(hour=int(clock[:2]), minute=0)
                        grade = grading_decide(
                            rule=rule,
                            channel=channel,
                            amount=Decimal(amount),
                            customer_tags=tuple(filter(None, [tags])),
                            at=at,
                        )
                        assert answer["matched"] == grade.grading_rule_id, (rule.code, channel, amount, tags, clock)


def test_an_exception_is_found_by_its_number_or_order_id_with_what_grading_reads(admin_client):
    customer = CustomerFactory(channel="jd", tags=["vip"])
    order = OrderFactory(channel="jd", external_id="JD-GRADE-7", customer=customer, total_amount=Decimal("6800.00"))
    rule = ExceptionRule.objects.get(code="STOCK_SHORTAGE")
    exceptions_sync(rule=rule, scope_order_ids=None, matched={order.pk: {}})
    exception = OrderException.objects.get(order=order)
    for query in (str(exception.pk), "JD-GRADE", "jd-grade-7"):
        results = admin_client.get(url("exceptions"), {"q": query}).json()["results"]
        assert [item["id"] for item in results] == [exception.pk], query
    found = results[0]
    assert found["facts"] == {
        "category": "inventory",
        "rule": "STOCK_SHORTAGE",
        "channel": "jd",
        "amount": "6800.00",
        "tags": "vip",
        "time": exception.detected_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M"),
    }
    assert "JD-GRADE-7" in found["label"] and "Stock shortage" in found["label"]
    # The tester, given those facts, names the row grading chose when the exception was detected.
    answer = _test(admin_client, **found["facts"])
    detected = exception.events.order_by("at").first()
    assert answer["matched"] == detected.data["grading_rule"]
    assert admin_client.get(url("exceptions"), {"q": "nothing-like-it"}).json()["results"] == []
    assert admin_client.get(url("exceptions"), {"q": ""}).json()["results"] == []


# --- Who may do what ----------------------------------------------------------------------------


# --- The table's changes: versions and restore ------------------------------------------------


def _history(client, **query) -> tuple[list[dict], str]:
    response = client.get(url("history"), query)
    assert response.status_code == 200
    return response.context_data["history"], response.content.decode()


def test_each_change_is_listed_in_words_and_an_earlier_version_restores_the_row(admin_client, admin_user):
    row = _payment_row()
    original = _cells(row)
    post_json(admin_client, url("save"), {"id": row.pk, "row": _cells(row, channel="jd", min_amount="1000")})
    page = admin_client.get(reverse(PAGE)).content.decode()
    assert 'id="og-gt-history"' in page
    entries, html = _history(admin_client, row=row.pk)
    assert [item["version"].number for item in entries] == [2, 1]
    newest, first = entries
    assert newest["latest"] and not newest["restorable"] and first["restorable"]
    assert newest["version"].actor == admin_user and newest["place"] == 2
    words = {(change.what, change.old, change.new) for change in newest["rows"]}
    assert ("Changed channel", "any", "JD.com") in words
    assert ("Changed minimum order amount", "—", "1000.00") in words
    assert "Restore version 1" in html and "Restore version 2" not in html

    response = admin_client.post(url("restore"), {"row": row.pk, "version": 1}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(PAGE)
    assert any("as version 1 left it" in str(message) for message in response.context["messages"])
    row.refresh_from_db()
    assert _cells(row) == original
    restored = GradingRuleVersion.objects.filter(row_id=row.pk).order_by("-number").first()
    assert (restored.number, restored.restored_from, restored.actor) == (3, 1, admin_user)


def test_the_changes_read_their_names_at_once_however_many_versions_name_departments(
    admin_client, django_assert_max_num_queries
):
    row = _payment_row()
    for code in ("warehouse", "finance", "logistics", "customer_service", "finance"):
        saved = post_json(admin_client, url("save"), {"id": row.pk, "row": _cells(row, department=code)})
        assert saved.status_code == 200, saved.content
    # The rows, the versions, the newest number of each row, the removals, the names of departments.
    with django_assert_max_num_queries(5):
        context = grading_views.history_context(row_id=None, can_edit=True)
    moved = [item for item in context["history"] if item["version"].row_id == row.pk][:5]
    assert [change.new for item in moved for change in item["rows"]] == [
        "Finance",
        "Customer service",
        "Logistics",
        "Finance",
        "Warehouse / purchasing",
    ]


def test_a_removed_row_is_offered_by_name_and_comes_back_from_its_last_version(admin_client):
    row = _payment_row()
    before = _cells(row)
    post_json(admin_client, url("delete", row.pk), {})
    entries, html = _history(admin_client)
    removal = entries[0]
    assert (removal["version"].row_id, removal["removed"], removal["restorable"]) == (row.pk, True, False)
    assert removal["place"] is None and "removed" in html
    choices = dict(admin_client.get(url("history")).context_data["history_rows"])
    assert choices[row.pk] == f"{row.name_en or row.name} (removed)"
    [kept] = [item for item in entries if item["version"].row_id == row.pk and item["restorable"]]
    admin_client.post(url("restore"), {"row": row.pk, "version": kept["version"].number})
    assert _cells(GradingRule.objects.select_related("rule", "department").get(pk=row.pk)) == before
    assert dict(admin_client.get(url("history")).context_data["history_rows"])[row.pk].startswith("Row ")


def test_restoring_what_there_is_not_says_so_and_changes_nothing(admin_client):
    row = _payment_row()
    count = GradingRuleVersion.objects.count()
    for body in ({"row": row.pk, "version": 99}, {"row": 999999, "version": 1}, {"row": "x", "version": "1"}):
        response = admin_client.post(url("restore"), body, follow=True)
        assert response.status_code == 200
        assert [message.level_tag for message in response.context["messages"]] == ["error"], body
    assert GradingRuleVersion.objects.count() == count


def test_a_manager_reads_and_tests_the_table_but_cannot_change_it(client, manager_user):
    client.force_login(manager_user)
    page = client.get(reverse(PAGE))
    assert page.status_code == 200
    config = page.context["editor_config"]
    assert not config["canEdit"] and not config["canAdd"] and not config["canDelete"]
    assert 'data-action="add-row"' not in page.content.decode()
    assert post_json(client, url("test"), {"category": "payment"}).status_code == 200
    row = _payment_row()
    before = _cells(row)
    assert post_json(client, url("save"), {"id": row.pk, "row": _cells(row, channel="jd")}).status_code == 403
    assert post_json(client, url("add"), {}).status_code == 403
    assert post_json(client, url("delete", row.pk), {}).status_code == 403
    ids = [item.pk for item in _table()]
    assert post_json(client, url("reorder"), {"order": ids[::-1]}).status_code == 403
    entries, html = _history(client)
    assert entries and not any(item["restorable"] for item in entries) and 'data-action="restore"' not in html
    assert client.post(url("restore"), {"row": row.pk, "version": 1}).status_code == 403
    row.refresh_from_db()
    assert _cells(row) == before and [item.pk for item in _table()] == ids


def test_a_console_user_without_the_grading_permissions_gets_403(client):
    member = User.objects.create_user(username="no-grading", password="pw-no-grading-Secret1", is_staff=True)
    member.department = Department.objects.get(code="finance")
    member.save()
    client.force_login(member)
    assert client.get(reverse(PAGE)).status_code == 403
    row = _payment_row()
    for address, body in (
        (url("save"), {"id": row.pk, "row": _cells(row)}),
        (url("add"), {}),
        (url("delete", row.pk), {}),
        (url("reorder"), {"order": []}),
        (url("test"), {"category": "payment"}),
    ):
        assert post_json(client, address, body).status_code == 403, address
    assert client.get(url("exceptions"), {"q": "1"}).status_code == 403
    assert client.get(url("history")).status_code == 403
    assert client.post(url("restore"), {"row": row.pk, "version": 1}).status_code == 403


def test_staff_are_sent_to_sign_in_instead_of_the_console(client, staff_user):
    client.force_login(staff_user)
    for response in (client.get(reverse(PAGE)), post_json(client, url("test"), {"category": "payment"})):
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_the_endpoints_need_the_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    row = _payment_row()
    response = post_json(client, url("save"), {"id": row.pk, "row": _cells(row, channel="jd")})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.channel == ""


# --- The add and change pages (the way without JavaScript) --------------------------------------


def test_the_change_page_saves_through_the_service_with_a_version(admin_client, admin_user):
    row = _payment_row()
    form = {
        "position": str(row.position),
        "name": row.name,
        "name_en": "Payment: checked by hand",
        "is_active": "on",
        "category": "payment",
        "channel": "",
        "min_amount": "",
        "max_amount": "",
        "customer_tag": "",
        "severity": "medium",
        "department": str(row.department_id),
        "handling": "manual_check",
        "first_response_minutes": "30",
        "resolution_minutes": "",
        "notify_channels": ["email", "in_app"],
    }
    response = admin_client.post(reverse("admin:exceptions_gradingrule_change", args=[row.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse(PAGE)
    row.refresh_from_db()
    assert row.name_en == "Payment: checked by hand"
    version = GradingRuleVersion.objects.filter(row_id=row.pk).order_by("-number").first()
    assert version.actor == admin_user and [change["attribute"] for change in version.changes] == ["name"]
