import json

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from apps.common.errors import DomainError
from apps.console import components
from apps.orders.presentation import FieldRow, display_value
from apps.rules import services
from apps.rules.models import ExceptionRule
from apps.rules.sentence import condition_sentence


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
    list_display = ("code", "name_display", "category", "severity_badge", "is_active", "is_time_based", "last_error_at")
    list_display_links = ("code", "name_display")
    list_filter = ("is_active", "category", "default_severity", "is_time_based", "is_builtin", "source")
    search_fields = ("code", "name", "name_en", "description")
    readonly_fields = (
        "condition_text",
        "params_table",
        "is_builtin",
        "is_time_based",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "description", "category", "default_severity", "is_active")}),
        (_("Condition"), {"fields": ("condition_text", "params_table", "source", "is_time_based")}),
        # The rule builder replaces these editors; until then an admin edits the tree as JSON.
        (_("Edit the condition as JSON"), {"fields": ("condition", "params"), "classes": ("collapse",)}),
        (_("Record"), {"fields": ("is_builtin", "last_error", "last_error_at", "created_at", "updated_at")}),
    )

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, obj: ExceptionRule) -> str:
        return obj.display_name

    @admin.display(description=_("default severity"), ordering="default_severity")
    def severity_badge(self, obj: ExceptionRule):
        return components.badge(kind=obj.default_severity, label=obj.get_default_severity_display())

    @admin.display(description=_("raised when"))
    def condition_text(self, obj: ExceptionRule):
        return format_html('<p class="og-sentence">{}</p>', condition_sentence(obj.condition, obj.params))

    @admin.display(description=_("parameters"))
    def params_table(self, obj: ExceptionRule):
        rows = [FieldRow(label=str(key), value=display_value(value)) for key, value in (obj.params or {}).items()]
        return render_to_string("og/components/custom_fields.html", {"rows": rows})

    def save_model(self, request, obj, form, change):
        services.rule_update(rule=obj)

    def has_delete_permission(self, request, obj=None):
        # Built-in rules are disabled, not deleted: reports and history refer to their codes.
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)
