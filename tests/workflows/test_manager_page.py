"""Managers land on their departments' view; what waits for their decision is counted there."""

import pytest
from django.test import Client

from apps.rules.models import Category
from workflows import selectors, services

pytestmark = pytest.mark.django_db


def test_the_manager_page_counts_the_approvals_waiting(raise_exception, engine_run, finance_user, manager_user):
    client = Client()
    client.force_login(manager_user)
    assert "Nothing waits for your decision." in client.get("/manager/").content.decode()

    raise_exception(Category.PAYMENT)
    engine_run()
    task = selectors.tasks_for(finance_user, scope="queue").get()
    services.task_claim(task_id=task.pk, actor=finance_user)
    services.task_escalate(task_id=task.pk, actor=finance_user, reason="Needs a decision")

    page = client.get("/manager/").content.decode()
    assert "1 approval or escalated task is assigned to you." in page
    assert "/workspace/?scope=approvals" in page
