"""REST API v1 for the SLA and grading configuration (SPEC §10.5, §10.6): the business calendars,
the escalation ladders and the grading table.

A calendar and a ladder are documents: ``calendars.calendar_parse`` and ``ladders.ladder_parse``
are their one validator each, so the API refuses exactly what the console refuses, with the
paths of the bad parts (``week.mon``, ``holidays.2``, ``levels.1.share``) in ``fields``. Their
input serializers document the shape for the OpenAPI schema; the views do not validate with them.

A grading row is a model row: the input serializer checks its shape, the model's ``clean()`` and
constraints (``full_clean``) check the row, and each refusal names its field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Department
from apps.accounts.permissions import UpsertModelPermissions
from apps.common.documents import LANGUAGES, InvalidDocument
from apps.common.documents_api import DefinitionChangePermissions, document_body, enum_field
from apps.common.fields import (
    ID_MAX,
    INT32_MAX,
    MoneyField,
    OutputModelSerializer,
    Rfc3339DateTimeField,
    StrictCharField,
    StrictIntegerField,
)
from apps.exceptions import calendars, ladders, selectors
from apps.exceptions.grading import grading_rule_delete, grading_rule_restore, grading_rule_save, row_change_rows
from apps.exceptions.models import (
    BusinessCalendar,
    EscalationLadder,
    EscalationLevel,
    GradingRule,
    GradingRuleVersion,
    Handling,
    NotifyChannel,
)
from apps.formdesigner.document import DocumentError
from apps.orders.models import Channel
from apps.rules.models import Category, Severity


class ConfigErrorCode(models.TextChoices):
    INVALID_DOCUMENT = "invalid_document", gettext_lazy("The document has problems.")


class SlaDocumentError(InvalidDocument):
    """A calendar or ladder document with problems; ``errors`` names each bad part by its path."""

    def __init__(self, errors: dict[str, list[str]]):
        code = ConfigErrorCode.INVALID_DOCUMENT
        fields = {path or "non_field_errors": [str(m) for m in messages] for path, messages in errors.items()}
        super().__init__(code=code, message=str(code.label), errors=fields)


# --- Calendars ----------------------------------------------------------------------------------

# A department code is a slug; anything else names no department (and PostgreSQL refuses a NUL
# in a query).
_DEPARTMENT_KEY = re.compile(r"[-a-zA-Z0-9_]{1,32}")
MAX_ZONE = BusinessCalendar._meta.get_field("time_zone").max_length
_HOURS_HELP = gettext_lazy('Shifts as ["HH:MM", "HH:MM"] pairs, such as [["09:00", "12:00"], ["13:30", "18:00"]].')


def _shifts(**kwargs) -> serializers.ListField:
    pair = serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2)
    kwargs.setdefault("help_text", _HOURS_HELP)
    return serializers.ListField(child=pair, **kwargs)


class CalendarWeekInput(serializers.Serializer):
    """The working hours of each day of the week; a day left out has none."""

    mon = _shifts(required=False)
    tue = _shifts(required=False)
    wed = _shifts(required=False)
    thu = _shifts(required=False)
    fri = _shifts(required=False)
    sat = _shifts(required=False)
    sun = _shifts(required=False)


class CalendarInput(serializers.Serializer):
    """A department's business calendar (SPEC §10.6); what is left out takes its default."""

    department = serializers.CharField(required=False, help_text=gettext_lazy("Ignored: the path names it."))
    time_zone = serializers.CharField(required=False, help_text=gettext_lazy("An IANA zone (default Asia/Shanghai)."))
    always_open = serializers.BooleanField(required=False, help_text=gettext_lazy("24×7 (default false)."))
    official_calendar = serializers.BooleanField(
        required=False,
        help_text=gettext_lazy("Apply the State Council's holidays and make-up working days (default true)."),
    )
    week = CalendarWeekInput(required=False)
    make_up_day_hours = _shifts(
        required=False, help_text=gettext_lazy("The hours of a make-up working day (default: Monday's).")
    )
    holidays = serializers.ListField(
        child=serializers.DateField(), required=False, help_text=gettext_lazy("The company's own holidays.")
    )
    make_up_days = serializers.ListField(
        child=serializers.DateField(), required=False, help_text=gettext_lazy("The company's own make-up working days.")
    )


class CalendarWeekOutput(serializers.Serializer):
    mon = _shifts()
    tue = _shifts()
    wed = _shifts()
    thu = _shifts()
    fri = _shifts()
    sat = _shifts()
    sun = _shifts()


class CalendarOutput(serializers.Serializer):
    department = serializers.CharField(help_text=gettext_lazy("The department's code, or default (the company's)."))
    inherited = serializers.BooleanField(
        help_text=gettext_lazy("The department has no calendar of its own and works on the company's (shown).")
    )
    time_zone = serializers.CharField()
    always_open = serializers.BooleanField()
    official_calendar = serializers.BooleanField()
    week = CalendarWeekOutput()
    make_up_day_hours = _shifts()
    holidays = serializers.ListField(child=serializers.DateField())
    make_up_days = serializers.ListField(child=serializers.DateField())


class OfficialYearOutput(serializers.Serializer):
    year = serializers.IntegerField()
    holidays = serializers.IntegerField()
    make_up_days = serializers.IntegerField()
    from_package = serializers.BooleanField(help_text=gettext_lazy("Loaded from the chinese-calendar package."))


class CalendarListOutput(serializers.Serializer):
    calendars = CalendarOutput(many=True, help_text=gettext_lazy("The company's calendar, then each department's."))
    official_years = OfficialYearOutput(
        many=True,
        help_text=gettext_lazy("The years the official calendar covers: a year missing has no public holidays."),
    )


def _calendar_key(department: str) -> str:
    if department != calendars.COMPANY and not _DEPARTMENT_KEY.fullmatch(department):
        raise exceptions.NotFound(_("No such department."))
    return department


_DEPARTMENT = OpenApiParameter(
    "department",
    str,
    OpenApiParameter.PATH,
    description=gettext_lazy("A department's code (finance), or default for the company calendar."),
)


class CalendarListApi(APIView):
    """The company calendar, each department's (its own, or the company's it inherits) and the official years."""

    queryset = BusinessCalendar.objects.none()

    @extend_schema(operation_id="calendars_list", responses=CalendarListOutput)
    def get(self, request):
        keys = [calendars.COMPANY, *Department.objects.order_by("code").values_list("code", flat=True)]
        body = {
            "calendars": [calendars.calendar_document(key) for key in keys],
            "official_years": [vars(year) for year in calendars.official_years()],
        }
        return Response(CalendarListOutput(body).data)


class CalendarDetailApi(APIView):
    """Read a department's business calendar, or replace it."""

    queryset = BusinessCalendar.objects.none()
    # A PUT gives a department that inherits the company calendar one of its own.
    permission_classes = [UpsertModelPermissions]

    @extend_schema(parameters=[_DEPARTMENT], responses=CalendarOutput)
    def get(self, request, department: str):
        return Response(CalendarOutput(calendars.calendar_document(_calendar_key(department))).data)

    @extend_schema(
        parameters=[_DEPARTMENT],
        request=CalendarInput,
        responses=CalendarOutput,
        description=gettext_lazy(
            "Replace the calendar; deadlines already set keep their moment, new ones count on this calendar. "
            "A document with problems is `invalid_document`: `fields` names each bad part by its path, such as "
            "week.mon, holidays.2 or time_zone."
        ),
    )
    def put(self, request, department: str):
        key = _calendar_key(department)
        document = document_body(request, not_an_object=_("Send the calendar as a JSON object."))
        zone = document.get("time_zone")
        if isinstance(zone, str) and len(zone) > MAX_ZONE:
            # Longer than any IANA name and than the column: the zone lookup would fail on the
            # file name instead of saying it is unknown.
            raise SlaDocumentError({"time_zone": [_("%(zone)s… is not a known time zone.") % {"zone": zone[:32]}]})
        try:
            calendars.calendar_save(key=key, document=document, actor=request.user)
        except DocumentError as error:
            raise SlaDocumentError(error.errors) from None
        return Response(CalendarOutput(calendars.calendar_document(key)).data)


# --- Escalation ladders -------------------------------------------------------------------------

ClockField = enum_field(list(EscalationLevel.Clock.values))
TriggerField = enum_field(list(EscalationLevel.Trigger.values))
LadderActionField = enum_field(list(EscalationLevel.Action.values))
_TRIGGER_HELP = gettext_lazy(
    "share (when that many percent of the deadline have passed), breach (at the deadline) or after_breach"
    " (the period after it)."
)
_ACTION_HELP = gettext_lazy(
    "remind (the assignee), notify_lead (and mark the exception escalated), approval (a manager's) "
    "or reassign_lead (to the department's lead)."
)


class LadderLevelInput(serializers.Serializer):
    clock = ClockField(required=False, help_text=gettext_lazy("The deadline it watches (default resolution)."))
    trigger = TriggerField(help_text=_TRIGGER_HELP)
    share = serializers.IntegerField(
        min_value=1, max_value=99, required=False, help_text=gettext_lazy("Percent of the deadline (trigger share).")
    )
    after = serializers.CharField(
        required=False, help_text=gettext_lazy("Business time after the breach, such as 30m, 2h or 1d (after_breach).")
    )
    action = LadderActionField(help_text=_ACTION_HELP)


class LadderInput(serializers.Serializer):
    """The ladder of one severity (the path names it): its levels, in order."""

    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    levels = LadderLevelInput(many=True, max_length=ladders.MAX_LEVELS)


class LadderLevelOutput(serializers.Serializer):
    """A level; ``share`` only with the share trigger, ``after`` only with after_breach."""

    clock = ClockField()
    trigger = TriggerField(help_text=_TRIGGER_HELP)
    share = serializers.IntegerField(required=False)
    after = serializers.CharField(required=False)
    action = LadderActionField(help_text=_ACTION_HELP)


class LadderOutput(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    levels = LadderLevelOutput(many=True)


class LadderListOutput(serializers.Serializer):
    ladders = LadderOutput(many=True, help_text=gettext_lazy("One ladder per severity, the most severe first."))


_SEVERITY = OpenApiParameter(
    "severity", str, OpenApiParameter.PATH, enum=list(Severity.values), description=gettext_lazy("The severity.")
)


class LadderListApi(APIView):
    """The escalation ladder of every severity."""

    queryset = EscalationLadder.objects.none()

    @extend_schema(operation_id="ladders_list", responses=LadderListOutput)
    def get(self, request):
        body = {"ladders": [ladders.ladder_document(severity) for severity in Severity.values]}
        return Response(LadderListOutput(body).data)


class LadderDetailApi(APIView):
    """Read the escalation ladder of one severity, or replace it."""

    queryset = EscalationLadder.objects.none()
    permission_classes = [UpsertModelPermissions]

    @extend_schema(parameters=[_SEVERITY], responses=LadderOutput)
    def get(self, request, severity: str):
        return Response(LadderOutput(ladders.ladder_document(severity)).data)

    @extend_schema(
        parameters=[_SEVERITY],
        request=LadderInput,
        responses=LadderOutput,
        description=gettext_lazy(
            "Replace the ladder; tasks already open keep the timeline they were given. A document with "
            "problems is `invalid_document`: `fields` names each bad part by its path, such as levels.1.share."
        ),
    )
    def put(self, request, severity: str):
        ladders.ladder_document(severity)  # an unknown severity is a 404 before the body is read
        document = document_body(request, not_an_object=_("Send the ladder as a JSON object."))
        try:
            ladders.ladder_save(severity=severity, document=document, actor=request.user)
        except DocumentError as error:
            raise SlaDocumentError(error.errors) from None
        return Response(LadderOutput(ladders.ladder_document(severity)).data)


# --- Grading rows: the API ----------------------------------------------------------------------

_CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _text(name: str, *, doc: str, field: Callable[[], serializers.Field]) -> type[serializers.Serializer]:
    # The language keys ("zh-hans") are no Python names, so the class is built from a dict.
    attrs: dict[str, Any] = {language: field() for language in LANGUAGES}
    attrs["__doc__"] = doc
    attrs["__module__"] = __name__
    return type(name, (serializers.Serializer,), attrs)


GradingRuleNameInput = _text(
    "GradingRuleNameInput",
    doc="The row's name in Chinese and English.",
    field=partial(StrictCharField, max_length=128, required=False, allow_blank=True),
)
GradingRuleName = _text("GradingRuleName", doc="The row's name in Chinese and English.", field=serializers.CharField)


class ClockTimeField(serializers.TimeField):
    """A time of day written ``HH:MM`` (00:00 to 23:59), in ``TIME_ZONE``."""

    default_error_messages = {"clock": gettext_lazy("Write a time of day as HH:MM, such as 09:30.")}

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _CLOCK_TIME.fullmatch(value):
            self.fail("clock")
        return super().to_internal_value(value)


_CODE_HELP = gettext_lazy("Empty: any.")


class GradingRuleInput(serializers.Serializer):
    """A grading row (SPEC §10.6): what it matches (every match left out matches anything) and its verdict."""

    position = StrictIntegerField(
        min_value=0, max_value=INT32_MAX, default=100, help_text=gettext_lazy("Lower positions are tried first.")
    )
    name = GradingRuleNameInput(required=False)
    is_active = serializers.BooleanField(default=True)
    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, default="", help_text=_CODE_HELP)
    rule = StrictCharField(
        max_length=64, allow_null=True, allow_blank=True, default=None, help_text=gettext_lazy("A rule code.")
    )
    channel = serializers.ChoiceField(choices=Channel.choices, allow_blank=True, default="", help_text=_CODE_HELP)
    min_amount = MoneyField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("Inclusive bound on the order's total."),
    )
    max_amount = MoneyField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("Inclusive bound on the order's total."),
    )
    customer_tag = StrictCharField(max_length=32, allow_blank=True, default="")
    time_from = ClockTimeField(
        allow_null=True, default=None, help_text=gettext_lazy("The time window (local time); may wrap past midnight.")
    )
    time_to = ClockTimeField(allow_null=True, default=None)
    severity = serializers.ChoiceField(
        choices=Severity.choices, allow_blank=True, default="", help_text=gettext_lazy("Empty: the rule's own.")
    )
    department = StrictCharField(max_length=32, help_text=gettext_lazy("The department's code, such as finance."))
    handling = serializers.ChoiceField(choices=Handling.choices)
    first_response_minutes = StrictIntegerField(
        min_value=1, max_value=INT32_MAX, help_text=gettext_lazy("Business minutes on the department's calendar.")
    )
    resolution_minutes = StrictIntegerField(
        min_value=1,
        max_value=INT32_MAX,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("Business minutes; empty: four times the first response time."),
    )
    notify_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=NotifyChannel.choices), max_length=len(NotifyChannel), default=list
    )


class GradingRuleOutput(OutputModelSerializer):
    name = serializers.SerializerMethodField()
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    time_from = serializers.TimeField(format="%H:%M", allow_null=True)
    time_to = serializers.TimeField(format="%H:%M", allow_null=True)
    notify_channels = serializers.ListField(child=serializers.ChoiceField(choices=NotifyChannel.choices))

    class Meta:
        model = GradingRule
        fields = (
            "id",
            "position",
            "name",
            "is_active",
            "category",
            "rule",
            "channel",
            "min_amount",
            "max_amount",
            "customer_tag",
            "time_from",
            "time_to",
            "severity",
            "department",
            "handling",
            "first_response_minutes",
            "resolution_minutes",
            "notify_channels",
        )

    @extend_schema_field(GradingRuleName)
    def get_name(self, row: GradingRule) -> dict[str, str]:
        return {"zh-hans": row.name, "en": row.name_en}


def _values(request) -> dict[str, Any]:
    serializer = GradingRuleInput(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _rows():
    return GradingRule.objects.select_related("rule", "department").order_by("position", "id")


def _row_or_404(rule_id: int) -> GradingRule:
    row = _rows().filter(pk=rule_id).first() if rule_id <= ID_MAX else None
    if row is None:
        raise exceptions.NotFound(_("No such grading row."))
    return row


_ROW_REFUSED = gettext_lazy(
    "The row has problems (`invalid`): `fields` names each, such as max_amount (below min_amount), "
    "time_to (only one end of the window), resolution_minutes (shorter than the first response) or rule "
    "(no rule has the code)."
)


class GradingRuleListCreateApi(generics.ListAPIView):
    """The grading table, in the order its rows are tried (the first active match wins); or add a row."""

    queryset = GradingRule.objects.none()
    serializer_class = GradingRuleOutput

    def get_queryset(self):
        return _rows()

    @extend_schema(request=GradingRuleInput, responses={201: GradingRuleOutput}, description=_ROW_REFUSED)
    def post(self, request):
        row = grading_rule_save(rule_id=None, values=_values(request), actor=request.user)
        return Response(GradingRuleOutput(_row_or_404(row.pk)).data, status=status.HTTP_201_CREATED)


class GradingRuleDetailApi(APIView):
    """One grading row: read, replace (every field as on a create) or delete."""

    queryset = GradingRule.objects.none()

    @extend_schema(responses=GradingRuleOutput)
    def get(self, request, rule_id: int):
        return Response(GradingRuleOutput(_row_or_404(rule_id)).data)

    @extend_schema(request=GradingRuleInput, responses=GradingRuleOutput, description=_ROW_REFUSED)
    def put(self, request, rule_id: int):
        row = _row_or_404(rule_id)
        grading_rule_save(rule_id=row.pk, values=_values(request), actor=request.user)
        return Response(GradingRuleOutput(_row_or_404(row.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, rule_id: int):
        grading_rule_delete(rule_id=_row_or_404(rule_id).pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Grading rows: versions ---------------------------------------------------------------------


class GradingRowChangeOutput(serializers.Serializer):
    what = serializers.CharField()
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "The row as GET /api/v1/grading-rules/{id}/ answers it, without its id.",
    }
)
class GradingRowDocumentField(serializers.JSONField):
    pass


GradingVersionActionField = enum_field(list(GradingRuleVersion.Action.values))


class GradingRuleVersionOutput(serializers.Serializer):
    """A version of a grading row: the row as a save (or its removal) left it, who, when, what changed."""

    version = serializers.IntegerField(source="number")
    action = GradingVersionActionField(help_text=gettext_lazy("created, changed, deleted or restored."))
    saved_at = Rfc3339DateTimeField(source="created_at")
    saved_by = serializers.CharField(
        source="actor.username",
        allow_null=True,
        help_text=gettext_lazy("The username of who saved it; null: the system."),
    )
    note = serializers.CharField(allow_blank=True)
    restored_from = serializers.IntegerField(allow_null=True)
    document = GradingRowDocumentField()
    changes = serializers.ListField(
        child=serializers.DictField(),
        help_text=gettext_lazy('What changed from the version before: {"change", "attribute", "old", "new"} each.'),
    )
    described = serializers.SerializerMethodField(help_text=gettext_lazy("The changes in words."))

    @extend_schema_field(GradingRowChangeOutput(many=True))
    def get_described(self, version: GradingRuleVersion) -> list[dict[str, str]]:
        return [vars(row) for row in row_change_rows(version.changes)]


class GradingRuleRestoreInput(serializers.Serializer):
    version = StrictIntegerField(min_value=1, help_text=gettext_lazy("The version to make current again."))
    note = StrictCharField(max_length=500, required=False, allow_blank=True)


def _versions_or_404(rule_id: int):
    versions = selectors.grading_rule_versions(row_id=rule_id) if rule_id <= ID_MAX else None
    if versions is None or not versions.exists():
        raise exceptions.NotFound(_("No such grading row."))
    return versions


class GradingRuleVersionListApi(generics.ListAPIView):
    """A grading row's versions, the newest first; a removed row's too (it can be restored)."""

    queryset = GradingRuleVersion.objects.none()
    serializer_class = GradingRuleVersionOutput

    def get_queryset(self):
        return _versions_or_404(self.kwargs["rule_id"])


class GradingRuleRestoreApi(APIView):
    """Make a grading row what one of its versions was, as its next version; a removed row comes back."""

    queryset = GradingRule.objects.none()
    permission_classes = [DefinitionChangePermissions]

    @extend_schema(
        request=GradingRuleRestoreInput,
        responses=GradingRuleOutput,
        description=gettext_lazy(
            "A version the row does not have (or its removal) is `no_such_version` (field version); a version "
            "naming a rule or department that is gone is `invalid` naming that field."
        ),
    )
    def post(self, request, rule_id: int):
        _versions_or_404(rule_id)
        serializer = GradingRuleRestoreInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        row = grading_rule_restore(
            rule_id=rule_id,
            version=serializer.validated_data["version"],
            actor=request.user,
            note=serializer.validated_data.get("note", ""),
        )
        return Response(GradingRuleOutput(_row_or_404(row.pk)).data)
