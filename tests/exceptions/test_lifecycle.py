"""Handling transitions: who may move an exception where, and the audit trail each one leaves."""

from __future__ import annotations

import pytest

from apps.accounts.services import user_create
from apps.common.errors import DomainError
from apps.exceptions import lifecycle
from apps.exceptions.evidence import event_text
from apps.exceptions.models import ExceptionEvent, OrderException
from apps.orders import services as order_services
from apps.orders.api import OrderInput
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db
Status = OrderException.Status
Kind = ExceptionEvent.Kind


def _user(name: str, role: str = "staff", department: str = "finance"):
    return user_create(username=name, password=f"pw-{name}-Secret1", role=role, department_code=department)


@pytest.fixture
def unpaid():
    """A paid order without a payment: PAYMENT_STATUS_MISMATCH, routed to finance."""
    data = OrderInput().run_validation(order_body(external_id="UNPAID-1"))
    order_id = order_services.order_ingest(data=data).order_id
    return OrderException.objects.get(order_id=order_id, rule__code="PAYMENT_STATUS_MISMATCH")


@pytest.fixture
def finance():
    return _user("fin-1")


def _kinds(exc) -> list[str]:
    return list(exc.events.order_by("at", "id").values_list("kind", flat=True))


def test_claim_start_and_resolve_leave_a_trail_in_order(unpaid, finance):
    assert unpaid.department.code == "finance"
    lifecycle.exception_claim(exception_id=unpaid.pk, actor=finance)
    lifecycle.exception_start(exception_id=unpaid.pk, actor=finance)
    resolved = lifecycle.exception_resolve(
        exception_id=unpaid.pk, actor=finance, root_cause="partner", note="银行到账延迟"
    )
    assert (resolved.status, resolved.root_cause, resolved.assignee) == (Status.RESOLVED, "partner", finance)
    assert resolved.resolved_at is not None
    assert _kinds(resolved) == [Kind.DETECTED, Kind.CLAIMED, Kind.STARTED, Kind.RESOLVED]
    last = resolved.events.order_by("-id").first()
    assert last.actor == finance
    assert event_text(last) == "Resolved; root cause: Partner. 银行到账延迟"


def test_another_departments_staff_can_neither_claim_nor_resolve(unpaid):
    warehouse = _user("wh-1", department="warehouse")
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_claim(exception_id=unpaid.pk, actor=warehouse)
    assert (refused.value.code, refused.value.status_code) == ("other_department", 403)
    with pytest.raises(DomainError):
        lifecycle.exception_resolve(exception_id=unpaid.pk, actor=warehouse, root_cause="other")
    unpaid.refresh_from_db()
    assert unpaid.status == Status.OPEN and _kinds(unpaid) == [Kind.DETECTED]


def test_only_the_assignee_or_a_manager_starts_or_hands_back(unpaid, finance):
    colleague = _user("fin-2")
    manager = _user("boss-1", role="manager", department="management")
    lifecycle.exception_claim(exception_id=unpaid.pk, actor=finance)
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_start(exception_id=unpaid.pk, actor=colleague)
    assert refused.value.code == "not_yours"
    handed = lifecycle.exception_hand_back(exception_id=unpaid.pk, actor=manager, reason="休假")
    assert (handed.status, handed.assignee) == (Status.OPEN, None)
    event = handed.events.get(kind=Kind.HANDED_BACK)
    assert event.data == {"previous": "fin-1", "reason": "休假"} and event.actor == manager


def test_handing_back_escalating_and_dismissing_need_a_reason(unpaid, finance):
    lifecycle.exception_claim(exception_id=unpaid.pk, actor=finance)
    for transition in (lifecycle.exception_hand_back, lifecycle.exception_escalate, lifecycle.exception_dismiss):
        with pytest.raises(DomainError) as refused:
            transition(exception_id=unpaid.pk, actor=finance, reason="  ")
        assert (refused.value.code, refused.value.field) == ("reason_required", "reason")


def test_a_transition_from_the_wrong_state_is_a_conflict(unpaid, finance):
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_start(exception_id=unpaid.pk, actor=finance)
    assert (refused.value.code, refused.value.status_code) == ("not_allowed_now", 409)
    lifecycle.exception_dismiss(exception_id=unpaid.pk, actor=finance, reason="测试订单")
    with pytest.raises(DomainError):
        lifecycle.exception_resolve(exception_id=unpaid.pk, actor=finance, root_cause="other")


def test_assigning_checks_the_department_and_a_reassignment_needs_a_reason(unpaid, finance):
    lead = _user("fin-lead")
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_assign(exception_id=unpaid.pk, assignee_id=_user("wh-2", department="warehouse").pk)
    assert (refused.value.code, refused.value.field) == ("not_eligible", "assignee")
    lifecycle.exception_assign(exception_id=unpaid.pk, assignee_id=finance.pk)
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_assign(exception_id=unpaid.pk, assignee_id=lead.pk, actor=lead)
    assert refused.value.code == "reason_required"
    moved = lifecycle.exception_assign(exception_id=unpaid.pk, assignee_id=lead.pk, actor=lead, reason="fin-1 休假")
    assert moved.assignee == lead
    assert event_text(moved.events.order_by("-id").first()) == "Assigned to fin-lead. Reason: fin-1 休假"


def test_an_unknown_root_cause_is_refused_naming_the_field(unpaid, finance):
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_resolve(exception_id=unpaid.pk, actor=finance, root_cause="weather")
    assert refused.value.field == "root_cause"


def test_escalated_exceptions_are_assigned_on_by_a_manager(unpaid, finance):
    manager = _user("boss-2", role="manager", department="management")
    lifecycle.exception_escalate(exception_id=unpaid.pk, actor=finance, reason="金额较大")
    assert OrderException.objects.get(pk=unpaid.pk).status == Status.ESCALATED
    assigned = lifecycle.exception_assign(exception_id=unpaid.pk, assignee_id=finance.pk, actor=manager)
    assert assigned.status == Status.ASSIGNED


def test_close_and_reopen(unpaid, finance):
    lifecycle.exception_resolve(exception_id=unpaid.pk, actor=finance, root_cause="process")
    closed = lifecycle.exception_close(exception_id=unpaid.pk, actor=finance)
    assert closed.status == Status.CLOSED and closed.closed_at is not None
    reopened = lifecycle.exception_reopen(exception_id=unpaid.pk, actor=finance, reason="客户仍未付款")
    assert (reopened.status, reopened.root_cause, reopened.resolved_at, reopened.closed_at) == (
        Status.OPEN,
        "",
        None,
        None,
    )
    assert _kinds(reopened)[-3:] == [Kind.RESOLVED, Kind.CLOSED, Kind.REOPENED]


def test_reopening_while_the_rule_has_a_new_active_exception_is_refused(unpaid, finance):
    lifecycle.exception_dismiss(exception_id=unpaid.pk, actor=finance, reason="误报")
    # The next write on the order raises the rule again: a new active exception.
    order_services.order_update(order_id=unpaid.order_id, data={"status": "reviewed"})
    assert OrderException.objects.filter(order_id=unpaid.order_id, rule=unpaid.rule, status=Status.OPEN).exists()
    with pytest.raises(DomainError) as refused:
        lifecycle.exception_reopen(exception_id=unpaid.pk, actor=finance, reason="再看看")
    assert (refused.value.code, refused.value.status_code) == ("already_active", 409)
    assert OrderException.objects.get(pk=unpaid.pk).status == Status.DISMISSED
