"""Who can take work at a given moment (SPEC §9.2): assignment skips people who are away, on
leave or off shift.

Dates and shift times are read in the site's time zone (``settings.TIME_ZONE``), not the
active one, so that a user's own display zone never changes who is on shift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from apps.accounts.models import Department, Leave, ShiftWindow, User

Window = tuple[int, time, time]


def site_local(at: datetime) -> datetime:
    """``at`` (aware) in the site's time zone."""
    return timezone.localtime(at, timezone.get_default_timezone())


def window_covers(window: Window, local: datetime) -> bool:
    """Whether a ``(weekday, starts_at, ends_at)`` window covers the site-local moment ``local``."""
    weekday, starts_at, ends_at = window
    day, moment = local.weekday(), local.time()
    if starts_at < ends_at:
        return weekday == day and starts_at <= moment < ends_at
    # A window that wraps past midnight belongs to the weekday it starts on: Monday 22:00–06:00
    # covers Monday from 22:00 and Tuesday until 06:00.
    return (weekday == day and moment >= starts_at) or (weekday == (day - 1) % 7 and moment < ends_at)


def on_shift(windows: Iterable[Window], local: datetime) -> bool:
    """A department with no windows is always on shift."""
    windows = list(windows)
    return not windows or any(window_covers(window, local) for window in windows)


def available_users(users: QuerySet[User], at: datetime) -> list[User]:
    """The users of ``users`` who can take work at ``at``, ordered by id.

    Active, not away, no leave covering ``at``'s site-local date, and on shift if their
    department has shift windows. Two queries, however many users.
    """
    local = site_local(at)
    today = local.date()
    on_leave = Leave.objects.filter(user=OuterRef("pk"), starts_on__lte=today, ends_on__gte=today)
    candidates = list(
        users.filter(is_active=True, away=False).filter(~Exists(on_leave)).select_related("department").order_by("id")
    )
    department_ids = {user.department_id for user in candidates if user.department_id is not None}
    if not department_ids:
        return candidates
    windows: dict[int, list[Window]] = defaultdict(list)
    for department_id, *window in ShiftWindow.objects.filter(department_id__in=department_ids).values_list(
        "department_id", "weekday", "starts_at", "ends_at"
    ):
        windows[department_id].append(tuple(window))
    return [user for user in candidates if on_shift(windows.get(user.department_id, ()), local)]


def is_available(user: User, at: datetime) -> bool:
    """Whether ``user`` can take work at ``at`` (as stored, not as the instance holds it)."""
    return bool(available_users(User.objects.filter(pk=user.pk), at))


def available_members(department: Department, at: datetime) -> list[User]:
    """The department's active members who can take work at ``at``, ordered by id (two queries)."""
    return available_users(User.objects.filter(department=department), at)
