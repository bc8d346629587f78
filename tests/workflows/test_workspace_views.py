"""The staff workspace through Django's test client: the three lists with their counts, the task
page, and what staff do there (claim, complete with the step form, hand back, raise to a manager),
each refusal shown where it belongs and never as a 500; a task of another department is a 404."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from viewflow.workflow.status import STATUS

from apps.exceptions.models import OrderException
from apps.rules.models import Category
from workflows import selectors, services
from workflows.models import HandlingTask

pytestmark = pytest.mark.django_db

FOUND = {"data-payment_found": "true", "data-bank_reference": "BANK-778", "outcome": "found"}


@pytest.fixture
def payment_task(raise_exception, engine_run, finance_user) -> HandlingTask:
    """A payment exception whose ``payment-check`` task waits in the finance queue."""
    raise_exception(Category.PAYMENT)
    engine_run()
    (task,) = selectors.tasks_for(finance_user, scope="queue")
    return task


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


def _counts(page: str) -> dict[str, int]:
    return {scope: int(count) for scope, count in re.findall(r'data-count="(\w+)">(\d+)<', page)}


def _task_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-task="(\d+)"', page)]


def _field_errors(page: str, key: str) -> list[str]:
    """The error lines shown inside the step form's wrapper of field ``key``."""
    wrapper = re.search(
        rf'data-og-key="{key}".*?(?=<div class="og-spec-field|</div>\s*<div class="og-spec-field|$)', page, re.S
    )
    assert wrapper, f"no field {key} on the page"
    return re.findall(r'<p class="og-spec-error" role="alert">([^<]+)</p>', wrapper.group(0))


def test_each_tab_lists_its_tasks_and_the_counts_follow_claim_and_complete(
    finance, raise_exception, engine_run, finance_user
):
    raise_exception(Category.PAYMENT)
    raise_exception(Category.PAYMENT)
    engine_run()
    queue = finance.get("/workspace/?scope=queue").content.decode()
    assert _counts(queue) == {"mine": 0, "queue": 2, "done": 0}
    first, second = _task_ids(queue)
    assert "Check the payment" in queue and "Claim" in queue

    response = finance.post(f"/workspace/tasks/{first}/claim/", {"from": "list"})
    assert response.status_code == 302 and response["Location"] == f"/workspace/tasks/{first}/"
    mine = finance.get("/workspace/").content.decode()
    assert _task_ids(mine) == [first]
    assert _counts(mine) == {"mine": 1, "queue": 1, "done": 0}

    finance.post(f"/workspace/tasks/{first}/complete/", FOUND)
    done = finance.get("/workspace/?scope=done").content.decode()
    assert _task_ids(done) == [first]
    assert "Payment found" in done
    assert _counts(done) == {"mine": 0, "queue": 1, "done": 1}
    assert _task_ids(finance.get("/workspace/?scope=queue").content.decode()) == [second]


def test_the_list_partial_is_the_tabs_and_rows_alone(finance, payment_task):
    """What the page re-fetches on a live event: no page around it, the scope it was asked for."""
    response = finance.get("/workspace/tasks/?scope=queue")
    partial = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in partial and 'id="og-task-list"' in partial
    assert _task_ids(partial) == [payment_task.pk]
    assert 'hx-get="/workspace/tasks/?scope=queue"' in partial
    assert _counts(partial)["queue"] == 1
    # An unknown scope is "mine".
    assert 'data-scope="mine"' in finance.get("/workspace/tasks/?scope=everything").content.decode()


def test_a_row_shows_the_exception_the_order_its_severity_and_the_due_time(finance, payment_task):
    exc = selectors.case_of(payment_task).exception
    page = finance.get("/workspace/?scope=queue").content.decode()
    row = re.search(rf'<tr data-task="{payment_task.pk}".*?</tr>', page, re.S).group(0)
    assert exc.external_id in row
    assert "Paid status without the money" in row or exc.rule.name_en in row
    assert f"og-badge--{exc.severity}" in row
    assert "In the queue" in row
    assert re.search(r"\d\d-\d\d \d\d:\d\d", row)  # the due time, in the user's zone


def test_staff_of_another_department_neither_see_nor_reach_the_task(client, payment_task, warehouse_user):
    client.force_login(warehouse_user)
    assert _task_ids(client.get("/workspace/?scope=queue").content.decode()) == []
    assert _counts(client.get("/workspace/").content.decode()) == {"mine": 0, "queue": 0, "done": 0}
    assert client.get(f"/workspace/tasks/{payment_task.pk}/").status_code == 404
    for action in ("claim", "complete", "handback", "escalate"):
        response = client.post(f"/workspace/tasks/{payment_task.pk}/{action}/", {**FOUND, "reason": "mine now"})
        assert response.status_code == 404, action
    payment_task.refresh_from_db()
    assert (payment_task.status, payment_task.owner_id) == (STATUS.NEW, None)


def test_managers_see_every_departments_queue(client, payment_task, manager_user):
    client.force_login(manager_user)
    page = client.get("/workspace/?scope=queue").content.decode()
    assert _task_ids(page) == [payment_task.pk]
    assert "Finance" in page  # the department column
    assert client.get(f"/workspace/tasks/{payment_task.pk}/").status_code == 200


def test_the_task_page_shows_the_order_the_evidence_the_step_form_and_the_outcomes(finance, payment_task):
    exc = selectors.case_of(payment_task).exception
    response = finance.get(f"/workspace/tasks/{payment_task.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Check the payment" in page and "Payment: finance checks by hand" in page
    assert exc.external_id in page and "SKU" in page
    assert "No payments recorded." in page and "Not shipped yet." in page
    assert 'name="data-payment_found"' in page and 'name="data-bank_reference"' in page
    assert "data-og-visible-when=" in page
    assert re.search(r'name="outcome" value="found"[^>]*>Payment found<', page)
    assert re.search(r'name="outcome" value="not_found"[^>]*>Not found: raise to a manager<', page)
    assert 'data-og-action="claim"' in page
    assert "Steps of this case" in page and "Audit trail" in page
    assert f'data-og-task="{payment_task.pk}"' in page


def test_the_task_page_speaks_chinese_with_names_from_the_definitions(finance, payment_task):
    page = finance.get(f"/workspace/tasks/{payment_task.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "核实付款" in page and "支付异常：财务人工核实" in page
    assert "找到付款" in page and "银行流水号" in page
    assert "已找到付款" in page and "未找到，提交经理" in page


def test_claiming_takes_the_task_and_places_the_exception_with_the_user(finance, payment_task, finance_user):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/claim/")
    assert response.status_code == 302
    payment_task.refresh_from_db()
    assert (payment_task.status, payment_task.owner) == (STATUS.ASSIGNED, finance_user)
    exc = selectors.case_of(payment_task).exception
    assert (exc.status, exc.assignee) == (OrderException.Status.ASSIGNED, finance_user)
    page = finance.get(response["Location"]).content.decode()
    assert "The task is yours now." in page
    assert 'data-og-action="claim"' not in page and 'data-og-action="handback"' in page


def test_claiming_a_task_someone_has_taken_says_so_on_the_list(client, finance, payment_task, finance_user2):
    services.task_claim(task_id=payment_task.pk, actor=finance_user2)
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/claim/", {"from": "list"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/workspace/?scope=queue"
    assert "Someone has it already." in response.content.decode()


def test_completing_with_a_missing_form_value_shows_the_error_at_that_field(finance, payment_task):
    services_claimed = finance.post(f"/workspace/tasks/{payment_task.pk}/claim/")
    assert services_claimed.status_code == 302
    response = finance.post(
        f"/workspace/tasks/{payment_task.pk}/complete/",
        {"data-payment_found": "true", "data-bank_reference": "", "outcome": "found", "note": "checked the bank"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert _field_errors(page, "bank_reference") == ["This field is required."]
    assert _field_errors(page, "payment_found") == []
    assert "checked the bank" in page  # what was typed is kept
    payment_task.refresh_from_db()
    assert payment_task.status == STATUS.ASSIGNED


def test_completing_resolves_the_exception_and_returns_to_the_workspace(finance, payment_task, finance_user):
    response = finance.post(
        f"/workspace/tasks/{payment_task.pk}/complete/", {**FOUND, "root_cause": "partner", "note": "bank was late"}
    )
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    page = finance.get("/workspace/").content.decode()
    assert "Completed “Check the payment”: Payment found." in page
    payment_task.refresh_from_db()
    assert payment_task.status == STATUS.DONE
    assert payment_task.data["form"] == {"payment_found": True, "bank_reference": "BANK-778"}
    exc = selectors.case_of(payment_task).exception
    assert (exc.status, exc.root_cause) == (OrderException.Status.RESOLVED, "partner")
    # The done task's page reads as a result, with what was entered.
    done = finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    assert "Result" in done and "BANK-778" in done and "bank was late" in done
    assert 'name="outcome"' not in done


def test_an_unknown_outcome_or_root_cause_is_shown_beside_its_input(finance, payment_task):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", {**FOUND, "outcome": "shrug"})
    assert response.status_code == 400
    assert "Choose one of: found, not_found." in response.content.decode()
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", {**FOUND, "root_cause": "gremlins"})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'og-spec-field og-spec-field--error">\s*<label class="og-spec-label" for="og-root-cause"', page)
    assert "A root cause is one of" in page


def test_completing_a_task_completed_meanwhile_shows_the_conflict(finance, payment_task, finance_user2):
    """Two people had the page open; the second to decide reads that it is done (409), not a 500."""
    assert finance.get(f"/workspace/tasks/{payment_task.pk}/").status_code == 200
    services.task_complete(
        task_id=payment_task.pk,
        actor=finance_user2,
        outcome="found",
        data={"payment_found": True, "bank_reference": "OTHER-1"},
    )
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/complete/", FOUND)
    page = response.content.decode()
    assert response.status_code == 409
    assert "Someone completed this task meanwhile: it is no longer open." in page
    assert "Result" in page and "OTHER-1" in page
    payment_task.refresh_from_db()
    assert payment_task.data["form"]["bank_reference"] == "OTHER-1"


def test_handing_back_needs_a_reason_and_returns_the_task_to_the_queue(finance, payment_task):
    finance.post(f"/workspace/tasks/{payment_task.pk}/claim/")
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/handback/", {"reason": "  "})
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<details class="og-ws-more" data-og-action="handback" open>', page)
    handback = re.search(r'data-og-action="handback".*?</details>', page, re.S).group(0)
    assert "Give a reason." in handback
    payment_task.refresh_from_db()
    assert payment_task.status == STATUS.ASSIGNED

    response = finance.post(f"/workspace/tasks/{payment_task.pk}/handback/", {"reason": "On leave from tomorrow"})
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    payment_task.refresh_from_db()
    assert (payment_task.status, payment_task.owner_id) == (STATUS.NEW, None)
    queue = finance.get("/workspace/?scope=queue").content.decode()
    assert _task_ids(queue) == [payment_task.pk]
    assert "Handed back to the department&#x27;s queue." in queue or "Handed back to the department's queue." in queue
    assert "Handed back: On leave from tomorrow" in finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()


def test_raising_to_a_manager_needs_a_reason_and_a_manager_takes_over(finance, payment_task, manager_user):
    response = finance.post(f"/workspace/tasks/{payment_task.pk}/escalate/", {"reason": ""})
    assert response.status_code == 400
    escalate = re.search(r'data-og-action="escalate" open>.*?</details>', response.content.decode(), re.S).group(0)
    assert "Give a reason." in escalate

    response = finance.post(f"/workspace/tasks/{payment_task.pk}/escalate/", {"reason": "No trace at the bank"})
    assert response.status_code == 302
    payment_task.refresh_from_db()
    assert (payment_task.status, payment_task.data["outcome"]) == (STATUS.DONE, "escalate")
    exc = selectors.case_of(payment_task).exception
    assert exc.status == OrderException.Status.ESCALATED
    (approval,) = selectors.tasks_for(manager_user, scope="mine")
    assert selectors.task_payload(approval)["step"] == "escalation"
    finance.force_login(manager_user)
    page = finance.get(f"/workspace/tasks/{approval.pk}/").content.decode()
    assert "Manager approval" in page and "Approve and resolve" in page
    assert "No trace at the bank" in page  # in the case's history
    assert 'data-og-action="escalate"' not in page  # a manager already decides


def test_a_missing_task_is_a_404_and_the_pages_need_a_sign_in(client, finance, payment_task):
    assert finance.get("/workspace/tasks/999999/").status_code == 404
    assert finance.post("/workspace/tasks/999999/claim/").status_code == 404
    client.logout()
    response = client.get(f"/workspace/tasks/{payment_task.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_staff_sign_in_and_land_in_the_workspace(client, finance_user):
    response = client.post(
        "/accounts/login/", {"username": finance_user.username, "password": "pw-fin-staff-Secret1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/workspace/"
    assert "My department&#x27;s queue" in response.content.decode()


def test_an_overdue_task_is_marked_in_the_list_and_on_its_page(finance, payment_task):
    past = timezone.now() - timedelta(minutes=5)
    payment_task.data = {**payment_task.data, "due_at": past.isoformat()}
    payment_task.save(update_fields=["data"])
    page = finance.get("/workspace/?scope=queue").content.decode()
    row = re.search(rf'<tr data-task="{payment_task.pk}"[^>]*>.*?</tr>', page, re.S).group(0)
    assert 'class="og-row--overdue"' in row and "og-badge--overdue" in row
    task_page = finance.get(f"/workspace/tasks/{payment_task.pk}/").content.decode()
    assert "og-badge--overdue" in task_page and "late" in task_page


def test_times_show_in_the_users_own_time_zone(finance, payment_task, finance_user):
    """New York is 12 or 13 hours behind Shanghai, so the two clock readings never coincide."""
    finance_user.time_zone = "America/New_York"
    finance_user.save(update_fields=["time_zone"])
    due = parse_datetime(payment_task.data["due_at"])
    page = finance.get("/workspace/?scope=queue").content.decode()
    assert due.astimezone(ZoneInfo("America/New_York")).strftime("%m-%d %H:%M") in page
    assert due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M") not in page


def test_the_list_costs_the_same_queries_for_one_task_or_many(finance, raise_exception, engine_run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    raise_exception(Category.PAYMENT)
    engine_run()
    with CaptureQueriesContext(connection) as one:
        finance.get("/workspace/tasks/?scope=queue")
    for _ in range(3):
        raise_exception(Category.PAYMENT)
    engine_run()
    with CaptureQueriesContext(connection) as four:
        page = finance.get("/workspace/tasks/?scope=queue").content.decode()
    assert len(_task_ids(page)) == 4
    assert len(four) == len(one)
