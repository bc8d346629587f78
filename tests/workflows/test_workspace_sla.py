"""The workspace's SLA clock, approvals and notifications through Django's test client: deadlines and
business time left in the lists and on the task page, pause and resume, a manager's approvals tab
(where managers land) and decisions, a proposal made on completion, and the notifications bell."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone
from viewflow.workflow.status import STATUS

from apps.accounts.models import Department, Role, User
from apps.exceptions.models import ExceptionEvent, OrderException
from apps.notifications.models import Notification
from apps.rules.models import Category
from workflows import selectors, services
from workflows.engine import ESCALATION
from workflows.models import HandlingTask

pytestmark = pytest.mark.django_db

FOUND = {"data-payment_found": "true", "data-bank_reference": "BANK-778", "outcome": "found"}
REFUND = {**FOUND, "proposal_kind": "refund", "proposal_amount": "800", "proposal_note": "Customer paid twice"}


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance(finance_user) -> Client:
    return _signed_in(finance_user)


@pytest.fixture
def manager(manager_user) -> Client:
    return _signed_in(manager_user)


@pytest.fixture
def payment_task(raise_exception, engine_run, finance_user) -> HandlingTask:
    """A payment exception whose ``payment-check`` task finance has claimed."""
    raise_exception(Category.PAYMENT)
    engine_run()
    (task,) = selectors.tasks_for(finance_user, scope="queue")
    services.task_claim(task_id=task.pk, actor=finance_user)
    task.refresh_from_db()
    return task


@pytest.fixture
def approval(payment_task, finance, manager_user) -> HandlingTask:
    """Finance proposed a refund above its limit (¥500): the manager's approval waits."""
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", REFUND)
    assert response.status_code == 302
    (task,) = selectors.tasks_for(manager_user, scope="approvals")
    return task


def _exception(task: HandlingTask) -> OrderException:
    return OrderException.objects.get(pk=selectors.case_of(task).exception_id)


def _set_due(task: HandlingTask, due) -> None:
    task.data = {**task.data, "due_at": due.isoformat()}
    task.save(update_fields=["data"])


def _row(page: str, task_id: int) -> str:
    found = re.search(rf'<tr data-task="{task_id}".*?</tr>', page, re.S)
    assert found, f"no row of task {task_id}"
    return found.group(0)


def _block(page: str, marker: str) -> str:
    """The markup of the element that carries ``marker`` (a data attribute), up to its end tag."""
    found = re.search(rf"<(\w+)[^>]*{marker}.*?</\1>", page, re.S)
    assert found, f"nothing marked {marker}"
    return found.group(0)


def _tabs(page: str) -> list[str]:
    return re.findall(r'data-count="(\w+)">', page)


# -- the clock on screens --------------------------------------------------------------------


def test_the_list_and_the_task_page_show_the_deadline_and_the_business_time_left(finance, payment_task):
    _set_due(payment_task, timezone.now() + timedelta(hours=2, minutes=10))
    row = _row(finance.get("/workspace/").content.decode(), payment_task.pk)
    assert "2 h 10 min left" in row
    assert re.search(r"\d\d-\d\d \d\d:\d\d", row)  # the local deadline
    page = finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    step = _block(page, 'data-deadline="step"')
    assert "2 h 10 min left" in step and "og-badge--overdue" not in step
    assert "First response" in page and "Resolution" in page
    assert "Answered" in _block(page, 'data-deadline="first_response"')  # the claim answered it


def test_an_overdue_task_reads_overdue_by_its_business_time(finance, payment_task):
    _set_due(payment_task, timezone.now() - timedelta(minutes=35, seconds=5))
    row = _row(finance.get("/workspace/").content.decode(), payment_task.pk)
    assert "overdue by 35 min" in row and "og-badge--overdue" in row and 'class="og-row--overdue"' in row


def test_the_exceptions_breaches_are_marked_on_the_task_page(finance, payment_task):
    exc = _exception(payment_task)
    OrderException.objects.filter(pk=exc.pk).update(resolution_breached_at=timezone.now())
    page = finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    resolution = _block(page, 'data-deadline="resolution"')
    assert 'data-breach="resolution"' in resolution and "missed" in resolution
    assert 'data-breach="first_response"' not in page


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ("Deadlines", "Pause the clock", "Waiting for the customer")), ("zh-hans", ("核实付款",))],
)
def test_the_task_page_renders_in_both_languages(finance, payment_task, language, words):
    response = finance.get(f"/workspace/tasks/{payment_task.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in page
    for word in words:
        assert word in page
    assert 'data-og-action="pause"' in page and 'name="proposal_kind"' in page


# -- pause and resume ------------------------------------------------------------------------


def test_pausing_then_resuming_through_the_task_page(finance, payment_task):
    url = f"/workspace/tasks/{payment_task.pk}/"
    response = finance.post(url + "pause/", {"reason": "customer", "note": "Asked for the bank slip"})
    assert response.status_code == 302 and response["Location"] == url
    exc = _exception(payment_task)
    assert exc.paused_at is not None and exc.pause_reason == "customer"

    page = finance.get(url).content.decode()
    assert "The clock is paused: Waiting for the customer." in page
    assert "paused — waiting for the customer" in _block(page, 'data-deadline="step"')
    assert "Asked for the bank slip" in _block(page, 'data-deadline="clock"')
    assert 'data-og-action="resume"' in page and 'data-og-action="pause"' not in page
    assert "Clock paused: Waiting for the customer. Asked for the bank slip" in page  # the audit trail
    assert "paused — waiting for the customer" in _row(finance.get("/workspace/").content.decode(), payment_task.pk)

    # Paused already: the refusal (409) shows in the page, not as a 500.
    again = finance.post(url + "pause/", {"reason": "carrier"})
    assert again.status_code == 409 and "The clock is paused already." in again.content.decode()

    response = finance.post(url + "resume/")
    assert response.status_code == 302
    exc.refresh_from_db()
    assert exc.paused_at is None
    page = finance.get(url).content.decode()
    assert re.search(r"Clock resumed after \d+ s paused \(business time\)", page)
    assert 'data-og-action="pause"' in page
    kinds = list(exc.events.values_list("kind", flat=True))
    assert kinds.index(ExceptionEvent.Kind.PAUSED) < kinds.index(ExceptionEvent.Kind.RESUMED)

    response = finance.post(url + "resume/")
    assert response.status_code == 409
    assert "The clock is not paused." in _block(response.content.decode(), "data-og-clock-problem")


def test_a_pause_for_another_reason_needs_a_note_shown_in_the_pause_form(finance, payment_task):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/pause/", {"reason": "other", "note": " "})
    page = response.content.decode()
    assert response.status_code == 400
    pause = re.search(r'<details class="og-ws-more" data-og-action="pause" open>.*?</details>', page, re.S)
    assert pause and "Give a reason." in pause.group(0)
    assert 'value="other" checked' in pause.group(0)  # the choice is kept
    assert _exception(payment_task).paused_at is None


def test_staff_of_another_department_cannot_pause_the_clock(client, payment_task, warehouse_user):
    client.force_login(warehouse_user)
    assert client.post(f"/workspace/tasks/{payment_task.pk}/pause/", {"reason": "customer"}).status_code == 404
    assert _exception(payment_task).paused_at is None


# -- approvals ---------------------------------------------------------------------------------


def test_a_manager_lands_on_the_approvals_tab(manager, approval, finance):
    page = manager.get("/workspace/").content.decode()
    assert 'data-scope="approvals"' in page
    assert re.search(r'og-tab--current"[^>]*data-scope="approvals"', page)
    assert _tabs(page) == ["approvals", "mine", "queue", "done"]
    row = _row(page, approval.pk)
    assert "Refund · ¥800.00 · Customer paid twice" in row
    assert "fin-staff" in row  # who proposed
    assert f"#{_exception(approval).pk}" in row
    # Staff keep their three tabs and land on their own tasks.
    staff = finance.get("/workspace/").content.decode()
    assert _tabs(staff) == ["mine", "queue", "done"] and 'data-scope="mine"' in staff


def test_the_approvals_tab_speaks_chinese(manager, approval):
    page = manager.get("/workspace/?scope=approvals", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in page
    assert str(approval.pk) in _row(page, approval.pk)


def test_the_approval_page_offers_the_decisions(manager, approval):
    page = manager.get(f"/workspace/tasks/{approval.pk}/").content.decode()
    assert "Refund · ¥800.00 · Customer paid twice" in _block(page, "data-og-proposal")
    for decision in ("approve", "reject", "reassign", "raise_severity", "dismiss"):
        assert f'value="{decision}"' in page, decision
    assert "Approve and resolve" in page
    # Reassigning offers the members of the exception's department (finance), not the manager's.
    assert re.search(r'<select id="og-reassign-user" name="user">\s*<option value="\d+"[^>]*>fin-staff<', page)
    members = re.search(r'<select id="og-reassign-user".*?</select>', page, re.S).group(0)
    assert "boss" not in members
    assert 'name="outcome"' not in page  # the decisions replace the outcome buttons


def test_rejecting_needs_a_reason_and_sends_the_task_back_to_the_assignee(
    manager, finance, approval, finance_user, manager_user
):
    url = f"/workspace/tasks/{approval.pk}/decide/"
    response = manager.post(url, {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    reject = re.search(r'data-og-action="reject" open>.*?</details>', response.content.decode(), re.S)
    assert reject and "Give a reason." in reject.group(0)

    response = manager.post(url, {"decision": "reject", "reason": "Refund only the second payment"})
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    approval.refresh_from_db()
    assert approval.status == STATUS.DONE
    (back,) = selectors.tasks_for(finance_user, scope="mine")
    assert back.data["step"] == "check"
    page = finance.get(f"/workspace/tasks/{back.pk}/").content.decode()
    assert "Manager rejected the proposal (Refund · ¥800.00 · Customer paid twice) and sent it back." in page
    assert "Refund only the second payment" in page
    # The assignee was told, in both languages.
    told = Notification.objects.get(user=finance_user, kind=Notification.Kind.DECISION)
    assert "Refund only the second payment" in told.text_en and told.text_zh


def test_approving_resolves_the_exception(manager, approval, manager_user):
    response = manager.post(f"/workspace/tasks/{approval.pk}/decide/", {"decision": "approve", "reason": "OK"})
    assert response.status_code == 302
    exc = _exception(approval)
    assert exc.status == OrderException.Status.RESOLVED
    decided = exc.events.get(kind=ExceptionEvent.Kind.APPROVAL_DECIDED)
    assert decided.actor == manager_user and decided.data["decision"] == "approve"
    assert "Approved: the exception is resolved." in manager.get("/workspace/").content.decode()


def test_reassigning_gives_the_case_to_a_member_of_the_department(manager, approval, finance_user2):
    url = f"/workspace/tasks/{approval.pk}/decide/"
    response = manager.post(url, {"decision": "reassign", "user": "999999", "reason": "Fresh eyes"})
    assert response.status_code == 400
    assert "Give an active member of the exception&#x27;s department." in response.content.decode()
    response = manager.post(url, {"decision": "reassign", "user": str(finance_user2.pk), "reason": "Fresh eyes"})
    assert response.status_code == 302
    (task,) = selectors.tasks_for(finance_user2, scope="mine")
    assert task.data["step"] == "check"


def test_raising_the_severity_keeps_the_approval_open(manager, approval):
    before = _exception(approval).severity
    url = f"/workspace/tasks/{approval.pk}/"
    response = manager.post(url + "decide/", {"decision": "raise_severity", "reason": "A key account"})
    assert response.status_code == 302 and response["Location"] == url
    exc = _exception(approval)
    assert exc.severity != before
    approval.refresh_from_db()
    assert approval.status in selectors.OPEN
    page = manager.get(url).content.decode()
    assert "approval stays open" in page
    assert re.search(r"Severity raised from \w+ to \w+\. A key account", page)


def test_dismissing_needs_a_reason_and_dismisses_the_exception(manager, approval):
    url = f"/workspace/tasks/{approval.pk}/decide/"
    assert manager.post(url, {"decision": "dismiss"}).status_code == 400
    assert manager.post(url, {"decision": "dismiss", "reason": "A test order"}).status_code == 302
    assert _exception(approval).status == OrderException.Status.DISMISSED


def test_a_waiver_needs_the_permission_and_its_approve_is_disabled_without_it(
    raise_exception, engine_run, finance_user, manager_user, manager
):
    exc = raise_exception(Category.PAYMENT)
    OrderException.objects.filter(pk=exc.pk).update(severity="high")
    engine_run()
    (task,) = selectors.tasks_for(finance_user, scope="queue")
    services.task_complete(
        task_id=task.pk,
        actor=finance_user,
        outcome="found",
        data={"payment_found": True, "bank_reference": "B-1"},
        proposal={"kind": "waive"},
    )
    (waiver,) = selectors.tasks_for(manager_user, scope="approvals")
    assert "Needs the permission to grant waivers" in _row(manager.get("/workspace/").content.decode(), waiver.pk)

    Group.objects.get(name=Role.MANAGER).permissions.remove(Permission.objects.get(codename="grant_waiver"))
    page = manager.get(f"/workspace/tasks/{waiver.pk}/").content.decode()
    assert "data-og-waiver" in page
    assert re.search(r'data-og-decide="approve" disabled', page)
    response = manager.post(f"/workspace/tasks/{waiver.pk}/decide/", {"decision": "approve", "reason": "Accept"})
    assert response.status_code == 403
    assert "Granting a waiver needs the permission to grant it." in response.content.decode()
    assert _exception(waiver).is_active


def test_a_manager_with_the_permission_grants_a_waiver_with_a_reason(
    raise_exception, engine_run, finance_user, manager_user, manager
):
    exc = raise_exception(Category.PAYMENT)
    OrderException.objects.filter(pk=exc.pk).update(severity="high")
    engine_run()
    (task,) = selectors.tasks_for(finance_user, scope="queue")
    services.task_complete(
        task_id=task.pk,
        actor=finance_user,
        outcome="found",
        data={"payment_found": True, "bank_reference": "B-1"},
        proposal={"kind": "waive"},
    )
    (waiver,) = selectors.tasks_for(manager_user, scope="approvals")
    page = manager.get(f"/workspace/tasks/{waiver.pk}/").content.decode()
    assert not re.search(r'data-og-decide="approve" disabled', page)
    url = f"/workspace/tasks/{waiver.pk}/decide/"
    assert manager.post(url, {"decision": "approve", "reason": ""}).status_code == 400
    assert manager.post(url, {"decision": "approve", "reason": "Known customer"}).status_code == 302
    assert _exception(waiver).status == OrderException.Status.RESOLVED


# -- a proposal on completion ----------------------------------------------------------------


def test_a_refund_above_the_limit_goes_to_a_manager_from_the_completion_form(finance, payment_task):
    page = finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    propose = _block(page, "data-og-propose")
    assert "go to a manager for approval" in propose and "¥500.00" in propose
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", REFUND, follow=True)
    assert "Your proposal (Refund · ¥800.00 · Customer paid twice) waits for a manager&#x27;s approval." in (
        response.content.decode()
    )
    exc = _exception(payment_task)
    assert exc.status == OrderException.Status.ESCALATED
    assert selectors.case_of(payment_task).step == ESCALATION


def test_a_refund_within_the_limit_resolves_at_once(finance, payment_task):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", {**REFUND, "proposal_amount": "80"})
    assert response.status_code == 302
    assert _exception(payment_task).status == OrderException.Status.RESOLVED


def test_a_bad_proposal_is_shown_in_the_proposal_fields(finance, payment_task):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", {**REFUND, "proposal_amount": "-3"})
    assert response.status_code == 400
    propose = _block(response.content.decode(), "data-og-propose")
    assert "Give an amount above zero." in propose and 'value="-3"' in propose
    payment_task.refresh_from_db()
    assert payment_task.status in selectors.OPEN


def test_a_proposal_with_an_outcome_that_does_not_resolve_is_refused(finance, payment_task):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", {**REFUND, "outcome": "not_found"})
    assert response.status_code == 400
    assert "Propose a resolution with an outcome that resolves." in _block(response.content.decode(), "data-og-propose")
    assert _exception(payment_task).status != OrderException.Status.ESCALATED


# -- notifications ---------------------------------------------------------------------------


def test_the_bell_counts_and_lists_notifications_and_marks_them_read(manager, approval, manager_user):
    exc = _exception(approval)
    page = manager.get("/workspace/").content.decode()
    bell = _block(page, 'class="og-bell__button"')
    assert 'data-unread="1"' in bell
    assert f"Exception #{exc.pk} waits for your decision." in page
    assert f'href="/workspace/tasks/{approval.pk}/"' in page

    listed = manager.get("/workspace/notifications/").content.decode()
    assert "og-note--unread" in listed and f"Exception #{exc.pk} waits for your decision." in listed
    # Each notification keeps both texts; the page shows its language's.
    Notification.objects.create(
        user=manager_user,
        at=timezone.now(),
        kind=Notification.Kind.REMINDER,
        text_zh="截止时间临近",
        text_en="Due soon",
    )
    chinese = manager.get("/workspace/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "截止时间临近" in chinese and "Due soon" not in chinese
    english = manager.get("/workspace/notifications/").content.decode()
    assert "Due soon" in english and "截止时间临近" not in english
    assert english.index("Due soon") < english.index(f"Exception #{exc.pk} waits")  # newest first

    partial = manager.get("/workspace/notifications/bell/").content.decode()
    assert "<html" not in partial and 'data-unread="2"' in partial

    response = manager.post("/workspace/notifications/read/", {"next": "/workspace/?scope=approvals"})
    assert response.status_code == 302 and response["Location"] == "/workspace/?scope=approvals"
    assert Notification.objects.filter(user=manager_user, read_at__isnull=True).count() == 0
    assert 'data-unread="0"' in manager.get("/workspace/notifications/bell/").content.decode()
    # Another site is no place to go back to.
    response = manager.post("/workspace/notifications/read/", {"next": "https://example.com/"})
    assert response["Location"] == "/workspace/notifications/"


def test_marking_read_from_the_bell_answers_htmx_with_the_bell(manager, approval):
    response = manager.post("/workspace/notifications/read/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-unread="0"' in response.content.decode() and "<html" not in response.content.decode()


def test_notifications_are_a_persons_own(client, approval, finance_user):
    client.force_login(finance_user)
    assert "waits for your decision" not in client.get("/workspace/notifications/").content.decode()
    assert User.objects.filter(notifications__isnull=False).distinct().count() == 1


def test_the_lead_may_pause_a_task_of_the_department(payment_task, finance_user2):
    colleague = _signed_in(finance_user2)
    assert 'data-og-action="pause"' not in colleague.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    Department.objects.filter(code="finance").update(lead=finance_user2)
    lead = _signed_in(finance_user2)
    page = lead.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    assert 'data-og-action="pause"' in page
    assert lead.post(f"/workspace/tasks/{payment_task.pk}/pause/", {"reason": "finance"}).status_code == 302
    assert _exception(payment_task).pause_reason == "finance"


def test_the_audit_trail_tells_the_ladders_events_in_words(finance, payment_task, finance_user):
    from apps.exceptions import lifecycle, sla
    from apps.exceptions.models import EscalationLevel

    exc = _exception(payment_task)
    due = timezone.now()
    sla.breach_record(exception_id=exc.pk, clock=EscalationLevel.Clock.FIRST_RESPONSE, due_at=due, step="check")
    sla.breach_record(exception_id=exc.pk, clock=EscalationLevel.Clock.RESOLUTION, due_at=None, step="check")
    lifecycle.exception_note(
        exception_id=exc.pk, kind=ExceptionEvent.Kind.REMINDED, step="check", user=finance_user.username
    )
    lifecycle.exception_note(exception_id=exc.pk, kind=ExceptionEvent.Kind.LEAD_NOTIFIED, step="check")
    page = finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    assert "First-response deadline missed (due " in page
    assert "Resolution deadline missed." in page
    assert "Reminder sent to fin-staff: the deadline of “Check the payment” is near." in page
    assert "“Check the payment” missed its deadline; the department has no lead to tell." in page
    chinese = finance.get(f"/workspace/tasks/{payment_task.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "“核实付款”" in chinese  # the step's name in the page's language
