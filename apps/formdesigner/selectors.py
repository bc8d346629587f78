"""Reading form definitions: the published spec that live data is checked against."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.document import FormSpec, parse_document
from apps.formdesigner.models import FormChange, FormDefinition, FormVersion


@dataclass(frozen=True)
class PublishedForm:
    """A published version as live data meets it: its spec and the keys of fields removed since."""

    spec: FormSpec
    version: int
    archived: frozenset[str]


def form_list() -> QuerySet[FormDefinition]:
    return FormDefinition.objects.select_related("published", "draft_updated_by").order_by("kind", "key")


def form_get(*, key: str) -> FormDefinition:
    return form_list().get(key=key)


def form_versions(*, form: FormDefinition) -> QuerySet[FormVersion]:
    return form.versions.select_related("published_by").order_by("-number")


def form_history(*, form: FormDefinition) -> QuerySet[FormChange]:
    return form.changes.select_related("actor").order_by("-at", "-id")


def version_spec(version: FormVersion) -> FormSpec:
    # Published documents were checked when published; reading them back cannot fail.
    return parse_document(version.document)


def archived_keys(version: FormVersion) -> frozenset[str]:
    return frozenset(version.archived)


def published_form(*, key: str) -> PublishedForm | None:
    """The published version of form ``key``, or ``None`` while it has none (or no such form)."""
    form = FormDefinition.objects.select_related("published").filter(key=key).first()
    if form is None or form.published is None:
        return None
    return PublishedForm(
        spec=version_spec(form.published), version=form.published.number, archived=archived_keys(form.published)
    )


def order_form() -> PublishedForm | None:
    """The published order form that every order's ``data`` is checked against, if any."""
    return published_form(key=ORDER_FORM_KEY)


def has_unpublished_changes(form: FormDefinition) -> bool:
    if form.published is None:
        return True
    return form.draft != form.published.document
