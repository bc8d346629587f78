"""REST API v1 for exceptions (SPEC §5): a scoped, filtered, paginated list and a detail view."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers

from apps.accounts.models import Department
from apps.common.fields import ID_MAX, OutputModelSerializer, StrictIsoDateTimeFilter
from apps.exceptions import evidence, selectors
from apps.exceptions.models import ExceptionEvent, ExceptionStatus, OrderException, PauseReason
from apps.rules.models import Severity

# --- Filters ------------------------------------------------------------------------------------


class RuleCodesField(forms.CharField):
    """A comma-separated list of rule codes; cleans to the rules' ids, refusing unknown codes."""

    default_error_messages = {"unknown": _("Unknown exception type: %(codes)s.")}

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        codes = sorted({code.strip() for code in value.split(",") if code.strip()})
        if not codes:
            return None
        found = selectors.rule_ids_by_code(codes=codes)
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise forms.ValidationError(
                self.error_messages["unknown"], code="unknown", params={"codes": ", ".join(unknown)}
            )
        return list(found.values())


class UserRefField(forms.CharField):
    """A user given by username or by id; cleans to the stripped reference without checking that it exists."""

    def clean(self, value):
        return super().clean(value) or None


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField


@extend_schema_field(OpenApiTypes.STR)
class RuleCodesFilter(django_filters.Filter):
    field_class = RuleCodesField


@extend_schema_field(OpenApiTypes.STR)
class UserRefFilter(django_filters.Filter):
    """Filters on the user a reference names. An unknown user matches nothing, exactly like a user
    with no exceptions: a 400 for it would let any token holder probe which usernames exist."""

    field_class = UserRefField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(**{self.field_name: selectors.user_id_by_ref(ref=value)})


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """One value or a comma-separated list, each one of the choices."""


class ExceptionFilter(django_filters.FilterSet):
    order = IdFilter(field_name="order_id", label=_("Order id"), min_value=1, max_value=ID_MAX)
    type = RuleCodesFilter(
        field_name="rule_id", lookup_expr="in", label=_("Exception type: a rule code, or several separated by commas")
    )
    status = ChoiceInFilter(
        choices=ExceptionStatus.choices, label=_("Status, or several separated by commas"), lookup_expr="in"
    )
    severity = ChoiceInFilter(
        choices=Severity.choices, label=_("Severity, or several separated by commas"), lookup_expr="in"
    )
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="code", label=_("Department code")
    )
    assignee = UserRefFilter(field_name="assignee_id", label=_("Assignee: username or id"))
    # With a UTC offset, from 2000 to 2100, like every time the API takes (apps/common/fields.py).
    detected_after = StrictIsoDateTimeFilter(
        field_name="detected_at", lookup_expr="gte", label=_("Detected at or after (ISO 8601 with a UTC offset)")
    )
    detected_before = StrictIsoDateTimeFilter(
        field_name="detected_at", lookup_expr="lt", label=_("Detected before (ISO 8601 with a UTC offset)")
    )

    class Meta:
        model = OrderException
        fields = ()


# --- Output -------------------------------------------------------------------------------------


class PauseReasonOutputField(serializers.ChoiceField):
    """Why the exception's clock is paused; null while it runs (the column holds "")."""

    def __init__(self, **kwargs):
        super().__init__(choices=PauseReason.choices, allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value):
        return value or None


class ExceptionOutput(OutputModelSerializer):
    order = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    type = serializers.SlugRelatedField(source="rule", slug_field="code", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Rendered in the request's language from the rule and the stored details (apps/exceptions/evidence.py).
    summary = serializers.SerializerMethodField()
    pause_reason = PauseReasonOutputField()

    class Meta:
        model = OrderException
        fields = (
            "id",
            "order",
            "type",
            "category",
            "severity",
            "status",
            "summary",
            "department",
            "assignee",
            "detected_at",
            "due_at",
            "resolved_at",
            "occurrences",
            "channel",
            "external_id",
            "handling",
            "is_recurrence",
            "recurrence_of",
            "first_response_due_at",
            "last_detected_at",
            "closed_at",
            # The SLA clock (SPEC §9.4): the first response, each deadline's breach (recorded
            # apart) and a pause with its reason.
            "first_responded_at",
            "first_response_breached_at",
            "resolution_breached_at",
            "paused_at",
            "pause_reason",
        )

    @extend_schema_field(OpenApiTypes.STR)
    def get_summary(self, exception: OrderException) -> str:
        return evidence.exception_summary_text(exception)


class ExceptionEventOutput(OutputModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ExceptionEvent
        fields = ("at", "kind", "actor", "data")


class ExceptionDetailOutput(ExceptionOutput):
    events = ExceptionEventOutput(many=True, read_only=True)

    class Meta(ExceptionOutput.Meta):
        fields = (*ExceptionOutput.Meta.fields, "notify_channels", "details", "events")


# --- Views --------------------------------------------------------------------------------------


@extend_schema(
    description=(
        "Exceptions the caller may see (staff: their department's and those assigned to them), "
        "newest first. `type` and `status` and `severity` take one value or a comma-separated list; "
        "an unknown value is a 400 naming the filter."
    ),
    parameters=[
        OpenApiParameter("order", {"type": "integer", "minimum": 1, "maximum": ID_MAX}, description="Order id."),
        OpenApiParameter(
            "type",
            OpenApiTypes.STR,
            description="Rule code (e.g. `STOCK_SHORTAGE`), or several separated by commas.",
        ),
        OpenApiParameter("assignee", OpenApiTypes.STR, description="Assignee's username, or user id."),
    ],
)
class ExceptionListApi(generics.ListAPIView):
    """List exceptions, filtered and paginated."""

    queryset = OrderException.objects.none()
    serializer_class = ExceptionOutput
    filterset_class = ExceptionFilter

    def get_queryset(self):
        return selectors.exception_list(user=self.request.user)


class ExceptionDetailApi(generics.RetrieveAPIView):
    """One exception with its details and audit trail; another department's is a 404 for staff."""

    queryset = OrderException.objects.none()
    serializer_class = ExceptionDetailOutput
    lookup_url_kwarg = "exception_id"

    def get_queryset(self):
        return selectors.exception_detail_queryset(user=self.request.user)
