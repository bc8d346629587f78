"""The console's sidebar, grouped the way the business thinks: 订单 · 异常 · 规则与分级 · 流程与表单 · 系统.

Each entry names an admin model; an entry the user may not view is left out, and a group left
with no entries is hidden (流程与表单 stays hidden until the form and workflow designers exist).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Entry:
    model: str  # "app_label.ModelName"
    icon: str
    title: object = None  # defaults to the model's plural name


GROUPS: list[tuple[object, list[Entry]]] = [
    (
        pgettext_lazy("console navigation", "Orders"),
        [
            Entry("orders.Order", "receipt_long"),
            Entry("orders.Customer", "person"),
            Entry("orders.Payment", "payments"),
            Entry("orders.Shipment", "local_shipping"),
            Entry("orders.TrackingEvent", "route"),
            Entry("orders.Product", "inventory_2"),
            Entry("orders.StockLevel", "warehouse"),
            Entry("orders.Carrier", "airport_shuttle"),
        ],
    ),
    (pgettext_lazy("console navigation", "Exceptions"), [Entry("exceptions.OrderException", "report")]),
    (
        pgettext_lazy("console navigation", "Rules and grading"),
        [Entry("rules.ExceptionRule", "rule"), Entry("exceptions.GradingRule", "table_rows")],
    ),
    # The SLA: the departments' working time, the holidays, the ladders and how the timers fire.
    (
        pgettext_lazy("console navigation", "SLA"),
        [
            Entry("exceptions.BusinessCalendar", "calendar_today"),
            Entry("exceptions.OfficialDay", "event"),
            Entry("exceptions.EscalationLadder", "stairs"),
            Entry("exceptions.TimerFiring", "timer"),
        ],
    ),
    # Filled by the form designer and the workflow designer.
    (
        pgettext_lazy("console navigation", "Workflows and forms"),
        [Entry("workflows.WorkflowDefinition", "account_tree"), Entry("formdesigner.FormDefinition", "dynamic_form")],
    ),
    (
        pgettext_lazy("console navigation", "System"),
        [
            Entry("accounts.User", "group"),
            Entry("accounts.Department", "apartment"),
            Entry("auth.Group", "badge", _("Roles")),
            Entry("authtoken.TokenProxy", "key"),
            Entry("django_celery_beat.PeriodicTask", "schedule"),
            Entry("django_celery_beat.IntervalSchedule", "timer"),
            Entry("django_celery_beat.CrontabSchedule", "calendar_month"),
            Entry("axes.AccessAttempt", "lock_person", _("Sign-in lockouts")),
        ],
    ),
]


def _item(request: HttpRequest, entry: Entry) -> dict | None:
    app_label, model_name = entry.model.split(".")
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return None
    opts = model._meta
    if not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}") and not request.user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    ):
        return None
    try:
        link = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        return None
    return {"title": entry.title or capfirst(opts.verbose_name_plural), "icon": entry.icon, "link": link}


def sidebar(request: HttpRequest) -> list[dict]:
    """Unfold's SIDEBAR navigation for this user: the dashboard, then the non-empty groups."""
    groups = [
        {
            "title": pgettext_lazy("console navigation", "Overview"),
            "items": [{"title": _("Dashboard"), "icon": "dashboard", "link": reverse("admin:index")}],
        }
    ]
    for title, entries in GROUPS:
        items = [item for entry in entries if (item := _item(request, entry))]
        if items:
            groups.append({"title": title, "separator": True, "collapsible": False, "items": items})
    return groups


def styles(request: HttpRequest) -> str:
    """The shared stylesheet (components, CJK font stack) on every console page."""
    return static("orderguard/og.css")
