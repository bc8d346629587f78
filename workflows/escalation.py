"""The SLA clock of a human step and its escalation ladder, on viewflow timers (SPEC §9.4, §9.5).

When a task is created (``engine.step_owner``) its timeline is laid out: each running
deadline's breach and each level of the severity's ladder, in business time on the task
department's calendar, into ``task.data["ladder"]``. The flow arms one timer for the next point:

    human ──(timer boundary, non-interrupting: the first point)──▶ ladder ─▶ ladder_next
    ladder_next ─┬─▶ ladder_wait (a timer: the next point) ─▶ ladder
                 ├─▶ route (a manager's approval takes over the case)
                 └─▶ ladder_end

``ladder`` acts on every point that is due, records the firing's lag (``TimerFiring``, unique
per timer task: a timer acts once even when two dispatchers meet it) and moves
``task.data["ladder_next"]`` on. The boundary is canceled by viewflow when the task finishes; a
pending ``ladder_wait`` of a finished task is canceled by ``ladder_cancel``. A paused clock has
no timer due (``scheduled`` empty) until it resumes, when the points move by the paused business
time (``clock_resume``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.status import STATUS

from apps.accounts.models import Department, User
from apps.exceptions import lifecycle, sla
from apps.exceptions.calendars import calendars_load
from apps.exceptions.ladders import BREACH, Action, Clock, Clocks, ladder_levels, ladder_points, points_shift
from apps.exceptions.models import ExceptionEvent, OrderException, TimerFiring
from apps.notifications.models import Notification
from apps.notifications.services import notify
from workflows import live
from workflows.models import HandlingCase, HandlingTask
from workflows.selectors import name_in_language

logger = logging.getLogger(__name__)

# A clock with nothing left to do still has a timer (viewflow needs a moment): far away.
FAR = timedelta(days=3650)
OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
# The exception's own deadlines (not a step's): their levels fire once per exception.
EXCEPTION_CLOCK = "exception"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def timeline(*, exception: OrderException, department_id: int | None, step: dict[str, Any], deadline, now) -> dict:
    """The SLA part of a new task's data: its deadline, the clock it runs on and its ladder.

    A step with its own deadline runs on it (from now, in business time); otherwise the task
    runs on the exception's resolution deadline. The first-response deadline runs until someone
    responds. Approval steps (a manager deciding) have their own deadline's breach only.
    """
    calendars = calendars_load()
    calendar = calendars.for_department(department_id)
    if deadline is not None:
        resolution = (now, calendars.add(department_id, now, deadline))
        clock = "step"
    elif exception.due_at is not None:
        resolution = (exception.detected_at, exception.due_at)
        clock = EXCEPTION_CLOCK
    else:
        resolution, clock = None, EXCEPTION_CLOCK
    first_response = None
    if (
        exception.first_responded_at is None
        and exception.first_response_breached_at is None
        and exception.first_response_due_at is not None
    ):
        first_response = (exception.detected_at, exception.first_response_due_at)
    levels = ladder_levels(exception.severity) if step["kind"] == "task" else []
    if step["kind"] != "task":
        first_response = None
        if clock == EXCEPTION_CLOCK:
            resolution = None  # a manager's approval has no ladder of the exception's deadline
    points = ladder_points(
        levels=levels, clocks=Clocks(resolution=resolution, first_response=first_response), calendar=calendar
    )
    return {
        "due_at": _iso(resolution[1]) if resolution else None,
        "clock_start": _iso(resolution[0]) if resolution else None,
        "clock": clock,
        "ladder": points,
        "ladder_next": 0,
    }


def _next_at(host: HandlingTask) -> datetime | None:
    data = host.data or {}
    points = data.get("ladder") or []
    index = data.get("ladder_next", 0)
    return parse_datetime(points[index]["at"]) if index < len(points) else None


def _paused(exception_id: int) -> bool:
    return OrderException.objects.filter(pk=exception_id, paused_at__isnull=False).exists()


def next_due(host: HandlingTask, exception_id: int) -> datetime:
    """A ladder timer's moment (the boundary's and each ``ladder_wait``'s): the task's next point,
    far away when none is left or while the exception's clock is paused."""
    at = _next_at(host)
    if at is None or _paused(exception_id):
        return timezone.now() + FAR
    return at


# -- firing --------------------------------------------------------------------------------------


def _fired_key(host: HandlingTask, point: dict[str, Any]) -> str:
    scope = (
        EXCEPTION_CLOCK
        if (host.data or {}).get("clock") == EXCEPTION_CLOCK or point["clock"] == Clock.FIRST_RESPONSE
        else host.pk
    )
    return f"{scope}:{point['clock']}:{point['level']}:{point['action']}"


def fire(*, case: HandlingCase, host: HandlingTask, timer) -> dict[str, Any]:
    """A ladder timer fired: act on every point of ``host`` that is due. Returns what happened:
    ``{"actions": [...], "takes_over": bool}`` (a manager's approval replaces the task)."""
    now = timezone.now()
    due = timer.scheduled or now
    record = TimerFiring(
        timer_task_id=timer.pk,
        exception_id=case.exception_id,
        due_at=due,
        fired_at=now,
        lag_ms=int((now - due).total_seconds() * 1000),
    )
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        logger.info("Ladder timer %s fired already", timer.pk)
        return {"actions": [], "takes_over": False, "duplicate": True}
    exc = OrderException.objects.select_related("department", "order", "rule").get(pk=case.exception_id)
    case.exception = exc  # the live payloads below read the exception as this firing leaves it
    host.process = case
    firing = _Firing(host=host, exc=exc)
    actions: list[str] = []
    takes_over = False
    if host.status in OPEN and exc.is_active and exc.paused_at is None:
        data = dict(host.data or {})
        points = data.get("ladder") or []
        index = data.get("ladder_next", 0)
        fired = set((case.data or {}).get("fired") or [])
        while index < len(points) and parse_datetime(points[index]["at"]) <= now:
            point = points[index]
            index += 1
            key = _fired_key(host, point)
            if key in fired:
                continue
            fired.add(key)
            outcome = _act(point, case=case, host=host, exc=exc, firing=firing)
            actions.append(point["action"])
            if outcome == "takes_over":
                takes_over = True
                break
        data = {**(host.data or {}), "ladder_next": index}
        host.data = data
        host.save(update_fields=["data"])
        case.data = {**(case.data or {}), "fired": sorted(fired)}
        case.save(update_fields=["data"])
        firing.announce()
    record.actions = actions
    record.save(update_fields=["actions"])
    return {"actions": actions, "takes_over": takes_over}


def _department_id(host: HandlingTask, exc: OrderException) -> int | None:
    return (host.data or {}).get("department") or exc.department_id


class _Firing:
    """What one firing's actions share: the department's lead and the usernames they name (one
    query each, however many actions ask), and the live event the task gets when they are done
    (one, whatever the number of actions that changed it)."""

    def __init__(self, *, host: HandlingTask, exc: OrderException):
        self.host, self.exc = host, exc
        self._lead: tuple[int | None] | None = None
        self._usernames: dict[int, str] = {}
        self.event: str | None = None
        self.also_users: list[int | None] = []

    def lead_id(self) -> int | None:
        if self._lead is None:
            self._lead = (_lead_id(self.host, self.exc),)
        return self._lead[0]

    def username(self, user_id: int | None) -> str:
        if not user_id:
            return ""
        if user_id not in self._usernames:
            self._usernames[user_id] = _username(user_id)
        return self._usernames[user_id]

    def changed(self, event_type: str = "task.updated", *, also_users=()) -> None:
        if self.event != "task.assigned":  # an assignment's event carries the update too
            self.event = event_type
        self.also_users += list(also_users)

    def announce(self) -> None:
        if self.event is not None:
            live.task_event(self.host, self.event, also_users=self.also_users)


def _lead_id(host: HandlingTask, exc: OrderException) -> int | None:
    department_id = _department_id(host, exc)
    return Department.objects.filter(pk=department_id).values_list("lead_id", flat=True).first()


def _act(point: dict[str, Any], *, case: HandlingCase, host: HandlingTask, exc: OrderException, firing: _Firing) -> str:
    action = point["action"]
    step = (host.data or {}).get("step", "")
    names = next((item.get("name") for item in case.steps if item["key"] == step), None) or {}

    def step_name() -> str:  # in the language of the message being written
        return name_in_language(names) or step

    due = (host.data or {}).get("due_at")
    if action == BREACH:
        if point["clock"] == Clock.FIRST_RESPONSE:
            if exc.first_responded_at is None:
                sla.breach_record(
                    exception_id=exc.pk, clock=Clock.FIRST_RESPONSE, due_at=exc.first_response_due_at, step=step
                )
            return "done"
        if (host.data or {}).get("clock") == EXCEPTION_CLOCK:
            sla.breach_record(exception_id=exc.pk, clock=Clock.RESOLUTION, due_at=exc.due_at, step=step)
        else:
            lifecycle.exception_note(exception_id=exc.pk, kind=ExceptionEvent.Kind.STEP_OVERDUE, step=step)
        host.data = {**(host.data or {}), "overdue": True}
        host.save(update_fields=["data"])
        firing.changed()
        return "done"
    number = f"#{exc.pk}"
    if action == Action.REMIND:
        target = host.owner_id or firing.lead_id()
        notify(
            user_ids=[target],
            kind=Notification.Kind.REMINDER,
            message=lambda: _("Exception %(number)s: the deadline of “%(step)s” is near (due %(due)s).")
            % {"number": number, "step": step_name(), "due": _local(due)},
            exception_id=exc.pk,
            task_id=host.pk,
        )
        lifecycle.exception_note(
            exception_id=exc.pk, kind=ExceptionEvent.Kind.REMINDED, step=step, user=firing.username(target)
        )
        return "done"
    if action == Action.NOTIFY_LEAD:
        lead = firing.lead_id()
        notify(
            user_ids=[lead],
            kind=Notification.Kind.BREACH,
            message=lambda: _("Exception %(number)s missed the deadline of “%(step)s” (due %(due)s).")
            % {"number": number, "step": step_name(), "due": _local(due)},
            exception_id=exc.pk,
            task_id=host.pk,
        )
        lifecycle.exception_note(
            exception_id=exc.pk, kind=ExceptionEvent.Kind.LEAD_NOTIFIED, step=step, user=firing.username(lead)
        )
        if exc.status in (
            OrderException.Status.OPEN,
            OrderException.Status.ASSIGNED,
            OrderException.Status.IN_PROGRESS,
        ):
            lifecycle.exception_escalate(
                exception_id=exc.pk, actor=None, reason=str(_("The deadline of step %(step)s passed.") % {"step": step})
            )
            exc.refresh_from_db()
        firing.changed()
        return "done"
    if action == Action.REASSIGN_LEAD:
        lead = firing.lead_id()
        if lead is not None and lead != host.owner_id:
            previous = host.owner_id
            host.owner_id = lead
            if host.status == STATUS.NEW:
                host.status = STATUS.ASSIGNED
            host.assigned = timezone.now()
            host.data = {**(host.data or {}), "reassigned": str(_("The deadline passed: given to the lead."))}
            host.save(update_fields=["owner", "status", "assigned", "data"])
            if (host.data or {}).get("kind") == "task":
                lifecycle.exception_place(
                    exception_id=exc.pk, department_id=_department_id(host, exc), assignee_id=lead, step=step
                )
            notify(
                user_ids=[lead],
                kind=Notification.Kind.REASSIGNED,
                message=lambda: _("Exception %(number)s is yours now: its deadline passed.") % {"number": number},
                exception_id=exc.pk,
                task_id=host.pk,
            )
            firing.changed("task.assigned", also_users=[previous])
        return "done"
    if action == Action.APPROVAL:
        return "takes_over"
    raise ValueError(f"Unknown ladder action {action!r}")


def take_over(*, case: HandlingCase, host: HandlingTask) -> None:
    """The ladder opens a manager's approval: the task ends (canceled, with a note) and the case
    goes to its escalation step, which the flow routes to next."""
    from workflows import engine

    if host.status == STATUS.STARTED:
        host.status = STATUS.ASSIGNED
    note = str(_("The deadline passed: a manager decides now."))
    host.data = {**(host.data or {}), "canceled_note": note, "outcome": engine.ESCALATE}
    host.status = STATUS.CANCELED
    host.finished = timezone.now()
    host.save(update_fields=["data", "status", "finished"])
    ladder_cancel(host)
    live.task_event(host, "task.canceled")
    engine.advance(case, to=engine.ESCALATE, reason=note)


def ladder_cancel(host: HandlingTask) -> int:
    """Cancel the pending ladder timers of a finished task."""
    from workflows.flows import HandlingFlow

    pending = HandlingTask.objects.filter(
        process_id=host.process_id, flow_task=HandlingFlow.ladder_wait, status=STATUS.SCHEDULED, data__host=host.pk
    )
    return pending.update(status=STATUS.CANCELED, finished=timezone.now())


def _pending_timers(case_id: int):
    from workflows.flows import HandlingFlow

    return HandlingTask.objects.filter(
        process_id=case_id,
        flow_task__in=[HandlingFlow.human._boundary_events[0], HandlingFlow.ladder_wait],
        status=STATUS.SCHEDULED,
    )


def clocks_pause(*, case_id: int) -> int:
    """A paused clock has no timer due."""
    return _pending_timers(case_id).update(scheduled=None)


def clocks_resume(*, case_id: int, paused: timedelta) -> list[HandlingTask]:
    """Move each open task's deadline and remaining points by the paused business time, and its
    pending timer to the next point. Returns the tasks moved."""
    calendars = calendars_load()
    moved = []
    for host in HandlingTask.objects.filter(process_id=case_id, flow_task_type="HUMAN", status__in=OPEN):
        data = dict(host.data or {})
        calendar = calendars.for_department(data.get("department"))
        if paused > timedelta(0):
            if data.get("due_at"):
                data["due_at"] = calendars.add(
                    data.get("department"), parse_datetime(data["due_at"]), paused
                ).isoformat()
            data["ladder"] = points_shift(
                data.get("ladder") or [], calendar=calendar, by=paused, since=data.get("ladder_next", 0)
            )
        host.data = data
        host.save(update_fields=["data"])
        moved.append(host)
    for timer in _pending_timers(case_id):
        host_id = (timer.data or {}).get("host") or timer.previous.values_list("pk", flat=True).first()
        host = next((h for h in moved if h.pk == host_id), None)
        at = _next_at(host) if host is not None else None
        timer.scheduled = at or timezone.now() + FAR
        timer.save(update_fields=["scheduled"])
    return moved


def _local(value: str | None) -> str:
    at = parse_datetime(value or "") if value else None
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "—"


def _username(user_id: int | None) -> str:
    return User.objects.filter(pk=user_id).values_list("username", flat=True).first() or "" if user_id else ""
