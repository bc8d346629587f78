"""The configuration API for forms (SPEC §10.5): create, read, draft, publish, restore, JSON Schema."""

from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from apps.formdesigner.models import FormChange, FormDefinition
from tests.documents import refused, text
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

LIST = "/api/v1/forms/"


def url(key: str, action: str = "") -> str:
    return f"/api/v1/forms/{key}/" + (f"{action}/" if action else "")


def document(**overrides) -> dict:
    body = {
        "key": "refund-review",
        "kind": "custom",
        "name": text("退款复核", "Refund review"),
        "fields": [
            {"key": "approved", "type": "boolean", "label": text("同意", "Approved"), "required": True},
            {
                "key": "amount",
                "type": "money",
                "label": text("金额", "Amount"),
                "min": "0",
                "max": "5000",
                "visible_when": {"field": "approved", "op": "eq", "value": True},
            },
            {"key": "reason", "type": "textarea", "label": text("原因", "Reason"), "max_length": 200},
        ],
    }
    body.update(copy.deepcopy(overrides))
    return body


def created(api, body=None) -> dict:
    response = api.post(LIST, body or document(), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def published(api, key: str, note: str = "") -> int:
    response = api.post(url(key, "publish"), {"note": note}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["version"]


# --- The life of a form ---------------------------------------------------------------------------


def test_a_created_form_is_a_draft_without_a_published_version(api):
    """Creating answers 201 with the detail: the document is the draft, nothing is published."""
    body = created(api)

    assert body["key"] == "refund-review"
    assert body["kind"] == "custom"
    assert body["name"] == text("退款复核", "Refund review")
    assert body["published"] is None
    assert body["versions"] == []
    assert body["has_unpublished_changes"] is True
    assert [field["key"] for field in body["draft"]["fields"]] == ["approved", "amount", "reason"]
    assert body["draft"]["fields"][1]["visible_when"] == {"field": "approved", "op": "eq", "value": True}
    assert FormChange.objects.filter(form__key="refund-review", action=FormChange.Action.CREATED).exists()


def test_the_list_shows_each_form_with_its_published_version(api):
    """The list names every form, the number of its published version (or null) and whether the draft differs."""
    created(api)

    response = api.get(LIST)

    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()["results"]}
    assert rows["refund-review"]["published_version"] is None
    assert rows["refund-review"]["has_unpublished_changes"] is True
    assert rows["refund-review"]["name"] == text("退款复核", "Refund review")
    assert rows["refund-review"]["updated_at"]
    # The built-in forms: the order form is a draft, the step forms are published as version 1.
    assert rows["order"]["kind"] == "order"
    assert rows["order"]["published_version"] is None
    assert rows["payment-check"]["published_version"] == 1
    assert rows["payment-check"]["has_unpublished_changes"] is False


def test_a_form_goes_from_draft_to_published_version_to_json_schema(api, admin_user):
    """Create, read, replace the draft, publish version 1: the schema endpoint then serves that version."""
    created(api)
    assert api.get(url("refund-review")).json()["draft"]["name"]["en"] == "Refund review"

    draft = document()
    del draft["key"], draft["kind"]  # a draft may leave out what cannot change
    draft["fields"].append(
        {
            "key": "channel",
            "type": "choice",
            "label": text("渠道", "Channel"),
            "required": True,
            "choices": [
                {"value": "bank", "label": text("银行", "Bank")},
                {"value": "alipay", "label": text("支付宝", "Alipay")},
            ],
        }
    )
    response = api.put(url("refund-review"), draft, format="json")
    assert response.status_code == 200, response.content
    assert [field["key"] for field in response.json()["draft"]["fields"]][-1] == "channel"

    assert published(api, "refund-review", note="First version") == 1

    detail = api.get(url("refund-review")).json()
    assert detail["published"]["version"] == 1
    assert detail["published"]["published_by"] == admin_user.username
    assert detail["published"]["note"] == "First version"
    assert detail["published"]["published_at"]
    assert detail["published"]["document"] == detail["draft"]
    assert detail["has_unpublished_changes"] is False
    assert [version["version"] for version in detail["versions"]] == [1]

    response = api.get(url("refund-review", "schema"))
    assert response.status_code == 200, response.content
    schema = response.json()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "http://testserver/api/v1/forms/refund-review/schema/"
    validator = Draft202012Validator(schema)
    good = {"approved": True, "amount": "129.50", "reason": "Damaged", "channel": "bank"}
    assert list(validator.iter_errors(good)) == []
    for bad in (
        {"approved": True, "channel": "cash"},  # not an option
        {"approved": "yes", "channel": "bank"},  # not a boolean
        {"channel": "bank"},  # required field missing
        {"approved": True, "channel": "bank", "amount": "12x"},  # not a decimal string
        {"approved": True, "channel": "bank", "colour": "red"},  # no such field
    ):
        assert list(validator.iter_errors(bad)), bad


def test_publishing_again_makes_the_next_version_and_keeps_the_older_ones(api):
    """Each publish of a changed draft is the next version; versions are listed newest first."""
    created(api)
    published(api, "refund-review")
    api.put(url("refund-review"), document(name=text("退款复核二", "Refund review 2")), format="json")

    assert published(api, "refund-review") == 2
    detail = api.get(url("refund-review")).json()
    assert [version["version"] for version in detail["versions"]] == [2, 1]
    assert detail["published"]["document"]["name"]["en"] == "Refund review 2"
    assert detail["name"] == text("退款复核二", "Refund review 2")


def test_publishing_an_unchanged_draft_is_refused(api):
    """With the draft equal to the published version there is nothing to publish."""
    created(api)
    published(api, "refund-review")

    fields = refused(api.post(url("refund-review", "publish"), {}, format="json"), "nothing_to_publish")

    assert "draft" in fields


def test_publishing_needs_no_body(api):
    """The note is optional; an empty body publishes too."""
    created(api)

    response = api.post(url("refund-review", "publish"))

    assert response.status_code == 201, response.content
    assert response.json() == {"version": 1}


def test_a_publish_note_longer_than_500_characters_is_refused(api):
    created(api)

    fields = refused(api.post(url("refund-review", "publish"), {"note": "x" * 501}, format="json"), "invalid")

    assert "note" in fields


def test_restoring_a_version_copies_it_into_the_draft(api):
    """Restore puts the version's document in the draft; what is published stays until the next publish."""
    created(api)
    published(api, "refund-review")
    first = api.get(url("refund-review")).json()["published"]["document"]
    api.put(url("refund-review"), document(fields=[]), format="json")
    published(api, "refund-review")

    response = api.post(url("refund-review", "restore"), {"version": 1}, format="json")

    assert response.status_code == 200, response.content
    detail = response.json()
    assert detail["draft"] == first
    assert detail["published"]["version"] == 2
    assert detail["has_unpublished_changes"] is True
    assert FormChange.objects.filter(form__key="refund-review", action=FormChange.Action.RESTORED, version=1).exists()
    assert published(api, "refund-review") == 3


def test_restoring_a_version_the_form_does_not_have_is_refused(api):
    created(api)

    fields = refused(api.post(url("refund-review", "restore"), {"version": 7}, format="json"), "no_such_version")

    assert "version" in fields


@pytest.mark.parametrize("version", [0, "1", None, 2**40])
def test_a_restore_version_that_is_no_version_number_is_refused(api, version):
    created(api)

    fields = refused(api.post(url("refund-review", "restore"), {"version": version}, format="json"), "invalid")

    assert "version" in fields


# --- Refused documents ----------------------------------------------------------------------------


def test_a_duplicate_field_key_is_refused_at_the_second_field(api):
    created(api)
    draft = document()
    draft["fields"][1]["key"] = "approved"
    del draft["fields"][1]["visible_when"]

    fields = refused(api.put(url("refund-review"), draft, format="json"), "invalid_document")

    assert "fields.1.key" in fields


def test_a_visibility_condition_on_a_missing_field_is_refused_at_its_path(api):
    created(api)
    draft = document()
    draft["fields"][2]["visible_when"] = {"field": "no_such_field", "op": "filled"}

    fields = refused(api.put(url("refund-review"), draft, format="json"), "invalid_document")

    assert "fields.2.visible_when.field" in fields


def test_a_smallest_value_above_the_largest_is_refused_at_min(api):
    draft = document()
    draft["fields"][1].update(min="100", max="10")

    fields = refused(api.post(LIST, draft, format="json"), "invalid_document")

    assert "fields.1.min" in fields
    assert not FormDefinition.objects.filter(key="refund-review").exists()


def test_a_refused_draft_leaves_the_stored_draft_as_it_was(api):
    before = created(api)["draft"]
    draft = document()
    draft["fields"][0]["type"] = "colour"

    fields = refused(api.put(url("refund-review"), draft, format="json"), "invalid_document")

    assert "fields.0.type" in fields
    assert api.get(url("refund-review")).json()["draft"] == before


def test_a_draft_cannot_change_the_forms_key_or_kind(api):
    created(api)

    fields = refused(
        api.put(url("refund-review"), document(key="other", kind="step"), format="json"), "invalid_document"
    )

    assert {"key", "kind"} <= set(fields)


def test_a_second_form_with_a_taken_key_is_refused(api):
    created(api)

    fields = refused(api.post(LIST, document(), format="json"), "key_taken")

    assert "key" in fields


def test_a_second_order_form_is_refused(api):
    """There is one order form, the built-in one."""
    fields = refused(api.post(LIST, document(key="my-order", kind="order"), format="json"), "one_order_form")

    assert "kind" in fields
    assert not FormDefinition.objects.filter(key="my-order").exists()


@pytest.mark.parametrize("body", [[], "form", 12])
def test_a_body_that_is_no_object_is_refused(api, body):
    response = api.post(LIST, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"


def test_an_empty_body_is_a_document_missing_its_key_kind_and_name(api):
    fields = refused(api.post(LIST), "invalid_document")

    assert {"key", "kind", "name"} <= set(fields)


def test_a_nul_character_in_a_label_is_refused_at_its_path(api):
    """PostgreSQL's jsonb cannot store a NUL character; the API refuses it with its path."""
    draft = document()
    draft["fields"][0]["label"]["en"] = "App\x00roved"

    fields = refused(api.post(LIST, draft, format="json"), "invalid")

    assert "fields.0.label.en" in fields


def test_a_field_key_that_is_a_list_is_refused_at_its_path(api):
    draft = document()
    draft["fields"][2]["key"] = ["reason"]

    fields = refused(api.post(LIST, draft, format="json"), "invalid_document")

    assert "fields.2.key" in fields


def test_publishing_the_order_form_is_refused_when_stored_order_data_cannot_convert(api):
    """A new order-form field must take the values stored orders already hold under its key."""
    response = api.post("/api/v1/orders/", order_body(data={"boxes": "many"}), format="json")
    assert response.status_code == 201, response.content
    order_form = {
        "name": text("订单自定义字段", "Order custom fields"),
        "fields": [{"key": "boxes", "type": "integer", "label": text("箱数", "Boxes")}],
    }
    assert api.put(url("order"), order_form, format="json").status_code == 200

    fields = refused(api.post(url("order", "publish"), {}, format="json"), "stored_values_do_not_convert")

    assert "fields.0.type" in fields
    assert api.get(url("order")).json()["published"] is None


# --- Not found, not allowed -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["no-such-form", "Not A Key", "x" * 80])
def test_an_unknown_form_is_a_json_404_everywhere(api, key):
    for response in (
        api.get(url(key)),
        api.put(url(key), document(), format="json"),
        api.post(url(key, "publish"), {}, format="json"),
        api.post(url(key, "restore"), {"version": 1}, format="json"),
        api.get(url(key, "schema")),
    ):
        assert response.status_code == 404, response.content
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "not_found"


def test_the_schema_of_a_form_without_a_published_version_is_a_json_404(api):
    created(api)

    response = api.get(url("refund-review", "schema"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["message"]


@pytest.mark.parametrize("client_fixture", ["staff_api", "manager_api"])
def test_staff_and_managers_may_not_use_the_forms_api(request, api, client_fixture):
    """Only the admin role configures forms: everyone else gets 403, reading included."""
    created(api)
    client = request.getfixturevalue(client_fixture)

    for response in (
        client.get(LIST),
        client.post(LIST, document(key="other-form"), format="json"),
        client.get(url("refund-review")),
        client.put(url("refund-review"), document(), format="json"),
        client.post(url("refund-review", "publish"), {}, format="json"),
        client.post(url("refund-review", "restore"), {"version": 1}, format="json"),
        client.get(url("payment-check", "schema")),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
    assert not FormDefinition.objects.filter(key="other-form").exists()


def test_a_caller_without_a_token_is_not_authenticated(anon_api):
    response = anon_api.get(LIST)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_signed_in_admin_uses_the_api_with_the_session(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)

    assert client.get(url("payment-check")).status_code == 200
    # A write with the session needs the CSRF token, as everywhere in the API.
    assert client.post(url("payment-check", "publish"), {}, format="json").status_code == 403


# --- Languages ------------------------------------------------------------------------------------


def test_the_schema_titles_follow_accept_language(api):
    response = api.get(url("payment-check", "schema"), HTTP_ACCEPT_LANGUAGE="en")

    schema = response.json()
    assert schema["title"] == "Payment check"
    assert schema["properties"]["payment_found"]["title"] == "Payment found"


def test_the_schema_titles_are_chinese_by_default(api, settings):
    settings.LANGUAGE_CODE = "zh-hans"

    schema = api.get(url("payment-check", "schema")).json()

    assert schema["title"] == "付款核查"
    assert schema["properties"]["payment_found"]["title"] == "找到付款"


# --- OpenAPI --------------------------------------------------------------------------------------


def test_every_forms_endpoint_is_in_the_openapi_schema(api):
    paths = api.get("/api/v1/schema/?format=json").json()["paths"]

    assert set(paths["/api/v1/forms/"]) >= {"get", "post"}
    assert set(paths["/api/v1/forms/{key}/"]) >= {"get", "put"}
    assert "post" in paths["/api/v1/forms/{key}/publish/"]
    assert "post" in paths["/api/v1/forms/{key}/restore/"]
    assert "get" in paths["/api/v1/forms/{key}/schema/"]
    publish = paths["/api/v1/forms/{key}/publish/"]["post"]
    assert "201" in publish["responses"]
    create = paths["/api/v1/forms/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/FormDocumentInputRequest")
