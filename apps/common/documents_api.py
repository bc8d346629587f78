"""The configuration API of definition documents (SPEC §10.5): what the forms' and the workflows' share.

Each app keeps its serializers, paths and words (``apps/formdesigner/api.py``,
``workflows/config_api.py``); here are the reading of a document from the body, the publish and
restore views (each app's subclass names its model, its lookup and its service), their inputs,
and the two helpers that shape the document's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import RoleModelPermissions
from apps.common.documents import LANGUAGES, MAX_NOTE, nul_path
from apps.common.fields import JSONValueField, OutputModelSerializer, StrictCharField, StrictIntegerField

# --- The document, for the schema ---------------------------------------------------------------


def enum_field(values: list[str]) -> type[serializers.ChoiceField]:
    """A choice field whose values the schema lists in place, under ``allOf``.

    drf-spectacular turns every property holding an ``enum`` into a component named after the
    property (``KindEnum``), and warns when another property of that name (the form document's
    ``kind``, a workflow step's, an exception event's) has other values. Under ``allOf`` the
    values stay in place, unnamed.
    """

    class EnumField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=values, **kwargs)

    return extend_schema_field({"type": "string", "allOf": [{"enum": values}]})(EnumField)


def text_serializer(name: str, *, required: bool, doc: str) -> type[serializers.Serializer]:
    """The serializer of a text in both languages, as the schema component ``name``."""
    # The language keys ("zh-hans") are no Python names, so the class is built from a dict.
    attrs: dict[str, Any] = {
        language: serializers.CharField(required=required, allow_blank=True, trim_whitespace=False)
        for language in LANGUAGES
    }
    attrs["__doc__"] = doc
    attrs["__module__"] = __name__
    return extend_schema_serializer(component_name=name)(type(name, (serializers.Serializer,), attrs))


def document_body(request, *, not_an_object: str) -> dict[str, Any]:
    """The definition document in the body; a 400 saying ``not_an_object`` when it is no JSON object.

    A NUL character is refused before the document is read: the parser looks up what the
    document names, and PostgreSQL refuses a NUL in a query (and stores none).
    """
    document = request.data
    if not isinstance(document, dict):
        raise serializers.ValidationError(not_an_object)
    if (path := nul_path(document)) is not None:
        raise serializers.ValidationError({path or "non_field_errors": [JSONValueField.default_error_messages["nul"]]})
    return document


# --- Definitions, versions, publishing and restoring -------------------------------------------


class DefinitionListOutput(OutputModelSerializer):
    """A definition in the list: its published version's number and whether the draft differs."""

    published_version = serializers.IntegerField(
        source="published.number",
        allow_null=True,
        help_text=gettext_lazy("The number of the published version; null while none is published."),
    )
    # Each app's subclass answers it (get_has_unpublished_changes) and names its model and fields.
    has_unpublished_changes = serializers.SerializerMethodField()


class VersionOutput(OutputModelSerializer):
    """A published version: its number, when and by whom, and its note."""

    version = serializers.IntegerField(source="number")
    published_by = serializers.CharField(
        source="published_by.username", allow_null=True, help_text=gettext_lazy("The publisher's username.")
    )

    class Meta:
        # Each app's subclass names its version model.
        fields = ("version", "published_at", "published_by", "note")


# The two inputs carry no docstring: drf-spectacular would describe each app's subclass with it.


class VersionNoteInput(serializers.Serializer):
    note = StrictCharField(
        max_length=MAX_NOTE,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("What changed in this version, for the history."),
    )


class VersionRestoreInput(serializers.Serializer):
    version = StrictIntegerField(min_value=1, help_text=gettext_lazy("The published version to copy into the draft."))


class DefinitionChangePermissions(RoleModelPermissions):
    """Publishing and restoring change a definition: their POST needs the change permission, not add."""

    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class DefinitionPublishApi(APIView):
    """Publish a definition's draft as its next version; ``201`` with the version's number.

    A subclass sets ``queryset`` (its model's, empty), ``input_serializer`` (a ``VersionNoteInput``),
    ``find`` (the definition of a path's key, or a 404) and ``publish`` (the service, called
    with ``key``, ``actor`` and ``note``), and describes ``post`` for the schema.
    """

    permission_classes = [DefinitionChangePermissions]
    input_serializer: type[serializers.Serializer]
    find: Callable[[str], Any]
    publish: Callable[..., Any]

    def post(self, request, key: str):
        definition = self.find(key)
        serializer = self.input_serializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        version = self.publish(key=definition.key, actor=request.user, note=serializer.validated_data.get("note", ""))
        return Response({"version": version.number}, status=status.HTTP_201_CREATED)


class DefinitionRestoreApi(APIView):
    """Copy a published version into a definition's draft; answer the definition's detail.

    A subclass sets ``queryset``, ``input_serializer`` (a ``VersionRestoreInput``), ``find``,
    ``restore`` (the service, called with ``key``, ``version`` and ``actor``) and ``detail``
    (the definition as the detail answers it), and describes ``post`` for the schema.
    """

    permission_classes = [DefinitionChangePermissions]
    input_serializer: type[serializers.Serializer]
    find: Callable[[str], Any]
    restore: Callable[..., Any]
    detail: Callable[[Any], dict[str, Any]]

    def post(self, request, key: str):
        definition = self.find(key)
        serializer = self.input_serializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        self.restore(key=definition.key, version=serializer.validated_data["version"], actor=request.user)
        return Response(self.detail(self.find(definition.key)))
