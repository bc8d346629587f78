from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import JsonErrorsMixin
from apps.common.fields import MoneyField, StrictCharField, StrictDateTimeField
from apps.exceptions.models import OrderException
from apps.integrations.services import reconciliation_run
from apps.orders.models import MONEY, Channel


class ReconciliationOrderInput(serializers.Serializer):
    external_id = StrictCharField(max_length=64)
    total_amount = MoneyField(**MONEY, min_value=0)
    placed_at = StrictDateTimeField()


class ReconciliationOrdersField(serializers.ListField):
    """1 to ORDERGUARD_RECONCILIATION_MAX_ORDERS of the platform's orders."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", ReconciliationOrderInput())
        kwargs.setdefault("min_length", 1)
        # Read here, not at import time, so that the setting can change under tests.
        kwargs.setdefault("max_length", settings.ORDERGUARD_RECONCILIATION_MAX_ORDERS)
        super().__init__(**kwargs)

    def run_child_validation(self, data):
        # Refused before each order is validated, not after.
        if len(data) > self.max_length:
            raise serializers.ValidationError(
                _("At most %(cap)d orders per reconciliation.") % {"cap": self.max_length}, code="max_length"
            )
        return super().run_child_validation(data)


class ReconciliationInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    orders = ReconciliationOrdersField()


class TotalDiffersOutput(serializers.Serializer):
    external_id = serializers.CharField()
    reported = serializers.CharField(help_text=gettext_lazy("The platform's total, as a decimal string."))
    stored = serializers.CharField(help_text=gettext_lazy("OrderGuard's total, as a decimal string."))


class ReconciliationApi(APIView):
    """Compare a platform's order list with the stored orders; raise MISSING_ORDER for the absent ones."""

    # Raising exceptions is what a reconciliation does, so it needs the right to add them.
    queryset = OrderException.objects.none()

    @extend_schema(
        request=ReconciliationInput,
        responses={
            200: inline_serializer(
                name="ReconciliationFindings",
                fields={
                    "channel": serializers.CharField(),
                    "checked": serializers.IntegerField(),
                    "present": serializers.IntegerField(),
                    "missing": serializers.ListField(child=serializers.CharField()),
                    "raised": serializers.IntegerField(),
                    "again": serializers.IntegerField(),
                    "total_differs": TotalDiffersOutput(many=True),
                },
            )
        },
    )
    def post(self, request):
        serializer = ReconciliationInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        findings = reconciliation_run(**serializer.validated_data)
        return Response(
            {
                "channel": findings.channel,
                "checked": findings.checked,
                "present": findings.present,
                "missing": findings.missing,
                "raised": findings.raised,
                "again": findings.again,
                "total_differs": [
                    {**item, "reported": str(item["reported"]), "stored": str(item["stored"])}
                    for item in findings.total_differs
                ],
            }
        )


class SchemaApi(JsonErrorsMixin, SpectacularAPIView):
    """The OpenAPI schema (YAML or JSON); a refused request gets the JSON error shape."""


class SwaggerDocsApi(JsonErrorsMixin, SpectacularSwaggerView):
    """The browsable docs (HTML); a refused request gets the JSON error shape."""


class RedocDocsApi(JsonErrorsMixin, SpectacularRedocView):
    """The ReDoc docs (HTML); a refused request gets the JSON error shape."""
