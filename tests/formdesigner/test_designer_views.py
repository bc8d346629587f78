"""The form designer's page and endpoints in the console (apps/formdesigner/views.py, admin.py)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.formdesigner import services
from apps.formdesigner.models import FormChange, FormDefinition

pytestmark = pytest.mark.django_db

INVOICE_TITLE = {
    "key": "invoice_title",
    "type": "text",
    "label": {"zh-hans": "发票抬头", "en": "Invoice title"},
    "required": True,
}
INVOICE_TYPE = {
    "key": "invoice_type",
    "type": "choice",
    "label": {"zh-hans": "发票类型", "en": "Invoice type"},
    "choices": [
        {"value": "company", "label": {"zh-hans": "企业", "en": "Company"}},
        {"value": "personal", "label": {"zh-hans": "个人", "en": "Personal"}},
    ],
}


def url(name: str, form: FormDefinition, *args) -> str:
    return reverse(f"admin:formdesigner_formdefinition_designer_{name}", args=[form.pk, *args])


def document(form: FormDefinition, *fields: dict) -> dict:
    return {**form.draft, "fields": list(fields)}


def post_json(client, address: str, body: dict):
    return client.post(address, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def order_form(db) -> FormDefinition:
    return FormDefinition.objects.get(key="order")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_designer_is_the_forms_change_page_with_its_draft_for_the_script(admin_client, order_form):
    response = admin_client.get(reverse("admin:formdesigner_formdefinition_change", args=[order_form.pk]))
    assert response.status_code == 200
    assert b'x-data="formDesigner"' in response.content
    config = response.context["designer_config"]
    assert config["document"] == order_form.draft
    assert config["urls"]["save"] == url("save", order_form)
    assert config["canEdit"] is True


def test_the_form_list_shows_every_form_with_its_version(admin_client):
    response = admin_client.get(reverse("admin:formdesigner_formdefinition_changelist"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Order custom fields" in text
    assert "Payment check" in text


def test_saving_refuses_a_duplicate_key_naming_its_path(admin_client, order_form):
    second = {**INVOICE_TYPE, "key": "invoice_title"}
    response = post_json(
        admin_client, url("save", order_form), {"document": document(order_form, INVOICE_TITLE, second)}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_document"
    assert list(body["errors"]) == ["fields.1.key"]
    assert "invoice_title" in body["errors"]["fields.1.key"][0]
    order_form.refresh_from_db()
    assert order_form.draft["fields"] == []


def test_saving_a_good_document_stores_the_draft_and_records_who(admin_client, admin_user, order_form):
    response = post_json(admin_client, url("save", order_form), {"document": document(order_form, INVOICE_TITLE)})
    assert response.status_code == 200
    assert response.json()["has_unpublished_changes"] is True
    order_form.refresh_from_db()
    assert order_form.draft["fields"] == [INVOICE_TITLE]
    change = FormChange.objects.filter(form=order_form).first()
    assert (change.action, change.actor) == (FormChange.Action.DRAFT_SAVED, admin_user)


def test_checking_answers_problems_by_path_without_storing(admin_client, order_form):
    condition = {**INVOICE_TYPE, "visible_when": {"field": "missing", "op": "filled"}}
    limits = {"key": "amount", "type": "integer", "label": {"zh-hans": "数量", "en": "Amount"}, "min": 5, "max": 1}
    response = post_json(
        admin_client, url("check", order_form), {"document": document(order_form, condition, limits), "language": "en"}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"fields.0.visible_when.field", "fields.1.min"}
    order_form.refresh_from_db()
    assert order_form.draft["fields"] == []


@pytest.mark.parametrize(
    ("language", "label", "option"), [("zh-hans", "发票类型", "企业"), ("en", "Invoice type", "Company")]
)
def test_the_preview_is_the_staff_form_in_the_language_asked_for(admin_client, order_form, language, label, option):
    response = post_json(
        admin_client,
        url("check", order_form),
        {"document": document(order_form, INVOICE_TITLE, INVOICE_TYPE), "language": language},
    )
    assert response.status_code == 200
    html = response.json()["html"]
    assert "data-og-spec-form" in html
    assert label in html and option in html
    assert 'name="invoice_title"' in html


def test_publishing_publishes_the_saved_draft_with_its_note(admin_client, admin_user, order_form):
    services.form_save_draft(key="order", document=document(order_form, INVOICE_TITLE), actor=admin_user)
    response = post_json(admin_client, url("publish", order_form), {"note": "Invoice title for B2B orders"})
    assert response.status_code == 200
    assert response.json() == {"version": 1}
    order_form.refresh_from_db()
    assert order_form.published.number == 1
    assert order_form.published.note == "Invoice title for B2B orders"
    assert order_form.published.published_by == admin_user


def test_publishing_needs_a_valid_draft(admin_client, order_form):
    # A draft stored before a rule it breaks existed (the service never stores one like it).
    FormDefinition.objects.filter(pk=order_form.pk).update(
        draft=document(order_form, INVOICE_TITLE, {**INVOICE_TITLE, "label": {"zh-hans": "重复", "en": "Again"}})
    )
    response = post_json(admin_client, url("publish", order_form), {"note": ""})
    assert response.status_code == 400
    assert "fields.1.key" in response.json()["errors"]
    order_form.refresh_from_db()
    assert order_form.published is None


def test_publishing_an_unchanged_draft_is_refused(admin_client):
    step = FormDefinition.objects.get(key="payment-check")
    response = post_json(admin_client, url("publish", step), {"note": ""})
    assert response.status_code == 400
    assert response.json()["code"] == "nothing_to_publish"


def test_restoring_a_version_puts_it_back_into_the_draft(admin_client, admin_user, order_form):
    services.form_save_draft(key="order", document=document(order_form, INVOICE_TITLE), actor=admin_user)
    services.form_publish(key="order", actor=admin_user)
    services.form_save_draft(key="order", document=document(order_form, INVOICE_TITLE, INVOICE_TYPE), actor=admin_user)
    response = admin_client.post(url("restore", order_form), {"version": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:formdesigner_formdefinition_change", args=[order_form.pk])
    order_form.refresh_from_db()
    assert order_form.draft["fields"] == [INVOICE_TITLE]
    assert order_form.changes.first().action == FormChange.Action.RESTORED


def test_restoring_a_version_that_does_not_exist_changes_nothing(admin_client, order_form):
    response = admin_client.post(url("restore", order_form), {"version": "7"}, follow=True)
    assert response.status_code == 200
    assert "The form has no such version." in response.content.decode()
    order_form.refresh_from_db()
    assert order_form.draft["fields"] == []


def test_a_versions_changes_read_as_words_against_the_version_before(admin_client, admin_user, order_form):
    services.form_save_draft(key="order", document=document(order_form, INVOICE_TITLE), actor=admin_user)
    services.form_publish(key="order", actor=admin_user)
    services.form_save_draft(key="order", document=document(order_form, INVOICE_TITLE, INVOICE_TYPE), actor=admin_user)
    services.form_publish(key="order", actor=admin_user)

    partial = admin_client.get(url("version", order_form, 2), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    text = partial.content.decode()
    assert "<html" not in text
    assert "Field added" in text and "Invoice type (invoice_type)" in text
    assert "Invoice title" not in text  # unchanged since version 1

    page = admin_client.get(url("version", order_form, 2))
    assert page.status_code == 200
    assert "<html" in page.content.decode()


def test_the_history_partial_lists_the_latest_changes(admin_client, admin_user, order_form):
    services.form_save_draft(key="order", document=document(order_form, INVOICE_TITLE), actor=admin_user)
    response = admin_client.get(url("history", order_form))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="og-designer-history"' in text and "Draft saved" in text


def test_an_admin_adds_a_step_form_and_lands_in_its_designer(admin_client):
    response = admin_client.post(
        reverse("admin:formdesigner_formdefinition_add"),
        {"key": "refund-check", "kind": "step", "name_zh": "退款核查", "name_en": "Refund check"},
    )
    form = FormDefinition.objects.get(key="refund-check")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:formdesigner_formdefinition_change", args=[form.pk])
    assert form.draft == {
        "key": "refund-check",
        "kind": "step",
        "name": {"zh-hans": "退款核查", "en": "Refund check"},
        "fields": [],
    }
    assert form.changes.get().action == FormChange.Action.CREATED


def test_a_form_key_must_fit_the_pattern(admin_client):
    response = admin_client.post(
        reverse("admin:formdesigner_formdefinition_add"),
        {"key": "Refund_Check", "kind": "custom", "name_zh": "退款", "name_en": ""},
    )
    assert response.status_code == 200
    assert "key" in response.context["adminform"].form.errors
    assert not FormDefinition.objects.filter(key="Refund_Check").exists()


def test_forms_are_never_deleted_from_the_console(admin_client, order_form):
    response = admin_client.get(reverse("admin:formdesigner_formdefinition_delete", args=[order_form.pk]))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["save", "publish", "check"])
def test_staff_cannot_reach_the_designer_endpoints(client, staff_user, order_form, name):
    client.force_login(staff_user)
    response = post_json(client, url(name, order_form), {"document": document(order_form, INVOICE_TITLE)})
    # Staff are no console users: the admin site sends them to sign in.
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    order_form.refresh_from_db()
    assert order_form.draft["fields"] == []


def test_a_manager_without_the_form_permissions_is_refused(client, manager_user, order_form):
    client.force_login(manager_user)
    assert client.get(reverse("admin:formdesigner_formdefinition_change", args=[order_form.pk])).status_code == 403
    response = post_json(client, url("save", order_form), {"document": document(order_form, INVOICE_TITLE)})
    assert response.status_code == 403
    assert client.get(url("history", order_form)).status_code == 403


def test_the_endpoints_need_the_csrf_token(admin_user, order_form):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = post_json(client, url("save", order_form), {"document": document(order_form, INVOICE_TITLE)})
    assert response.status_code == 403
