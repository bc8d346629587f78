"""Drafts, published versions, history and restore."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import ProtectedError

from apps.common.errors import DomainError
from apps.formdesigner import services
from apps.formdesigner.diff import change_rows
from apps.formdesigner.models import FormChange, FormDefinition, FormVersion
from apps.formdesigner.selectors import has_unpublished_changes, order_form, published_form
from tests.formdesigner.conftest import INVOICE_TITLE, INVOICE_TYPE, publish_form, text

pytestmark = pytest.mark.django_db


def test_every_database_has_the_order_form_unpublished_and_the_default_step_forms_published():
    assert FormDefinition.objects.get(key="order").published is None
    assert order_form() is None
    steps = {
        key: published_form(key=key)
        for key in ("payment-check", "customer-callback", "carrier-liaison", "replenishment")
    }
    assert {key: form.version for key, form in steps.items()} == dict.fromkeys(steps, 1)
    assert steps["payment-check"].spec.keys == ("payment_found", "bank_reference", "note")
    assert steps["replenishment"].spec.field("replenishment_quantity").required


def test_a_draft_never_reaches_live_data_until_published(admin_user):
    publish_form("order", [INVOICE_TITLE], actor=admin_user)
    services.form_save_draft(
        key="order",
        document={**FormDefinition.objects.get(key="order").draft, "fields": [INVOICE_TITLE, INVOICE_TYPE]},
        actor=admin_user,
    )
    assert order_form().spec.keys == ("invoice_title",)
    assert has_unpublished_changes(FormDefinition.objects.get(key="order"))


def test_publishing_numbers_versions_and_records_who_when_and_what(admin_user):
    first = publish_form("order", [INVOICE_TITLE], actor=admin_user, note="发票")
    second = publish_form("order", [INVOICE_TITLE, INVOICE_TYPE], actor=admin_user, note="类型")
    assert (first.number, second.number) == (1, 2)
    assert (second.published_by, second.note) == (admin_user, "类型")
    published = FormChange.objects.filter(form__key="order", action="published").order_by("at", "id")
    assert [change.version for change in published] == [1, 2]
    [row] = change_rows(published.last().changes)
    assert (row.what, row.field) == ("Field added", "Invoice type (invoice_type)")


def test_publishing_an_unchanged_draft_is_refused():
    publish_form("order", [INVOICE_TITLE])
    with pytest.raises(DomainError) as refused:
        services.form_publish(key="order")
    assert refused.value.code == "nothing_to_publish"


def test_a_published_version_cannot_be_changed_by_the_model():
    version = publish_form("order", [INVOICE_TITLE])
    version.note = "changed"
    with pytest.raises(ValueError):
        version.save()


def test_the_database_refuses_to_change_a_published_version():
    version = publish_form("order", [INVOICE_TITLE])
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        FormVersion.objects.filter(pk=version.pk).update(document={"fields": []})
    with pytest.raises(ProtectedError), transaction.atomic():
        FormVersion.objects.filter(pk=version.pk).delete()  # the form's published version
    with pytest.raises(ValueError):
        version.delete()
    assert FormVersion.objects.get(pk=version.pk).document["fields"] == [INVOICE_TITLE]


def test_a_form_that_was_published_cannot_be_deleted_but_a_draft_only_form_can():
    for key in ("survey", "sketch"):
        services.form_create(document={"key": key, "kind": "custom", "name": text("调查", "Survey"), "fields": []})
    publish_form("survey", [INVOICE_TITLE])
    with pytest.raises(ProtectedError):
        FormDefinition.objects.filter(key="survey").delete()
    FormDefinition.objects.filter(key="sketch").delete()
    assert list(FormDefinition.objects.filter(key__in=["survey", "sketch"]).values_list("key", flat=True)) == ["survey"]


def test_restoring_a_version_copies_it_into_the_draft_only(admin_user):
    publish_form("order", [INVOICE_TITLE])
    publish_form("order", [INVOICE_TITLE, INVOICE_TYPE])
    form = services.form_restore(key="order", version=1, actor=admin_user)
    assert [field["key"] for field in form.draft["fields"]] == ["invoice_title"]
    assert order_form().version == 2  # live data still meets version 2
    restored = FormChange.objects.filter(form=form, action="restored").get()
    assert (restored.version, restored.actor) == (1, admin_user)
    assert services.form_publish(key="order").number == 3


def test_restoring_a_version_that_does_not_exist_is_refused():
    with pytest.raises(DomainError) as refused:
        services.form_restore(key="order", version=9)
    assert (refused.value.code, refused.value.field) == ("no_such_version", "version")


def test_removed_fields_are_archived_until_added_back():
    publish_form("order", [INVOICE_TITLE, INVOICE_TYPE])
    assert publish_form("order", [INVOICE_TITLE]).archived == ["invoice_type"]
    assert publish_form("order", [INVOICE_TITLE, {**INVOICE_TITLE, "key": "tax_number"}]).archived == ["invoice_type"]
    assert publish_form("order", [INVOICE_TYPE]).archived == ["invoice_title", "tax_number"]


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ([INVOICE_TITLE, INVOICE_TITLE], "fields.1.key", "Field 1 already has the key invoice_title."),
        (
            [{**INVOICE_TITLE, "visible_when": {"field": "nowhere", "op": "filled"}}],
            "fields.0.visible_when.field",
            "There is no field nowhere in this form.",
        ),
        (
            [{"key": "pieces", "type": "integer", "label": text("件数", "Pieces"), "min": 5, "max": 1}],
            "fields.0.min",
            "The smallest value is larger than the largest.",
        ),
        ([{"key": "Bad Key", "type": "text", "label": text("x", "x")}], "fields.0.key", None),
        ([{"key": "x", "type": "colour", "label": text("x", "x")}], "fields.0.type", None),
        ([{"key": "x", "type": "choice", "label": text("x", "x")}], "fields.0.choices", None),
        ([{"key": "x", "type": "regex", "label": text("x", "x"), "pattern": "(["}], "fields.0.pattern", None),
        ([{"key": "x", "type": "integer", "label": text("x", "x"), "default": "7"}], "fields.0.default", None),
        ([{"key": "x", "type": "regex", "label": text("x", "x"), "pattern": "^(a+)+$"}], "fields.0.pattern", None),
        ([{"key": "x", "type": "text", "label": text("x\x00", "x")}], "fields.0.label", None),
        ([{"key": ["x"], "type": "text", "label": text("x", "x")}], "fields.0.key", None),
        ([{"key": "x", "type": "text", "label": text("", "")}], "fields.0.label", None),
        ([{"key": "x", "type": "text", "label": text("x", "x"), "requird": True}], "fields.0.requird", None),
        (
            [
                {"key": "a", "type": "text", "label": text("a", "a"), "visible_when": {"field": "b", "op": "filled"}},
                {"key": "b", "type": "text", "label": text("b", "b"), "visible_when": {"field": "a", "op": "filled"}},
            ],
            "fields.0.visible_when.field",
            None,
        ),
    ],
)
def test_a_bad_draft_is_refused_with_the_path_of_the_bad_part(fields, path, message):
    form = FormDefinition.objects.get(key="order")
    with pytest.raises(DomainError) as refused:
        services.form_save_draft(key="order", document={**form.draft, "fields": fields})
    errors = refused.value.as_fields()
    assert path in errors, errors
    if message:
        assert errors[path] == [message]
    form.refresh_from_db()
    assert form.draft["fields"] == []


def test_the_order_form_is_one_and_cannot_be_created_again():
    with pytest.raises(DomainError) as refused:
        services.form_create(document={"key": "order-2", "kind": "order", "name": text("订单", "Order"), "fields": []})
    assert refused.value.code == "one_order_form"


def test_a_form_key_is_taken_once():
    document = {"key": "survey", "kind": "custom", "name": text("调查", "Survey"), "fields": []}
    services.form_create(document=document)
    with pytest.raises(DomainError) as refused:
        services.form_create(document=document)
    assert (refused.value.code, refused.value.field) == ("key_taken", "key")


def test_the_kind_and_key_of_a_form_cannot_change_through_its_draft():
    form = FormDefinition.objects.get(key="payment-check")
    with pytest.raises(DomainError) as refused:
        services.form_save_draft(key="payment-check", document={**form.draft, "kind": "custom", "key": "other"})
    assert set(refused.value.as_fields()) == {"kind", "key"}
