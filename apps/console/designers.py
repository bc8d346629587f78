"""What the form designer and the workflow designer share in the console.

Each designer is the change page of its definition's admin (``DesignerAdmin``); its views
(``apps/formdesigner/views.py``, ``workflows/designer_views.py``) parse the request, call one
service and answer with the helpers below, so that both scripts read the same answers: the draft
as stored, a refusal with its problems by path, the published version's number. The script side
is ``static/orderguard/designer-common.js``; the shared markup is in ``templates/designer/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from unfold.admin import ModelAdmin

from apps.common.documents import LANGUAGES
from apps.common.errors import DomainError
from apps.console.components import when

# The designer's history shows this many of the latest changes.
HISTORY_SHOWN = 20

# --- The endpoints' requests and answers --------------------------------------------------------


def posted_json(request: HttpRequest) -> dict[str, Any]:
    """The JSON object the designer posted, or an empty one."""
    try:
        payload = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def refusal(error: DomainError) -> JsonResponse:
    """A refused write as the designer reads it: the summary and the problems by path."""
    return JsonResponse(
        {"code": str(error.code), "message": str(error.message), "errors": error.as_fields()}, status=400
    )


def draft_save(request: HttpRequest, *, save: Callable[..., Any], has_unpublished_changes: Callable[[Any], bool]):
    """Store the posted document as the draft with ``save(document=…)``; answer the draft as stored."""
    try:
        definition = save(document=posted_json(request).get("document"))
    except DomainError as error:
        return refusal(error)
    return JsonResponse(
        {
            "document": definition.draft,
            "has_unpublished_changes": has_unpublished_changes(definition),
            "saved_at": when(definition.draft_updated_at),
        }
    )


def draft_publish(request: HttpRequest, *, publish: Callable[..., Any], name: str, message: str) -> JsonResponse:
    """Publish the stored draft with ``publish(note=…)``; answer the new version's number.

    ``message``, with ``%(number)d`` the version and ``%(name)s`` the definition's ``name``, is
    shown on the page the script reloads.
    """
    note = posted_json(request).get("note")
    try:
        version = publish(note=note if isinstance(note, str) else "")
    except DomainError as error:
        return refusal(error)
    messages.success(request, message % {"number": version.number, "name": name})
    return JsonResponse({"version": version.number})


def version_restore(request: HttpRequest, *, restore: Callable[..., Any], back_to: str) -> HttpResponse:
    """Copy the posted version into the draft with ``restore(version=…)`` (a plain form post), then go ``back_to``."""
    number = request.POST.get("version", "")
    try:
        restore(version=int(number) if number.isdigit() else 0)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("Version %(number)s is back in the draft. Check it, then publish it to make it apply.")
            % {"number": number},
        )
    return redirect(back_to)


# --- What the script starts from ----------------------------------------------------------------


def designer_url(definition: models.Model, name: str) -> str:
    """The URL of the designer endpoint ``name`` (``check``, ``save``…) of ``definition``."""
    opts = definition._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_designer_{name}", args=[definition.pk])


def in_both_languages(text) -> dict[str, str]:
    """A translatable text in each language of the documents: ``{"zh-hans": …, "en": …}``."""
    result = {}
    for language in LANGUAGES:
        with translation.override(language):
            result[language] = str(text)
    return result


def script_config(
    definition: models.Model,
    *,
    can_edit: bool,
    has_unpublished_changes: bool,
    properties: dict[str, Any],
    strings: dict[str, str],
) -> dict[str, Any]:
    """What both scripts start from: the draft, the endpoints, the words; each designer adds its own.

    ``properties`` names the document's properties as the property panel does (a problem's place
    says the same words); ``strings`` are the designer's own words besides the shared ones.
    """
    return {
        "document": definition.draft,
        "urls": {name: designer_url(definition, name) for name in ("check", "save", "publish")},
        "language": translation.get_language(),
        "canEdit": can_edit,
        "hasUnpublished": has_unpublished_changes,
        "properties": {name: str(words) for name, words in properties.items()},
        "languageNames": {"zh-hans": pgettext("language", "Chinese"), "en": pgettext("language", "English")},
        "strings": {
            **strings,
            "problemsOne": ngettext(
                "%(count)s problem to fix before publishing", "%(count)s problems to fix before publishing", 1
            ),
            "problemsMany": ngettext(
                "%(count)s problem to fix before publishing", "%(count)s problems to fix before publishing", 2
            ),
            "saved": _("Draft saved."),
            "saving": _("Saving the draft…"),
            "unsaved": _("Changes not saved yet."),
            "notSaved": _("The draft was not saved: fix the problems marked in red."),
            "offline": _("The server could not be reached. Try again."),
            "publishing": _("Publishing…"),
            "leave": _("The draft has changes that are not saved."),
        },
    }


# --- The admin ----------------------------------------------------------------------------------


class DesignerAdmin(ModelAdmin):
    """The admin of a definition whose change page is its designer.

    A subclass sets ``designer_page`` (the view of the page, called with ``object_id``, the admin
    site's ``context`` and ``can_edit``) and lists its endpoints in ``get_urls``: the ones every
    designer has (``designer_endpoints``) and its own (``designer_path``).
    """

    designer_page: Callable[..., HttpResponse]

    def response_add(self, request, obj, post_url_continue=None):
        # A new definition is only its first draft: the next thing to do is to design it.
        return HttpResponseRedirect(reverse(self._url_name("change"), args=[obj.pk]))

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if not str(object_id).isdigit():
            return HttpResponseRedirect(reverse(self._url_name("changelist")))
        return self.designer_page(
            request,
            object_id=int(object_id),
            context=self._page_context(request),
            can_edit=self.has_change_permission(request),
        )

    def designer_endpoints(self, views) -> list[URLPattern]:
        """The endpoints of every designer, from its ``views`` module: check, save, publish, restore, history."""
        return [
            self.designer_path("check/", views.draft_check, name="check", write=False),
            self.designer_path("save/", views.draft_save, name="save", write=True),
            self.designer_path("publish/", views.draft_publish, name="publish", write=True),
            self.designer_path("restore/", views.version_restore, name="restore", write=True),
            self.designer_path("history/", views.history, name="history", write=False),
        ]

    def designer_path(self, route: str, view, *, name: str, write: bool, with_context: bool = False) -> URLPattern:
        """The endpoint ``view`` at ``<id>/designer/<route>``, behind the admin's sign-in and CSRF.

        ``write`` endpoints need the change permission, the others the view one; ``with_context``
        hands the view the admin site's context for a page of its own.
        """

        def checked(request, *args, **kwargs):
            allowed = self.has_change_permission(request) if write else self.has_view_or_change_permission(request)
            if not allowed:
                raise PermissionDenied
            if with_context:
                kwargs["context"] = self._page_context(request)
            return view(request, *args, **kwargs)

        guarded = self.admin_site.admin_view(update_wrapper(checked, view))
        return path(f"<int:object_id>/designer/{route}", guarded, name=self._url_name(f"designer_{name}", full=False))

    def _page_context(self, request: HttpRequest) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            "has_change_permission": self.has_change_permission(request),
        }

    def _url_name(self, suffix: str, *, full: bool = True) -> str:
        name = f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"
        return f"{self.admin_site.name}:{name}" if full else name
