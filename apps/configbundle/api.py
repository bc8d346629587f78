"""REST API v1 for the configuration bundle (SPEC §10.5): export it, import it (dry run first)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.documents_api import document_body
from apps.configbundle import services

# What importing writes, model by model (forms and workflows are never deleted by an import);
# exporting needs ``view`` on each.
_WRITES = {
    "rules.exceptionrule": ("add", "change"),
    "exceptions.gradingrule": ("add", "change", "delete"),
    "exceptions.businesscalendar": ("add", "change", "delete"),
    "exceptions.calendarday": ("add", "change", "delete"),
    "exceptions.escalationladder": ("add", "change", "delete"),
    "exceptions.escalationlevel": ("add", "change", "delete"),
    "formdesigner.formdefinition": ("add", "change"),
    "workflows.workflowdefinition": ("add", "change"),
}


def _perms(*, writing: bool) -> list[str]:
    perms = []
    for model, actions in _WRITES.items():
        app, name = model.split(".")
        perms += [f"{app}.{action}_{name}" for action in ("view", *(actions if writing else ()))]
    return perms


class ConfigurationPermission(BasePermission):
    """Reading the bundle needs ``view`` on every configured model; importing needs what each
    section's services write (an import may create, replace and remove)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.has_perms(_perms(writing=request.method not in ("GET", "HEAD", "OPTIONS")))


class ChangeOutput(serializers.Serializer):
    section = serializers.ChoiceField(choices=services.SECTIONS)
    key = serializers.CharField(
        help_text=gettext_lazy(
            "A rule's code, a definition's key, a calendar's department, a ladder's severity "
            "or a grading row's place (1 is the first)."
        )
    )
    change = serializers.ChoiceField(choices=["created", "changed", "removed"])
    parts = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("For changed: the item's parts that differ.")
    )


class ImportOutput(serializers.Serializer):
    dry_run = serializers.BooleanField()
    changes = ChangeOutput(many=True)
    summary = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text=gettext_lazy("Per section: how many items are created, changed and removed."),
    )


_BUNDLE_HELP = gettext_lazy(
    "The whole configuration: format, version, and the sections forms, rules, workflows, grading, calendars "
    "and ladders (each a list, in the shapes their own endpoints use)."
)


class ConfigExportApi(APIView):
    """The whole configuration as one JSON bundle, to import into another system."""

    permission_classes = [ConfigurationPermission]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, description=_BUNDLE_HELP)
    def get(self, request):
        return Response(services.bundle_export())


class ConfigImportApi(APIView):
    """Apply a bundle all or nothing. With ``dry_run=1`` nothing is stored: the answer says what
    would change. A bundle with problems changes nothing and is a 400 naming each bad part by
    its path in the bundle (``rules.3.condition``)."""

    permission_classes = [ConfigurationPermission]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: ImportOutput},
        parameters=[
            OpenApiParameter(
                "dry_run", OpenApiTypes.BOOL, description=gettext_lazy("1: show what would change and store nothing.")
            )
        ],
        description=_BUNDLE_HELP,
    )
    def post(self, request):
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        bundle = document_body(request, not_an_object=str(gettext_lazy("A configuration bundle is a JSON object.")))
        report = services.bundle_import(bundle=bundle, actor=request.user, dry_run=dry_run)
        return Response(
            {
                "dry_run": report.dry_run,
                "changes": [change.as_json() for change in report.changes],
                "summary": report.summary(),
            }
        )
