"""The time-based scan as it runs in production: a real Celery worker and beat on the suite's
Redis, against the test database, and ``scan_exceptions`` from the command line.

The late orders here are stored around the services (as a row written by another system or
restored from a backup would be), so no write-time detection saw them: only a scan can.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.exceptions.models import OrderException
from apps.orders.services import order_verdicts_refresh
from tests.orders.factories import OrderFactory
from tests.processes import ROOT, celery, database_url, stop, wait_for

SCAN_TASK = "Scan time-based exception rules"

# Worker and beat write to the database from other processes: the test's data must be committed.
# serialized_rollback restores the rules, grading rows and schedule the migrations seeded.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def late_paid_order():
    """A paid order, paid three hours ago, stored without detection: REVIEW_TIMEOUT is due."""
    paid_at = timezone.now() - timedelta(hours=3)
    order = OrderFactory(status="paid", placed_at=paid_at - timedelta(minutes=5), paid_at=paid_at)
    order_verdicts_refresh(order_ids=[order.pk])
    return order


def review_timeouts(order) -> list[OrderException]:
    return list(OrderException.objects.filter(order=order, rule__code="REVIEW_TIMEOUT"))


def test_the_scan_task_runs_on_a_worker_and_raises_what_no_write_saw(worker):
    """``scan_time_based.delay()`` goes through Redis to the worker, which raises REVIEW_TIMEOUT."""
    from apps.rules.tasks import scan_time_based

    order = late_paid_order()
    assert review_timeouts(order) == []
    scan_time_based.delay()
    found = wait_for(lambda: review_timeouts(order), timeout=30, what="no REVIEW_TIMEOUT raised", logs=[worker])
    assert [exception.status for exception in found] == ["open"]
    assert "rules.scan_time_based" in worker.read_text(errors="replace")


def test_beat_sends_the_scan_on_the_schedule_admins_edit(worker, tmp_path):
    """The schedule is a database row (the migration made it every 60 s); an admin shortens it to
    2 s and beat, reading it from the database, has the worker scan without anyone calling it."""
    task = PeriodicTask.objects.get(name=SCAN_TASK)
    assert (task.task, task.enabled, task.interval.every, task.interval.period) == (
        "rules.scan_time_based",
        True,
        60,
        IntervalSchedule.SECONDS,
    )
    task.interval, _created = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    task.save()
    order = late_paid_order()

    beat_log = tmp_path / "beat.log"
    beat = celery("beat", "--loglevel", "INFO", log=beat_log)
    try:
        found = wait_for(
            lambda: review_timeouts(order), timeout=45, what="beat's scan raised nothing", logs=[beat_log, worker]
        )
    finally:
        stop(beat)
    assert [exception.status for exception in found] == ["open"]
    assert "Sending due task" in beat_log.read_text(errors="replace")


def test_scan_exceptions_prints_per_rule_counts_and_times():
    """The command scans now: it raises the late order's exception and prints a line per rule."""
    order = late_paid_order()
    result = subprocess.run(
        [sys.executable, "manage.py", "scan_exceptions"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert lines["REVIEW_TIMEOUT"][1:3] == ["1", "1"]  # matched, new
    assert "MISSING_ORDER" not in lines  # raised by reconciliations, not by scans
    assert len([code for code in lines if code.isupper() and "_" in code]) == 12
    assert result.stdout.strip().splitlines()[-1].startswith("total ")
    assert float(lines["REVIEW_TIMEOUT"][5]) >= 0  # seconds
    assert [exception.status for exception in review_timeouts(order)] == ["open"]
