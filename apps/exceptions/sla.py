"""The SLA clock of an exception (SPEC §9.4): first response, breaches, business time left.

Deadlines are set when the exception is graded (``services.GradingTable``) and moved by a
resumed pause (``lifecycle.exception_resume``); this module is the one writer of the response
and breach moments, each recorded once, first-response and resolution breaches apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from apps.exceptions.calendars import calendars_load
from apps.exceptions.models import EscalationLevel, ExceptionEvent, OrderException

Clock = EscalationLevel.Clock
BREACH_FIELD = {Clock.FIRST_RESPONSE: "first_response_breached_at", Clock.RESOLUTION: "resolution_breached_at"}
BREACH_EVENT = {
    Clock.FIRST_RESPONSE: ExceptionEvent.Kind.FIRST_RESPONSE_BREACHED,
    Clock.RESOLUTION: ExceptionEvent.Kind.RESOLUTION_BREACHED,
}


def responded(*, exception_id: int, at: datetime | None = None) -> bool:
    """The first claim or step completion answers the first-response deadline (once)."""
    at = at or timezone.now()
    return bool(
        OrderException.objects.filter(pk=exception_id, first_responded_at__isnull=True).update(first_responded_at=at)
    )


def breach_record(*, exception_id: int, clock: str, due_at: datetime | None, step: str = "") -> bool:
    """Record that ``clock``'s deadline passed unmet; once per exception and clock."""
    now = timezone.now()
    field = BREACH_FIELD[clock]
    changed = OrderException.objects.filter(pk=exception_id, **{f"{field}__isnull": True}).update(**{field: now})
    if changed:
        ExceptionEvent.objects.create(
            exception_id=exception_id,
            at=now,
            kind=BREACH_EVENT[clock],
            data={k: v for k, v in {"due_at": due_at.isoformat() if due_at else "", "step": step}.items() if v},
        )
    return bool(changed)


def business_left(*, department_id: int | None, due_at: datetime | None, now: datetime | None = None):
    """Working time from now until ``due_at`` on the department's calendar (negative: overdue)."""
    if due_at is None:
        return None
    return calendars_load().between(department_id, now or timezone.now(), due_at)


def deadline_after(*, department_id: int | None, start: datetime, delta: timedelta) -> datetime:
    return calendars_load().add(department_id, start, delta)
