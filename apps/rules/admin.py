import json

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from apps.common.errors import DomainError
from apps.rules import services
from apps.rules.models import ExceptionRule


class PrettyJSONWidget(forms.Textarea):
    def format_value(self, value):
        try:
            return json.dumps(json.loads(value) if isinstance(value, str) else value, ensure_ascii=False, indent=2)
        except (TypeError, ValueError):
            return value


class ExceptionRuleForm(forms.ModelForm):
    """A JSON editor for the condition and parameters, checked against the rule language on save."""

    class Meta:
        model = ExceptionRule
        fields = (
            "code",
            "name",
            "name_en",
            "description",
            "category",
            "default_severity",
            "source",
            "condition",
            "params",
            "is_active",
        )
        widgets = {
            "condition": PrettyJSONWidget(attrs={"rows": 18, "cols": 90, "class": "vLargeTextField"}),
            "params": PrettyJSONWidget(attrs={"rows": 5, "cols": 90}),
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.rule_validate(
                condition=cleaned.get("condition"),
                params=cleaned.get("params") or {},
                source=cleaned.get("source") or ExceptionRule.Source.CONDITION,
            )
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned


@admin.register(ExceptionRule)
class ExceptionRuleAdmin(ModelAdmin):
    form = ExceptionRuleForm
    list_display = ("code", "name", "category", "default_severity", "is_active", "is_time_based", "last_error_at")
    list_filter = ("is_active", "category", "default_severity", "is_time_based", "is_builtin", "source")
    search_fields = ("code", "name", "name_en", "description")
    readonly_fields = ("is_builtin", "is_time_based", "last_error", "last_error_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "description", "category", "default_severity", "is_active")}),
        (_("Condition"), {"fields": ("source", "condition", "params", "is_time_based")}),
        (_("Record"), {"fields": ("is_builtin", "last_error", "last_error_at", "created_at", "updated_at")}),
    )

    def save_model(self, request, obj, form, change):
        services.rule_update(rule=obj)

    def has_delete_permission(self, request, obj=None):
        # Built-in rules are disabled, not deleted: reports and history refer to their codes.
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)
