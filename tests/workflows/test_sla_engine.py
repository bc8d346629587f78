"""The SLA clock in the engine, in-process (the timers fired by calling the beat task's service):
business-time deadlines, pause and resume moving the timers, the ladder's actions, a manager's
approval taking over, fire-once, and the calendar the deadlines count on."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.accounts.models import Department, Role
from apps.exceptions import calendars, ladders
from apps.exceptions.models import BusinessCalendar, ExceptionEvent, OrderException, TimerFiring
from apps.notifications.models import Notification
from apps.rules.models import Category
from tests.conftest import _make_user
from tests.workflows.test_engine import only_task, publish
from workflows import escalation, selectors, services
from workflows.engine import ESCALATION
from workflows.models import HandlingCase

SHANGHAI = ZoneInfo("Asia/Shanghai")


def quick_workflow(deadline: str = "10m") -> None:
    publish(
        {
            "key": "quick-payment",
            "name": {"zh-hans": "快速付款核查", "en": "Quick payment check"},
            "priority": 99,
            "applies_to": {"categories": ["payment"]},
            "steps": [
                {
                    "key": "check",
                    "kind": "task",
                    "name": {"zh-hans": "核查", "en": "Check"},
                    "deadline": deadline,
                    "assign": {"strategy": "queue", "department": "finance"},
                    "outcomes": [
                        {"key": "done", "name": {"zh-hans": "完成", "en": "Done"}, "to": "resolve"},
                        {"key": "escalate", "name": {"zh-hans": "上报", "en": "Escalate"}, "to": "escalate"},
                    ],
                }
            ],
        }
    )


def set_ladder(*levels: dict) -> None:
    ladders.ladder_save(severity="medium", document={"levels": list(levels)}, actor=None)


def pending_timer(case_id: int) -> Task:
    return Task.objects.get(process_id=case_id, flow_task_type="TIMER", status=STATUS.SCHEDULED)


def at_next_timer(case_id: int):
    return time_machine.travel(pending_timer(case_id).scheduled + timedelta(seconds=1), tick=True)


@pytest.fixture
def people(db):
    lead = _make_user("fin-lead", "staff", "finance")
    Department.objects.filter(code="finance").update(lead=lead)
    manager = _make_user("boss", "manager", "management")
    return {"lead": lead, "manager": manager}


def test_the_ladder_reminds_escalates_and_hands_to_a_manager(raise_exception, engine_run, finance_user, people):
    quick_workflow("10m")
    set_ladder(
        {"trigger": "share", "share": 50, "action": "remind"},
        {"trigger": "breach", "action": "notify_lead"},
        {"trigger": "after_breach", "after": "5m", "action": "approval"},
    )
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_claim(task_id=task.pk, actor=finance_user)

    with at_next_timer(task.process_id):  # 5 minutes: half the deadline
        assert services.timers_fire() == 1
    reminder = Notification.objects.get(kind=Notification.Kind.REMINDER)
    assert reminder.user == finance_user
    assert f"#{exc.pk}" in reminder.text_en and f"#{exc.pk}" in reminder.text_zh

    with at_next_timer(task.process_id):  # 10 minutes: the breach
        assert services.timers_fire() == 1
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.ESCALATED
    assert Notification.objects.filter(kind=Notification.Kind.BREACH, user=people["lead"]).count() == 1
    assert exc.events.filter(kind=ExceptionEvent.Kind.LEAD_NOTIFIED).count() == 1

    with at_next_timer(task.process_id):  # 15 minutes: a manager takes over
        assert services.timers_fire() == 1
    task.refresh_from_db()
    assert task.status == STATUS.CANCELED and "manager" in task.data["canceled_note"]
    approval = only_task(people["manager"], scope="approvals")
    assert selectors.case_of(approval).step == ESCALATION
    assert Notification.objects.filter(kind=Notification.Kind.APPROVAL, user=people["manager"]).count() == 1
    assert TimerFiring.objects.filter(exception=exc).count() == 3
    assert all(f.lag_ms >= 0 for f in TimerFiring.objects.all())

    # The manager rejects it with a reason: back to the person who had it.
    services.approval_decide(task_id=approval.pk, actor=people["manager"], decision="reject", reason="Call the bank")
    back = only_task(finance_user, scope="mine")
    assert back.data["step"] == "check"
    decided = exc.events.get(kind=ExceptionEvent.Kind.APPROVAL_DECIDED)
    assert decided.data["decision"] == "reject" and decided.data["reason"] == "Call the bank"


def test_due_timers_fire_in_lanes_by_case_each_lane_one_dispatcher(raise_exception, engine_run, settings):
    """Lanes split the due timers by case (``process_id`` modulo the lanes): a lane's run fires its
    cases only, a lane whose dispatcher is busy is left to it, and without a lane every lane runs."""
    from django.core.cache import cache

    settings.ORDERGUARD_TIMER_LANES = 2
    quick_workflow("10m")
    set_ladder({"trigger": "share", "share": 50, "action": "remind"})
    for _ in range(5):
        raise_exception(Category.PAYMENT)
    engine_run()
    cases = list(HandlingCase.objects.values_list("pk", flat=True))
    assert len(cases) == 5
    by_lane = {lane: {pk for pk in cases if pk % 2 == lane} for lane in (0, 1)}
    assert by_lane[0] and by_lane[1], "the cases' ids fall in both lanes"
    latest = max(pending_timer(pk).scheduled for pk in cases)

    def fired_cases() -> set[int]:
        return set(TimerFiring.objects.values_list("exception__cases__pk", flat=True))

    with time_machine.travel(latest + timedelta(seconds=1), tick=True):
        cache.add(f"{services.DISPATCH_LOCK}:1", "1", timeout=30)  # lane 1's dispatcher is running
        try:
            assert services.timers_fire(lane=1) == 0
            assert services.timers_fire(lane=0) == len(by_lane[0])
            assert fired_cases() == by_lane[0]
            assert services.timers_fire() == 0  # lane 0 is drained and lane 1 is still busy
        finally:
            cache.delete(f"{services.DISPATCH_LOCK}:1")
        assert services.timers_fire() == len(by_lane[1])
    assert fired_cases() == set(cases)


def test_a_timer_acts_once_however_often_it_is_dispatched(raise_exception, engine_run, finance_user):
    quick_workflow("10m")
    set_ladder({"trigger": "share", "share": 50, "action": "remind"})
    raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_claim(task_id=task.pk, actor=finance_user)
    task.refresh_from_db()
    timer = pending_timer(task.process_id)
    case = HandlingCase.objects.get(pk=task.process_id)
    with at_next_timer(task.process_id):
        first = escalation.fire(case=case, host=task, timer=timer)
        again = escalation.fire(case=case, host=task, timer=timer)  # a second dispatcher on the same timer
        assert services.timers_fire() == 1
        assert services.timers_fire() == 0
    assert first["actions"] == ["remind"]
    assert again.get("duplicate") is True
    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 1
    assert TimerFiring.objects.count() == 1


def test_pause_stops_the_timers_and_resume_moves_them_by_the_paused_time(raise_exception, engine_run, finance_user):
    quick_workflow("10m")
    set_ladder({"trigger": "breach", "action": "notify_lead"})
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_claim(task_id=task.pk, actor=finance_user)
    due = parse_datetime(task.data["due_at"])
    exception_due = OrderException.objects.get(pk=exc.pk).due_at

    services.clock_pause(exception_id=exc.pk, actor=finance_user, reason="customer")
    assert pending_timer(task.process_id).scheduled is None
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True):
        assert services.timers_fire() == 0  # paused: nothing due, though the deadline has passed
        services.clock_resume(exception_id=exc.pk, actor=finance_user)
    task.refresh_from_db()
    moved = parse_datetime(task.data["due_at"])
    assert timedelta(minutes=59) < moved - due < timedelta(minutes=61)  # 24×7: the hour it was paused
    assert pending_timer(task.process_id).scheduled == moved
    exc.refresh_from_db()
    assert timedelta(minutes=59) < exc.due_at - exception_due < timedelta(minutes=61)
    kinds = list(exc.events.values_list("kind", flat=True))
    assert kinds.index(ExceptionEvent.Kind.PAUSED) < kinds.index(ExceptionEvent.Kind.RESUMED)
    resumed = exc.events.get(kind=ExceptionEvent.Kind.RESUMED)
    assert 3500 < resumed.data["paused_seconds"] < 3700
    with pytest.raises(Exception, match="not paused"):
        services.clock_resume(exception_id=exc.pk, actor=finance_user)


def test_a_refund_above_the_limit_waits_for_a_manager_and_a_waiver_needs_the_permission(
    raise_exception, engine_run, finance_user, people
):
    Department.objects.filter(code="finance").update(approval_limit=100)
    quick_workflow("10m")
    small = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_complete(
        task_id=task.pk, actor=finance_user, outcome="done", proposal={"kind": "refund", "amount": "80"}
    )
    small.refresh_from_db()
    assert small.status == OrderException.Status.RESOLVED  # within the limit: staff decide

    big = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_complete(
        task_id=task.pk, actor=finance_user, outcome="done", proposal={"kind": "refund", "amount": "800"}
    )
    big.refresh_from_db()
    assert big.status == OrderException.Status.ESCALATED
    approval = only_task(people["manager"], scope="approvals")
    services.approval_decide(task_id=approval.pk, actor=people["manager"], decision="approve", reason="OK")
    big.refresh_from_db()
    assert big.status == OrderException.Status.RESOLVED

    # A high exception waived needs the permission to grant it.
    waived = raise_exception(Category.PAYMENT)
    OrderException.objects.filter(pk=waived.pk).update(severity="high")
    engine_run()
    task = only_task(finance_user)
    services.task_complete(task_id=task.pk, actor=finance_user, outcome="done", proposal={"kind": "waive"})
    approval = only_task(people["manager"], scope="approvals")
    from django.contrib.auth.models import Group, Permission

    manager_group = Group.objects.get(name=Role.MANAGER)
    perm = Permission.objects.get(codename="grant_waiver")
    manager_group.permissions.remove(perm)
    people["manager"] = type(people["manager"]).objects.get(pk=people["manager"].pk)  # a fresh permission cache
    with pytest.raises(Exception, match="permission"):
        services.approval_decide(task_id=approval.pk, actor=people["manager"], decision="approve", reason="Accept")
    manager_group.permissions.add(perm)
    people["manager"] = type(people["manager"]).objects.get(pk=people["manager"].pk)
    services.approval_decide(task_id=approval.pk, actor=people["manager"], decision="approve", reason="Accept")
    waived.refresh_from_db()
    assert waived.status == OrderException.Status.RESOLVED


def test_first_response_is_the_first_claim_and_is_not_breached(raise_exception, engine_run, finance_user):
    quick_workflow("10m")
    set_ladder({"trigger": "breach", "action": "remind"})
    exc = raise_exception(Category.PAYMENT)
    engine_run()
    task = only_task(finance_user)
    services.task_claim(task_id=task.pk, actor=finance_user)
    exc.refresh_from_db()
    assert exc.first_responded_at is not None
    with time_machine.travel(timezone.now() + timedelta(days=5), tick=True):
        services.timers_fire()
        services.timers_fire()
    exc.refresh_from_db()
    assert exc.first_response_breached_at is None
    services.task_complete(task_id=task.pk, actor=finance_user, outcome="done")
    assert HandlingCase.objects.get(pk=task.process_id).status == STATUS.DONE


# --- deadlines on the seeded business calendars ---------------------------------------------------


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.business_calendars
@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # Friday afternoon before the Mid-Autumn and National Day holidays: the next working
        # day is Sunday 20 September, an official make-up working day.
        (local(2026, 9, 18, 16, 30), 120, local(2026, 9, 20, 9, 30)),
        # The holiday week: 1–7 October off, back on Thursday the 8th.
        (local(2026, 9, 30, 17, 0), 120, local(2026, 10, 8, 10, 0)),
        # A make-up Saturday: 10 October works.
        (local(2026, 10, 9, 17, 30), 60, local(2026, 10, 10, 9, 30)),
        # The split shift: the lunch break does not count.
        (local(2026, 11, 4, 11, 30), 60, local(2026, 11, 4, 14, 0)),
    ],
)
def test_deadlines_count_the_company_calendar(db, start, minutes, expected):
    finance = Department.objects.get(code="finance")
    assert not BusinessCalendar.objects.filter(department=finance).exists()  # finance works on the company's
    due = calendars.calendars_load().add(finance.pk, start, timedelta(minutes=minutes))
    assert due == expected


@pytest.mark.business_calendars
def test_a_company_holiday_and_a_new_year_are_data(db):
    calendars.calendar_save(
        key="finance",
        document={
            "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-11-04"],
        },
        actor=None,
    )
    finance = Department.objects.get(code="finance")
    due = calendars.calendars_load().add(finance.pk, local(2026, 11, 3, 17, 0), timedelta(minutes=120))
    assert due == local(2026, 11, 5, 10, 0)  # the company's own holiday on the 4th is skipped
    # Customer service works every day, holidays included (its own calendar).
    service = Department.objects.get(code="customer_service")
    due = calendars.calendars_load().add(service.pk, local(2026, 10, 1, 21, 0), timedelta(minutes=120))
    assert due == local(2026, 10, 2, 9, 0)
    assert [y.year for y in calendars.official_years() if y.holidays][-1] == 2026
    assert calendars.official_years_missing(today=local(2026, 12, 2).date()) == [2027]
