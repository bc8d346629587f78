"""The form designer in the console: the page, and the endpoints its script calls.

``FormDefinitionAdmin`` wires these under the form's admin URLs (``get_urls``) behind the admin
site's sign-in, CSRF and its permission checks. Each view parses the request, calls one
service or selector and renders; the designer's script only holds what is being edited and
shows what these answer (the checked document, its problems by path, the rendered preview).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.console import designers
from apps.formdesigner import selectors, services
from apps.formdesigner.build import django_form_class
from apps.formdesigner.diff import change_rows, document_changes
from apps.formdesigner.document import (
    CHOICE_TYPES,
    LANGUAGES,
    LENGTH_TYPES,
    NUMBER_TYPES,
    OP_LABELS,
    TYPE_LABELS,
    DocumentError,
    FieldType,
    parse_document,
)
from apps.formdesigner.models import FormDefinition

# A field's properties as the property panel names them; a problem's place says the same words.
PROPERTY_WORDS = {
    "key": pgettext_lazy("form field", "Key"),
    "type": pgettext_lazy("form field", "Type"),
    "label": pgettext_lazy("form designer", "Label"),
    "help": pgettext_lazy("form designer", "Help text"),
    "required": pgettext_lazy("form designer", "Required"),
    "default": gettext_lazy("Default value"),
    "min": gettext_lazy("Smallest value"),
    "max": gettext_lazy("Largest value"),
    "min_length": gettext_lazy("Fewest characters"),
    "max_length": gettext_lazy("Most characters"),
    "pattern": pgettext_lazy("form designer", "Pattern"),
    "decimal_places": pgettext_lazy("form designer", "Decimals"),
    "choices": pgettext_lazy("form designer", "Options"),
    "visible_when": gettext_lazy("When the field is shown"),
    "value": gettext_lazy("Stored value"),
}
# What the palette offers first: the types most forms need, then the typed kinds of text.
PALETTE = [
    (FieldType.TEXT, "short_text"),
    (FieldType.TEXTAREA, "notes"),
    (FieldType.CHOICE, "radio_button_checked"),
    (FieldType.MULTICHOICE, "check_box"),
    (FieldType.BOOLEAN, "toggle_on"),
    (FieldType.INTEGER, "pin"),
    (FieldType.DECIMAL, "decimal_increase"),
    (FieldType.MONEY, "payments"),
    (FieldType.DATE, "calendar_today"),
    (FieldType.DATETIME, "schedule"),
    (FieldType.EMAIL, "alternate_email"),
    (FieldType.PHONE, "call"),
    (FieldType.URL, "link"),
    (FieldType.REGEX, "pattern"),
]


def _form_or_404(object_id: int) -> FormDefinition:
    return get_object_or_404(selectors.form_list(), pk=object_id)


def _designer_config(form: FormDefinition, *, can_edit: bool) -> dict[str, Any]:
    """What the designer's script starts from: the draft, its endpoints and its words."""
    option = pgettext_lazy("form designer", "Option %(number)s")
    config = designers.script_config(
        form,
        can_edit=can_edit,
        has_unpublished_changes=selectors.has_unpublished_changes(form),
        properties=PROPERTY_WORDS,
        strings={
            "yes": pgettext("answer", "Yes"),
            "no": pgettext("answer", "No"),
            "field": pgettext("form designer", "Field %(number)s"),
            "option": str(option),
            "formName": pgettext("form designer", "Form name"),
            "form": pgettext("form designer", "The form"),
            "checking": _("Checking…"),
            "removeConfirm": _("Remove the field “%(name)s” from the draft?"),
            "shownWhen": pgettext("form designer", "Shown when"),
            "optionValue": _("Stored value"),
            "optionZh": _("Option label in Chinese"),
            "optionEn": _("Option label in English"),
        },
    )
    return {
        **config,
        "types": {
            str(kind): {"label": str(TYPE_LABELS[kind]), "names": designers.in_both_languages(TYPE_LABELS[kind])}
            for kind in FieldType
        },
        "lengthTypes": sorted(LENGTH_TYPES),
        "numberTypes": sorted(NUMBER_TYPES),
        "choiceTypes": sorted(CHOICE_TYPES),
        "ops": {str(op): str(label) for op, label in OP_LABELS.items()},
        "optionName": designers.in_both_languages(option),
    }


def designer(request: HttpRequest, *, object_id: int, context: dict[str, Any], can_edit: bool) -> TemplateResponse:
    """The designer page of one form; ``context`` is the admin site's (sidebar, title, user links)."""
    form = _form_or_404(object_id)
    published = form.published
    context = {
        **context,
        "title": form.display_name,
        "original": form,
        "form_definition": form,
        "can_edit": can_edit,
        "published": published,
        "palette": [(str(kind), TYPE_LABELS[kind], icon) for kind, icon in PALETTE],
        "designer_config": _designer_config(form, can_edit=can_edit),
        "languages": LANGUAGES,
        **_versions_context(form),
        **_history_context(form),
    }
    return TemplateResponse(request, "formdesigner/designer.html", context)


@require_POST
def draft_check(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Check a document as edited; answer its problems by path, or the form it makes in ``language``.

    Nothing is stored. Problems are worded in the page's language, the preview in the one asked for.
    """
    form = _form_or_404(object_id)
    payload = designers.posted_json(request)
    language = payload.get("language") if payload.get("language") in LANGUAGES else translation.get_language()
    try:
        spec = parse_document(payload.get("document"), key=form.key, kind=form.kind)
    except DocumentError as error:
        return JsonResponse({"errors": error.errors}, status=400)
    with translation.override(language):
        html = django_form_class(spec)().render()
    return JsonResponse({"errors": {}, "html": html})


@require_POST
def draft_save(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Store the document as the form's draft (the service checks it); answer the draft as stored."""
    form = _form_or_404(object_id)
    return designers.draft_save(
        request,
        save=partial(services.form_save_draft, key=form.key, actor=request.user),
        has_unpublished_changes=selectors.has_unpublished_changes,
    )


@require_POST
def draft_publish(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Publish the stored draft as the next version, with the note given."""
    form = _form_or_404(object_id)
    return designers.draft_publish(
        request,
        publish=partial(services.form_publish, key=form.key, actor=request.user),
        name=form.display_name,
        message=_("Version %(number)d of “%(name)s” is published: it applies from now on."),
    )


@require_POST
def version_restore(request: HttpRequest, *, object_id: int) -> HttpResponse:
    """Copy a published version into the draft (a plain form post), then show the designer again."""
    form = _form_or_404(object_id)
    return designers.version_restore(
        request,
        restore=partial(services.form_restore, key=form.key, actor=request.user),
        back_to=reverse("admin:formdesigner_formdefinition_change", args=[form.pk]),
    )


@require_GET
def version_changes(request: HttpRequest, *, object_id: int, number: int, context: dict[str, Any]) -> TemplateResponse:
    """What version ``number`` changed from the one before, in words; just the table for htmx."""
    form = _form_or_404(object_id)
    versions = list(selectors.form_versions(form=form))
    version = next((item for item in versions if item.number == number), None)
    if version is None:
        return TemplateResponse(request, "formdesigner/version_changes.html#changes", {"rows": None}, status=404)
    before = next((item for item in versions if item.number < number), None)
    rows = change_rows(document_changes(before.document if before else None, version.document))
    template = "formdesigner/version_changes.html"
    if request.htmx:
        template += "#changes"
    title = _("Version %(number)d of “%(name)s”") % {"number": number, "name": form.display_name}
    return TemplateResponse(
        request,
        template,
        {**context, "title": title, "form_definition": form, "version": version, "before": before, "rows": rows},
    )


@require_GET
def history(request: HttpRequest, *, object_id: int) -> TemplateResponse:
    """The latest changes to the form (the designer re-fetches this after each save)."""
    form = _form_or_404(object_id)
    return TemplateResponse(request, "formdesigner/designer.html#history", _history_context(form))


def _versions_context(form: FormDefinition) -> dict[str, Any]:
    return {"versions": list(selectors.form_versions(form=form))}


def _history_context(form: FormDefinition) -> dict[str, Any]:
    entries = list(selectors.form_history(form=form)[: designers.HISTORY_SHOWN])
    return {
        "form_definition": form,
        "history": [
            {
                "change": entry,
                "kind": entry.action,
                "what": entry.get_action_display(),
                "rows": change_rows(entry.changes),
            }
            for entry in entries
        ],
        "history_url": designers.designer_url(form, "history"),
    }
