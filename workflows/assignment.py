"""Who a handling task goes to (SPEC §9.2, the strategies of §10.6).

``assign`` picks a person or a department's queue for one task from a step's assignment rule.
People who are away, on leave or off shift are skipped (``apps.accounts.availability``). When a
strategy finds nobody eligible the task goes to the department's lead, and when the lead cannot
take it either it waits in the department's queue; either way the ``note`` says why, so that
nobody receives a task silently meant for someone absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from apps.accounts.availability import available_members, available_users, is_available
from apps.accounts.models import AssignmentCursor, Department, Role, User
from apps.common.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from apps.exceptions.models import OrderException

MANAGEMENT = "management"
# A person's load: the human tasks they hold that are not finished yet.
OPEN_TASK_STATUSES = (STATUS.ASSIGNED, STATUS.STARTED)
HUMAN = "HUMAN"
_NO_MAPPING: Mapping[str, str] = MappingProxyType({})


class Strategy(models.TextChoices):
    QUEUE = "queue", gettext_lazy("Department queue")
    USER = "user", gettext_lazy("A named user")
    ROUND_ROBIN = "round_robin", gettext_lazy("Round-robin in the department")
    LEAST_LOADED = "least_loaded", gettext_lazy("Least loaded in the department")
    BY_FIELD = "by_field", gettext_lazy("By an order field")
    LEAD = "lead", gettext_lazy("The department's lead")
    MANAGER = "manager", gettext_lazy("A manager")


@dataclass(frozen=True)
class Assignment:
    """The outcome of a rule: a person, or a department's queue when ``user`` is None."""

    user: User | None
    department: Department | None
    # True: nobody eligible, the task went to the department's lead.
    fallback: bool = False
    # Why, for people to read, when it fell back or nobody at all could take it.
    note: str = ""


def _name(user: User) -> str:
    return user.get_full_name() or user.username


def _department(code: str) -> Department:
    department = Department.objects.select_related("lead").filter(code=code).first()
    if department is None:
        raise DomainError(
            code=ErrorCode.INVALID,
            field="department",
            message=_("Unknown department “%(code)s”.") % {"code": code},
        )
    return department


def _named_user(username: str) -> User:
    user = User.objects.select_related("department__lead").filter(username=username).first() if username else None
    if user is None:
        raise DomainError(
            code=ErrorCode.INVALID, field="user", message=_("Unknown user “%(username)s”.") % {"username": username}
        )
    return user


def _loads(users: Sequence[User]) -> dict[int, int]:
    """Open human tasks per user id, in one query."""
    rows = (
        Task.objects.filter(owner__in=users, status__in=OPEN_TASK_STATUSES, flow_task_type=HUMAN)
        .order_by()
        .values("owner")
        .annotate(count=Count("id"))
        .values_list("owner", "count")
    )
    return dict(rows)


def _least_loaded(users: Sequence[User]) -> User | None:
    if not users:
        return None
    loads = _loads(users)
    return min(users, key=lambda user: (loads.get(user.pk, 0), user.pk))


def _workers(department: Department, at: datetime) -> list[User]:
    """The available members who share the department's tasks, by id.

    The lead is not among them: the lead is who the tasks fall back to when none of them is
    available (a lead who is in the rotation would make that fallback unreachable).
    """
    return [user for user in available_members(department, at) if user.pk != department.lead_id]


def _no_department() -> Assignment:
    return Assignment(user=None, department=None, note=_("The exception has no department to assign the task to."))


def _fallback(department: Department | None, at: datetime, *, absent: User | None = None) -> Assignment:
    """Nobody eligible: the department's lead if available, else its queue, with a note either way.

    ``absent`` is the named user who could not take the task; without one, nobody in the
    department could.
    """
    if department is None:
        return _no_department()
    lead = department.lead
    params = {"department": department.display_name, "user": _name(absent) if absent else ""}
    if lead is not None and is_available(lead, at):
        params["lead"] = _name(lead)
        if absent is not None:
            note = _("%(user)s is not available; assigned to the lead of %(department)s, %(lead)s.") % params
        else:
            note = _("Nobody in %(department)s is available; assigned to the lead %(lead)s.") % params
        return Assignment(user=lead, department=department, fallback=True, note=note)
    if lead is not None:
        if absent is not None:
            note = _(
                "%(user)s is not available, nor is the lead of %(department)s; "
                "the task waits in the department's queue."
            )
        else:
            note = _(
                "Nobody in %(department)s is available, nor is the lead; the task waits in the department's queue."
            )
    elif absent is not None:
        note = _("%(user)s is not available and %(department)s has no lead; the task waits in the department's queue.")
    else:
        note = _("Nobody in %(department)s is available and it has no lead; the task waits in the department's queue.")
    return Assignment(user=None, department=department, note=note % params)


def _to_user(user: User, department: Department | None, at: datetime) -> Assignment:
    if is_available(user, at):
        return Assignment(user=user, department=department)
    return _fallback(department, at, absent=user)


def _round_robin(department: Department | None, at: datetime, scope: str) -> Assignment:
    if department is None:
        return _no_department()
    with transaction.atomic():
        # The cursor row is locked until the surrounding transaction ends, so two assigners of
        # the same department and scope take turns instead of both giving the task to one person.
        cursor, _created = AssignmentCursor.objects.select_for_update().get_or_create(
            department=department, scope=scope
        )
        members = _workers(department, at)
        if not members:
            return _fallback(department, at)
        after = [user for user in members if cursor.last_user_id is not None and user.pk > cursor.last_user_id]
        chosen = after[0] if after else members[0]
        cursor.last_user = chosen
        cursor.save(update_fields=["last_user", "updated_at"])
    return Assignment(user=chosen, department=department)


def _least_loaded_member(department: Department | None, at: datetime) -> Assignment:
    if department is None:
        return _no_department()
    chosen = _least_loaded(_workers(department, at))
    if chosen is None:
        return _fallback(department, at)
    return Assignment(user=chosen, department=department)


def _lead(department: Department | None, at: datetime) -> Assignment:
    if department is None:
        return _no_department()
    lead = department.lead
    params = {"department": department.display_name}
    if lead is None:
        note = _("%(department)s has no lead; the task waits in the department's queue.") % params
    elif is_available(lead, at):
        return Assignment(user=lead, department=department)
    else:
        params["lead"] = _name(lead)
        note = _("The lead of %(department)s, %(lead)s, is not available; the task waits in the department's queue.")
        note %= params
    return Assignment(user=None, department=department, note=note)


def _manager(at: datetime) -> Assignment:
    chosen = _least_loaded(available_users(User.objects.filter(groups__name=Role.MANAGER), at))
    management = Department.objects.filter(code=MANAGEMENT).first()
    if chosen is None:
        note = _("No manager is available; the task waits in the queue of %(department)s.") % {
            "department": management.display_name if management else MANAGEMENT
        }
        return Assignment(user=None, department=management, note=note)
    return Assignment(user=chosen, department=chosen.department or management)


def _field_value(exception: OrderException, field: str) -> str | None:
    """``field`` of the exception's order as a string; None when there is no value to compare."""
    order_model = type(exception)._meta.get_field("order").related_model
    names = {f.name: f.attname for f in order_model._meta.concrete_fields}
    if field not in names:
        raise DomainError(
            code=ErrorCode.INVALID, field="field", message=_("Orders have no field “%(field)s”.") % {"field": field}
        )
    source = exception.order
    if source is None:
        # An exception about a missing order carries the channel's order key itself.
        exception_fields = {f.name: f.attname for f in type(exception)._meta.concrete_fields}
        if field not in exception_fields:
            return None
        source, names = exception, exception_fields
    value = getattr(source, names[field])
    return None if value is None else str(value)


def _by_field(
    exception: OrderException, field: str, mapping: Mapping[str, str], department: Department | None, at: datetime
) -> Assignment:
    value = _field_value(exception, field)
    target = mapping.get(value) if value is not None else None
    if not target:
        if department is None:
            return _no_department()
        return Assignment(user=None, department=department)
    user = User.objects.select_related("department__lead").filter(username=target).first()
    if user is not None:
        # The user's own department takes the task if they cannot.
        return _to_user(user, user.department or department, at)
    mapped = Department.objects.select_related("lead").filter(code=target).first()
    if mapped is not None:
        return Assignment(user=None, department=mapped)
    note = _("“%(target)s” is neither a user nor a department; the task waits in the queue of %(department)s.") % {
        "target": target,
        "department": department.display_name if department else "",
    }
    return Assignment(user=None, department=department, note=note)


def assign(
    *,
    strategy: str,
    department_code: str = "",
    username: str = "",
    field: str = "",
    mapping: Mapping[str, str] = _NO_MAPPING,
    exception: OrderException,
    at: datetime | None = None,
    scope: str = "",
) -> Assignment:
    """Pick who gets a task for ``exception`` at ``at`` (now by default) under ``strategy``.

    The department is ``department_code``'s, else the exception's. ``scope`` separates
    round-robin turns (a workflow step key, say): each (department, scope) rotates on its own.
    Round-robin locks its cursor row: call it inside the transaction that creates the task.
    An unknown strategy, department, user or order field is a ``DomainError`` naming it.
    """
    at = at or timezone.now()
    named = _department(department_code) if department_code else None
    department = named
    if department is None and exception.department_id is not None:
        department = Department.objects.select_related("lead").get(pk=exception.department_id)
    if strategy == Strategy.QUEUE:
        return Assignment(user=None, department=department)
    if strategy == Strategy.USER:
        # A named user's task belongs to their own department (nobody receives another
        # department's tasks) unless the step names one.
        user = _named_user(username)
        return _to_user(user, named or user.department or department, at)
    if strategy == Strategy.ROUND_ROBIN:
        return _round_robin(department, at, scope)
    if strategy == Strategy.LEAST_LOADED:
        return _least_loaded_member(department, at)
    if strategy == Strategy.BY_FIELD:
        return _by_field(exception, field, mapping, department, at)
    if strategy == Strategy.LEAD:
        return _lead(department, at)
    if strategy == Strategy.MANAGER:
        return _manager(at)
    raise DomainError(
        code=ErrorCode.INVALID,
        field="strategy",
        message=_("Unknown assignment strategy “%(strategy)s”.") % {"strategy": strategy},
    )
