"""Back office for exceptions (read-only: detection and the handling workflow change them) and the grading table."""

from __future__ import annotations

from functools import update_wrapper

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from apps.console import components
from apps.exceptions import grading_views, presentation
from apps.exceptions.grading import grading_rule_delete, grading_rule_save
from apps.exceptions.models import ACTIVE_STATUSES, GradingRule, NotifyChannel, OrderException


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
    """The decision table: rows are tried by position, the first active match wins.

    Its list is the grading table editor (``grading_views.editor``): the rows as an editable grid,
    reordered by drag and drop, with a tester; its endpoints are under ``editor/``. The add and
    change pages stay, as the editor's way without JavaScript.
    """

    form = GradingRuleForm
    ordering = ("position", "id")
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

    def save_model(self, request, obj, form, change):
        # The add and change pages save through the service, like the editor and the API (a version each).
        data = form.cleaned_data
        values = {name: data[name] for name in GradingRuleForm.Meta.fields if name in data}
        values["name"] = {"zh-hans": values.pop("name", ""), "en": values.pop("name_en", "")}
        values["rule"] = data["rule"].code if data.get("rule") else None
        values["department"] = data["department"].code
        values["notify_channels"] = list(data.get("notify_channels") or [])
        saved = grading_rule_save(rule_id=obj.pk if change else None, values=values, actor=request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        grading_rule_delete(rule_id=obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for row_id in queryset.values_list("pk", flat=True):
            grading_rule_delete(rule_id=row_id, actor=request.user)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            "has_change_permission": self.has_change_permission(request),
        }
        return grading_views.editor(
            request,
            context=context,
            can_edit=self.has_change_permission(request),
            can_add=self.has_add_permission(request),
            can_delete=self.has_delete_permission(request),
        )

    def get_urls(self):
        def guarded(view, allowed):
            def checked(request, *args, **kwargs):
                if not allowed(request):
                    raise PermissionDenied
                return view(request, *args, **kwargs)

            return self.admin_site.admin_view(update_wrapper(checked, view))

        def may_search(request) -> bool:
            return self.has_view_or_change_permission(request) and request.user.has_perm(
                "exceptions.view_orderexception"
            )

        name = f"{self.opts.app_label}_{self.opts.model_name}_editor_"
        return [
            path("editor/save/", guarded(grading_views.row_save, self.has_change_permission), name=name + "save"),
            path("editor/add/", guarded(grading_views.row_add, self.has_add_permission), name=name + "add"),
            path(
                "editor/rows/<int:row_id>/delete/",
                guarded(grading_views.row_delete, self.has_delete_permission),
                name=name + "delete",
            ),
            path(
                "editor/reorder/",
                guarded(grading_views.rows_reorder, self.has_change_permission),
                name=name + "reorder",
            ),
            path("editor/test/", guarded(grading_views.tester, self.has_view_or_change_permission), name=name + "test"),
            path("editor/exceptions/", guarded(grading_views.exception_search, may_search), name=name + "exceptions"),
            path(
                "editor/history/",
                guarded(grading_views.history, self.has_view_or_change_permission),
                name=name + "history",
            ),
            path(
                "editor/restore/",
                guarded(grading_views.version_restore, self.has_change_permission),
                name=name + "restore",
            ),
            *super().get_urls(),
        ]


from apps.exceptions import sla_admin  # noqa: E402, F401  (the SLA screens register themselves)
