"""Back office for exceptions (read-only: detection and the handling workflow change them) and the grading table."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.exceptions.models import ExceptionEvent, GradingRule, NotifyChannel, OrderException
from apps.exceptions.services import RESOLUTION_FACTOR


class ReadOnlyAdminMixin:
    """Shown, never added, changed or deleted here: the services own these rows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ExceptionEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ExceptionEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "data")
    readonly_fields = fields


@admin.register(OrderException)
class OrderExceptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "rule",
        "severity",
        "status",
        "department",
        "assignee",
        "order",
        "channel",
        "external_id",
        "occurrences",
        "is_recurrence",
        "detected_at",
        "due_at",
    )
    list_filter = ("status", "severity", "category", "department", "rule", "is_recurrence", "handling")
    list_select_related = ("rule", "department", "assignee", "order")
    search_fields = ("=external_id", "rule__code", "summary", "assignee__username")
    search_help_text = _("Exact external ID, rule code, summary text or assignee's username.")
    date_hierarchy = "detected_at"
    ordering = ("-detected_at", "-id")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("rule", "order", "channel", "external_id", "summary")}),
        (
            _("Grading"),
            {"fields": ("category", "severity", "department", "handling", "notify_channels", "assignee")},
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
                    "due_at",
                    "resolved_at",
                    "closed_at",
                    "is_recurrence",
                    "recurrence_of",
                )
            },
        ),
        (_("Details"), {"fields": ("details",), "classes": ("collapse",)}),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = [ExceptionEventInline]


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
class GradingRuleAdmin(admin.ModelAdmin):
    """The decision table: rows are tried by position, the first active match wins."""

    form = GradingRuleForm
    list_display = (
        "position",
        "name",
        "is_active",
        "category",
        "rule",
        "channel",
        "min_amount",
        "max_amount",
        "customer_tag",
        "time_window",
        "severity",
        "department",
        "handling",
        "first_response_minutes",
        "resolution",
        "channels",
    )
    list_display_links = ("name",)
    list_editable = ("position", "is_active")
    list_filter = ("is_active", "category", "department", "severity")
    list_select_related = ("rule", "department")
    ordering = ("position", "id")
    search_fields = ("name", "customer_tag", "rule__code")
    fieldsets = (
        (None, {"fields": ("position", "name", "is_active")}),
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

    @admin.display(description=_("time of day"))
    def time_window(self, obj: GradingRule) -> str:
        if obj.time_from is None or obj.time_to is None:
            return "—"
        return f"{obj.time_from:%H:%M}–{obj.time_to:%H:%M}"

    @admin.display(description=_("resolution (minutes)"))
    def resolution(self, obj: GradingRule) -> int:
        return obj.resolution_minutes or obj.first_response_minutes * RESOLUTION_FACTOR

    @admin.display(description=_("notification channels"))
    def channels(self, obj: GradingRule) -> str:
        labels = dict(NotifyChannel.choices)
        return ", ".join(str(labels.get(code, code)) for code in obj.notify_channels) or "—"
