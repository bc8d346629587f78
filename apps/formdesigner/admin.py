"""Forms in the console: the list, adding a step or other form, and the designer as the change page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.widgets import UnfoldAdminSelectWidget

from apps.console import components
from apps.console.designers import DesignerAdmin
from apps.formdesigner import selectors, services, views
from apps.formdesigner.document import DocumentError, FormKind, empty_document, parse_document
from apps.formdesigner.models import FormDefinition


class FormAddForm(forms.ModelForm):
    """A new step or other form: its key, kind and names; the fields are added in the designer."""

    kind = forms.ChoiceField(
        label=_("kind"),
        choices=[
            (choice.value, choice.label)
            for choice in FormDefinition.Kind
            # The order form is built in: there is exactly one.
            if choice.value != FormKind.ORDER
        ],
        initial=FormKind.STEP.value,
        widget=UnfoldAdminSelectWidget,
    )

    class Meta:
        model = FormDefinition
        fields = ("key", "kind", "name_zh", "name_en")
        help_texts = {
            "key": _(
                "How workflows and the API name the form: lower-case letters, digits and hyphens, "
                "starting with a letter (payment-check). It cannot be changed later."
            ),
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            parse_document(self.document())
        except DocumentError as error:
            for where, problems in error.errors.items():
                field = {"key": "key", "kind": "kind"}.get(where.split(".")[0], "name_zh")
                for problem in problems:
                    self.add_error(field, problem)
        return cleaned

    def document(self) -> dict:
        data = self.cleaned_data
        return empty_document(
            key=data.get("key", ""),
            kind=data.get("kind", ""),
            name_zh=data.get("name_zh", ""),
            name_en=data.get("name_en", ""),
        )


@admin.register(FormDefinition)
class FormDefinitionAdmin(DesignerAdmin):
    """The list of forms; a form's change page is its designer (``views.designer``)."""

    designer_page = staticmethod(views.designer)
    form = FormAddForm
    list_display = ("name_display", "key", "kind", "version_display", "unpublished_display", "last_change_display")
    list_display_links = ("name_display", "key")
    list_filter = ("kind",)
    search_fields = ("key", "name_zh", "name_en")
    fields = ("key", "kind", "name_zh", "name_en")

    def get_queryset(self, request):
        return selectors.form_list().annotate(last_changed_at=Max("changes__at"))

    @admin.display(description=_("name"), ordering="name_zh")
    def name_display(self, obj: FormDefinition) -> str:
        return obj.display_name

    @admin.display(description=pgettext_lazy("form designer", "published version"), ordering="published__number")
    def version_display(self, obj: FormDefinition):
        if obj.published is None:
            return components.badge(kind="draft", label=pgettext_lazy("form designer", "not published"))
        return obj.published.number

    @admin.display(description=_("unpublished changes"))
    def unpublished_display(self, obj: FormDefinition):
        if not selectors.has_unpublished_changes(obj):
            return components.DASH
        return components.badge(kind="medium", label=pgettext_lazy("form designer", "draft not published"))

    @admin.display(description=_("last change"), ordering="last_changed_at")
    def last_change_display(self, obj: FormDefinition) -> str:
        return components.when_short(obj.last_changed_at)

    def has_delete_permission(self, request, obj=None):
        # Orders and tasks keep data entered under a form's versions; a form is never deleted.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied  # a form changes in the designer, through its draft
        created = services.form_create(document=form.document(), actor=request.user)
        obj.pk, obj.draft = created.pk, created.draft

    def get_urls(self):
        return [
            *self.designer_endpoints(views),
            self.designer_path(
                "versions/<int:number>/", views.version_changes, name="version", write=False, with_context=True
            ),
            *super().get_urls(),
        ]
