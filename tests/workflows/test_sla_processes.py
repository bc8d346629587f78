"""The escalation ladder with real processes (SPEC §9.5): Celery workers and beat on the suite's
Redis, against the test database, a 24×7 calendar and a 4-second step deadline. The reminder
(80 %), the breach (escalated, the lead notified in-app) and the manager's approval (the breach
plus 3 s) each fire once — with two beat processes and two workers dispatching the same timers,
and after the workers and beats are killed (SIGKILL) and Redis restarts mid-ladder."""

from __future__ import annotations

import signal
import time

import pytest

import tests.bootstrap as bootstrap
from apps.accounts.models import Department
from apps.exceptions import ladders
from apps.exceptions.models import ExceptionEvent, OrderException, TimerFiring
from apps.notifications.models import Notification
from apps.rules.models import Category
from tests.conftest import _make_user
from tests.processes import celery, start_worker, stop, wait_for
from tests.workflows.test_processes import restart_redis
from tests.workflows.test_sla_engine import quick_workflow
from workflows.engine import ESCALATION
from workflows.models import HandlingCase, HandlingTask

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def events(exc: OrderException, kind: str) -> int:
    return ExceptionEvent.objects.filter(exception=exc, kind=kind).count()


def approvals(exc: OrderException) -> int:
    case = HandlingCase.objects.filter(exception=exc).first()
    if case is None:
        return 0
    return HandlingTask.objects.filter(process_id=case.pk, flow_task_type="HUMAN", data__step=ESCALATION).count()


def test_the_ladder_fires_each_level_once_through_kills_restarts_and_two_beats(raise_exception, tmp_path):
    if bootstrap._redis is None:
        pytest.fail("This test restarts the suite's own Redis: run it without REDIS_URL set (make test does).")
    lead = _make_user("fin-lead", "staff", "finance")
    Department.objects.filter(code="finance").update(lead=lead)
    manager = _make_user("boss", "manager", "management")
    quick_workflow("4s")
    ladders.ladder_save(
        severity="medium",
        document={
            "levels": [
                {"trigger": "share", "share": 80, "action": "remind"},
                {"trigger": "breach", "action": "notify_lead"},
                {"trigger": "after_breach", "after": "3s", "action": "approval"},
            ]
        },
        actor=None,
    )
    logs = [tmp_path / name for name in ("worker-a.log", "worker-b.log", "beat-1.log", "beat-2.log")]
    processes = []

    def start_all(suffix: str = ""):
        started = [start_worker(logs[0]), start_worker(logs[1])]
        started += [
            celery("beat", "--loglevel", "INFO", "-s", str(tmp_path / f"beat-{n}{suffix}.db"), log=logs[1 + n])
            for n in (1, 2)
        ]
        processes.extend(started)
        return started

    try:
        first = start_all()
        exc = raise_exception(Category.PAYMENT)
        wait_for(lambda: events(exc, ExceptionEvent.Kind.REMINDED), timeout=30, what="no reminder", logs=logs)

        # Mid-ladder: every worker and beat dies without a goodbye, and Redis restarts empty.
        for process in first:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        restart_redis()
        start_all("-again")

        wait_for(lambda: approvals(exc), timeout=60, what="no manager approval", logs=logs)
        exc.refresh_from_db()
        assert exc.status == OrderException.Status.ESCALATED
        time.sleep(4)  # more beats and dispatches: nothing fires twice
        assert events(exc, ExceptionEvent.Kind.REMINDED) == 1
        assert events(exc, ExceptionEvent.Kind.STEP_OVERDUE) == 1
        assert events(exc, ExceptionEvent.Kind.LEAD_NOTIFIED) == 1
        assert events(exc, ExceptionEvent.Kind.ESCALATED) == 1
        assert approvals(exc) == 1
        assert Notification.objects.filter(user=lead, kind=Notification.Kind.BREACH, exception=exc).count() == 1
        assert Notification.objects.filter(user=manager, kind=Notification.Kind.APPROVAL, exception=exc).count() == 1
        firings = TimerFiring.objects.filter(exception=exc)
        # The reminder, then the breach with the lead's level, and the approval: a timer that comes due
        # while nothing runs acts on every point due by then when it fires (so two or three firings;
        # one when the first firing came late enough that all were due, as on a loaded machine).
        assert firings.count() in (1, 2, 3)
        assert sorted(action for f in firings for action in f.actions) == sorted(
            ["remind", "breach", "notify_lead", "approval"]
        )
        assert all(f.lag_ms >= 0 for f in firings)
        assert "workflows.timers_fire" in logs[0].read_text(errors="replace") + logs[1].read_text(errors="replace")
    finally:
        for process in processes:
            stop(process)
