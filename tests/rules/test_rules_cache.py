"""The process's checked active rules are read again when what they were compiled from changes:
the rule table, and the published order form that gives ``data.<key>`` fields their types."""

from __future__ import annotations

import pytest

from apps.exceptions.models import OrderException
from apps.formdesigner import services as form_services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition
from apps.rules import services
from apps.rules.fields import FieldType
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

BOXES = {"key": "boxes", "label": {"zh-hans": "箱数", "en": "Boxes"}}


def publish_boxes(kind: str, **extra) -> None:
    form = FormDefinition.objects.get(key=ORDER_FORM_KEY)
    document = {**form.draft, "fields": [{**BOXES, "type": kind, **extra}]}
    form_services.form_save_draft(key=ORDER_FORM_KEY, document=document)
    form_services.form_publish(key=ORDER_FORM_KEY)


def raised(code: str) -> set[int]:
    return set(OrderException.objects.filter(rule__code=code).values_list("order_id", flat=True))


def test_publishing_the_order_form_again_compiles_the_rules_by_the_new_types():
    publish_boxes("integer")
    services.rule_create(
        code="MANY_BOXES",
        name="箱数多",
        name_en="Many boxes",
        category="information",
        default_severity="low",
        condition={"field": "data.boxes", "op": "gt", "value": 5},
        params={},
    )
    six = OrderFactory(data={"boxes": 6})
    services.scan(codes=["MANY_BOXES"])
    [active] = services.active_rules(codes=["MANY_BOXES"])
    assert raised("MANY_BOXES") == {six.pk}

    # The rule table is as it was; only the form's field is now a decimal, and holds 5.5.
    publish_boxes("decimal", decimal_places=1)
    half = OrderFactory(data={"boxes": "5.5"})
    [again] = services.active_rules(codes=["MANY_BOXES"])
    assert again is not active
    assert again.condition.field.type is FieldType.DECIMAL
    report = services.scan(codes=["MANY_BOXES"])
    assert [outcome.error for outcome in report.outcomes] == [""]
    assert raised("MANY_BOXES") == {six.pk, half.pk}
