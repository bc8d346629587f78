"""The handling engine in-process: cases start once from the outbox, steps run by their kind,
outcomes lead where the document says, deadlines fire as viewflow timers, and a case ends
with its exception."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.exceptions import lifecycle
from apps.exceptions.models import ExceptionEvent, HandlingRequest, OrderException, TimerFiring
from apps.exceptions.services import exceptions_sync
from apps.orders.models import PurchaseRequest
from apps.rules.models import Category
from tests.conftest import _make_user
from tests.orders.factories import OrderFactory
from workflows import selectors, services
from workflows.defaults import DEFAULT_WORKFLOWS
from workflows.document import parse_workflow
from workflows.models import HandlingCase, HandlingTask, WorkflowDefinition, WorkflowVersion

pytestmark = pytest.mark.django_db

PAYMENT_FOUND = {"payment_found": True, "bank_reference": "BANK-778"}


def only_task(user, scope="queue") -> HandlingTask:
    tasks = list(selectors.tasks_for(user, scope=scope))
    assert len(tasks) == 1, tasks
    return tasks[0]


def publish(document: dict) -> WorkflowVersion:
    """A workflow published the way the designer's service stores it (the canonical document)."""
    spec = parse_workflow(document)
    definition = WorkflowDefinition.objects.create(
        key=spec.key, name_zh=spec.name.zh, name_en=spec.name.en, draft=spec.as_json()
    )
    version = WorkflowVersion.objects.create(
        definition=definition, number=1, document=spec.as_json(), published_at=timezone.now()
    )
    definition.published = version
    definition.save(update_fields=["published"])
    return version


def test_every_default_workflow_is_a_valid_document():
    for document in DEFAULT_WORKFLOWS:
        assert parse_workflow(document).key == document["key"]
    published = WorkflowDefinition.objects.filter(published__isnull=False)
    assert sorted(published.values_list("key", flat=True)) == sorted(d["key"] for d in DEFAULT_WORKFLOWS)


def test_payment_exception_is_checked_by_finance_and_resolves(raise_exception, engine_run, finance_user):
    exc = raise_exception(Category.PAYMENT)
    assert HandlingRequest.objects.filter(exception=exc, handled_at__isnull=True).count() == 1

    assert engine_run().started == 1
    case = HandlingCase.objects.get(exception=exc)
    assert case.version.definition.key == "payment-check"
    task = only_task(finance_user)
    assert selectors.task_payload(task)["form"]["key"] == "payment-check"

    services.task_claim(task_id=task.pk, actor=finance_user)
    exc.refresh_from_db()
    assert (exc.status, exc.assignee) == (OrderException.Status.ASSIGNED, finance_user)
    services.task_complete(
        task_id=task.pk, actor=finance_user, outcome="found", data=PAYMENT_FOUND, root_cause="partner", note="ok"
    )

    exc.refresh_from_db()
    case.refresh_from_db()
    assert (exc.status, exc.root_cause) == (OrderException.Status.RESOLVED, "partner")
    assert exc.events.filter(kind=ExceptionEvent.Kind.RESOLVED, actor=finance_user).exists()
    assert case.status == STATUS.DONE and case.finished is not None
    assert not selectors.tasks_for(finance_user, scope="mine").exists()
    assert HandlingTask.objects.get(pk=task.pk).data["form"]["bank_reference"] == "BANK-778"
    # The outbox row is handled: a second sweep starts nothing.
    assert engine_run().started == 0


def test_step_form_refuses_bad_data_naming_the_field(raise_exception, engine_run, finance_user):
    raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    with pytest.raises(services.StepFormError) as refused:
        services.task_complete(task_id=task.pk, actor=finance_user, outcome="found", data={"payment_found": True})
    assert "data.bank_reference" in refused.value.as_fields()
    with pytest.raises(services.DomainError) as unknown:
        services.task_complete(task_id=task.pk, actor=finance_user, outcome="nope", data=PAYMENT_FOUND)
    assert unknown.value.field == "outcome"
    assert HandlingTask.objects.get(pk=task.pk).status == STATUS.NEW


def test_a_request_starts_one_case_even_when_asked_twice(raise_exception, engine_run):
    exc = raise_exception(Category.PAYMENT)
    request = HandlingRequest.objects.get(exception=exc)
    first = services.case_start(request_id=request.pk)
    assert first is not None
    assert services.case_start(request_id=request.pk) is None
    # Even a starter that skipped the lock meets the database's unique key.
    HandlingRequest.objects.filter(pk=request.pk).update(handled_at=None)
    case = HandlingCase.objects.get(pk=first.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        HandlingCase.objects.create(
            flow_class=case.flow_class,
            exception=exc,
            request=request,
            version=case.version,
            steps=case.steps,
            step=case.step,
        )
    assert services.case_start(request_id=request.pk) is None
    assert HandlingCase.objects.filter(exception=exc).count() == 1


def test_raise_to_a_manager_then_send_back(raise_exception, engine_run, finance_user, manager_user):
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_claim(task_id=task.pk, actor=finance_user)
    services.task_escalate(task_id=task.pk, actor=finance_user, reason="Amount differs from the bank's")

    exc.refresh_from_db()
    assert exc.status == OrderException.Status.ESCALATED
    approval = only_task(manager_user, scope="mine")
    assert selectors.task_payload(approval)["kind"] == "approval"
    assert not selectors.tasks_for(finance_user, scope="queue").exists()

    services.task_complete(task_id=approval.pk, actor=manager_user, outcome="reject", note="Check again")
    again = only_task(finance_user)
    assert selectors.task_payload(again)["step"] == "check"
    services.task_complete(task_id=again.pk, actor=finance_user, outcome="found", data=PAYMENT_FOUND)
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.RESOLVED


def test_escalate_outcome_reaches_a_manager_who_resolves(raise_exception, engine_run, finance_user, manager_user):
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_complete(
        task_id=task.pk, actor=finance_user, outcome="not_found", data={"payment_found": False}, note="No trace"
    )
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.ESCALATED
    approval = only_task(manager_user, scope="mine")
    services.task_complete(task_id=approval.pk, actor=manager_user, outcome="approve", root_cause="customer")
    exc.refresh_from_db()
    assert (exc.status, exc.root_cause) == (OrderException.Status.RESOLVED, "customer")


def test_auto_resolve_ends_the_case_and_cancels_its_task_with_a_note(raise_exception, engine_run, finance_user):
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    # The condition cleared: detection auto-resolves the exception.
    exceptions_sync(rule=exc.rule, scope_order_ids=[exc.order_id], matched={})
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.AUTO_RESOLVED

    assert services.cases_end(exception_ids=[exc.pk]) == 1
    task.refresh_from_db()
    assert task.status == STATUS.CANCELED
    assert "resolved itself" in task.data["canceled_note"]
    assert HandlingCase.objects.get(exception=exc).status == STATUS.CANCELED
    assert exc.events.filter(kind=ExceptionEvent.Kind.CASE_ENDED).exists()
    assert not selectors.tasks_for(finance_user, scope="queue").exists()
    with pytest.raises(services.DomainError) as closed:
        services.task_claim(task_id=task.pk, actor=finance_user)
    assert closed.value.status_code == 409


def test_the_sweep_ends_cases_whose_exception_was_dismissed_outside(raise_exception, engine_run, finance_user):
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    lifecycle.exception_dismiss(exception_id=exc.pk, actor=None, reason="Test order")
    assert engine_run().ended == 1
    assert HandlingCase.objects.get(exception=exc).finished is not None


def test_reopen_starts_a_new_case(raise_exception, engine_run, finance_user):
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_complete(task_id=task.pk, actor=finance_user, outcome="found", data=PAYMENT_FOUND)
    lifecycle.exception_reopen(exception_id=exc.pk, actor=None, reason="The bank reversed it")
    assert engine_run().started == 1
    assert HandlingCase.objects.filter(exception=exc).count() == 2
    assert only_task(finance_user)


def test_stock_shortage_raises_a_purchase_request_then_the_warehouse_confirms(raise_exception, engine_run):
    clerk = _make_user("wh-1", "staff", "warehouse")
    details = {"lines": [{"line_no": 1, "sku": "SKU-9", "quantity": 12, "on_hand": 5, "reserved": 1}]}
    exc = raise_exception(Category.INVENTORY, details=details)
    engine_run()
    request = PurchaseRequest.objects.get(exception=exc)
    assert (request.sku, request.quantity) == ("SKU-9", 8)
    task = only_task(clerk)
    assert selectors.task_payload(task)["step"] == "confirm"
    services.task_complete(
        task_id=task.pk,
        actor=clerk,
        outcome="confirmed",
        data={"replenishment_quantity": 8, "expected_date": "2026-12-10"},
    )
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.RESOLVED


def test_call_back_corrections_reach_the_order_and_detection_clears_it(engine_run):
    """Information workflow: the corrected phone goes onto the order, detection re-runs, the
    built-in rule no longer holds, and the case ends resolved."""
    agent = _make_user("cs-1", "staff", "customer_service")
    order = OrderFactory(customer_phone="12", ship_phone="12")
    from apps.orders.services import order_detection_run

    order_detection_run(order_ids=[order.pk])
    exc = OrderException.objects.filter(order=order, category=Category.INFORMATION, status__in=OrderException.ACTIVE)
    exc = exc.select_related("rule").first()
    if exc is None:
        pytest.fail("the factory's order should raise an information exception with a bad phone")
    engine_run()
    task = next(t for t in selectors.tasks_for(agent, scope="queue") if selectors.case_of(t).exception_id == exc.pk)
    services.task_complete(
        task_id=task.pk,
        actor=agent,
        outcome="corrected",
        data={"reached": True, "corrected_phone": "13800138000"},
    )
    exc.refresh_from_db()
    order.refresh_from_db()
    assert order.customer_phone == "13800138000"
    assert exc.status in (OrderException.Status.AUTO_RESOLVED, OrderException.Status.RESOLVED)
    assert HandlingCase.objects.get(exception=exc).finished is not None


def _at_next_timer(case_id):
    """Travel to the moment the case's pending timer is due (the ladder acts on due points only)."""
    timer = Task.objects.get(process_id=case_id, flow_task_type="TIMER", status=STATUS.SCHEDULED)
    return time_machine.travel(timer.scheduled + timedelta(seconds=1), tick=True)


def test_step_deadline_runs_the_ladder_on_viewflow_timers(raise_exception, engine_run, finance_user):
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    # The payment check's 30-minute deadline: the ladder's first point is its 80 % reminder.
    timer = Task.objects.get(process_id=task.process_id, flow_task_type="TIMER", status=STATUS.SCHEDULED)
    assert abs((timer.scheduled - timezone.now()) - timedelta(minutes=24)) < timedelta(minutes=1)
    assert [p["action"] for p in task.data["ladder"]][:2] == ["remind", "breach"]
    with _at_next_timer(task.process_id):
        assert services.timers_fire() == 1
    assert exc.events.filter(kind=ExceptionEvent.Kind.REMINDED).exists()
    # The next point waits on a timer of its own, at the deadline.
    timer = Task.objects.get(process_id=task.process_id, flow_task_type="TIMER", status=STATUS.SCHEDULED)
    assert abs((timer.scheduled - timezone.now()) - timedelta(minutes=30)) < timedelta(minutes=1)
    with _at_next_timer(task.process_id):
        assert services.timers_fire() == 1
    task.refresh_from_db()
    assert task.data["overdue"] is True
    assert task.status == STATUS.NEW  # non-interrupting: the task stays open
    assert exc.events.filter(kind=ExceptionEvent.Kind.STEP_OVERDUE).exists()
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.ESCALATED  # the breach notified the lead
    assert exc.first_response_breached_at is not None  # nobody claimed it in time either
    assert exc.events.filter(kind=ExceptionEvent.Kind.FIRST_RESPONSE_BREACHED).count() == 1
    assert TimerFiring.objects.filter(exception=exc).count() == 2
    assert services.timers_fire() == 0
    # Completing the task cancels its pending ladder timer and the case still ends.
    services.task_complete(task_id=task.pk, actor=finance_user, outcome="found", data=PAYMENT_FOUND)
    assert HandlingCase.objects.get(exception=exc).status == STATUS.DONE
    assert not Task.objects.filter(process_id=task.process_id, status=STATUS.SCHEDULED).exists()


def test_highest_priority_workflow_wins_and_applies_without_restart(raise_exception, engine_run, finance_user):
    publish(
        {
            "key": "vip-payment",
            "name": {"zh-hans": "大客户付款", "en": "VIP payment"},
            "priority": 50,
            "applies_to": {"categories": ["payment"]},
            "steps": [
                {
                    "key": "look",
                    "kind": "task",
                    "name": {"zh-hans": "查看", "en": "Look"},
                    "assign": {"strategy": "user", "user": finance_user.username},
                    "outcomes": [{"key": "ok", "name": {"zh-hans": "好", "en": "OK"}, "to": "pause"}],
                },
                {
                    "key": "pause",
                    "kind": "wait",
                    "name": {"zh-hans": "等待", "en": "Wait"},
                    "wait": "30m",
                },
            ],
        }
    )
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    case = HandlingCase.objects.get(exception=exc)
    assert case.version.definition.key == "vip-payment"
    task = only_task(finance_user, scope="mine")  # assigned to the named user straight away
    services.task_complete(task_id=task.pk, actor=finance_user, outcome="ok")
    timer = Task.objects.get(process_id=case.pk, flow_task_type="TIMER", status=STATUS.SCHEDULED)
    Task.objects.filter(pk=timer.pk).update(scheduled=timezone.now())
    assert services.timers_fire() == 1
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.RESOLVED


def test_other_categories_fall_to_triage_in_the_graded_department(raise_exception, engine_run):
    exc = raise_exception(Category.PROCESS)
    engine_run()
    case = HandlingCase.objects.get(exception=exc)
    assert case.version.definition.key == "triage"
    agent = _make_user("cs-2", "staff", exc.department.code)
    assert only_task(agent)


def test_department_isolation_and_claim_rules(raise_exception, engine_run, finance_user, finance_user2):
    warehouse = _make_user("wh-2", "staff", "warehouse")
    raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    assert not selectors.visible_tasks(warehouse).filter(pk=task.pk).exists()
    with pytest.raises(services.DomainError) as hidden:
        services.task_claim(task_id=task.pk, actor=warehouse)
    assert hidden.value.status_code == 404
    services.task_claim(task_id=task.pk, actor=finance_user)
    with pytest.raises(services.DomainError) as taken:
        services.task_claim(task_id=task.pk, actor=finance_user2)
    assert taken.value.status_code == 409
    with pytest.raises(services.DomainError) as not_theirs:
        services.task_complete(task_id=task.pk, actor=finance_user2, outcome="found", data=PAYMENT_FOUND)
    assert not_theirs.value.status_code == 403
    with pytest.raises(services.DomainError) as no_reason:
        services.task_hand_back(task_id=task.pk, actor=finance_user, reason=" ")
    assert no_reason.value.field == "reason"
    services.task_hand_back(task_id=task.pk, actor=finance_user, reason="On leave tomorrow")
    assert only_task(finance_user2).pk == task.pk


def test_a_dead_broker_leaves_the_committed_exception_to_the_sweep(
    raise_exception, engine_run, django_capture_on_commit_callbacks, caplog
):
    """The after-commit hand-off fails (Redis is down): the write stands, a warning is logged,
    and the sweep starts the case from the outbox row."""
    import tests.bootstrap as bootstrap
    from tests.workflows.test_processes import restart_redis

    if bootstrap._redis is None:
        pytest.fail("This test stops the suite's own Redis: run it without REDIS_URL set (make test does).")
    from apps.exceptions import handoff

    bootstrap._redis.terminate()
    bootstrap._redis.wait(timeout=10)
    handoff._last_warning[0] = float("-inf")  # the first failure of an outage is a warning
    try:
        with (
            caplog.at_level("WARNING", logger="apps.exceptions.handoff"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            exc = raise_exception(Category.PAYMENT)
    finally:
        restart_redis()
    assert "the sweep will" in caplog.text
    assert HandlingRequest.objects.filter(exception=exc, handled_at__isnull=True).exists()
    assert engine_run().started == 1


def test_exceptions_active_before_handling_landed_get_cases_from_the_sweep(raise_exception, engine_run):
    """Migration exceptions/0006 writes an outbox row for every exception already active; the
    sweep starts their cases like any other."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.exceptions.migrations.0006_handling_outbox")
    old = raise_exception(Category.PAYMENT)
    ended = raise_exception(Category.PAYMENT)
    lifecycle.exception_dismiss(exception_id=ended.pk, actor=None, reason="Test order")
    HandlingRequest.objects.all().delete()  # as before handling existed

    migration.request_existing(apps, None)
    assert list(HandlingRequest.objects.values_list("exception_id", flat=True)) == [old.pk]
    assert engine_run().started == 1
    assert HandlingCase.objects.filter(exception=old).count() == 1


def test_an_outage_logs_one_warning_a_minute_not_one_per_commit(caplog):
    from apps.exceptions import handoff

    handoff._last_warning[0] = float("-inf")
    with caplog.at_level("DEBUG", logger="apps.exceptions.handoff"):
        for _ in range(3):
            handoff._log_failure("workflows.cases_start", OSError("no broker"))
    assert [record.levelname for record in caplog.records] == ["WARNING", "DEBUG", "DEBUG"]
