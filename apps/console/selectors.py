"""Reads for the screens: where each role lands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from apps.accounts.models import Department, Role, User
from apps.exceptions.models import ACTIVE_STATUSES, OrderException
from apps.rules.models import Severity


@dataclass(frozen=True)
class Landing:
    """Where a signed-in user works: ``kind`` is ``console``, ``manager`` or ``staff``."""

    kind: str
    url_name: str


def user_roles(*, user: User) -> set[str]:
    # One query per request at most: the groups are what the roles are.
    cached = getattr(user, "_og_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._og_roles = cached
    return cached


def user_landing(*, user: User) -> Landing:
    """Admins work in the console, managers in their departments' view, everyone else in the workspace."""
    roles = user_roles(user=user)
    if user.is_superuser or Role.ADMIN in roles:
        return Landing(kind="console", url_name="admin:index")
    if Role.MANAGER in roles:
        return Landing(kind="manager", url_name="manager")
    return Landing(kind="staff", url_name="workspace")


MANAGEMENT_DEPARTMENT = "management"


def manager_departments(*, user: User) -> QuerySet[Department]:
    """The departments a manager oversees: the management department's see all, a lead their own."""
    departments = Department.objects.filter(is_active=True).order_by("code")
    if user.is_superuser or (user.department is not None and user.department.code == MANAGEMENT_DEPARTMENT):
        return departments.exclude(code=MANAGEMENT_DEPARTMENT)
    if user.department_id is None:
        return departments.none()
    return departments.filter(pk=user.department_id)


def department_open_exceptions(*, department_ids: Iterable[int], limit: int = 200) -> QuerySet[OrderException]:
    """The exceptions still to handle in these departments, most urgent and oldest deadline first."""
    rank = Case(
        *[When(severity=value, then=Value(index)) for index, (value, _) in enumerate(Severity.choices)],
        output_field=IntegerField(),
    )
    return (
        OrderException.objects.filter(department_id__in=list(department_ids), status__in=ACTIVE_STATUSES)
        .select_related("rule", "department", "assignee", "order")
        .annotate(severity_rank=rank)
        .order_by("severity_rank", "due_at", "-detected_at")[:limit]
    )


def department_overview(*, department_ids: Iterable[int], now: datetime) -> QuerySet[Department]:
    """Per department: open exceptions by severity and how many are overdue, in one query."""
    from apps.accounts.models import Department

    active = Q(exceptions__status__in=ACTIVE_STATUSES)
    counts = {
        f"sev_{value}": Count("exceptions", filter=active & Q(exceptions__severity=value))
        for value, _ in Severity.choices
    }
    return (
        Department.objects.filter(pk__in=list(department_ids))
        .annotate(
            open_count=Count("exceptions", filter=active),
            overdue_count=Count("exceptions", filter=active & Q(exceptions__due_at__lt=now)),
            **counts,
        )
        .order_by("code")
    )
