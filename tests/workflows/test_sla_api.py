"""The SLA and approval additions to the handling API (SPEC §9.4–§9.6): pausing and resuming an
exception's clock, a manager's approvals queue and decisions (each in the audit trail), and
proposals that go to a manager above what staff may decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Department, Role
from apps.exceptions.models import ExceptionEvent, OrderException
from apps.rules.models import Category
from workflows import selectors

pytestmark = pytest.mark.django_db

FOUND = {"outcome": "found", "data": {"payment_found": True, "bank_reference": "BR-1"}, "root_cause": "partner"}
DECIDED = ExceptionEvent.Kind.APPROVAL_DECIDED


@pytest.fixture
def payment_task(raise_exception, engine_run, finance_user):
    raise_exception(Category.PAYMENT)
    engine_run()
    return selectors.tasks_for(finance_user, scope="queue").get()


@pytest.fixture
def claimed(finance_api, payment_task):
    assert finance_api.post(f"/api/v1/tasks/{payment_task.pk}/claim/").status_code == 200
    return payment_task


@pytest.fixture
def approval(finance_api, manager_api, manager_user, claimed):
    """The payment task raised to a manager: the manager's approval task (its id)."""
    raised = finance_api.post(f"/api/v1/tasks/{claimed.pk}/escalate/", {"reason": "Large amount"}, format="json")
    assert raised.status_code == 200, raised.content
    rows = manager_api.get("/api/v1/tasks/?scope=approvals").json()["results"]
    assert [row["kind"] for row in rows] == ["approval"]
    return rows[0]


def exception_of(task_row: dict) -> OrderException:
    return OrderException.objects.get(pk=task_row["exception"])


def decisions(exc: OrderException) -> list[dict]:
    return [event.data for event in exc.events.filter(kind=DECIDED).order_by("at", "id")]


def decide(client, task_id: int, body: dict):
    return client.post(f"/api/v1/tasks/{task_id}/decide/", body, format="json")


# --- pause and resume ---------------------------------------------------------------------------


def test_a_task_shows_its_business_time_left_and_whether_the_clock_is_paused(finance_api, claimed):
    row = finance_api.get("/api/v1/tasks/").json()["results"][0]
    assert isinstance(row["business_seconds_left"], int) and row["business_seconds_left"] > 0
    assert row["paused"] is False and row["pause_reason"] is None


def test_pause_and_resume_move_the_deadlines_by_the_paused_time(finance_api, claimed):
    exc_id = finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()["exception"]
    before = OrderException.objects.get(pk=exc_id)
    task_due = parse_datetime(finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()["due_at"])

    paused = finance_api.post(
        f"/api/v1/exceptions/{exc_id}/pause/", {"reason": "customer", "note": "Asked for a photo"}, format="json"
    )
    assert paused.status_code == 200, paused.content
    body = paused.json()
    assert (body["id"], body["paused"], body["pause_reason"]) == (exc_id, True, "customer")
    assert parse_datetime(body["due_at"]) == before.due_at
    row = finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()
    assert row["paused"] is True and row["pause_reason"] == "customer"
    assert row["exception_detail"]["pause_reason"] == "customer" and row["exception_detail"]["paused_at"]

    # 24×7 calendars in these tests: the whole hour paused is business time.
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True):
        resumed = finance_api.post(f"/api/v1/exceptions/{exc_id}/resume/", {"note": "Photo arrived"}, format="json")
    assert resumed.status_code == 200, resumed.content
    body = resumed.json()
    assert body["paused"] is False and body["pause_reason"] is None
    moved = parse_datetime(body["due_at"]) - before.due_at
    assert timedelta(minutes=59) < moved < timedelta(minutes=61)
    moved = parse_datetime(body["first_response_due_at"]) - before.first_response_due_at
    assert timedelta(minutes=59) < moved < timedelta(minutes=61)
    moved = parse_datetime(finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()["due_at"]) - task_due
    assert timedelta(minutes=59) < moved < timedelta(minutes=61)

    exc = OrderException.objects.get(pk=exc_id)
    paused_event = exc.events.get(kind=ExceptionEvent.Kind.PAUSED)
    assert paused_event.data == {"reason": "customer", "note": "Asked for a photo"}
    assert paused_event.actor.username == "fin-staff"
    resumed_event = exc.events.get(kind=ExceptionEvent.Kind.RESUMED)
    assert 3500 < resumed_event.data["paused_seconds"] < 3700 and resumed_event.data["note"] == "Photo arrived"


def test_pausing_twice_or_resuming_a_running_clock_is_a_409(finance_api, claimed):
    exc_id = finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()["exception"]
    base = f"/api/v1/exceptions/{exc_id}/"
    running = finance_api.post(base + "resume/", {}, format="json")
    assert running.status_code == 409 and running.json()["code"] == "not_paused"
    assert finance_api.post(base + "pause/", {"reason": "carrier"}, format="json").status_code == 200
    again = finance_api.post(base + "pause/", {"reason": "finance"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_paused"
    assert OrderException.objects.get(pk=exc_id).pause_reason == "carrier"


def test_a_pause_needs_a_known_reason_and_other_needs_a_note(finance_api, claimed):
    exc_id = finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()["exception"]
    url = f"/api/v1/exceptions/{exc_id}/pause/"
    for body in ({}, {"reason": "lunch"}, {"reason": 3}):
        refused = finance_api.post(url, body, format="json")
        assert refused.status_code == 400 and list(refused.json()["fields"]) == ["reason"], body
    bare_other = finance_api.post(url, {"reason": "other"}, format="json")
    assert bare_other.status_code == 400 and list(bare_other.json()["fields"]) == ["note"]
    assert OrderException.objects.get(pk=exc_id).paused_at is None


def test_another_departments_exception_cannot_be_paused(warehouse_api, finance_api, claimed):
    exc_id = finance_api.get(f"/api/v1/tasks/{claimed.pk}/").json()["exception"]
    for action, body in (("pause/", {"reason": "customer"}), ("resume/", {})):
        assert warehouse_api.post(f"/api/v1/exceptions/{exc_id}/{action}", body, format="json").status_code == 404
    assert finance_api.post("/api/v1/exceptions/999999/pause/", {"reason": "customer"}, format="json").status_code == (
        404
    )
    assert OrderException.objects.get(pk=exc_id).paused_at is None


# --- a manager's approvals ----------------------------------------------------------------------


def test_scope_approvals_lists_a_managers_escalation_task(finance_api, manager_api, approval):
    assert approval["step"] == "escalation" and approval["status"] == "assigned"
    assert [o["key"] for o in approval["outcomes"]] == ["approve", "reject", "dismiss"]
    assert finance_api.get("/api/v1/tasks/?scope=approvals").json()["results"] == []
    unknown = finance_api.get("/api/v1/tasks/?scope=everything")
    assert unknown.status_code == 400 and "approvals" in unknown.json()["fields"]["scope"][0]


def test_approving_resolves_the_exception_with_the_decision_in_the_audit_trail(manager_api, approval):
    decided = decide(manager_api, approval["id"], {"decision": "approve"})
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "done"
    exc = exception_of(approval)
    assert exc.status == OrderException.Status.RESOLVED
    assert [(d["decision"], d["step"]) for d in decisions(exc)] == [("approve", "escalation")]
    assert exc.events.get(kind=DECIDED).actor.username == "boss"
    assert manager_api.get("/api/v1/tasks/?scope=approvals").json()["results"] == []
    again = decide(manager_api, approval["id"], {"decision": "approve"})
    assert again.status_code == 409 and again.json()["code"] == "task_not_open"


def test_rejecting_needs_a_reason_and_sends_the_task_back_to_the_assignee(finance_api, manager_api, approval):
    bare = decide(manager_api, approval["id"], {"decision": "reject"})
    assert bare.status_code == 400 and list(bare.json()["fields"]) == ["reason"]
    rejected = decide(manager_api, approval["id"], {"decision": "reject", "reason": "Call the bank first"})
    assert rejected.status_code == 200, rejected.content
    back = finance_api.get("/api/v1/tasks/").json()["results"]
    assert [row["step"] for row in back] == ["check"]
    assert [(d["decision"], d["reason"]) for d in decisions(exception_of(approval))] == [
        ("reject", "Call the bank first")
    ]


def test_raising_the_severity_keeps_the_approval_open(manager_api, approval):
    assert exception_of(approval).severity == "medium"
    raised = decide(manager_api, approval["id"], {"decision": "raise_severity", "reason": "A key account"})
    assert raised.status_code == 200, raised.content
    assert raised.json()["status"] == "assigned" and raised.json()["severity"] == "high"
    exc = exception_of(approval)
    assert exc.severity == "high"
    assert exc.events.filter(kind=ExceptionEvent.Kind.SEVERITY_RAISED).count() == 1
    assert [d["decision"] for d in decisions(exc)] == ["raise_severity"]
    assert [row["id"] for row in manager_api.get("/api/v1/tasks/?scope=approvals").json()["results"]] == [
        approval["id"]
    ]


def test_reassigning_gives_the_case_to_another_member_of_the_department(manager_api, finance_user2, approval):
    for user in ("boss", "nobody", "²", "9" * 30):  # a manager is no member of finance
        outsider = decide(manager_api, approval["id"], {"decision": "reassign", "reason": "r", "user": user})
        assert outsider.status_code == 400 and list(outsider.json()["fields"]) == ["user"], user
    moved = decide(
        manager_api, approval["id"], {"decision": "reassign", "reason": "Knows the bank", "user": "fin-staff2"}
    )
    assert moved.status_code == 200, moved.content
    tasks = selectors.tasks_for(finance_user2, scope="mine")
    assert [task.data["step"] for task in tasks] == ["check"]
    assert [(d["decision"], d["user"]) for d in decisions(exception_of(approval))] == [("reassign", "fin-staff2")]


def test_a_decision_on_a_task_that_is_no_approval_is_refused(finance_api, claimed):
    refused = decide(finance_api, claimed.pk, {"decision": "approve"})
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["decision"]
    unknown = decide(finance_api, claimed.pk, {"decision": "shrug"})
    assert unknown.status_code == 400 and list(unknown.json()["fields"]) == ["decision"]


def test_staff_cannot_decide_a_managers_approval(finance_api, approval):
    """A manager's approval is not in a finance member's tasks at all: a 404."""
    response = decide(finance_api, approval["id"], {"decision": "approve"})
    assert response.status_code == 404
    assert exception_of(approval).status == OrderException.Status.ESCALATED


# --- proposals ----------------------------------------------------------------------------------


def complete(client, task_id: int, proposal: dict):
    return client.post(f"/api/v1/tasks/{task_id}/complete/", {**FOUND, "proposal": proposal}, format="json")


def test_a_refund_above_the_approval_limit_waits_for_a_manager_and_one_below_resolves(
    raise_exception, engine_run, finance_user, finance_api, manager_api, manager_user
):
    Department.objects.filter(code="finance").update(approval_limit=100)
    small = raise_exception(Category.PAYMENT)
    engine_run()
    task = selectors.tasks_for(finance_user, scope="queue").get()
    done = complete(finance_api, task.pk, {"kind": "refund", "amount": "80.00"})
    assert done.status_code == 200, done.content
    small.refresh_from_db()
    assert small.status == OrderException.Status.RESOLVED
    assert manager_api.get("/api/v1/tasks/?scope=approvals").json()["results"] == []

    big = raise_exception(Category.PAYMENT)
    engine_run()
    task = selectors.tasks_for(finance_user, scope="queue").get()
    waiting = complete(finance_api, task.pk, {"kind": "refund", "amount": "800.00", "note": "Damaged"})
    assert waiting.status_code == 200, waiting.content
    big.refresh_from_db()
    assert big.status == OrderException.Status.ESCALATED
    rows = manager_api.get("/api/v1/tasks/?scope=approvals").json()["results"]
    assert [row["exception"] for row in rows] == [big.pk]
    assert decide(manager_api, rows[0]["id"], {"decision": "approve"}).status_code == 200
    big.refresh_from_db()
    assert big.status == OrderException.Status.RESOLVED
    assert "800.00" in decisions(big)[0]["proposal"]


def test_a_bad_proposal_names_its_field(finance_api, payment_task):
    for proposal, field in [
        ({"kind": "refund"}, "proposal.amount"),
        ({"kind": "refund", "amount": "-5"}, "proposal.amount"),
        ({"kind": "refund", "amount": 5}, "proposal.amount"),
        ({"kind": "refund", "amount": "1e3"}, "proposal.amount"),
        ({"kind": "gift"}, "proposal.kind"),
        ({"kind": "waive", "amount": "5"}, "proposal.amount"),
        ({"kind": "refund", "amount": "5", "note": "x" * 1001}, "proposal.note"),
    ]:
        refused = complete(finance_api, payment_task.pk, proposal)
        assert refused.status_code == 400, (proposal, refused.content)
        assert list(refused.json()["fields"]) == [field], (proposal, refused.json())
    payment_task.refresh_from_db()
    assert payment_task.status in selectors.OPEN
    assert OrderException.objects.filter(status=OrderException.Status.RESOLVED).count() == 0


def test_a_waiver_needs_the_permission_to_grant_it(raise_exception, engine_run, finance_user, finance_api, manager_api):
    waived = raise_exception(Category.PAYMENT)
    OrderException.objects.filter(pk=waived.pk).update(severity="high")
    engine_run()
    task = selectors.tasks_for(finance_user, scope="queue").get()
    assert complete(finance_api, task.pk, {"kind": "waive", "note": "Known customer"}).status_code == 200
    rows = manager_api.get("/api/v1/tasks/?scope=approvals").json()["results"]
    assert [row["exception"] for row in rows] == [waived.pk]

    bare = decide(manager_api, rows[0]["id"], {"decision": "approve"})
    assert bare.status_code == 400 and list(bare.json()["fields"]) == ["reason"]
    managers = Group.objects.get(name=Role.MANAGER)
    grant = Permission.objects.get(content_type__app_label="exceptions", codename="grant_waiver")
    managers.permissions.remove(grant)
    refused = decide(manager_api, rows[0]["id"], {"decision": "approve", "reason": "Accept as it is"})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    waived.refresh_from_db()
    assert waived.status == OrderException.Status.ESCALATED and decisions(waived) == []

    managers.permissions.add(grant)
    granted = decide(manager_api, rows[0]["id"], {"decision": "approve", "reason": "Accept as it is"})
    assert granted.status_code == 200, granted.content
    waived.refresh_from_db()
    assert waived.status == OrderException.Status.RESOLVED
    assert [(d["decision"], d["reason"]) for d in decisions(waived)] == [("approve", "Accept as it is")]
