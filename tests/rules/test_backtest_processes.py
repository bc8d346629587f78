"""The asynchronous back-test as it runs in production: the API queues a run, a real Celery worker
on the suite's Redis computes it against the test database, and the run is read back through the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.rules import backtest
from apps.rules.models import ExceptionRule
from tests.orders.factories import OrderFactory
from tests.processes import wait_for

# The worker reads the test's data from another process: it must be committed.
# serialized_rollback restores the rules, grading rows and schedule the migrations seeded.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def test_an_async_back_test_is_computed_by_a_worker_and_read_back(api, worker):
    now = timezone.now()
    for day in (0, 2, 9, 20):
        OrderFactory(total_amount=Decimal("269.00"), placed_at=now - timedelta(days=day, hours=1))

    queued = api.post("/api/v1/rules/AMOUNT_MISMATCH/backtest/?async=1", {"days": 30}, format="json")
    assert queued.status_code == 202, queued.content
    path = f"/api/v1/backtests/{queued.json()['run']}/"

    def finished():
        body = api.get(path).json()
        return body if body["status"] in ("done", "failed") else None

    run = wait_for(finished, timeout=60, what="the back-test run did not finish", logs=[worker])

    assert (run["status"], run["progress"], run["error"]) == ("done", 100, ""), run
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    expected = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=30, rule=rule)
    # Compared day by day (the worker's "today" is this process's, but for a run across midnight).
    by_date = {day["date"]: day for day in expected["days"]}
    assert [day for day in run["result"]["days"] if day["date"] in by_date] == [
        by_date[day["date"]] for day in run["result"]["days"] if day["date"] in by_date
    ]
    assert run["result"]["total"] == 4
    assert "rules.backtest_run" in worker.read_text(errors="replace")
