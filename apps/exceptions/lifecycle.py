"""Handling transitions of an exception (SPEC §3 lifecycle, §9.1): the services that people, the
API and the handling engine's flow handlers call to move an exception along.

    open ──claim / assign──▶ assigned ──start──▶ in_progress
      ▲                         │                   │
      └──────── hand back ──────┴───────────────────┘
    any active ──escalate──▶ escalated ──assign──▶ assigned
    any active ──resolve (root cause)──▶ resolved ──close──▶ closed
    any active ──dismiss (reason)──▶ dismissed
    resolved / closed / dismissed / auto_resolved ──reopen (reason)──▶ open

Each transition locks the exception row, checks the state it starts from and who may make it,
changes the row and appends one ``ExceptionEvent`` (who, when, and the reason or note) in the
same transaction. ``actor=None`` is the system (the engine, a timer): it may make any allowed
transition. A refused transition is a ``DomainError`` whose code says why and whose ``field``
names the offending input.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Department, Role, User
from apps.common.errors import DomainError
from apps.exceptions import handoff
from apps.exceptions.calendars import calendars_load
from apps.exceptions.models import (
    ExceptionEvent,
    ExceptionStatus,
    HandlingRequest,
    OrderException,
    PauseReason,
    RootCause,
)
from apps.rules.models import Severity

Status = ExceptionStatus
Kind = ExceptionEvent.Kind
MAX_REASON = 1000


class LifecycleErrorCode:
    NOT_ALLOWED_NOW = "not_allowed_now"
    NOT_YOURS = "not_yours"
    OTHER_DEPARTMENT = "other_department"
    REASON_REQUIRED = "reason_required"
    NOT_ELIGIBLE = "not_eligible"
    ALREADY_ACTIVE = "already_active"
    ALREADY_PAUSED = "already_paused"
    NOT_PAUSED = "not_paused"


def _locked(exception_id: int) -> OrderException:
    exc = OrderException.objects.select_for_update(of=("self",)).select_related("department").filter(pk=exception_id)
    found = exc.first()
    if found is None:
        raise DomainError(code="not_found", field="id", message=_("No such exception."), status_code=404)
    return found


def _refuse_unless(exc: OrderException, allowed: tuple[str, ...]) -> None:
    if exc.status not in allowed:
        raise DomainError(
            code=LifecycleErrorCode.NOT_ALLOWED_NOW,
            field="status",
            message=_("Not possible while the exception is %(status)s.") % {"status": exc.get_status_display()},
            status_code=409,
        )


def _oversees(actor: User | None) -> bool:
    """The system, admins and managers act on any department's exceptions."""
    if actor is None or actor.is_superuser:
        return True
    return actor.groups.filter(name__in=[Role.ADMIN, Role.MANAGER]).exists()


def _check_department(actor: User | None, exc: OrderException) -> None:
    if _oversees(actor):
        return
    if exc.department_id is None or actor.department_id != exc.department_id:
        raise DomainError(
            code=LifecycleErrorCode.OTHER_DEPARTMENT,
            field="department",
            message=_("This exception belongs to another department."),
            status_code=403,
        )


def _check_assignee(actor: User | None, exc: OrderException) -> None:
    if _oversees(actor):
        return
    _check_department(actor, exc)
    if exc.assignee_id != actor.pk:
        raise DomainError(
            code=LifecycleErrorCode.NOT_YOURS,
            field="assignee",
            message=_("Only the person it is assigned to (or a manager) may do this."),
            status_code=403,
        )


def _reason(reason: str, *, required: bool = True, field: str = "reason") -> str:
    text = (reason or "").strip()
    if required and not text:
        raise DomainError(code=LifecycleErrorCode.REASON_REQUIRED, field=field, message=_("Give a reason."))
    if len(text) > MAX_REASON:
        raise DomainError(
            code="invalid", field=field, message=_("At most %(count)d characters.") % {"count": MAX_REASON}
        )
    return text


def _record(exc: OrderException, kind: str, actor: User | None, **data: Any) -> ExceptionEvent:
    return ExceptionEvent.objects.create(
        exception=exc, at=timezone.now(), actor=actor, kind=kind, data={k: v for k, v in data.items() if v}
    )


def _save(exc: OrderException, *fields: str) -> None:
    exc.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def exception_assign(
    *, exception_id: int, assignee_id: int, actor: User | None = None, reason: str = ""
) -> OrderException:
    """Give the exception to ``assignee`` (a reassignment when it had someone): status ``assigned``.

    The assignee must be an active user of the exception's department. Anyone but the system,
    an admin or a manager may only assign exceptions of their own department; reassigning
    someone else's exception needs a reason.
    """
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED))
    _check_department(actor, exc)
    assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
    if assignee is None or (exc.department_id is not None and assignee.department_id != exc.department_id):
        raise DomainError(
            code=LifecycleErrorCode.NOT_ELIGIBLE,
            field="assignee",
            message=_("The assignee must be an active member of the exception's department."),
        )
    previous = exc.assignee_id
    text = _reason(reason, required=previous is not None and previous != assignee.pk)
    exc.assignee = assignee
    exc.status = Status.ASSIGNED
    _save(exc, "assignee", "status")
    _record(exc, Kind.ASSIGNED, actor, assignee=assignee.username, previous=previous, reason=text)
    return exc


@transaction.atomic
def exception_claim(*, exception_id: int, actor: User) -> OrderException:
    """Take an open exception of one's own department from its queue."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN,))
    if exc.department_id is None or actor.department_id != exc.department_id:
        raise DomainError(
            code=LifecycleErrorCode.OTHER_DEPARTMENT,
            field="department",
            message=_("Only members of the exception's department may claim it."),
            status_code=403,
        )
    exc.assignee = actor
    exc.status = Status.ASSIGNED
    _save(exc, "assignee", "status")
    _record(exc, Kind.CLAIMED, actor)
    return exc


@transaction.atomic
def exception_start(*, exception_id: int, actor: User | None) -> OrderException:
    """The assignee starts working on it: ``assigned`` → ``in_progress``."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.ASSIGNED,))
    _check_assignee(actor, exc)
    exc.status = Status.IN_PROGRESS
    _save(exc, "status")
    _record(exc, Kind.STARTED, actor)
    return exc


@transaction.atomic
def exception_hand_back(*, exception_id: int, actor: User | None, reason: str) -> OrderException:
    """Give an assigned exception back to its department's queue, with a reason."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.ASSIGNED, Status.IN_PROGRESS))
    _check_assignee(actor, exc)
    text = _reason(reason)
    previous = exc.assignee.username if exc.assignee_id else ""
    exc.assignee = None
    exc.status = Status.OPEN
    _save(exc, "assignee", "status")
    _record(exc, Kind.HANDED_BACK, actor, previous=previous, reason=text)
    return exc


@transaction.atomic
def exception_escalate(*, exception_id: int, actor: User | None = None, reason: str) -> OrderException:
    """Raise it to a manager (staff asking for help, or a breached deadline): status ``escalated``."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS))
    _check_department(actor, exc)
    text = _reason(reason)
    exc.status = Status.ESCALATED
    _save(exc, "status")
    _record(exc, Kind.ESCALATED, actor, reason=text)
    return exc


@transaction.atomic
def exception_resolve(*, exception_id: int, actor: User | None, root_cause: str, note: str = "") -> OrderException:
    """Resolve it with a root-cause code (``RootCause``) and an optional note."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED))
    _check_department(actor, exc)
    if root_cause not in RootCause.values:
        raise DomainError(
            code="invalid",
            field="root_cause",
            message=_("A root cause is one of %(codes)s.") % {"codes": ", ".join(RootCause.values)},
        )
    text = _reason(note, required=False, field="note")
    exc.status = Status.RESOLVED
    exc.root_cause = root_cause
    exc.resolved_at = timezone.now()
    _save(exc, "status", "root_cause", "resolved_at")
    _record(exc, Kind.RESOLVED, actor, root_cause=root_cause, note=text)
    handoff.cases_end_request(exception_ids=[exc.pk])
    return exc


@transaction.atomic
def exception_dismiss(*, exception_id: int, actor: User | None, reason: str) -> OrderException:
    """Dismiss it as not a real exception (feeds the rule's precision), with a reason."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED))
    _check_department(actor, exc)
    text = _reason(reason)
    exc.status = Status.DISMISSED
    exc.closed_at = timezone.now()
    _save(exc, "status", "closed_at")
    _record(exc, Kind.DISMISSED, actor, reason=text)
    handoff.cases_end_request(exception_ids=[exc.pk])
    return exc


@transaction.atomic
def exception_close(*, exception_id: int, actor: User | None) -> OrderException:
    """Close a resolved exception (the resolution was confirmed)."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.RESOLVED, Status.AUTO_RESOLVED))
    _check_department(actor, exc)
    exc.status = Status.CLOSED
    exc.closed_at = timezone.now()
    _save(exc, "status", "closed_at")
    _record(exc, Kind.CLOSED, actor)
    return exc


@transaction.atomic
def exception_reopen(*, exception_id: int, actor: User | None, reason: str) -> OrderException:
    """Open an ended exception again (the fix did not hold), with a reason; it goes back to the queue.

    Refused while the same rule has another active exception on the order: there is one at a time.
    """
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.RESOLVED, Status.CLOSED, Status.DISMISSED, Status.AUTO_RESOLVED))
    _check_department(actor, exc)
    text = _reason(reason)
    exc.status = Status.OPEN
    exc.assignee = None
    exc.resolved_at = None
    exc.closed_at = None
    exc.root_cause = ""
    try:
        with transaction.atomic():
            _save(exc, "status", "assignee", "resolved_at", "closed_at", "root_cause")
    except IntegrityError:
        raise DomainError(
            code=LifecycleErrorCode.ALREADY_ACTIVE,
            field="status",
            message=_("The rule has raised a new exception on this order since; handle that one instead."),
            status_code=409,
        ) from None
    _record(exc, Kind.REOPENED, actor, reason=text)
    handoff.cases_request(exception_ids=[exc.pk], reason=HandlingRequest.Reason.REOPENED)
    return exc


@transaction.atomic
def exception_place(
    *, exception_id: int, department_id: int | None, assignee_id: int | None, step: str, notice: str = ""
) -> OrderException:
    """The handling engine puts the exception with the department (and person) of its current step.

    System only (flow handlers call it when a step's task is created): the department changes
    when the step belongs to another department, the assignee is the task's owner or nobody
    (queued), and the status follows (``assigned`` / ``open``) unless a manager has it
    (``escalated``). ``notice`` says why when nobody eligible was available.
    """
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED))
    department_id = department_id or exc.department_id
    status = exc.status
    if exc.status != Status.ESCALATED:
        status = Status.ASSIGNED if assignee_id else Status.OPEN
    if (exc.department_id, exc.assignee_id, exc.status) == (department_id, assignee_id, status) and not notice:
        return exc
    exc.department_id = department_id
    exc.assignee_id = assignee_id
    exc.status = status
    _save(exc, "department", "assignee", "status")
    assignee = User.objects.filter(pk=assignee_id).values_list("username", flat=True).first() if assignee_id else ""
    code = Department.objects.filter(pk=department_id).values_list("code", flat=True).first() if department_id else ""
    _record(exc, Kind.ROUTED, None, step=step, department=code, assignee=assignee, notice=notice)
    return exc


@transaction.atomic
def exception_pause(*, exception_id: int, actor: User | None, reason: str, note: str = "") -> OrderException:
    """Stop the SLA clock while someone outside is waited for (an audited event, not a status).

    ``reason`` is a ``PauseReason``; ``other`` needs a note. The deadlines stand still until
    ``exception_resume``.
    """
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED))
    _check_department(actor, exc)
    if reason not in PauseReason.values:
        raise DomainError(
            code="invalid",
            field="reason",
            message=_("A pause reason is one of %(codes)s.") % {"codes": ", ".join(PauseReason.values)},
        )
    text = _reason(note, required=reason == PauseReason.OTHER, field="note")
    if exc.paused_at is not None:
        raise DomainError(
            code=LifecycleErrorCode.ALREADY_PAUSED,
            field="status",
            message=_("The clock is paused already."),
            status_code=409,
        )
    exc.paused_at = timezone.now()
    exc.pause_reason = reason
    _save(exc, "paused_at", "pause_reason")
    _record(exc, Kind.PAUSED, actor, reason=reason, note=text)
    return exc


@transaction.atomic
def exception_resume(*, exception_id: int, actor: User | None, note: str = "") -> tuple[OrderException, timedelta]:
    """Start the clock again: each deadline moves by the business time the pause lasted.

    Returns the exception and that business time (a ``timedelta``).
    """
    exc = _locked(exception_id)
    _check_department(actor, exc)
    text = _reason(note, required=False, field="note")
    if exc.paused_at is None:
        raise DomainError(
            code=LifecycleErrorCode.NOT_PAUSED, field="status", message=_("The clock is not paused."), status_code=409
        )
    calendars = calendars_load()
    now = timezone.now()
    paused = max(calendars.between(exc.department_id, exc.paused_at, now), timedelta(0))
    if exc.first_response_due_at is not None:
        exc.first_response_due_at = calendars.add(exc.department_id, exc.first_response_due_at, paused)
    if exc.due_at is not None:
        exc.due_at = calendars.add(exc.department_id, exc.due_at, paused)
    since = exc.paused_at
    exc.paused_at = None
    exc.pause_reason = ""
    _save(exc, "paused_at", "pause_reason", "first_response_due_at", "due_at")
    _record(
        exc,
        Kind.RESUMED,
        actor,
        since=since.isoformat(),
        paused_seconds=int(paused.total_seconds()),
        due_at=exc.due_at.isoformat() if exc.due_at else "",
        note=text,
    )
    return exc, paused


@transaction.atomic
def exception_raise_severity(*, exception_id: int, actor: User | None, reason: str) -> OrderException:
    """A manager raises the severity one level (urgent stays urgent), with a reason."""
    exc = _locked(exception_id)
    _refuse_unless(exc, (Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED))
    text = _reason(reason)
    previous = exc.severity
    raised = Severity.raised(previous)
    if raised == previous:
        raise DomainError(
            code=LifecycleErrorCode.NOT_ALLOWED_NOW,
            field="severity",
            message=_("The severity is the highest already."),
            status_code=409,
        )
    exc.severity = raised
    _save(exc, "severity")
    _record(exc, Kind.SEVERITY_RAISED, actor, previous=previous, severity=raised, reason=text)
    return exc


def exception_note(*, exception_id: int, kind: str, actor: User | None = None, **data: Any) -> ExceptionEvent:
    """Append an engine event that changes nothing on the exception (a step overdue, a case ended)."""
    if kind not in (Kind.STEP_OVERDUE, Kind.CASE_ENDED, Kind.REMINDED, Kind.LEAD_NOTIFIED, Kind.APPROVAL_DECIDED):
        raise ValueError(f"{kind} changes the exception: use its transition")
    exc = OrderException.objects.get(pk=exception_id)
    return _record(exc, kind, actor, **data)
