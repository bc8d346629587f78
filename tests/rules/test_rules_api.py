"""The configuration API of rules (SPEC §10.5): rules as documents, their versions and restore,
"test now", the back-test (synchronous and on a worker's run), the builder's field catalogue; and
the grading rows' versions. Admin role only; bad input is a 4xx naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.exceptions.models import GradingRule
from apps.rules import services
from apps.rules.models import BacktestRun, ExceptionRule
from tests.formdesigner.conftest import INVOICE_TITLE, INVOICE_TYPE, publish_form
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules/"
NEW_RULE = {
    "code": "BIG_TMALL",
    "name": {"zh-hans": "天猫大单", "en": "Big Tmall order"},
    "description": "A Tmall order above the limit.",
    "category": "pricing",
    "severity": "low",
    "condition": {
        "all": [
            {"field": "channel", "op": "eq", "value": "tmall"},
            {"field": "total_amount", "op": "gt", "value": {"param": "limit"}},
        ]
    },
    "params": {"limit": "5000.00"},
    "note": "新规则",
}


def url(code: str, action: str = "") -> str:
    return f"{RULES}{code}/" + (f"{action}/" if action else "")


# --- Rules as documents ------------------------------------------------------------------------


def test_the_rules_are_listed_by_code_with_their_version_and_sentence(api):
    answer = api.get(RULES)
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 13
    codes = [rule["code"] for rule in body["results"]]
    assert codes == sorted(codes)
    mismatch = next(rule for rule in body["results"] if rule["code"] == "PAYMENT_STATUS_MISMATCH")
    assert mismatch["version"] == 1
    assert mismatch["severity"] == "medium" and mismatch["source"] == "condition"
    assert mismatch["sentence"].startswith("status is one of Paid")
    assert mismatch["name"] == {"zh-hans": "付款未到账但订单状态已更新", "en": "Paid status without the money"}


def test_a_rule_is_created_as_its_version_one(api, admin_user):
    created = api.post(RULES, NEW_RULE, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["code"], body["version"], body["is_active"], body["is_time_based"]) == ("BIG_TMALL", 1, True, False)
    assert body["params"] == {"limit": "5000.00"}
    assert api.get(url("BIG_TMALL")).json() == body
    [version] = api.get(url("BIG_TMALL", "versions")).json()["results"]
    assert (version["version"], version["saved_by"], version["note"]) == (1, admin_user.username, "新规则")
    assert version["described"] == [{"what": "Rule created", "old": "", "new": ""}]
    assert version["document"]["condition"] == NEW_RULE["condition"]


def test_a_taken_code_and_missing_parts_are_refused_by_name(api):
    assert api.post(RULES, NEW_RULE, format="json").status_code == 201
    again = api.post(RULES, NEW_RULE, format="json")
    assert again.status_code == 400
    assert (again.json()["code"], list(again.json()["fields"])) == ("code_taken", ["code"])

    bare = api.post(RULES, {"code": "lower case", "name": {}}, format="json")
    assert bare.status_code == 400
    assert set(bare.json()["fields"]) == {"code", "name", "category", "severity", "condition"}


def test_a_change_writes_the_next_version_with_what_changed(api, admin_user):
    changed = api.patch(url("AMOUNT_MISMATCH"), {"severity": "high", "note": "更严格"}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["severity"], changed.json()["version"]) == ("high", 2)
    latest, first = api.get(url("AMOUNT_MISMATCH", "versions")).json()["results"]
    assert (latest["version"], first["version"]) == (2, 1)
    assert (latest["saved_by"], first["saved_by"], latest["note"]) == (admin_user.username, None, "更严格")
    assert latest["changes"] == [{"change": "changed", "attribute": "severity", "old": "medium", "new": "high"}]
    assert latest["described"] == [{"what": "Changed default severity", "old": "Medium", "new": "High"}]


def test_a_change_of_one_name_keeps_the_other(api):
    answer = api.patch(url("AMOUNT_MISMATCH"), {"name": {"en": "Total does not add up"}}, format="json")
    assert answer.json()["name"] == {"zh-hans": "金额不符", "en": "Total does not add up"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"condition": {"all": [{"field": "status", "op": "eq", "value": "paid"}, {"field": "nope", "op": "eq"}]}},
            {"condition.all.1.field": ["Unknown field “nope”."]},
        ),
        (
            {"condition": {"any": [{"field": "total_amount", "op": "contains", "value": "1"}]}},
            {"condition.any.0.op"},
        ),
        ({"condition": {"field": "total_amount", "op": "gt", "value": "12,50"}}, {"condition.value"}),
        ({"condition": {"all": []}}, {"condition.all"}),
        ({"condition": []}, {"condition"}),
        ({"params": {"tolerance": "abc"}}, {"params.tolerance"}),
        ({"params": {}}, {"condition.value"}),
        ({"params": ["x"]}, {"params"}),
    ],
)
def test_a_bad_condition_is_a_400_naming_the_node_and_changes_nothing(api, body, fields):
    before = api.get(url("AMOUNT_MISMATCH")).json()
    answer = api.patch(url("AMOUNT_MISMATCH"), body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "invalid_rule"
    assert answer.json()["fields"] == fields if isinstance(fields, dict) else set(answer.json()["fields"]) == fields
    assert api.get(url("AMOUNT_MISMATCH")).json() == before


@pytest.mark.parametrize(
    ("code", "body", "field"),
    [
        ("AMOUNT_MISMATCH", {"code": "OTHER"}, "code"),
        ("AMOUNT_MISMATCH", {"severity": "extreme"}, "severity"),
        ("AMOUNT_MISMATCH", {"name": {"zh-hans": "", "en": ""}}, "name"),
        ("AMOUNT_MISMATCH", {"note": "x" * 501}, "note"),
        ("AMOUNT_MISMATCH", {"condition": {"field": "status\u0000", "op": "is_empty"}}, "condition.field"),
        ("MISSING_ORDER", {"condition": {"field": "status", "op": "is_empty"}}, "condition"),
    ],
)
def test_other_bad_input_is_a_400_naming_the_field(api, code, body, field):
    answer = api.patch(url(code), body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["fields"]


def test_an_unknown_rule_is_a_404(api):
    for path in (url("NO_SUCH_RULE"), url("NO_SUCH_RULE", "versions"), url("NO_SUCH_RULE", "test")):
        answer = api.post(path, {}, format="json") if path.endswith("test/") else api.get(path)
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"


def test_restore_makes_an_old_version_current_as_a_new_one(api):
    api.patch(url("AMOUNT_MISMATCH"), {"severity": "high", "params": {"tolerance": "5.00"}}, format="json")
    restored = api.post(url("AMOUNT_MISMATCH", "restore"), {"version": 1, "note": "撤销"}, format="json")
    assert restored.status_code == 200, restored.content
    body = restored.json()
    assert (body["version"], body["severity"], body["params"]) == (3, "medium", {"tolerance": "0.01"})
    latest = api.get(url("AMOUNT_MISMATCH", "versions")).json()["results"][0]
    assert (latest["restored_from"], latest["note"]) == (1, "撤销")

    missing = api.post(url("AMOUNT_MISMATCH", "restore"), {"version": 7}, format="json")
    assert missing.status_code == 400
    assert (missing.json()["code"], list(missing.json()["fields"])) == ("no_such_version", ["version"])
    assert api.post(url("AMOUNT_MISMATCH", "restore"), {"version": "1"}, format="json").status_code == 400


# --- Test now and the back-test ----------------------------------------------------------------


@pytest.fixture
def orders():
    """Three current orders whose total is 10.00 off their lines, one cancelled, one correct.

    At a fixed afternoon in Shanghai: the back-test's days are Shanghai's, and an order placed an
    hour ago must fall on today whatever the hour the suite runs at."""
    with time_machine.travel(datetime(2026, 12, 2, 7, 0, tzinfo=UTC), tick=True):
        now = timezone.now()
        off = [
            OrderFactory(total_amount=Decimal("269.00"), placed_at=now - timedelta(days=day, hours=1))
            for day in (0, 1, 3)
        ]
        OrderFactory(total_amount=Decimal("269.00"), status="cancelled")
        OrderFactory(total_amount=Decimal("259.00"))
        yield off


def test_test_now_counts_the_saved_rule_or_a_draft(api, orders):
    saved = api.post(url("AMOUNT_MISMATCH", "test"), {}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["count"] == 3
    assert [row["id"] for row in saved.json()["sample"]] == [order.pk for order in orders]
    assert saved.json()["sample"][0]["total_amount"] == "269.00"

    draft = api.post(url("AMOUNT_MISMATCH", "test"), {"params": {"tolerance": "20.00"}}, format="json")
    assert draft.json() == {"count": 0, "sample": []}


def test_a_test_of_a_bad_draft_or_a_reconciliation_rule_is_refused(api):
    bad = api.post(url("AMOUNT_MISMATCH", "test"), {"condition": {"any": [{"field": "x", "op": "eq"}]}}, format="json")
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["condition.any.0.field"]
    missing = api.post(url("MISSING_ORDER", "test"), {}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "no_condition"


def test_the_back_test_answers_per_day_and_compares_a_draft_with_the_saved_rule(api, orders):
    saved = api.post(url("AMOUNT_MISMATCH", "backtest"), {"days": 7}, format="json")
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert (body["total"], body["dismissed"], len(body["days"])) == (3, 0, 7)
    assert [row["count"] for row in body["days"]][-4:] == [1, 0, 1, 1]
    assert "current" not in body["days"][0] and "current_total" not in body

    draft = api.post(url("AMOUNT_MISMATCH", "backtest"), {"days": 2, "params": {"tolerance": "20.00"}}, format="json")
    assert (draft.json()["total"], draft.json()["current_total"]) == (0, 2)
    assert [row["current"] for row in draft.json()["days"]] == [1, 1]


@pytest.mark.parametrize("days", [0, 91, "7", None, 7.5])
def test_a_back_test_outside_one_to_ninety_days_is_refused(api, days):
    answer = api.post(url("AMOUNT_MISMATCH", "backtest"), {"days": days}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()["fields"]) == ["days"]


def test_an_async_back_test_is_queued_and_read_back_as_a_run(api, orders, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = api.post(url("AMOUNT_MISMATCH", "backtest") + "?async=1", {"days": 7}, format="json")
    assert queued.status_code == 202, queued.content
    run_id = queued.json()["run"]
    assert len(callbacks) == 1
    waiting = api.get(f"/api/v1/backtests/{run_id}/").json()
    assert (waiting["status"], waiting["progress"], waiting["result"], waiting["rule"]) == (
        "queued",
        0,
        None,
        "AMOUNT_MISMATCH",
    )

    services.backtest_run_execute(run_id=run_id)  # what the worker does (tests/rules/test_backtest_processes.py)

    done = api.get(f"/api/v1/backtests/{run_id}/").json()
    assert (done["status"], done["progress"], done["error"]) == ("done", 100, "")
    assert done["result"]["total"] == 3
    assert api.get(f"/api/v1/backtests/{run_id + 1}/").status_code == 404
    assert BacktestRun.objects.get(pk=run_id).actor is not None


def test_an_async_back_test_is_refused_before_it_is_queued(api):
    answer = api.post(url("AMOUNT_MISMATCH", "backtest") + "?async=1", {"days": 7, "params": {"x": 1}}, format="json")
    assert answer.status_code == 400
    assert not BacktestRun.objects.exists()


# --- The field catalogue -----------------------------------------------------------------------


def test_the_field_catalogue_groups_fields_by_object_in_both_languages(api):
    answer = api.get(f"{RULES}fields/")
    assert answer.status_code == 200
    body = answer.json()
    groups = {group["key"]: group for group in body["groups"]}
    assert {"order", "customer", "address", "computed", "line", "payment", "shipment"} <= set(groups)
    assert groups["order"]["collection"] is None and groups["line"]["collection"] == "lines"
    status = next(field for field in groups["order"]["fields"] if field["name"] == "status")
    assert status["type"] == "enum"
    assert {"value": "paid", "label": {"zh-hans": "已付款", "en": "Paid"}} in status["choices"]
    assert status["operators"] == ["eq", "ne", "in", "not_in", "is_empty", "is_not_empty"]
    paid_total = next(field for field in groups["computed"]["fields"] if field["name"] == "paid_total")
    assert paid_total["label"]["en"] and paid_total["label"]["zh-hans"] != paid_total["label"]["en"]
    operators = {operator["op"]: operator for operator in body["operators"]}
    assert (operators["between"]["value"], operators["is_empty"]["value"], operators["older_than"]["value"]) == (
        "pair",
        "none",
        "duration",
    )


def test_the_catalogue_offers_the_published_order_forms_custom_fields(api):
    assert "custom" not in {group["key"] for group in api.get(f"{RULES}fields/").json()["groups"]}
    publish_form("order", [INVOICE_TITLE, INVOICE_TYPE])
    groups = {group["key"]: group for group in api.get(f"{RULES}fields/").json()["groups"]}
    custom = {field["name"]: field for field in groups["custom"]["fields"]}
    assert custom["data.invoice_title"]["label"] == {"zh-hans": "发票抬头", "en": "Invoice title"}
    assert custom["data.invoice_type"]["choices"][0] == {
        "value": "company",
        "label": {"zh-hans": "企业", "en": "Company"},
    }


# --- Grading rows' versions --------------------------------------------------------------------

ROW = {
    "position": 5,
    "name": {"zh-hans": "大额京东付款", "en": "Large JD payments"},
    "category": "payment",
    "channel": "jd",
    "min_amount": "1000.00",
    "department": "finance",
    "handling": "manual_check",
    "first_response_minutes": 15,
}


def test_grading_rows_have_versions_and_a_removed_row_is_restored(api, admin_user):
    row_id = api.post("/api/v1/grading-rules/", ROW, format="json").json()["id"]
    api.put(f"/api/v1/grading-rules/{row_id}/", {**ROW, "first_response_minutes": 30}, format="json")
    assert api.delete(f"/api/v1/grading-rules/{row_id}/").status_code == 204

    listed = api.get(f"/api/v1/grading-rules/{row_id}/versions/")
    assert listed.status_code == 200
    removed, changed, created = listed.json()["results"]
    assert [v["action"] for v in (removed, changed, created)] == ["deleted", "changed", "created"]
    assert changed["described"] == [{"what": "Changed first response (minutes)", "old": "15 min", "new": "30 min"}]
    assert changed["saved_by"] == admin_user.username
    assert created["document"]["min_amount"] == "1000.00"

    restored = api.post(f"/api/v1/grading-rules/{row_id}/restore/", {"version": 2}, format="json")
    assert restored.status_code == 200, restored.content
    assert (restored.json()["id"], restored.json()["first_response_minutes"]) == (row_id, 30)
    assert GradingRule.objects.filter(pk=row_id).exists()

    refused = api.post(f"/api/v1/grading-rules/{row_id}/restore/", {"version": 3}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "no_such_version"
    assert api.get("/api/v1/grading-rules/987654/versions/").status_code == 404
    assert api.post("/api/v1/grading-rules/987654/restore/", {"version": 1}, format="json").status_code == 404


# --- Who may ----------------------------------------------------------------------------------


def test_staff_may_not_read_or_change_rules(staff_api):
    for path in (RULES, url("AMOUNT_MISMATCH"), url("AMOUNT_MISMATCH", "versions"), f"{RULES}fields/"):
        assert staff_api.get(path).status_code == 403
    for action in ("test", "backtest", "restore"):
        assert (
            staff_api.post(url("AMOUNT_MISMATCH", action), {"days": 1, "version": 1}, format="json").status_code == 403
        )
    assert staff_api.patch(url("AMOUNT_MISMATCH"), {"severity": "low"}, format="json").status_code == 403
    assert staff_api.get("/api/v1/grading-rules/1/versions/").status_code == 403


def test_managers_read_rules_but_configure_nothing(manager_api):
    """Managers read the rules (as they read the grading table); editing, testing, back-testing and
    the history are the admins'."""
    assert manager_api.get(RULES).status_code == 200
    assert manager_api.post(RULES, NEW_RULE, format="json").status_code == 403
    assert manager_api.patch(url("AMOUNT_MISMATCH"), {"severity": "low"}, format="json").status_code == 403
    for action in ("test", "backtest", "restore"):
        assert (
            manager_api.post(url("AMOUNT_MISMATCH", action), {"days": 1, "version": 1}, format="json").status_code
            == 403
        )
    assert manager_api.get(url("AMOUNT_MISMATCH", "versions")).status_code == 403
    run = services.backtest_run_start(rule=ExceptionRule.objects.get(code="AMOUNT_MISMATCH"), days=1)
    assert manager_api.get(f"/api/v1/backtests/{run.pk}/").status_code == 403
    assert manager_api.post("/api/v1/grading-rules/1/restore/", {"version": 1}, format="json").status_code == 403


def test_without_a_token_it_is_a_401(anon_api):
    assert anon_api.get(RULES).status_code == 401
    assert anon_api.post(url("AMOUNT_MISMATCH", "backtest"), {"days": 1}, format="json").status_code == 401
