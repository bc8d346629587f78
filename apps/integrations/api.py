from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.fields import StrictCharField
from apps.exceptions.models import OrderException
from apps.integrations.services import reconciliation_run
from apps.orders.models import MONEY, Channel


class ReconciliationOrderInput(serializers.Serializer):
    external_id = StrictCharField(max_length=64)
    total_amount = serializers.DecimalField(**MONEY, min_value=0)
    placed_at = serializers.DateTimeField()


class ReconciliationInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    orders = serializers.ListField(child=ReconciliationOrderInput(), min_length=1)

    def validate_orders(self, value):
        cap = settings.ORDERGUARD_RECONCILIATION_MAX_ORDERS
        if len(value) > cap:
            raise serializers.ValidationError(_("At most %(cap)d orders per reconciliation.") % {"cap": cap})
        return value


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
                    "total_differs": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def post(self, request):
        serializer = ReconciliationInput(data=request.data)
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
