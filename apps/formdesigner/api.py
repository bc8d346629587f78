"""REST API v1 for form definitions (SPEC §10.5, the forms rows): the configuration API of the form designer.

The body of a create or a draft is the form document of SPEC §10.6. ``document.parse_document``
(through the services) is its one validator, so the API refuses exactly what the designer
refuses, with the same messages and the paths of the bad parts (``fields.1.key``) in
``fields``. The input serializers below document the document's shape for the OpenAPI schema;
the views do not validate with them.

Publishing answers ``201`` with the new version's number: each publish creates an immutable
version.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.documents_api import (
    DefinitionListOutput,
    DefinitionPublishApi,
    DefinitionRestoreApi,
    VersionNoteInput,
    VersionOutput,
    VersionRestoreInput,
    document_body,
    enum_field,
    text_serializer,
)
from apps.common.schema import error_response
from apps.formdesigner import selectors, services
from apps.formdesigner.build import json_schema
from apps.formdesigner.document import (
    FORM_KEY_PATTERN,
    MAX_FIELDS,
    ConditionOp,
    FieldType,
    FormKind,
)
from apps.formdesigner.models import FormDefinition, FormVersion

# --- The form document, for the schema ----------------------------------------------------------


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "example": "99.50"}]})
class _LimitInputField(serializers.JSONField):
    """``min`` / ``max`` as a document may write them: a JSON number or a decimal string."""


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "example": "99.50"}]})
class _LimitOutputField(serializers.JSONField):
    """``min`` / ``max`` as stored: an integer for an integer field, a decimal string otherwise."""


FormKindField = enum_field([str(kind) for kind in FormKind])
FieldTypeField = enum_field([str(kind) for kind in FieldType])
ConditionOpField = enum_field([str(op) for op in ConditionOp])


TextInput = text_serializer(
    "FormTextInput",
    required=False,
    doc="A name, label or help text in Chinese and English; at least one of them for a name or label.",
)
TextOutput = text_serializer("FormText", required=True, doc="A name, label or help text in Chinese and English.")

_FIELD_TYPE_HELP = gettext_lazy("The field's type.")
_KIND_HELP = gettext_lazy(
    "order (the one built-in order form, whose fields are every order's data), step (a handling step's form) or custom."
)


class FormChoiceInput(serializers.Serializer):
    value = serializers.CharField(max_length=64)
    label = TextInput()


class FormConditionInput(serializers.Serializer):
    """Show the field when another field of the form has a value (``filled``) or a given one."""

    field = serializers.CharField(help_text=gettext_lazy("The key of the field the condition tests."))
    op = ConditionOpField(required=False, default="filled")
    value = serializers.JSONField(
        required=False, help_text=gettext_lazy("The value compared with (a list of them for in); not for filled.")
    )


class FormFieldInput(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{0,39}$", help_text=gettext_lazy("Unique in the form."))
    type = FieldTypeField(help_text=_FIELD_TYPE_HELP)
    label = TextInput()
    help = TextInput(required=False)
    required = serializers.BooleanField(required=False, default=False)
    default = serializers.JSONField(required=False, allow_null=True)
    min = _LimitInputField(required=False, allow_null=True)
    max = _LimitInputField(required=False, allow_null=True)
    min_length = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    max_length = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    pattern = serializers.CharField(
        required=False, allow_null=True, help_text=gettext_lazy("A regular expression (text and regex fields).")
    )
    decimal_places = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=6)
    choices = FormChoiceInput(many=True, required=False, help_text=gettext_lazy("The options of a choice field."))
    visible_when = FormConditionInput(required=False, allow_null=True)


class FormDocumentInput(serializers.Serializer):
    """A form document (SPEC §10.6): its key, kind, name and ordered fields."""

    key = serializers.RegexField(r"^[a-z][a-z0-9-]{0,63}$")
    kind = FormKindField(help_text=_KIND_HELP)
    name = TextInput()
    fields = FormFieldInput(many=True, required=False, max_length=MAX_FIELDS)


class FormDraftInput(FormDocumentInput):
    """A form's new draft: the document, whose key and kind may be left out (they cannot change)."""

    key = serializers.RegexField(
        r"^[a-z][a-z0-9-]{0,63}$", required=False, help_text=gettext_lazy("The form's key, if given.")
    )
    kind = FormKindField(required=False, help_text=gettext_lazy("The form's kind, if given."))


class FormChoiceOutput(serializers.Serializer):
    value = serializers.CharField()
    label = TextOutput()


class FormConditionOutput(serializers.Serializer):
    field = serializers.CharField()
    op = ConditionOpField()
    value = serializers.JSONField(required=False)


class FormFieldOutput(serializers.Serializer):
    """A field as the document holds it; properties without a value are left out."""

    key = serializers.CharField()
    type = FieldTypeField(help_text=_FIELD_TYPE_HELP)
    label = TextOutput()
    help = TextOutput(required=False)
    required = serializers.BooleanField(required=False)
    default = serializers.JSONField(required=False)
    min = _LimitOutputField(required=False)
    max = _LimitOutputField(required=False)
    min_length = serializers.IntegerField(required=False)
    max_length = serializers.IntegerField(required=False)
    pattern = serializers.CharField(required=False)
    decimal_places = serializers.IntegerField(required=False)
    choices = FormChoiceOutput(many=True, required=False)
    visible_when = FormConditionOutput(required=False)


class FormDocumentOutput(serializers.Serializer):
    key = serializers.CharField()
    kind = FormKindField(help_text=_KIND_HELP)
    name = TextOutput()
    fields = FormFieldOutput(many=True)


# --- Forms and versions -------------------------------------------------------------------------


class FormVersionOutput(VersionOutput):
    class Meta(VersionOutput.Meta):
        model = FormVersion


class PublishedFormVersionOutput(FormVersionOutput):
    """The published version with its document."""

    document = FormDocumentOutput()

    class Meta(FormVersionOutput.Meta):
        fields = (*FormVersionOutput.Meta.fields, "document")


class FormListOutput(DefinitionListOutput):
    """A form in the list: its name is the draft's."""

    kind = FormKindField(help_text=_KIND_HELP)
    name = TextOutput(source="draft.name")

    class Meta:
        model = FormDefinition
        fields = ("key", "kind", "name", "published_version", "has_unpublished_changes", "updated_at")

    def get_has_unpublished_changes(self, form: FormDefinition) -> bool:
        return selectors.has_unpublished_changes(form)


class FormDetailOutput(serializers.Serializer):
    """A form: the published version (with its document), the draft and every version."""

    key = serializers.CharField()
    kind = FormKindField(help_text=_KIND_HELP)
    name = TextOutput(help_text=gettext_lazy("The name in the draft."))
    published = PublishedFormVersionOutput(
        allow_null=True, help_text=gettext_lazy("The version live data meets; null while none is published.")
    )
    draft = FormDocumentOutput()
    has_unpublished_changes = serializers.BooleanField()
    versions = FormVersionOutput(many=True, help_text=gettext_lazy("Every published version, the newest first."))


# --- Views --------------------------------------------------------------------------------------


def _form_or_404(key: str) -> FormDefinition:
    # A path that cannot be a form key names no form (and PostgreSQL refuses a NUL in a query).
    if FORM_KEY_PATTERN.fullmatch(key):
        try:
            return selectors.form_get(key=key)
        except FormDefinition.DoesNotExist:
            pass
    raise exceptions.NotFound(_("No form has this key."))


def _detail(form: FormDefinition) -> dict[str, Any]:
    versions = list(selectors.form_versions(form=form))
    published = next((version for version in versions if version.pk == form.published_id), None)
    return FormDetailOutput(
        {
            "key": form.key,
            "kind": form.kind,
            "name": form.draft["name"],
            "published": published,
            "draft": form.draft,
            "has_unpublished_changes": selectors.has_unpublished_changes(form),
            "versions": versions,
        }
    ).data


def _document(request) -> dict[str, Any]:
    """The form document in the body, with what the database cannot store refused."""
    return document_body(request, not_an_object=_("Send the form document as a JSON object."))


_KEY = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    description=gettext_lazy("The form's key."),
    pattern=rf"^{FORM_KEY_PATTERN.pattern}$",
)
_DOCUMENT_REFUSED = gettext_lazy(
    "The document has problems (`invalid_document`): `fields` names each bad part by its path, such as "
    "fields.1.key or fields.2.visible_when.field."
)


class FormListCreateApi(generics.ListAPIView):
    """List the form definitions (the order form, the step forms, the others), or create one."""

    queryset = FormDefinition.objects.none()
    serializer_class = FormListOutput

    def get_queryset(self):
        return selectors.form_list()

    @extend_schema(
        request=FormDocumentInput,
        responses={201: FormDetailOutput},
        description=format_lazy(
            "{} {} {}",
            gettext_lazy("Create a form from a form document: it becomes the draft; nothing is published yet."),
            _DOCUMENT_REFUSED,
            gettext_lazy(
                "Another form with the key is `key_taken`; kind order is `one_order_form` (the order form is built in)."
            ),
        ),
    )
    def post(self, request):
        form = services.form_create(document=_document(request), actor=request.user)
        return Response(_detail(selectors.form_get(key=form.key)), status=status.HTTP_201_CREATED)


class FormDetailApi(APIView):
    """Read a form (its published version, its draft and its versions), or replace its draft."""

    queryset = FormDefinition.objects.none()

    @extend_schema(parameters=[_KEY], responses=FormDetailOutput)
    def get(self, request, key: str):
        return Response(_detail(_form_or_404(key)))

    @extend_schema(
        parameters=[_KEY],
        request=FormDraftInput,
        responses=FormDetailOutput,
        description=format_lazy(
            "{} {}",
            gettext_lazy("Replace the draft with the document; live data keeps meeting the published version."),
            _DOCUMENT_REFUSED,
        ),
    )
    def put(self, request, key: str):
        form = _form_or_404(key)
        services.form_save_draft(key=form.key, document=_document(request), actor=request.user)
        return Response(_detail(selectors.form_get(key=form.key)))


# The inputs are subclassed for their names: the schema's components FormPublishInput and FormRestoreInput.
class FormPublishInput(VersionNoteInput):
    pass


@extend_schema_view(
    post=extend_schema(
        parameters=[_KEY],
        request=FormPublishInput,
        responses={201: inline_serializer(name="FormPublished", fields={"version": serializers.IntegerField()})},
        description=gettext_lazy(
            "Refused with `nothing_to_publish` when the draft is the published version, `invalid_document` "
            "when the draft has problems, and `stored_values_do_not_convert` when stored orders hold values "
            "that a changed field of the order form cannot take (`fields` names the field: fields.N.type)."
        ),
    )
)
class FormPublishApi(DefinitionPublishApi):
    """Publish the form's draft as its next version (201: each publish creates an immutable version)."""

    queryset = FormDefinition.objects.none()
    input_serializer = FormPublishInput
    find = staticmethod(_form_or_404)
    publish = staticmethod(services.form_publish)


class FormRestoreInput(VersionRestoreInput):
    pass


@extend_schema_view(
    post=extend_schema(
        parameters=[_KEY],
        request=FormRestoreInput,
        responses=FormDetailOutput,
        description=gettext_lazy("A version the form does not have is `no_such_version` (field version)."),
    )
)
class FormRestoreApi(DefinitionRestoreApi):
    """Copy a published version into the form's draft; publishing it again is a separate step."""

    queryset = FormDefinition.objects.none()
    input_serializer = FormRestoreInput
    find = staticmethod(_form_or_404)
    restore = staticmethod(services.form_restore)
    detail = staticmethod(_detail)


class FormSchemaApi(APIView):
    """The JSON Schema (2020-12) of the published version's data; titles in the request's language."""

    queryset = FormDefinition.objects.none()

    @extend_schema(
        parameters=[_KEY],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description=gettext_lazy("A JSON Schema, draft 2020-12, with $id this URL.")
            ),
            404: error_response(gettext_lazy("No form has this key, or it has no published version (`not_found`).")),
        },
    )
    def get(self, request, key: str):
        form = _form_or_404(key)
        published = selectors.published_form(key=form.key)
        if published is None:
            raise exceptions.NotFound(_("The form has no published version yet."))
        schema_id = request.build_absolute_uri(reverse("api-v1:form-schema", kwargs={"key": form.key}))
        return Response(json_schema(published.spec, schema_id=schema_id))
