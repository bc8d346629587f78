"""Assignment strategies (SPEC §9.2, §10.6): who a handling task goes to, who is skipped, and
where it goes when nobody is eligible."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from viewflow.workflow.models import Process, Task

from apps.accounts.models import AssignmentCursor, Department, ShiftWindow, User, Weekday
from apps.accounts.services import department_set_lead, leave_add, user_set_away
from apps.common.errors import DomainError
from apps.exceptions.models import OrderException
from apps.exceptions.services import exceptions_sync
from apps.orders.models import Channel
from apps.rules.models import Category, ExceptionRule, Severity
from tests.conftest import _make_user
from tests.orders.factories import OrderFactory
from workflows.assignment import Assignment, assign

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
# Task rows name their flow by reference; the counts read only owner, status and type.
FLOW_REF = "workflows/tests.LoadFlow"
_codes = itertools.count(1)
THREADS = 4


def _exception(channel: str = Channel.TAOBAO, category: str = Category.PAYMENT) -> OrderException:
    """An exception raised as detection raises it; payment exceptions are graded to finance."""
    code = f"TEST_ASSIGN_{next(_codes)}"
    rule = ExceptionRule.objects.create(
        code=code, name=code, category=category, default_severity=Severity.MEDIUM, condition={"all": []}
    )
    order = OrderFactory(channel=channel)
    result = exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    return OrderException.objects.select_related("department", "order").get(pk=result.created_ids[0])


def _lead(department: str, username: str, role: str = "staff") -> User:
    lead = _make_user(username, role, department)
    admin = User.objects.filter(username="assign-admin").first() or _make_user("assign-admin", "admin", "management")
    department_set_lead(department_code=department, username=username, actor=admin)
    return lead


def _away(user: User) -> None:
    user_set_away(user_id=user.pk, away=True, note="外出", actor=user)


def _open_tasks(user: User, count: int, *, status: str = "ASSIGNED", kind: str = "HUMAN") -> None:
    process = Process.objects.create(flow_class=FLOW_REF)
    for n in range(count):
        Task.objects.create(
            process=process, flow_task=f"{FLOW_REF}.step{n}", flow_task_type=kind, status=status, owner=user
        )


@pytest.fixture
def exc():
    exception = _exception()
    assert exception.department.code == "finance"
    return exception


@pytest.fixture
def finance():
    return Department.objects.get(code="finance")


@pytest.fixture
def clerks():
    """Three finance staff, by id."""
    return [_make_user(f"fin-{n}", "staff", "finance") for n in range(1, 4)]


# --- queue ----------------------------------------------------------------------------------------


def test_queue_leaves_the_task_in_the_exceptions_department_queue(exc, finance):
    assert assign(strategy="queue", exception=exc, at=MONDAY_10) == Assignment(user=None, department=finance)


def test_a_named_department_overrides_the_exceptions_own(exc):
    chosen = assign(strategy="queue", department_code="logistics", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department.code, chosen.note) == (None, "logistics", "")


def test_an_unknown_department_or_strategy_is_refused_naming_it(exc):
    with pytest.raises(DomainError) as unknown_department:
        assign(strategy="queue", department_code="nowhere", exception=exc, at=MONDAY_10)
    with pytest.raises(DomainError) as unknown_strategy:
        assign(strategy="lottery", exception=exc, at=MONDAY_10)
    assert (unknown_department.value.field, unknown_strategy.value.field) == ("department", "strategy")


# --- user -----------------------------------------------------------------------------------------


def test_a_named_user_who_is_available_gets_the_task(exc, finance, clerks):
    chosen = assign(strategy="user", username="fin-2", exception=exc, at=MONDAY_10)
    assert chosen == Assignment(user=clerks[1], department=finance)


def test_a_named_user_who_is_away_falls_back_to_the_lead_with_a_note(exc, finance, clerks):
    lead = _lead("finance", "fin-lead")
    _away(clerks[0])
    chosen = assign(strategy="user", username="fin-1", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department, chosen.fallback) == (lead, finance, True)
    assert chosen.note == "fin-1 is not available; assigned to the lead of Finance, fin-lead."


def test_a_named_user_on_leave_with_the_lead_away_too_leaves_the_task_in_the_queue(exc, finance, clerks):
    lead = _lead("finance", "fin-lead")
    leave_add(user_id=clerks[0].pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 11), actor=clerks[0])
    _away(lead)
    chosen = assign(strategy="user", username="fin-1", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department, chosen.fallback) == (None, finance, False)
    assert chosen.note == (
        "fin-1 is not available, nor is the lead of Finance; the task waits in the department's queue."
    )


def test_a_named_user_in_another_department_takes_the_task_into_their_department(exc):
    packer = _make_user("wh-packer", "staff", "warehouse")
    chosen = assign(strategy="user", username="wh-packer", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department.code) == (packer, "warehouse")


def test_an_unknown_user_is_refused_on_user(exc):
    with pytest.raises(DomainError) as refused:
        assign(strategy="user", username="ghost", exception=exc, at=MONDAY_10)
    assert refused.value.field == "user"


# --- round robin ----------------------------------------------------------------------------------


def test_round_robin_hands_tasks_to_each_available_member_in_turn(exc, clerks):
    given = [assign(strategy="round_robin", exception=exc, at=MONDAY_10, scope="check").user for _ in range(4)]
    assert given == [clerks[0], clerks[1], clerks[2], clerks[0]]


def test_two_calls_move_the_cursor_to_the_last_person_given(exc, finance, clerks):
    first = assign(strategy="round_robin", exception=exc, at=MONDAY_10, scope="check")
    assert AssignmentCursor.objects.get(department=finance, scope="check").last_user == first.user == clerks[0]
    second = assign(strategy="round_robin", exception=exc, at=MONDAY_10, scope="check")
    assert AssignmentCursor.objects.get(department=finance, scope="check").last_user == second.user == clerks[1]
    assert AssignmentCursor.objects.filter(department=finance).count() == 1


def test_each_scope_keeps_its_own_turn(exc, clerks):
    assign(strategy="round_robin", exception=exc, at=MONDAY_10, scope="check")
    assert assign(strategy="round_robin", exception=exc, at=MONDAY_10, scope="approve").user == clerks[0]
    assert assign(strategy="round_robin", exception=exc, at=MONDAY_10, scope="check").user == clerks[1]


def test_round_robin_skips_members_who_are_away_on_leave_or_inactive(exc, clerks):
    fourth = _make_user("fin-4", "staff", "finance")
    _away(clerks[1])
    leave_add(user_id=clerks[2].pk, starts_on=dt.date(2026, 12, 7), ends_on=dt.date(2026, 12, 7), actor=clerks[2])
    User.objects.filter(pk=fourth.pk).update(is_active=False)
    given = [assign(strategy="round_robin", exception=exc, at=MONDAY_10).user for _ in range(2)]
    assert given == [clerks[0], clerks[0]]


def test_round_robin_continues_after_the_last_person_even_if_they_are_now_away(exc, clerks):
    assign(strategy="round_robin", exception=exc, at=MONDAY_10)
    assign(strategy="round_robin", exception=exc, at=MONDAY_10)
    _away(clerks[1])
    assert assign(strategy="round_robin", exception=exc, at=MONDAY_10).user == clerks[2]


def test_the_lead_is_not_in_the_rotation(exc, clerks):
    _lead("finance", "fin-lead")
    given = [assign(strategy="round_robin", exception=exc, at=MONDAY_10).user.username for _ in range(4)]
    assert given == ["fin-1", "fin-2", "fin-3", "fin-1"]


def test_nobody_available_in_round_robin_goes_to_the_lead_with_a_note(exc, finance, clerks):
    lead = _lead("finance", "fin-lead")
    for clerk in clerks:
        _away(clerk)
    chosen = assign(strategy="round_robin", exception=exc, at=MONDAY_10)
    assert chosen == Assignment(
        user=lead,
        department=finance,
        fallback=True,
        note="Nobody in Finance is available; assigned to the lead fin-lead.",
    )
    assert AssignmentCursor.objects.get(department=finance, scope="").last_user is None


def test_the_fallback_note_names_the_lead_in_the_pages_language(exc, clerks, settings):
    lead = _lead("finance", "fin-lead")
    User.objects.filter(pk=lead.pk).update(first_name="芳", last_name="李")
    for clerk in clerks:
        _away(clerk)
    settings.LANGUAGE_CODE = "zh-hans"
    chosen = assign(strategy="round_robin", exception=exc, at=MONDAY_10)
    assert chosen.user == lead
    assert "财务" in chosen.note
    assert "芳 李" in chosen.note


# serialized_rollback restores the departments the data migrations seeded, which a flush removes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_round_robins_hand_out_different_people():
    """Each assigner holds the cursor until its transaction ends, so nobody is given twice."""
    clerks = [_make_user(f"fin-{n}", "staff", "finance") for n in range(1, THREADS + 1)]
    exception = _exception()
    barrier = threading.Barrier(THREADS)
    given: list[int] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                chosen = assign(strategy="round_robin", exception=exception, at=MONDAY_10, scope="race")
                given.append(chosen.user.pk)
        except Exception as exc:  # a failure must show up in the assertions, not vanish in a thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(given) == [clerk.pk for clerk in clerks]


# --- shifts ---------------------------------------------------------------------------------------


@pytest.fixture
def night_shift(finance):
    """Finance works Monday 22:00 to Tuesday 06:00 only."""
    return ShiftWindow.objects.create(
        department=finance, weekday=Weekday.MONDAY, starts_at=dt.time(22), ends_at=dt.time(6)
    )


def test_a_night_shift_member_gets_tasks_after_midnight(exc, clerks, night_shift):
    tuesday_3 = dt.datetime(2026, 12, 8, 3, 0, tzinfo=SHANGHAI)
    assert assign(strategy="round_robin", exception=exc, at=tuesday_3).user == clerks[0]
    assert assign(strategy="least_loaded", exception=exc, at=tuesday_3).user == clerks[0]


def test_off_shift_with_the_lead_off_shift_too_the_task_waits_in_the_queue(exc, finance, clerks, night_shift):
    _lead("finance", "fin-lead")
    tuesday_7 = dt.datetime(2026, 12, 8, 7, 0, tzinfo=SHANGHAI)
    chosen = assign(strategy="round_robin", exception=exc, at=tuesday_7)
    assert (chosen.user, chosen.department, chosen.fallback) == (None, finance, False)
    assert chosen.note == ("Nobody in Finance is available, nor is the lead; the task waits in the department's queue.")


def test_without_a_moment_given_assignment_reads_the_clock(exc, clerks, night_shift):
    with time_machine.travel(dt.datetime(2026, 12, 7, 23, 0, tzinfo=SHANGHAI), tick=False):
        assert assign(strategy="least_loaded", exception=exc).user == clerks[0]
    with time_machine.travel(dt.datetime(2026, 12, 7, 12, 0, tzinfo=SHANGHAI), tick=False):
        chosen = assign(strategy="least_loaded", exception=exc)
    assert (chosen.user, chosen.note) == (
        None,
        "Nobody in Finance is available and it has no lead; the task waits in the department's queue.",
    )


# --- least loaded ---------------------------------------------------------------------------------


def test_least_loaded_picks_the_member_with_the_fewest_open_human_tasks(exc, finance, clerks):
    _open_tasks(clerks[0], 1)
    _open_tasks(clerks[1], 2)
    _open_tasks(clerks[2], 2, status="STARTED")
    assert assign(strategy="least_loaded", exception=exc, at=MONDAY_10) == Assignment(
        user=clerks[0], department=finance
    )
    _open_tasks(clerks[0], 2)
    assert assign(strategy="least_loaded", exception=exc, at=MONDAY_10).user == clerks[1]


def test_finished_and_automatic_tasks_do_not_count_as_load(exc, clerks):
    _open_tasks(clerks[0], 1)
    _open_tasks(clerks[1], 3, status="DONE")
    _open_tasks(clerks[1], 3, status="CANCELED")
    _open_tasks(clerks[1], 3, kind="JOB")
    _open_tasks(clerks[2], 1)
    assert assign(strategy="least_loaded", exception=exc, at=MONDAY_10).user == clerks[1]


def test_equal_loads_go_to_the_earliest_member(exc, clerks):
    for clerk in clerks:
        _open_tasks(clerk, 1)
    assert assign(strategy="least_loaded", exception=exc, at=MONDAY_10).user == clerks[0]


def test_least_loaded_skips_the_absent_however_idle(exc, clerks):
    _away(clerks[0])
    _open_tasks(clerks[1], 5)
    _open_tasks(clerks[2], 4)
    assert assign(strategy="least_loaded", exception=exc, at=MONDAY_10).user == clerks[2]


def test_least_loaded_costs_the_same_queries_for_few_or_many_members(exc, clerks, django_assert_max_num_queries):
    for clerk in clerks:
        _open_tasks(clerk, 1)
    with django_assert_max_num_queries(5) as few:
        assign(strategy="least_loaded", exception=exc, at=MONDAY_10)
    for n in range(5, 12):
        _open_tasks(_make_user(f"fin-{n}", "staff", "finance"), 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assign(strategy="least_loaded", exception=exc, at=MONDAY_10)


def test_nobody_available_for_least_loaded_and_no_lead_leaves_the_task_in_the_queue(exc, finance, clerks):
    for clerk in clerks:
        _away(clerk)
    assert assign(strategy="least_loaded", exception=exc, at=MONDAY_10) == Assignment(
        user=None,
        department=finance,
        note="Nobody in Finance is available and it has no lead; the task waits in the department's queue.",
    )


# --- by field -------------------------------------------------------------------------------------


@pytest.fixture
def channel_map():
    return {"jd": "cs-jd", "tmall": "customer_service", "douyin": "nowhere"}


def test_by_field_gives_a_mapped_value_to_the_user_named(finance, channel_map):
    agent = _make_user("cs-jd", "staff", "customer_service")
    chosen = assign(
        strategy="by_field", field="channel", mapping=channel_map, exception=_exception(Channel.JD), at=MONDAY_10
    )
    assert (chosen.user, chosen.department.code, chosen.fallback) == (agent, "customer_service", False)


def test_by_field_gives_a_mapped_department_its_queue(channel_map):
    chosen = assign(
        strategy="by_field", field="channel", mapping=channel_map, exception=_exception(Channel.TMALL), at=MONDAY_10
    )
    assert (chosen.user, chosen.department.code, chosen.note) == (None, "customer_service", "")


def test_by_field_without_a_match_leaves_the_task_in_the_exceptions_department_queue(finance, channel_map):
    chosen = assign(
        strategy="by_field", field="channel", mapping=channel_map, exception=_exception(Channel.TAOBAO), at=MONDAY_10
    )
    assert chosen == Assignment(user=None, department=finance)


def test_by_field_with_the_mapped_user_away_falls_back_to_their_departments_lead(channel_map):
    agent = _make_user("cs-jd", "staff", "customer_service")
    lead = _lead("customer_service", "cs-lead")
    _away(agent)
    chosen = assign(
        strategy="by_field", field="channel", mapping=channel_map, exception=_exception(Channel.JD), at=MONDAY_10
    )
    assert (chosen.user, chosen.department.code, chosen.fallback) == (lead, "customer_service", True)
    assert chosen.note == "cs-jd is not available; assigned to the lead of Customer service, cs-lead."


def test_by_field_compares_any_order_field_as_a_string(finance):
    exception = _exception()
    mapping = {str(exception.order.total_amount): "logistics"}
    chosen = assign(strategy="by_field", field="total_amount", mapping=mapping, exception=exception, at=MONDAY_10)
    assert chosen.department.code == "logistics"


def test_by_field_with_a_value_mapped_to_nothing_known_says_so(finance, channel_map):
    chosen = assign(
        strategy="by_field", field="channel", mapping=channel_map, exception=_exception(Channel.DOUYIN), at=MONDAY_10
    )
    assert (chosen.user, chosen.department) == (None, finance)
    assert chosen.note == "“nowhere” is neither a user nor a department; the task waits in the queue of Finance."


def test_by_field_on_a_field_orders_do_not_have_is_refused_on_field(exc):
    with pytest.raises(DomainError) as refused:
        assign(strategy="by_field", field="colour", mapping={"red": "finance"}, exception=exc, at=MONDAY_10)
    assert refused.value.field == "field"


# --- lead -----------------------------------------------------------------------------------------


def test_lead_gives_the_task_to_the_departments_lead(exc, finance, clerks):
    lead = _lead("finance", "fin-lead")
    assert assign(strategy="lead", exception=exc, at=MONDAY_10) == Assignment(user=lead, department=finance)


def test_lead_of_a_named_department(exc):
    lead = _lead("logistics", "lg-lead")
    chosen = assign(strategy="lead", department_code="logistics", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department.code) == (lead, "logistics")


def test_an_absent_lead_leaves_the_task_in_the_queue_with_a_note(exc, finance):
    lead = _lead("finance", "fin-lead")
    _away(lead)
    chosen = assign(strategy="lead", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department, chosen.fallback) == (None, finance, False)
    assert chosen.note == "The lead of Finance, fin-lead, is not available; the task waits in the department's queue."


def test_a_department_without_a_lead_leaves_the_task_in_the_queue_with_a_note(exc, finance):
    chosen = assign(strategy="lead", exception=exc, at=MONDAY_10)
    assert chosen == Assignment(
        user=None, department=finance, note="Finance has no lead; the task waits in the department's queue."
    )


# --- manager --------------------------------------------------------------------------------------


def test_manager_gives_the_task_to_the_least_loaded_available_manager(exc):
    busy = _make_user("boss-busy", "manager", "management")
    idle = _make_user("boss-idle", "manager", "finance")
    absent = _make_user("boss-away", "manager", "management")
    _make_user("fin-staff", "staff", "finance")
    _open_tasks(busy, 2)
    _open_tasks(idle, 1)
    _away(absent)
    chosen = assign(strategy="manager", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department.code) == (idle, "finance")
    _open_tasks(idle, 2)
    assert assign(strategy="manager", exception=exc, at=MONDAY_10).user == busy


def test_without_an_available_manager_the_task_waits_in_managements_queue(exc, clerks):
    boss = _make_user("boss", "manager", "management")
    _away(boss)
    chosen = assign(strategy="manager", exception=exc, at=MONDAY_10)
    assert (chosen.user, chosen.department.code) == (None, "management")
    assert chosen.note == "No manager is available; the task waits in the queue of Management."
