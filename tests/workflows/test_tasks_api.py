"""The handling API (SPEC §9.6), endpoint by endpoint: who sees which task (department isolation:
another department's task is a 404), role checks, form validation naming ``data.<field>``, and
409 for a task that is no longer open."""

from __future__ import annotations

import pytest

from apps.exceptions.models import OrderException
from apps.rules.models import Category
from tests.conftest import _make_user, _token_client
from workflows import selectors

pytestmark = pytest.mark.django_db

FOUND = {"outcome": "found", "data": {"payment_found": True, "bank_reference": "BR-1"}, "root_cause": "partner"}


@pytest.fixture
def payment_task(raise_exception, engine_run, finance_user):
    raise_exception(Category.PAYMENT)
    engine_run()
    return selectors.tasks_for(finance_user, scope="queue").get()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_scopes_and_shape(finance_api, payment_task):
    assert ids(finance_api.get("/api/v1/tasks/")) == []
    assert ids(finance_api.get("/api/v1/tasks/?scope=queue")) == [payment_task.pk]
    row = finance_api.get("/api/v1/tasks/?scope=queue").json()["results"][0]
    assert row["status"] == "queued" and row["kind"] == "task" and row["step"] == "check"
    assert row["workflow"]["key"] == "payment-check" and row["department"] == "finance"
    assert [o["key"] for o in row["outcomes"]] == ["found", "not_found"]
    assert row["form"]["key"] == "payment-check" and row["form"]["schema"]["required"] == ["payment_found"]
    assert finance_api.get("/api/v1/tasks/?scope=everything").status_code == 400


def test_another_departments_task_is_a_404_everywhere(warehouse_api, payment_task):
    assert ids(warehouse_api.get("/api/v1/tasks/?scope=queue")) == []
    base = f"/api/v1/tasks/{payment_task.pk}/"
    assert warehouse_api.get(base).status_code == 404
    for action, body in [
        ("claim/", {}),
        ("unclaim/", {}),
        ("complete/", FOUND),
        ("handback/", {"reason": "x"}),
        ("escalate/", {"reason": "x"}),
        ("reassign/", {"user": "fin-staff", "reason": "x"}),
    ]:
        response = warehouse_api.post(base + action, body, format="json")
        assert response.status_code == 404, (action, response.content)


def test_anonymous_and_roleless_callers_are_refused(anon_api, payment_task):
    assert anon_api.get("/api/v1/tasks/").status_code == 401
    nobody = _make_user("no-role", "staff", "finance")
    nobody.groups.clear()
    assert _token_client(nobody).get("/api/v1/tasks/").status_code == 403


def test_claim_complete_and_409_afterwards(finance_api, payment_task):
    base = f"/api/v1/tasks/{payment_task.pk}/"
    claimed = finance_api.post(base + "claim/")
    assert claimed.status_code == 200 and claimed.json()["status"] == "assigned"
    assert ids(finance_api.get("/api/v1/tasks/")) == [payment_task.pk]

    bad = finance_api.post(base + "complete/", {"outcome": "found", "data": {"payment_found": True}}, format="json")
    assert bad.status_code == 400
    assert "data.bank_reference" in bad.json()["fields"]
    unknown = finance_api.post(base + "complete/", {**FOUND, "outcome": "maybe"}, format="json")
    assert unknown.status_code == 400 and "outcome" in unknown.json()["fields"]

    done = finance_api.post(base + "complete/", FOUND, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    exc = OrderException.objects.get(pk=done.json()["exception"])
    assert (exc.status, exc.root_cause) == ("resolved", "partner")
    assert ids(finance_api.get("/api/v1/tasks/?scope=done")) == [payment_task.pk]

    again = finance_api.post(base + "complete/", FOUND, format="json")
    assert again.status_code == 409 and again.json()["code"] == "task_not_open"


def test_detail_has_exception_and_history(finance_api, payment_task):
    body = finance_api.get(f"/api/v1/tasks/{payment_task.pk}/").json()
    assert body["exception_detail"]["id"] == body["exception"]
    assert [row["step"] for row in body["history"]] == ["check"]


def test_handback_needs_a_reason_and_returns_to_the_queue(finance_api, payment_task):
    base = f"/api/v1/tasks/{payment_task.pk}/"
    finance_api.post(base + "claim/")
    assert finance_api.post(base + "handback/", {}, format="json").status_code == 400
    back = finance_api.post(base + "handback/", {"reason": "Wrong department"}, format="json")
    assert back.status_code == 200 and back.json()["status"] == "queued"
    assert finance_api.post(base + "unclaim/").status_code == 409


def test_escalate_gives_a_manager_an_approval(finance_api, manager_api, payment_task):
    base = f"/api/v1/tasks/{payment_task.pk}/"
    finance_api.post(base + "claim/")
    assert finance_api.post(base + "escalate/", {"reason": "Large amount"}, format="json").status_code == 200
    approvals = manager_api.get("/api/v1/tasks/").json()["results"]
    assert [row["kind"] for row in approvals] == ["approval"]
    decided = manager_api.post(f"/api/v1/tasks/{approvals[0]['id']}/complete/", {"outcome": "approve"}, format="json")
    assert decided.status_code == 200
    assert OrderException.objects.get(pk=decided.json()["exception"]).status == "resolved"


def test_reassign_is_for_leads_and_managers(finance_api, manager_api, finance_user2, payment_task):
    base = f"/api/v1/tasks/{payment_task.pk}/"
    body = {"user": finance_user2.username, "reason": "Knows this customer"}
    assert finance_api.post(base + "reassign/", body, format="json").status_code == 403
    outsider = manager_api.post(base + "reassign/", {"user": "wh-clerk-x", "reason": "r"}, format="json")
    assert outsider.status_code == 400 and "user" in outsider.json()["fields"]
    moved = manager_api.post(base + "reassign/", body, format="json")
    assert moved.status_code == 200 and moved.json()["assignee"]["username"] == finance_user2.username
    assert OrderException.objects.get(pk=moved.json()["exception"]).assignee == finance_user2


def test_exception_resolve_and_dismiss_end_the_case(finance_api, warehouse_api, payment_task, raise_exception):
    exception_id = selectors.task_payload(payment_task)["exception"]
    path = f"/api/v1/exceptions/{exception_id}/"
    assert warehouse_api.post(path + "resolve/", {"root_cause": "system"}, format="json").status_code == 404
    assert finance_api.post(path + "resolve/", {"root_cause": "weather"}, format="json").status_code == 400
    resolved = finance_api.post(path + "resolve/", {"root_cause": "system", "note": "Bank delay"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert finance_api.post(path + "dismiss/", {"reason": "x"}, format="json").status_code == 409


def test_the_list_reads_a_constant_number_of_queries(finance_api, raise_exception, engine_run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for more in (1, 5):
        for _ in range(more):
            raise_exception(Category.PAYMENT)
        engine_run()
        with CaptureQueriesContext(connection) as queries:
            assert finance_api.get("/api/v1/tasks/?scope=queue").status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
