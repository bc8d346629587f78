"""Rules in the console: the list, adding one, and the rule builder as the change page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSelectWidget

from apps.common.errors import DomainError
from apps.console import components
from apps.console.designers import DesignerAdmin
from apps.rules import services, views
from apps.rules.builder import starter_condition
from apps.rules.models import ExceptionRule


class RuleAddForm(forms.ModelForm):
    """A new rule: its code, names, category and severity; its condition is built in the builder."""

    code = forms.CharField(
        label=_("code"),
        max_length=64,
        validators=[
            RegexValidator(
                r"^[A-Za-z][A-Za-z0-9_-]*\Z",
                _("Letters, digits, _ and -, starting with a letter (LATE_INVOICE)."),
            )
        ],
        help_text=_(
            "How exceptions, the grading table, workflows and the API name the rule (LATE_INVOICE). "
            "It cannot be changed later."
        ),
    )

    class Meta:
        model = ExceptionRule
        fields = ("code", "name", "name_en", "category", "default_severity")
        widgets = {"category": UnfoldAdminSelectWidget, "default_severity": UnfoldAdminSelectWidget}


@admin.register(ExceptionRule)
class ExceptionRuleAdmin(DesignerAdmin):
    """The list of rules; a rule's change page is its builder (``views.builder``)."""

    designer_page = staticmethod(views.builder)
    form = RuleAddForm
    fields = ("code", "name", "name_en", "category", "default_severity")
    list_display = ("code", "name_display", "category", "severity_badge", "is_active", "is_time_based", "last_error_at")
    list_display_links = ("code", "name_display")
    list_filter = ("is_active", "category", "default_severity", "is_time_based", "is_builtin", "source")
    search_fields = ("code", "name", "name_en", "description")

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: ExceptionRule) -> str:
        return obj.display_name

    @admin.display(description=_("default severity"), ordering="default_severity")
    def severity_badge(self, obj: ExceptionRule):
        return components.badge(kind=obj.default_severity, label=obj.get_default_severity_display())

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied  # a rule changes in the builder, through the rules service
        data = form.cleaned_data
        try:
            # A new rule starts switched off: its first condition is only a start to build on.
            created = services.rule_create(
                code=data["code"],
                actor=request.user,
                name=data["name"],
                name_en=data.get("name_en", ""),
                category=data["category"],
                default_severity=data["default_severity"],
                condition=starter_condition(),
                params={},
                is_active=False,
            )
        except DomainError as error:
            # Another admin took the code between the form's check and the insert.
            raise PermissionDenied(str(error.message)) from error
        obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        # Built-in rules are disabled, not deleted: reports and history refer to their codes.
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        return [
            self.designer_path("check/", views.rule_check_view, name="check", write=False),
            self.designer_path("save/", views.rule_save_view, name="save", write=True),
            self.designer_path("test/", views.rule_test_view, name="test", write=False),
            self.designer_path("backtest/", views.backtest_start, name="backtest", write=True),
            self.designer_path("backtest/<int:run_id>/", views.backtest_status, name="backtest_run", write=False),
            self.designer_path("versions/", views.versions, name="versions", write=False),
            self.designer_path("restore/", views.version_restore, name="restore", write=True),
            *super().get_urls(),
        ]
