"""The workflow document: what parses, what it means, and every problem named at its path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from apps.accounts.models import Department, User
from apps.formdesigner import services as form_services
from tests.conftest import _make_user
from workflows.document import (
    BACK,
    TERMINALS,
    Action,
    AssignSpec,
    DocumentError,
    OutcomeSpec,
    StepKind,
    Strategy,
    Text,
    format_duration,
    parse_duration,
    parse_workflow,
)


def text(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


def outcome(key: str, to: str) -> dict[str, Any]:
    return {"key": key, "name": text("结果" + key, "Outcome " + key), "to": to}


def example() -> dict[str, Any]:
    """The payment-handling workflow of SPEC §10.6."""
    return {
        "key": "payment-handling",
        "name": text("付款异常处理", "Payment handling"),
        "priority": 10,
        "applies_to": {"categories": ["payment"], "rules": ["PAYMENT_STATUS_MISMATCH"]},
        "steps": [
            {
                "key": "check",
                "kind": "task",
                "name": text("核查付款", "Check the payment"),
                "form": "payment-check",
                "deadline": "30m",
                "assign": {"strategy": "queue", "department": "finance"},
                "outcomes": [
                    {"key": "found", "name": text("找到付款", "Payment found"), "to": "resolve"},
                    {"key": "not_found", "name": text("未找到", "Not found"), "to": "approve"},
                ],
            },
            {
                "key": "approve",
                "kind": "approval",
                "name": text("主管审批", "Lead's approval"),
                "assign": {"strategy": "lead", "department": "finance"},
                "outcomes": [
                    {"key": "approve", "name": text("批准", "Approve"), "to": "resolve"},
                    {"key": "reject", "name": text("驳回", "Reject"), "to": "check"},
                ],
            },
        ],
    }


def task(key: str, *outcomes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "task",
        "name": text("步骤" + key, "Step " + key),
        "outcomes": list(outcomes) or [outcome("ok", "resolve")],
        **extra,
    }


def workflow(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"key": "wf", "name": text("流程", "Workflow"), "steps": list(steps), **extra}


def errors_of(document: Any, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(DocumentError) as caught:
        parse_workflow(document, **kwargs)
    return caught.value.errors


# --- What parses ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_spec_example_parses_into_its_steps_and_outcomes():
    spec = parse_workflow(example())

    assert (spec.key, spec.priority, spec.categories, spec.rules) == (
        "payment-handling",
        10,
        ("payment",),
        ("PAYMENT_STATUS_MISMATCH",),
    )
    assert spec.name == Text(zh="付款异常处理", en="Payment handling")
    check, approve = spec.steps
    assert (check.kind, check.form, check.deadline) == (StepKind.TASK, "payment-check", timedelta(minutes=30))
    assert check.assign == AssignSpec(strategy=Strategy.QUEUE, department="finance")
    assert check.outcome("not_found") == OutcomeSpec(key="not_found", name=Text("未找到", "Not found"), to="approve")
    assert check.outcome("missing") is None
    assert (approve.kind, approve.assign.strategy, approve.outcome("reject").to) == (
        StepKind.APPROVAL,
        Strategy.LEAD,
        "check",
    )
    assert spec.step("approve") is approve
    assert spec.step("nope") is None


@pytest.mark.django_db
def test_a_parsed_workflow_writes_itself_back_as_the_document_it_came_from():
    document = example()
    spec = parse_workflow(document)

    assert parse_workflow(spec.as_json()) == spec
    assert spec.as_json()["steps"][0] == document["steps"][0]


@pytest.mark.django_db
def test_every_kind_and_strategy_survives_the_round_trip(manager_user, staff_user):
    document = workflow(
        task(
            "triage",
            outcome("mine", "call"),
            outcome("again", "triage"),
            form="customer-callback",
            deadline="120m",
            assign={"strategy": "by_field", "field": "channel", "map": {"tmall": "customer_service", "jd": "wh-staff"}},
        ),
        task("call", outcome("fixed", "fix"), assign={"strategy": "user", "user": "wh-staff"}, deadline="2d"),
        {"key": "fix", "kind": "action", "name": text("更正", "Apply"), "action": "apply_corrections"},
        {"key": "pause", "kind": "wait", "name": text("等待", "Wait"), "wait": "1h"},
        task("rr", outcome("ok", "least"), assign={"strategy": "round_robin", "department": "logistics"}),
        task("least", outcome("ok", "boss"), assign={"strategy": "least_loaded"}),
        {
            "key": "boss",
            "kind": "approval",
            "name": text("审批", "Approval"),
            "assign": {"strategy": "user", "user": "boss"},
            "deadline": "1d",
        },
        {
            "key": "higher",
            "kind": "approval",
            "name": text("经理", "Manager"),
            "assign": {"strategy": "manager", "department": "management"},
        },
        description=text("说明", "What this is for"),
        priority=1000,
    )
    document["steps"][6]["outcomes"] = [outcome("approve", "higher"), outcome("reject", "back")]
    spec = parse_workflow(document)

    assert parse_workflow(spec.as_json()) == spec
    assert spec.step("triage").deadline == timedelta(hours=2)
    assert spec.as_json()["steps"][0]["deadline"] == "2h"
    assert spec.step("triage").assign.mapped({"jd"}) == "wh-staff"
    assert spec.step("triage").assign.mapped({"douyin"}) == ""
    assert spec.description == Text("说明", "What this is for")


@pytest.mark.django_db
def test_a_task_without_assignment_goes_to_the_queue_of_the_exceptions_department():
    spec = parse_workflow(workflow(task("check")))

    assert spec.steps[0].assign == AssignSpec(strategy=Strategy.QUEUE)
    assert spec.as_json()["steps"][0]["assign"] == {"strategy": "queue"}
    assert spec.as_json()["applies_to"] == {"categories": [], "rules": []}
    assert spec.priority == 0


@pytest.mark.django_db
def test_an_approval_without_outcomes_approves_to_resolve_and_rejects_back():
    approval = {"key": "ok", "kind": "approval", "name": text("审批", "Approval"), "assign": {"strategy": "lead"}}
    spec = parse_workflow(workflow(task("check", outcome("ask", "ok")), approval))

    assert spec.step("ok").outcomes == (
        OutcomeSpec(key="approve", name=Text("批准", "Approve"), to="resolve"),
        OutcomeSpec(key="reject", name=Text("驳回", "Reject"), to=BACK),
    )


@pytest.mark.django_db
def test_an_approval_as_the_first_step_escalates_a_rejection_having_nothing_to_go_back_to():
    approval = {"key": "ok", "kind": "approval", "name": text("审批", "Approval"), "assign": {"strategy": "manager"}}
    spec = parse_workflow(workflow(approval))

    assert spec.steps[0].outcome("reject").to == "escalate"


@pytest.mark.django_db
def test_actions_and_waits_without_outcomes_go_on_to_the_next_step_and_resolve_after_the_last():
    spec = parse_workflow(
        workflow(
            {
                "key": "order_stock",
                "kind": "action",
                "name": text("补货", "Replenish"),
                "action": "replenishment_request",
            },
            {"key": "pause", "kind": "wait", "name": text("等待", "Wait"), "wait": "3d"},
            {"key": "again", "kind": "action", "name": text("复查", "Recheck"), "action": "recheck"},
        )
    )

    assert [(step.key, step.outcomes[0].key, step.outcomes[0].to) for step in spec.steps] == [
        ("order_stock", "done", "pause"),
        ("pause", "done", "again"),
        ("again", "done", "resolve"),
    ]
    assert spec.step("pause").wait == timedelta(days=3)
    assert spec.step("order_stock").action == Action.REPLENISHMENT_REQUEST


@pytest.mark.django_db
def test_a_recheck_may_branch_on_whether_the_exception_cleared():
    recheck = {
        "key": "again",
        "kind": "action",
        "name": text("复查", "Recheck"),
        "action": "recheck",
        "outcomes": [outcome("cleared", "resolve"), outcome("still_open", "call")],
    }
    spec = parse_workflow(workflow(recheck, task("call", outcome("ok", "resolve"))))

    assert [o.key for o in spec.step("again").outcomes] == ["cleared", "still_open"]


@pytest.mark.parametrize(
    ("category", "rule_code", "applies"),
    [("payment", "OTHER", True), ("logistics", "PAYMENT_STATUS_MISMATCH", True), ("logistics", "OTHER", False)],
)
@pytest.mark.django_db
def test_a_workflow_applies_to_its_categories_or_its_rules(category, rule_code, applies):
    spec = parse_workflow(example())

    assert spec.applies(category=category, rule_code=rule_code) is applies


@pytest.mark.django_db
def test_a_workflow_naming_nothing_applies_to_every_exception():
    spec = parse_workflow(workflow(task("check")))

    assert spec.applies(category="pricing", rule_code="ANY")


@pytest.mark.django_db
def test_reading_a_document_takes_a_bounded_number_of_queries(django_assert_max_num_queries, manager_user):
    steps = [
        task(f"s{index}", outcome("ok", f"s{index + 1}"), assign={"strategy": "queue", "department": "finance"})
        for index in range(27)
    ]
    steps += [
        task("s27", outcome("ok", "s28"), assign={"strategy": "user", "user": "boss"}, form="payment-check"),
        task("s28", outcome("ok", "s29"), form="replenishment"),
        {
            "key": "s29",
            "kind": "approval",
            "name": text("审批", "Approval"),
            "assign": {"strategy": "user", "user": "boss"},
        },
    ]
    document = workflow(*steps, applies_to={"rules": ["PAYMENT_STATUS_MISMATCH"]})

    # Departments, users, rules, and one query per distinct form.
    with django_assert_max_num_queries(5):
        spec = parse_workflow(document)
    assert len(spec.steps) == 30


# --- Durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "duration"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("3d", timedelta(days=3)), ("99999m", None)],
)
def test_a_duration_is_a_whole_number_and_a_unit(written, duration):
    expected = duration if duration is not None else timedelta(minutes=99999)
    assert parse_duration(written) == expected


@pytest.mark.parametrize("written", ["", "0m", "030m", "1.5h", "2 h", "2H", "2w", "-1d", "30", "m", "30m\n", "100000m"])
def test_a_malformed_duration_reads_as_none(written):
    assert parse_duration(written) is None


def test_a_duration_that_is_not_text_reads_as_none():
    assert parse_duration(30) is None


@pytest.mark.parametrize(
    ("duration", "written"),
    [
        (timedelta(minutes=30), "30m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=2), "2h"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=3), "3d"),
    ],
)
def test_a_duration_is_written_in_its_largest_exact_unit(duration, written):
    assert format_duration(duration) == written
    assert parse_duration(written) == duration


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(minutes=-5), timedelta(seconds=1.5)])
def test_a_duration_no_document_can_hold_is_refused(duration):
    with pytest.raises(ValueError):
        format_duration(duration)


# --- Problems, each at its path ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_outcome_pointing_nowhere_is_reported_at_its_to():
    document = example()
    document["steps"][1]["outcomes"][1]["to"] = "recheck"

    assert errors_of(document) == {"steps.1.outcomes.1.to": ["This outcome leads to a step that does not exist."]}


@pytest.mark.django_db
def test_a_step_no_outcome_leads_to_is_reported_as_never_running():
    document = example()
    document["steps"][0]["outcomes"][1]["to"] = "escalate"

    assert errors_of(document) == {"steps.1": ["No outcome leads to this step; it can never run."]}


@pytest.mark.django_db
def test_a_step_reached_only_through_a_default_outcome_is_reachable():
    wait = {"key": "pause", "kind": "wait", "name": text("等待", "Wait"), "wait": "2h"}

    spec = parse_workflow(workflow(wait, task("check")))

    assert spec.steps[0].outcomes[0].to == "check"


@pytest.mark.django_db
def test_steps_that_only_lead_to_each_other_are_reported_as_never_ending():
    document = workflow(task("one", outcome("on", "two")), task("two", outcome("back", "back"), outcome("re", "one")))

    errors = errors_of(document)

    assert set(errors) == {"steps.0", "steps.1"}
    assert "could never end" in errors["steps.0"][0]


@pytest.mark.django_db
def test_an_approval_by_a_queue_has_no_manager_to_decide_it():
    document = example()
    document["steps"][1]["assign"] = {"strategy": "queue", "department": "finance"}

    assert errors_of(document) == {"steps.1.assign": ["An approval needs a manager or a department lead to decide it."]}


@pytest.mark.django_db
def test_an_approval_without_assignment_has_no_manager_to_decide_it():
    document = example()
    del document["steps"][1]["assign"]

    assert errors_of(document) == {"steps.1.assign": ["An approval needs a manager or a department lead to decide it."]}


@pytest.mark.django_db
def test_an_approval_by_a_user_who_is_no_manager_is_refused(staff_user, manager_user):
    document = example()
    document["steps"][1]["assign"] = {"strategy": "user", "user": staff_user.username}

    assert errors_of(document) == {"steps.1.assign": ["An approval needs a manager or a department lead to decide it."]}

    document["steps"][1]["assign"]["user"] = manager_user.username
    assert parse_workflow(document).steps[1].assign.user == "boss"


@pytest.mark.django_db
def test_an_unknown_form_is_reported_at_the_steps_form():
    document = example()
    document["steps"][0]["form"] = "no-such-form"

    assert errors_of(document) == {
        "steps.0.form": ["No published form has the key no-such-form; publish the form first."]
    }


@pytest.mark.django_db
def test_a_form_never_published_is_refused():
    form_services.form_create(
        document={"key": "refund-note", "kind": "step", "name": text("退款", "Refund"), "fields": []}
    )
    document = example()
    document["steps"][0]["form"] = "refund-note"

    assert errors_of(document) == {
        "steps.0.form": ["No published form has the key refund-note; publish the form first."]
    }


@pytest.mark.django_db
def test_a_published_form_that_is_not_a_step_form_is_refused():
    form_services.form_create(
        document={"key": "survey", "kind": "custom", "name": text("调查", "Survey"), "fields": []}
    )
    form_services.form_publish(key="survey")
    document = example()
    document["steps"][0]["form"] = "survey"

    assert errors_of(document) == {"steps.0.form": ["Form survey is not a handling step form."]}


@pytest.mark.django_db
def test_the_order_form_is_no_step_form():
    document = example()
    document["steps"][0]["form"] = "order"

    assert "steps.0.form" in errors_of(document)


@pytest.mark.parametrize("deadline", ["30 minutes", "0h", 30, "1w"])
@pytest.mark.django_db
def test_a_malformed_deadline_is_reported_at_the_deadline(deadline):
    document = example()
    document["steps"][0]["deadline"] = deadline

    assert errors_of(document) == {
        "steps.0.deadline": [
            "A duration is a whole number followed by m (minutes), h (hours) or d (days), such as 30m, 2h or 3d."
        ]
    }


@pytest.mark.django_db
def test_a_wait_needs_how_long_to_wait():
    document = workflow({"key": "pause", "kind": "wait", "name": text("等待", "Wait")})

    assert errors_of(document) == {"steps.0.wait": ["A wait step needs how long to wait, such as 2h."]}


@pytest.mark.django_db
def test_an_unknown_department_is_reported_at_the_department():
    Department.objects.create(code="legacy", name="旧部门", is_active=False)
    document = example()
    document["steps"][0]["assign"]["department"] = "legal"
    document["steps"][1]["assign"]["department"] = "legacy"

    assert errors_of(document) == {
        "steps.0.assign.department": ["There is no active department legal."],
        "steps.1.assign.department": ["There is no active department legacy."],
    }


@pytest.mark.django_db
def test_an_unknown_or_inactive_user_is_reported_at_the_user():
    gone = _make_user("gone", "staff", "finance")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    document = workflow(
        task("one", outcome("ok", "two"), assign={"strategy": "user", "user": "nobody"}),
        task("two", assign={"strategy": "user", "user": "gone"}),
    )

    assert errors_of(document) == {
        "steps.0.assign.user": ["There is no active user nobody."],
        "steps.1.assign.user": ["There is no active user gone."],
    }


@pytest.mark.django_db
def test_a_user_assignment_needs_the_user():
    document = workflow(task("one", assign={"strategy": "user"}))

    assert errors_of(document) == {"steps.0.assign.user": ["Name the user who gets this step (their username)."]}


@pytest.mark.django_db
def test_a_field_map_names_each_bad_entry_at_its_value(staff_user):
    document = workflow(
        task(
            "route",
            assign={
                "strategy": "by_field",
                "field": "channel",
                "map": {"tmall": "customer_service", "jd": "wh-staff", "douyin": "nobody", "ebay": "finance"},
            },
        )
    )

    errors = errors_of(document)

    assert set(errors) == {"steps.0.assign.map.douyin", "steps.0.assign.map.ebay"}
    assert errors["steps.0.assign.map.douyin"] == [
        "nobody is neither an active department's code nor a user's username."
    ]
    assert errors["steps.0.assign.map.ebay"][0].startswith("Not a sales channel")


@pytest.mark.django_db
def test_a_field_map_needs_a_known_field_and_entries():
    document = workflow(task("route", assign={"strategy": "by_field", "field": "total_amount", "map": {}}))

    assert set(errors_of(document)) == {"steps.0.assign.field", "steps.0.assign.map"}


@pytest.mark.django_db
def test_unknown_rules_and_categories_are_reported_at_their_entries():
    document = example()
    document["applies_to"] = {
        "categories": ["payment", "weather"],
        "rules": ["PAYMENT_STATUS_MISMATCH", "NO_SUCH_RULE"],
    }

    errors = errors_of(document)

    assert set(errors) == {"applies_to.categories.1", "applies_to.rules.1"}
    assert errors["applies_to.rules.1"] == ["There is no rule NO_SUCH_RULE."]
    assert errors["applies_to.categories.1"][0].startswith("Not a category of exceptions")


@pytest.mark.django_db
def test_a_code_listed_twice_is_reported_at_its_second_entry():
    document = example()
    document["applies_to"] = {"categories": ["payment", "payment"]}

    assert errors_of(document) == {"applies_to.categories.1": ["payment is listed twice."]}


@pytest.mark.django_db
def test_two_steps_with_one_key_are_reported_at_the_second():
    document = example()
    document["steps"][1]["key"] = "check"

    errors = errors_of(document)

    assert errors["steps.1.key"] == ["Step 1 already has the key check."]
    assert "steps.0.outcomes.1.to" in errors


@pytest.mark.django_db
def test_two_outcomes_with_one_key_are_reported_at_the_second():
    document = example()
    document["steps"][0]["outcomes"][1]["key"] = "found"

    assert errors_of(document) == {"steps.0.outcomes.1.key": ["Outcome 1 already has the key found."]}


@pytest.mark.parametrize("key", ["resolve", "back", "Check", "1st", "a-b", ""])
@pytest.mark.django_db
def test_a_step_key_that_is_malformed_or_an_outcome_target_is_refused(key):
    document = workflow(task(key))

    assert list(errors_of(document)) == ["steps.0.key"]


@pytest.mark.django_db
def test_unknown_keys_are_refused_wherever_they_are():
    document = example()
    document["owner"] = "me"
    document["applies_to"]["channels"] = ["tmall"]
    document["steps"][0]["colour"] = "red"
    document["steps"][0]["action"] = "recheck"
    document["steps"][0]["outcomes"][0]["note"] = "x"
    document["steps"][0]["assign"]["user"] = "boss"
    document["steps"][1]["assign"]["priority"] = 1

    errors = errors_of(document)

    assert errors == {
        "owner": ["Not a property of a workflow."],
        "applies_to.channels": ["A workflow applies to categories and rules; not to this."],
        "steps.0.action": ["Not used by this kind of step (Task)."],
        "steps.0.colour": ["Not a property of a step."],
        "steps.0.assign.user": ["Not used when assigning by Department queue."],
        "steps.0.outcomes.0.note": ["Not a property of an outcome."],
        "steps.1.assign.priority": ["Not a property of an assignment."],
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.update(key="Payment Handling"), "key"),
        (lambda d: d.update(name="付款"), "name"),
        (lambda d: d.update(name={"zh-hans": "付款"}), "name.en"),
        (lambda d: d.update(name=text("付款", "x" * 121)), "name.en"),
        (lambda d: d.update(description=text("说明", "x" * 501)), "description.en"),
        (lambda d: d.update(priority="10"), "priority"),
        (lambda d: d.update(priority=True), "priority"),
        (lambda d: d.update(priority=1001), "priority"),
        (lambda d: d.update(applies_to=["payment"]), "applies_to"),
        (lambda d: d["applies_to"].update(rules="PAYMENT_STATUS_MISMATCH"), "applies_to.rules"),
        (lambda d: d["applies_to"].update(categories=[7]), "applies_to.categories.0"),
        (lambda d: d.update(steps={}), "steps"),
        (lambda d: d.update(steps=[]), "steps"),
        (lambda d: d["steps"].append("review"), "steps.2"),
        (lambda d: d["steps"][0].update(kind="meeting"), "steps.0.kind"),
        (lambda d: d["steps"][0].update(name=None), "steps.0.name"),
        (lambda d: d["steps"][0].update(form=12), "steps.0.form"),
        (lambda d: d["steps"][0].update(assign="finance"), "steps.0.assign"),
        (lambda d: d["steps"][0]["assign"].update(strategy="lottery"), "steps.0.assign.strategy"),
        (lambda d: d["steps"][0]["assign"].update(department=["finance"]), "steps.0.assign.department"),
        (lambda d: d["steps"][0].update(outcomes={"found": "resolve"}), "steps.0.outcomes"),
        (lambda d: d["steps"][0].update(outcomes=[]), "steps.0.outcomes"),
        (lambda d: d["steps"][0]["outcomes"].append("retry"), "steps.0.outcomes.2"),
        (lambda d: d["steps"][0]["outcomes"][0].update(key="Found"), "steps.0.outcomes.0.key"),
        (lambda d: d["steps"][0]["outcomes"][0].update(to=None), "steps.0.outcomes.0.to"),
        (lambda d: d["steps"][0]["outcomes"][0].update(to="back"), "steps.0.outcomes.0.to"),
        (lambda d: d["steps"][1]["outcomes"][0].update(to="approve"), "steps.1.outcomes.0.to"),
    ],
)
@pytest.mark.django_db
def test_a_bad_part_is_reported_at_its_path(change, path):
    document = example()
    change(document)

    assert path in errors_of(document)


@pytest.mark.django_db
def test_a_task_may_lead_back_to_itself_to_try_again():
    document = example()
    document["steps"][0]["outcomes"].append(outcome("retry", "check"))

    assert parse_workflow(document).steps[0].outcome("retry").to == "check"


@pytest.mark.django_db
def test_an_action_offers_only_its_own_outcomes():
    replenish = {
        "key": "stock",
        "kind": "action",
        "name": text("补货", "Replenish"),
        "action": "replenishment_request",
        "outcomes": [outcome("cleared", "resolve")],
    }

    assert errors_of(workflow(replenish)) == {"steps.0.outcomes.0.key": ["This step's outcomes can only be done."]}


@pytest.mark.django_db
def test_a_recheck_needs_an_outcome_for_every_result():
    recheck = {
        "key": "again",
        "kind": "action",
        "name": text("复查", "Recheck"),
        "action": "recheck",
        "outcomes": [outcome("cleared", "resolve")],
    }

    assert errors_of(workflow(recheck)) == {
        "steps.0.outcomes": ["Give a done outcome, or both cleared and still_open."]
    }


@pytest.mark.django_db
def test_an_action_needs_its_action():
    document = workflow({"key": "auto", "kind": "action", "name": text("自动", "Auto"), "action": "send_email"})

    assert list(errors_of(document)) == ["steps.0.action"]


@pytest.mark.django_db
def test_more_than_thirty_steps_are_refused():
    document = workflow(*[task(f"s{index}") for index in range(31)])

    assert errors_of(document) == {"steps": ["A workflow has at most 30 steps."]}


@pytest.mark.django_db
def test_a_stored_workflow_keeps_its_key():
    assert errors_of(example(), key="refund-handling") == {
        "key": ["The workflow's key is refund-handling; it cannot be changed."]
    }
    document = example()
    del document["key"]
    assert parse_workflow(document, key="payment-handling").key == "payment-handling"


@pytest.mark.parametrize("raw", [None, [], "payment-handling", 3])
def test_a_document_that_is_not_an_object_is_refused_as_a_whole(raw):
    assert errors_of(raw) == {"": ["A workflow is an object with a key, a name and steps."]}


@pytest.mark.django_db
def test_every_problem_is_reported_at_once():
    document = example()
    document["key"] = "Bad Key"
    document["steps"][0]["deadline"] = "soon"
    document["steps"][0]["assign"]["department"] = "legal"
    document["steps"][1]["outcomes"][1]["to"] = "nowhere"

    assert set(errors_of(document)) == {
        "key",
        "steps.0.deadline",
        "steps.0.assign.department",
        "steps.1.outcomes.1.to",
    }


def test_the_outcome_targets_are_the_terminals_and_back():
    assert (*TERMINALS, BACK) == ("resolve", "dismiss", "escalate", "back")
