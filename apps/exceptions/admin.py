"""Back office for exceptions (read-only: detection and the handling workflow change them) and the grading table."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from apps.console import components
from apps.exceptions import presentation
from apps.exceptions.evidence import duration_text
from apps.exceptions.models import ACTIVE_STATUSES, GradingRule, NotifyChannel, OrderException
from apps.exceptions.services import RESOLUTION_FACTOR


class ReadOnlyAdminMixin:
    """Shown, never added, changed or deleted here: the services own these rows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActiveFilter(admin.SimpleListFilter):
    """Whether someone still has to act: the lists people work from start here."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", _("Still to handle")), ("ended", _("Ended")))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        if self.value() == "ended":
            return queryset.exclude(status__in=ACTIVE_STATUSES)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    """Past the resolution deadline and still to handle."""

    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("yes", _("Overdue")),)

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=ACTIVE_STATUSES, due_at__lt=timezone.now())
        return queryset


@admin.register(OrderException)
class OrderExceptionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Read-only: detection raises and clears exceptions; the handling workflow will act on them."""

    list_display = (
        "id",
        "type_display",
        "severity_badge",
        "status_badge",
        "department",
        "assignee",
        "order_link",
        "due_short",
        "detected_short",
    )
    list_display_links = ("id", "type_display")
    list_filter = (
        ActiveFilter,
        OverdueFilter,
        "status",
        "severity",
        "category",
        "department",
        "rule",
        "is_recurrence",
        "handling",
    )
    list_select_related = ("rule", "department", "assignee", "order")
    search_fields = ("=external_id", "rule__code", "summary", "assignee__username")
    search_help_text = _("Exact external ID, rule code, summary text or assignee's username.")
    date_hierarchy = "detected_at"
    ordering = ("-detected_at", "-id")
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = ("order_link", "summary_text", "evidence", "channels", "timeline", "due_display")
    fieldsets = (
        (None, {"fields": ("rule", "summary_text", "order_link", "channel", "external_id")}),
        (_("Evidence"), {"fields": ("evidence",)}),
        (
            _("Grading"),
            {"fields": ("category", "severity", "department", "handling", "channels", "assignee")},
        ),
        (
            _("Lifecycle"),
            {
                "fields": (
                    "status",
                    "detected_at",
                    "last_detected_at",
                    "occurrences",
                    "first_response_due_at",
                    "due_display",
                    "resolved_at",
                    "closed_at",
                    "is_recurrence",
                    "recurrence_of",
                )
            },
        ),
        (_("Audit trail"), {"fields": ("timeline",)}),
    )

    @admin.display(description=_("exception type"), ordering="rule__code")
    def type_display(self, obj: OrderException) -> str:
        return obj.rule.display_name

    @admin.display(description=_("severity"), ordering="severity")
    def severity_badge(self, obj: OrderException):
        return components.badge(kind=obj.severity, label=obj.get_severity_display())

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: OrderException):
        return components.badge(kind=obj.status, label=obj.get_status_display())

    @admin.display(description=_("order"), ordering="external_id")
    def order_link(self, obj: OrderException):
        label = f"{obj.get_channel_display()} {obj.external_id}"
        if obj.order_id is None:
            return label
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), label)

    @admin.display(description=_("resolution due at"), ordering="due_at")
    def due_display(self, obj: OrderException):
        return components.due(obj.due_at, active=obj.is_active)

    @admin.display(description=_("due"), ordering="due_at")
    def due_short(self, obj: OrderException):
        return components.due(obj.due_at, active=obj.is_active, short=True)

    @admin.display(description=_("detected"), ordering="detected_at")
    def detected_short(self, obj: OrderException):
        return format_html(
            '<span title="{}">{}</span>', components.when(obj.detected_at), components.when_short(obj.detected_at)
        )

    @admin.display(description=_("summary"))
    def summary_text(self, obj: OrderException) -> str:
        return presentation.summary(obj)

    @admin.display(description=_("evidence"))
    def evidence(self, obj: OrderException):
        return render_to_string("og/components/evidence.html", {"items": presentation.evidence(obj)})

    @admin.display(description=_("notification channels"))
    def channels(self, obj: OrderException):
        names = dict(NotifyChannel.choices)
        return components.labels(names.get(code, code) for code in obj.notify_channels or [])

    @admin.display(description=_("audit trail"))
    def timeline(self, obj: OrderException):
        events = obj.events.select_related("actor").order_by("at", "id")
        return render_to_string("og/components/timeline.html", {"entries": presentation.timeline(events)})


class GradingRuleForm(forms.ModelForm):
    notify_channels = forms.MultipleChoiceField(
        label=_("notification channels"),
        choices=NotifyChannel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = GradingRule
        fields = (
            "position",
            "name",
            "name_en",
            "is_active",
            "category",
            "rule",
            "channel",
            "min_amount",
            "max_amount",
            "customer_tag",
            "time_from",
            "time_to",
            "severity",
            "department",
            "handling",
            "first_response_minutes",
            "resolution_minutes",
            "notify_channels",
        )


@admin.register(GradingRule)
class GradingRuleAdmin(ModelAdmin):
    """The decision table: rows are tried by position, the first active match wins."""

    form = GradingRuleForm
    list_display = (
        "position",
        "name_display",
        "is_active",
        "matches",
        "severity_badge",
        "department",
        "handling",
        "deadlines",
        "channels",
    )
    list_display_links = ("name_display",)
    list_editable = ("is_active",)
    list_filter = ("is_active", "category", "department", "severity")
    list_select_related = ("rule", "department")
    ordering = ("position", "id")
    search_fields = ("name", "customer_tag", "rule__code")
    fieldsets = (
        (None, {"fields": ("position", "name", "name_en", "is_active")}),
        (
            _("Matches when (empty fields match anything)"),
            {
                "fields": (
                    "category",
                    "rule",
                    "channel",
                    ("min_amount", "max_amount"),
                    "customer_tag",
                    ("time_from", "time_to"),
                )
            },
        ),
        (
            _("Then"),
            {
                "fields": (
                    "severity",
                    "department",
                    "handling",
                    ("first_response_minutes", "resolution_minutes"),
                    "notify_channels",
                )
            },
        ),
    )

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: GradingRule) -> str:
        return obj.display_name

    @admin.display(description=_("matches when"))
    def matches(self, obj: GradingRule) -> str:
        return presentation.grading_conditions(obj)

    @admin.display(description=_("severity"), ordering="severity")
    def severity_badge(self, obj: GradingRule):
        if not obj.severity:
            return components.labels([])
        return components.badge(kind=obj.severity, label=obj.get_severity_display())

    @admin.display(description=_("first response / resolution"))
    def deadlines(self, obj: GradingRule) -> str:
        resolution = obj.resolution_minutes or obj.first_response_minutes * RESOLUTION_FACTOR
        # No break inside "2 h 30 min": the cell wraps at the slash only.
        return _("%(first)s / %(resolution)s") % {
            "first": duration_text(obj.first_response_minutes).replace(" ", "\u00a0"),
            "resolution": duration_text(resolution).replace(" ", "\u00a0"),
        }

    @admin.display(description=_("notification channels"))
    def channels(self, obj: GradingRule):
        names = dict(NotifyChannel.choices)
        return components.labels(names.get(code, code) for code in obj.notify_channels or [])


from apps.exceptions import sla_admin  # noqa: E402, F401  (the SLA screens register themselves)
