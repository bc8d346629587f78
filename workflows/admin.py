"""Workflows in the console: the list, adding one, and the workflow designer as the change page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from apps.console import components
from apps.console.designers import DesignerAdmin
from apps.rules.models import Category
from workflows import definitions, designer_views, selectors
from workflows.models import WorkflowDefinition


class WorkflowAddForm(forms.ModelForm):
    """A new workflow: its key and names; it starts with one step, changed in the designer."""

    class Meta:
        model = WorkflowDefinition
        fields = ("key", "name_zh", "name_en")
        help_texts = {
            "key": _(
                "How the API and the history name the workflow: lower-case letters, digits and hyphens, "
                "starting with a letter (payment-review). It cannot be changed later."
            ),
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            definitions.workflow_check(document=self.document())
        except definitions.WorkflowDocumentError as error:
            for where, problems in error.errors.items():
                field = {"key": "key", "name.en": "name_en"}.get(where, "name_zh")
                for problem in problems:
                    self.add_error(field, problem)
        return cleaned

    def document(self) -> dict:
        data = self.cleaned_data
        return designer_views.starter_document(
            key=data.get("key", ""), name_zh=data.get("name_zh", ""), name_en=data.get("name_en", "")
        )


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(DesignerAdmin):
    """The list of workflows; a workflow's change page is its designer (``designer_views.designer``)."""

    designer_page = staticmethod(designer_views.designer)
    form = WorkflowAddForm
    list_display = (
        "name_display",
        "key",
        "applies_display",
        "priority_display",
        "version_display",
        "unpublished_display",
        "active_display",
        "last_change_display",
    )
    list_display_links = ("name_display", "key")
    list_filter = ("is_active",)
    search_fields = ("key", "name_zh", "name_en")
    fields = ("key", "name_zh", "name_en")

    def get_queryset(self, request):
        return selectors.workflow_list().annotate(last_changed_at=Max("changes__at"))

    @admin.display(description=_("name"), ordering="name_zh")
    def name_display(self, obj: WorkflowDefinition) -> str:
        return obj.display_name

    @admin.display(description=pgettext_lazy("workflow designer", "applies to"))
    def applies_display(self, obj: WorkflowDefinition):
        applies = (obj.draft or {}).get("applies_to") or {}
        categories = dict(Category.choices)
        names = [categories.get(code, code) for code in applies.get("categories") or []]
        if rules := applies.get("rules") or []:
            names.append(ngettext("%(count)d rule", "%(count)d rules", len(rules)) % {"count": len(rules)})
        if not names:
            return pgettext_lazy("workflow designer", "every exception")
        return components.labels(names)

    @admin.display(description=pgettext_lazy("workflow designer", "priority"))
    def priority_display(self, obj: WorkflowDefinition):
        return (obj.draft or {}).get("priority", 0)

    @admin.display(description=pgettext_lazy("workflow designer", "published version"), ordering="published__number")
    def version_display(self, obj: WorkflowDefinition):
        if obj.published is None:
            return components.badge(kind="draft", label=pgettext_lazy("workflow designer", "not published"))
        return obj.published.number

    @admin.display(description=_("unpublished changes"))
    def unpublished_display(self, obj: WorkflowDefinition):
        if not definitions.has_unpublished_changes(obj):
            return components.DASH
        return components.badge(kind="medium", label=pgettext_lazy("workflow designer", "draft not published"))

    @admin.display(description=_("active"), ordering="is_active")
    def active_display(self, obj: WorkflowDefinition):
        if obj.is_active:
            return components.badge(kind="resolved", label=pgettext_lazy("workflow designer", "on"))
        return components.badge(kind="draft", label=pgettext_lazy("workflow designer", "off"))

    @admin.display(description=_("last change"), ordering="last_changed_at")
    def last_change_display(self, obj: WorkflowDefinition) -> str:
        return components.when_short(obj.last_changed_at)

    def has_delete_permission(self, request, obj=None):
        # Cases keep the versions they ran; a workflow is switched off, never deleted.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied  # a workflow changes in the designer, through its draft
        created = definitions.workflow_create(document=form.document(), actor=request.user)
        obj.pk, obj.draft = created.pk, created.draft

    def get_urls(self):
        views = designer_views
        return [
            *self.designer_endpoints(views),
            self.designer_path("active/", views.set_active, name="active", write=True),
            self.designer_path("versions/<int:number>/chart.svg", views.version_chart, name="chart", write=False),
            *super().get_urls(),
        ]
