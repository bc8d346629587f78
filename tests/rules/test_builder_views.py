"""The rule builder's endpoints: the page, the check (sentence and problems by path), saving through
the rules service, test now, back-test, versions and restore, and who may do what."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.formdesigner import services as form_services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition
from apps.orders.models import Order
from apps.rules import services
from apps.rules.builder import starter_condition
from apps.rules.compiler import condition_q
from apps.rules.diff import rule_document
from apps.rules.fields import Env
from apps.rules.language import rule_check
from apps.rules.models import BacktestRun, ExceptionRule, RuleVersion
from apps.rules.selectors import SILENT_STATUSES
from apps.rules.sentence import condition_sentence
from tests.orders.factories import OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def url(rule: ExceptionRule, name: str, *args) -> str:
    return reverse(f"admin:rules_exceptionrule_designer_{name}", args=[rule.pk, *args])


def post(client, target: str, body: dict):
    return client.post(target, json.dumps(body), content_type="application/json")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def rule():
    return ExceptionRule.objects.get(code="PAYMENT_STATUS_MISMATCH")


def document(rule: ExceptionRule, **changes) -> dict:
    return {**rule_document(rule), **changes}


def test_the_change_page_of_a_rule_is_its_builder(admin_client, rule):
    page = admin_client.get(reverse("admin:rules_exceptionrule_change", args=[rule.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'x-data="ruleBuilder"' in html
    assert "og-rule-builder-config" in html
    assert "static/orderguard/rule-builder.js" in html
    # The saved condition reads as a sentence before the script starts.
    assert "paid total (succeeded payments) &lt; total amount" in html
    config = page.context["builder_config"]
    assert config["document"]["condition"] == rule.condition
    groups = {group["key"] for group in config["catalogue"]["scopes"]["order"]["groups"]}
    assert groups == {"order", "customer", "address", "computed"}
    assert set(config["catalogue"]["collections"]) == {"lines", "shipments", "shipment_lines", "payments"}


def test_the_field_picker_says_each_field_with_its_label_description_and_options(admin_client, rule):
    config = admin_client.get(reverse("admin:rules_exceptionrule_change", args=[rule.pk])).context["builder_config"]
    fields = {
        field["name"]: field for group in config["catalogue"]["scopes"]["order"]["groups"] for field in group["fields"]
    }
    status = fields["status"]
    assert status["label"] == "status" and status["type"] == "enum"
    assert {"value": "paid", "label": "Paid"} in status["choices"]
    assert all(field["description"] for field in fields.values()), "every field has its one-line description"
    assert fields["paid_total"]["unit"] == "in the order's currency"
    assert "valid_phone" in fields["customer_phone"]["verdicts"]
    assert "older_than" in config["catalogue"]["opsByType"]["datetime"]


def test_custom_fields_of_the_published_order_form_are_offered_and_usable(admin_client, rule):
    form = FormDefinition.objects.get(key=ORDER_FORM_KEY)
    fields = [
        {"key": "invoice_title", "type": "text", "label": {"zh-hans": "发票抬头", "en": "Invoice title"}},
        {
            "key": "priority",
            "type": "choice",
            "label": {"zh-hans": "优先级", "en": "Priority"},
            "choices": [
                {"value": "vip", "label": {"zh-hans": "贵宾", "en": "VIP"}},
                {"value": "normal", "label": {"zh-hans": "普通", "en": "Normal"}},
            ],
        },
        {"key": "deposit", "type": "money", "label": {"zh-hans": "定金", "en": "Deposit"}},
    ]
    form_services.form_save_draft(key=ORDER_FORM_KEY, document={**form.draft, "fields": fields})
    form_services.form_publish(key=ORDER_FORM_KEY)
    config = admin_client.get(reverse("admin:rules_exceptionrule_change", args=[rule.pk])).context["builder_config"]
    custom = next(g for g in config["catalogue"]["scopes"]["order"]["groups"] if g["key"] == "custom")
    by_name = {field["name"]: field for field in custom["fields"]}
    assert by_name["data.priority"]["choices"] == [
        {"value": "vip", "label": "VIP"},
        {"value": "normal", "label": "Normal"},
    ]
    assert by_name["data.deposit"]["type"] == "decimal"

    condition = {
        "all": [
            {"field": "data.priority", "op": "eq", "value": "vip"},
            {"field": "data.deposit", "op": "gt", "value": "100"},
        ]
    }
    answer = post(admin_client, url(rule, "check"), {"document": document(rule, condition=condition, params={})})
    assert answer.status_code == 200
    assert answer.json()["sentences"]["en"] == "Priority is VIP and Deposit > 100"
    assert answer.json()["sentences"]["zh-hans"] == "优先级 等于 贵宾 且 定金 > 100"

    vip = OrderFactory(data={"priority": "vip", "deposit": "150.00"})
    OrderFactory(data={"priority": "vip", "deposit": "50.00"})
    OrderFactory(data={"priority": "normal", "deposit": "500.00"})
    OrderFactory(data={})
    tested = post(admin_client, url(rule, "test"), {"condition": condition, "params": {}})
    assert tested.json()["count"] == 1
    assert f'data-order="{vip.pk}"' in tested.json()["html"]


def test_the_check_answers_the_sentence_in_both_languages(admin_client, rule):
    answer = post(admin_client, url(rule, "check"), {"document": document(rule)})
    assert answer.status_code == 200
    body = answer.json()
    assert body["errors"] == {}
    with translation.override("zh-hans"):
        chinese = condition_sentence(rule.condition, rule.params)
    assert body["sentences"] == {
        "zh-hans": chinese,
        "en": "status is one of Paid, Reviewed, Shipped, Delivered and paid total (succeeded payments) < total amount",
    }
    assert "已付总额" in chinese


@pytest.mark.parametrize(
    ("condition", "params", "path", "message"),
    [
        (
            {"all": [{"field": "status", "op": "eq", "value": "paid"}, {"field": "nope", "op": "eq", "value": 1}]},
            {},
            "condition.all.1.field",
            "Unknown field “nope”.",
        ),
        (
            {"any": [{"field": "total_amount", "op": "contains", "value": "1"}]},
            {},
            "condition.any.0.op",
            "does not apply to total_amount",
        ),
        ({"field": "total_amount", "op": "gt", "value": "12,50"}, {}, "condition.value", "decimal number"),
        ({"field": "placed_at", "op": "older_than", "value": "soon"}, {}, "condition.value", "is not a duration"),
        ({"field": "status", "op": "eq", "value": "lost"}, {}, "condition.value", "is not one of"),
        ({"all": []}, {}, "condition.all", "non-empty list"),
        (
            {"lines": "any", "where": {"all": [{"field": "quantity", "op": "gt", "value": {"field": "status"}}]}},
            {},
            "condition.where.all.0.value",
            "Unknown field “status”.",
        ),
        (
            {"field": "amount_gap", "op": "gt", "value": {"param": "tolerance"}},
            {"tolerance": "a lot"},
            "params.tolerance",
            "decimal number",
        ),
        (
            {"field": "amount_gap", "op": "gt", "value": {"param": "tolerance"}},
            {},
            "condition.value",
            "Unknown parameter",
        ),
    ],
)
def test_the_check_names_each_problem_by_its_path(admin_client, rule, condition, params, path, message):
    answer = post(admin_client, url(rule, "check"), {"document": document(rule, condition=condition, params=params)})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert list(errors) == [path]
    assert message in errors[path][0]
    # The sentence is still there: the builder keeps showing what it reads.
    assert set(answer.json()["sentences"]) == {"zh-hans", "en"}


def test_the_check_names_a_missing_name_and_an_unknown_category(admin_client, rule):
    bad = document(rule, name={"zh-hans": " ", "en": "x"}, category="weather")
    errors = post(admin_client, url(rule, "check"), {"document": bad}).json()["errors"]
    assert set(errors) == {"name.zh-hans", "category"}


def test_saving_goes_through_the_rules_service_and_keeps_a_version(admin_client, admin_user, rule):
    condition = {
        "all": [
            {"field": "status", "op": "in", "value": {"param": "paid_like_statuses"}},
            {"field": "paid_total", "op": "lt", "value": {"field": "total_amount"}},
            {"field": "placed_at", "op": "older_than", "value": "2h"},
        ]
    }
    versions_before = rule.versions.count()
    body = {"document": document(rule, condition=condition, severity="high"), "note": "Wait two hours"}
    answer = post(admin_client, url(rule, "save"), body)
    assert answer.status_code == 200, answer.content
    rule.refresh_from_db()
    assert rule.condition == condition
    assert rule.default_severity == "high"
    assert rule.is_time_based is True
    assert answer.json()["document"] == rule_document(rule)
    version = rule.versions.order_by("-number").first()
    assert rule.versions.count() == versions_before + 1
    assert version.note == "Wait two hours" and version.actor == admin_user
    assert version.document == rule_document(rule)


def test_a_bad_rule_is_not_saved_and_its_problem_is_named_by_path(admin_client, rule):
    before = rule.condition
    bad = {"all": [{"field": "status", "op": "eq", "value": "paid"}, {"field": "paid_total", "op": "lt", "value": "x"}]}
    answer = post(admin_client, url(rule, "save"), {"document": document(rule, condition=bad)})
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"condition.all.1.value"}
    rule.refresh_from_db()
    assert rule.condition == before


def test_test_now_counts_the_orders_the_compiled_query_selects(admin_client, rule):
    short = OrderFactory(status="paid", total_amount=Decimal("100.00"))
    PaymentFactory(order=short, amount=Decimal("60.00"), status="succeeded")
    OrderFactory(status="pending_payment")
    OrderFactory(status="cancelled")
    answer = post(admin_client, url(rule, "test"), {"condition": rule.condition, "params": rule.params})
    assert answer.status_code == 200
    expected = (
        Order.objects.exclude(status__in=SILENT_STATUSES)
        .filter(condition_q(rule_check(rule.condition, rule.params), Env(now=timezone.now())))
        .count()
    )
    assert answer.json()["count"] == expected >= 1
    html = answer.json()["html"]
    assert reverse("admin:orders_order_change", args=[short.pk]) in html
    assert short.external_id in html


def test_test_now_refuses_a_bad_condition_by_path(admin_client, rule):
    answer = post(admin_client, url(rule, "test"), {"condition": {"field": "nope", "op": "eq"}, "params": {}})
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["condition.field"]


def test_a_back_test_is_queued_and_reports_its_progress_then_its_days(
    admin_client, rule, django_capture_on_commit_callbacks
):
    OrderFactory(status="paid", total_amount=Decimal("80.00"))
    draft = {"all": [{"field": "status", "op": "eq", "value": "paid"}]}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = post(admin_client, url(rule, "backtest"), {"condition": draft, "params": {}, "days": 7})
    assert answer.status_code == 202
    assert len(callbacks) == 1, "the run is sent to a worker after commit"
    run = BacktestRun.objects.get(pk=answer.json()["id"])
    assert run.days == 7 and run.document["draft"] is True
    status = admin_client.get(answer.json()["url"]).json()
    assert status["status"] == "queued" and "days" not in status

    services.backtest_run_execute(run_id=run.pk)
    done = admin_client.get(answer.json()["url"]).json()
    assert done["status"] == "done" and done["progress"] == 100
    assert len(done["days"]) == 7
    assert sum(day["count"] for day in done["days"]) == 1
    assert all("current" in day for day in done["days"]), "a draft is compared with the saved rule"
    assert "would have been raised" in done["html"]


@pytest.mark.parametrize("days", [0, 91, "ten"])
def test_a_back_test_of_too_many_days_is_refused(admin_client, rule, days):
    answer = post(
        admin_client, url(rule, "backtest"), {"condition": rule.condition, "params": rule.params, "days": days}
    )
    assert answer.status_code == 400
    assert "days" in answer.json()["errors"]
    assert not BacktestRun.objects.exists()


def test_the_versions_read_as_changes_and_one_can_be_restored(admin_client, rule):
    original = rule_document(rule)
    post(admin_client, url(rule, "save"), {"document": document(rule, severity="high")})
    post(admin_client, url(rule, "save"), {"document": document(rule, severity="urgent", is_active=False)})
    rule.refresh_from_db()
    listing = admin_client.get(url(rule, "versions")).content.decode()
    assert "Changed default severity" in listing
    first = rule.versions.order_by("number").first()
    answer = admin_client.post(url(rule, "restore"), {"version": first.number})
    assert answer.status_code == 302
    rule.refresh_from_db()
    assert rule_document(rule) == original
    assert rule.versions.order_by("-number").first().restored_from == first.number


def test_adding_a_rule_leads_to_its_builder_with_a_first_condition_switched_off(admin_client):
    answer = admin_client.post(
        reverse("admin:rules_exceptionrule_add"),
        {
            "code": "LATE_INVOICE",
            "name": "发票迟开",
            "name_en": "Late invoice",
            "category": "process",
            "default_severity": "low",
        },
    )
    rule = ExceptionRule.objects.get(code="LATE_INVOICE")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:rules_exceptionrule_change", args=[rule.pk])
    assert rule.condition == starter_condition() and rule.is_active is False
    assert RuleVersion.objects.filter(rule=rule, number=1).exists()


def test_a_reconciliation_rule_has_no_condition_to_build(admin_client):
    rule = ExceptionRule.objects.get(code="MISSING_ORDER")
    page = admin_client.get(reverse("admin:rules_exceptionrule_change", args=[rule.pk]))
    assert page.context["builder_config"]["hasCondition"] is False
    answer = post(admin_client, url(rule, "save"), {"document": document(rule, severity="urgent")})
    assert answer.status_code == 200
    rule.refresh_from_db()
    assert rule.default_severity == "urgent" and rule.condition == {}


def test_a_manager_reads_and_tests_rules_but_cannot_change_them(client, manager_user, rule):
    client.force_login(manager_user)
    page = client.get(reverse("admin:rules_exceptionrule_change", args=[rule.pk]))
    assert page.status_code == 200
    assert page.context["builder_config"]["canEdit"] is False
    assert post(client, url(rule, "check"), {"document": document(rule)}).status_code == 200
    assert post(client, url(rule, "test"), {"condition": rule.condition, "params": rule.params}).status_code == 200
    saved = post(client, url(rule, "save"), {"document": document(rule, severity="urgent")})
    assert saved.status_code == 403
    assert post(client, url(rule, "backtest"), {"days": 3}).status_code == 403
    assert client.post(url(rule, "restore"), {"version": 1}).status_code == 403
    rule.refresh_from_db()
    assert rule.default_severity == "medium"


def test_staff_see_no_rule_builder(client, staff_user, rule):
    client.force_login(staff_user)
    assert client.get(reverse("admin:rules_exceptionrule_change", args=[rule.pk])).status_code in (302, 403)
    assert post(client, url(rule, "check"), {"document": document(rule)}).status_code in (302, 403)


def test_the_builder_takes_no_plain_form_post(admin_client, rule):
    assert admin_client.post(reverse("admin:rules_exceptionrule_change", args=[rule.pk]), {}).status_code == 405
