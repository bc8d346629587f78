"""The console's home page: what needs attention, each figure a link to the list it counts."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from apps.console import sla
from apps.exceptions import selectors
from apps.exceptions.models import ACTIVE_STATUSES

ACTIVE = ",".join(ACTIVE_STATUSES)


def exception_list_url(**params) -> str:
    """The console's exception list filtered by ``params`` (admin lookups)."""
    return reverse("admin:exceptions_orderexception_changelist") + "?" + urlencode(params)


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    """Unfold's DASHBOARD_CALLBACK: adds the figures of ``exception_dashboard`` with their links."""
    now = timezone.now()
    today = timezone.localdate(now)
    today_start = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()))
    figures = selectors.exception_dashboard(user=request.user, now=now, today_start=today_start)
    top = max([count for _, _, count in figures.by_severity] + [1])
    context.update(
        {
            "figures": figures,
            "open_url": exception_list_url(status__in=ACTIVE),
            "overdue_url": exception_list_url(status__in=ACTIVE, overdue="yes"),
            "today_url": exception_list_url(
                **{"detected_at__year": today.year, "detected_at__month": today.month, "detected_at__day": today.day}
            ),
            "severity_rows": [
                {
                    "value": value,
                    "label": label,
                    "count": count,
                    "share": round(100 * count / top),
                    "url": exception_list_url(status__in=ACTIVE, severity__exact=value),
                }
                for value, label, count in figures.by_severity
            ],
            "department_rows": [
                {
                    "department": department,
                    "count": count,
                    "url": exception_list_url(status__in=ACTIVE, department__id__exact=department.pk)
                    if department
                    else exception_list_url(status__in=ACTIVE, department__isnull="True"),
                }
                for department, count in figures.by_department
            ],
            "failing_rules": [
                {"rule": rule, "url": reverse("admin:rules_exceptionrule_change", args=[rule.pk])}
                for rule in figures.failing_rules
            ],
            "sla": sla.timer_health(now=now),
            "sla_links": sla_links(request),
        }
    )
    return context


def sla_links(request: HttpRequest) -> dict[str, str]:
    """The SLA screens this user may open, by name (the timers panel links to them)."""
    models = {
        "firings": "timerfiring",
        "official_days": "officialday",
        "calendars": "businesscalendar",
        "ladders": "escalationladder",
    }
    return {
        name: reverse(f"admin:exceptions_{model}_changelist")
        for name, model in models.items()
        if request.user.has_perm(f"exceptions.view_{model}") or request.user.has_perm(f"exceptions.change_{model}")
    }
