"""REST API v1 for workflow definitions (SPEC §10.5, the workflows row): the configuration API of
the workflow designer, shaped like the forms' one.

The body of a create or a draft is the workflow document of SPEC §10.6. ``parse_workflow``
(through ``workflows.definitions``) is its one validator, so the API refuses exactly what the
designer refuses, with the same messages and the paths of the bad parts
(``steps.1.outcomes.0.to``) in ``fields``. The input serializers below document the document's
shape for the OpenAPI schema; the views do not validate with them.

Publishing answers ``201`` with the new version's number: each publish creates an immutable
version, which the next exception the workflow applies to starts (no restart).
"""

from __future__ import annotations

from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
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
from apps.rules.models import Category
from workflows import definitions, selectors
from workflows.document import (
    BY_FIELD_FIELDS,
    MAX_PRIORITY,
    MAX_STEPS,
    WORKFLOW_KEY_PATTERN,
    Action,
    StepKind,
    Strategy,
)
from workflows.models import WorkflowDefinition, WorkflowVersion

# --- The workflow document, for the schema ------------------------------------------------------


StepKindField = enum_field([str(kind) for kind in StepKind])
StrategyField = enum_field([str(strategy) for strategy in Strategy])
ActionField = enum_field([str(action) for action in Action])
ByFieldField = enum_field(list(BY_FIELD_FIELDS))
CategoryField = enum_field(list(Category.values))


TextInput = text_serializer(
    "WorkflowTextInput", required=False, doc="A name in Chinese and English; a name needs both."
)
TextOutput = text_serializer("WorkflowText", required=True, doc="A name or description in Chinese and English.")

_DURATION = r"^[1-9][0-9]{0,4}[mhd]$"
_DURATION_HELP = gettext_lazy(
    "Business time on the department's calendar: a whole number and m (minutes), h (hours) or d (days), such as 30m."
)
_TO_HELP = gettext_lazy("Where the outcome leads: a step's key, or resolve, dismiss, escalate or back.")
_KIND_HELP = gettext_lazy(
    "task (a person fills the step's form), approval (a manager or lead decides), action (automatic) or wait."
)
_STRATEGY_HELP = gettext_lazy(
    "queue, user (with user), round_robin, least_loaded, by_field (with field and map), lead or manager."
)


class WorkflowOutcomeInput(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{0,39}$", help_text=gettext_lazy("Unique in the step."))
    name = TextInput()
    to = serializers.CharField(help_text=_TO_HELP)


class WorkflowAssignInput(serializers.Serializer):
    """Who gets the step; a department left out means the exception's own."""

    strategy = StrategyField(help_text=_STRATEGY_HELP)
    department = serializers.CharField(required=False, help_text=gettext_lazy("A department's code, such as finance."))
    user = serializers.CharField(required=False, help_text=gettext_lazy("A username (strategy user)."))
    field = ByFieldField(required=False, help_text=gettext_lazy("The order field to assign by (strategy by_field)."))
    map = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text=gettext_lazy("The field's values, each to a department code or a username (strategy by_field)."),
    )


class WorkflowStepInput(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{0,39}$", help_text=gettext_lazy("Unique in the workflow."))
    kind = StepKindField(help_text=_KIND_HELP)
    name = TextInput()
    form = serializers.CharField(
        required=False, help_text=gettext_lazy("The key of a published step form (task and approval).")
    )
    deadline = serializers.RegexField(_DURATION, required=False, help_text=_DURATION_HELP)
    assign = WorkflowAssignInput(required=False)
    action = ActionField(required=False, help_text=gettext_lazy("What an action step does."))
    wait = serializers.RegexField(_DURATION, required=False, help_text=gettext_lazy("How long a wait step waits."))
    outcomes = WorkflowOutcomeInput(many=True, required=False)


class WorkflowAppliesToInput(serializers.Serializer):
    """The exceptions the workflow handles: of these categories or raised by these rules (neither: every one)."""

    categories = serializers.ListField(child=CategoryField(), required=False)
    rules = serializers.ListField(child=serializers.CharField(), required=False, help_text=gettext_lazy("Rule codes."))


class WorkflowDocumentInput(serializers.Serializer):
    """A workflow document (SPEC §10.6): its key, name, what it applies to and its ordered steps."""

    key = serializers.RegexField(rf"^{WORKFLOW_KEY_PATTERN.pattern}$")
    name = TextInput()
    description = TextInput(required=False)
    priority = serializers.IntegerField(
        min_value=0,
        max_value=MAX_PRIORITY,
        required=False,
        help_text=gettext_lazy("Of the published workflows that apply to an exception, the highest priority wins."),
    )
    applies_to = WorkflowAppliesToInput(required=False)
    steps = WorkflowStepInput(many=True, min_length=1, max_length=MAX_STEPS)


class WorkflowDraftInput(WorkflowDocumentInput):
    """A workflow's new draft: the document, whose key may be left out (it cannot change)."""

    key = serializers.RegexField(
        rf"^{WORKFLOW_KEY_PATTERN.pattern}$", required=False, help_text=gettext_lazy("The workflow's key, if given.")
    )


class WorkflowOutcomeOutput(serializers.Serializer):
    key = serializers.CharField()
    name = TextOutput()
    to = serializers.CharField(help_text=_TO_HELP)


class WorkflowAssignOutput(serializers.Serializer):
    strategy = StrategyField(help_text=_STRATEGY_HELP)
    department = serializers.CharField(required=False)
    user = serializers.CharField(required=False)
    field = ByFieldField(required=False)
    map = serializers.DictField(child=serializers.CharField(), required=False)


class WorkflowStepOutput(serializers.Serializer):
    """A step as the document holds it; properties without a value are left out."""

    key = serializers.CharField()
    kind = StepKindField(help_text=_KIND_HELP)
    name = TextOutput()
    form = serializers.CharField(required=False)
    deadline = serializers.CharField(required=False, help_text=_DURATION_HELP)
    assign = WorkflowAssignOutput(required=False)
    action = ActionField(required=False)
    wait = serializers.CharField(required=False)
    outcomes = WorkflowOutcomeOutput(many=True)


class WorkflowAppliesToOutput(serializers.Serializer):
    categories = serializers.ListField(child=serializers.CharField())
    rules = serializers.ListField(child=serializers.CharField())


class WorkflowDocumentOutput(serializers.Serializer):
    key = serializers.CharField()
    name = TextOutput()
    description = TextOutput(required=False)
    priority = serializers.IntegerField()
    applies_to = WorkflowAppliesToOutput()
    steps = WorkflowStepOutput(many=True)


# --- Workflows and versions ---------------------------------------------------------------------


class WorkflowVersionOutput(VersionOutput):
    class Meta(VersionOutput.Meta):
        model = WorkflowVersion


class PublishedWorkflowVersionOutput(WorkflowVersionOutput):
    """The published version with its document."""

    document = WorkflowDocumentOutput()

    class Meta(WorkflowVersionOutput.Meta):
        fields = (*WorkflowVersionOutput.Meta.fields, "document")


class WorkflowListOutput(DefinitionListOutput):
    """A workflow in the list: its name is the draft's."""

    name = TextOutput(source="draft.name")

    class Meta:
        model = WorkflowDefinition
        fields = ("key", "name", "is_active", "published_version", "has_unpublished_changes", "updated_at")

    def get_has_unpublished_changes(self, definition: WorkflowDefinition) -> bool:
        return definitions.has_unpublished_changes(definition)


class WorkflowDetailOutput(serializers.Serializer):
    """A workflow: the published version (with its document), the draft and every version."""

    key = serializers.CharField()
    name = TextOutput(help_text=gettext_lazy("The name in the draft."))
    is_active = serializers.BooleanField(help_text=gettext_lazy("An inactive workflow starts no new case."))
    published = PublishedWorkflowVersionOutput(
        allow_null=True, help_text=gettext_lazy("The version new cases start; null while none is published.")
    )
    draft = WorkflowDocumentOutput()
    has_unpublished_changes = serializers.BooleanField()
    versions = WorkflowVersionOutput(many=True, help_text=gettext_lazy("Every published version, the newest first."))


# --- Views --------------------------------------------------------------------------------------


def _workflow_or_404(key: str) -> WorkflowDefinition:
    # A path that cannot be a workflow key names no workflow (and PostgreSQL refuses a NUL in a query).
    if WORKFLOW_KEY_PATTERN.fullmatch(key):
        try:
            return selectors.workflow_get(key=key)
        except WorkflowDefinition.DoesNotExist:
            pass
    raise exceptions.NotFound(_("No workflow has this key."))


def _detail(definition: WorkflowDefinition) -> dict[str, Any]:
    versions = list(selectors.workflow_versions(definition=definition))
    published = next((version for version in versions if version.pk == definition.published_id), None)
    return WorkflowDetailOutput(
        {
            "key": definition.key,
            "name": definition.draft["name"],
            "is_active": definition.is_active,
            "published": published,
            "draft": definition.draft,
            "has_unpublished_changes": definitions.has_unpublished_changes(definition),
            "versions": versions,
        }
    ).data


def _document(request) -> dict[str, Any]:
    """The workflow document in the body, with what the database cannot read refused."""
    return document_body(request, not_an_object=_("Send the workflow document as a JSON object."))


_KEY = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    description=gettext_lazy("The workflow's key."),
    pattern=rf"^{WORKFLOW_KEY_PATTERN.pattern}$",
)
_DOCUMENT_REFUSED = gettext_lazy(
    "The document has problems (`invalid_document`): `fields` names each bad part by its path, such as "
    "steps.1.outcomes.0.to (an outcome leading to no step), steps.2 (a step no outcome leads to) or "
    "steps.1.assign (an approval nobody can decide)."
)


class WorkflowListCreateApi(generics.ListAPIView):
    """List the workflow definitions, or create one."""

    queryset = WorkflowDefinition.objects.none()
    serializer_class = WorkflowListOutput

    def get_queryset(self):
        return selectors.workflow_list()

    @extend_schema(
        request=WorkflowDocumentInput,
        responses={201: WorkflowDetailOutput},
        description=format_lazy(
            "{} {} {}",
            gettext_lazy("Create a workflow from a workflow document: it becomes the draft; nothing is published yet."),
            _DOCUMENT_REFUSED,
            gettext_lazy("Another workflow with the key is `key_taken`."),
        ),
    )
    def post(self, request):
        definition = definitions.workflow_create(document=_document(request), actor=request.user)
        return Response(_detail(selectors.workflow_get(key=definition.key)), status=status.HTTP_201_CREATED)


class WorkflowDetailApi(APIView):
    """Read a workflow (its published version, its draft and its versions), or replace its draft."""

    queryset = WorkflowDefinition.objects.none()

    @extend_schema(parameters=[_KEY], responses=WorkflowDetailOutput)
    def get(self, request, key: str):
        return Response(_detail(_workflow_or_404(key)))

    @extend_schema(
        parameters=[_KEY],
        request=WorkflowDraftInput,
        responses=WorkflowDetailOutput,
        description=format_lazy(
            "{} {}",
            gettext_lazy("Replace the draft with the document; new cases keep starting the published version."),
            _DOCUMENT_REFUSED,
        ),
    )
    def put(self, request, key: str):
        definition = _workflow_or_404(key)
        definitions.workflow_save_draft(key=definition.key, document=_document(request), actor=request.user)
        return Response(_detail(selectors.workflow_get(key=definition.key)))


# The inputs are subclassed for their names: the schema's components WorkflowPublishInput and WorkflowRestoreInput.
class WorkflowPublishInput(VersionNoteInput):
    pass


@extend_schema_view(
    post=extend_schema(
        parameters=[_KEY],
        request=WorkflowPublishInput,
        responses={201: inline_serializer(name="WorkflowPublished", fields={"version": serializers.IntegerField()})},
        description=gettext_lazy(
            "The next exception the workflow applies to starts the new version; running cases keep theirs. "
            "Refused with `nothing_to_publish` when the draft is the published version, and `invalid_document` "
            "when the draft has problems (what it names may have changed since it was saved)."
        ),
    )
)
class WorkflowPublishApi(DefinitionPublishApi):
    """Publish the workflow's draft as its next version (201: each publish creates an immutable version)."""

    queryset = WorkflowDefinition.objects.none()
    input_serializer = WorkflowPublishInput
    find = staticmethod(_workflow_or_404)
    publish = staticmethod(definitions.workflow_publish)


class WorkflowRestoreInput(VersionRestoreInput):
    pass


@extend_schema_view(
    post=extend_schema(
        parameters=[_KEY],
        request=WorkflowRestoreInput,
        responses=WorkflowDetailOutput,
        description=gettext_lazy("A version the workflow does not have is `no_such_version` (field version)."),
    )
)
class WorkflowRestoreApi(DefinitionRestoreApi):
    """Copy a published version into the workflow's draft; publishing it again is a separate step."""

    queryset = WorkflowDefinition.objects.none()
    input_serializer = WorkflowRestoreInput
    find = staticmethod(_workflow_or_404)
    restore = staticmethod(definitions.workflow_restore)
    detail = staticmethod(_detail)
