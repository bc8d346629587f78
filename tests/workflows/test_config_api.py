"""The configuration API for workflows (SPEC §10.5): list, create, read, replace the draft, publish, restore."""

from __future__ import annotations

import copy

import pytest
from rest_framework.test import APIClient

from tests.documents import refused, text
from workflows.models import WorkflowChange, WorkflowDefinition

pytestmark = pytest.mark.django_db

LIST = "/api/v1/workflows/"


def url(key: str, action: str = "") -> str:
    return f"/api/v1/workflows/{key}/" + (f"{action}/" if action else "")


def document(**overrides) -> dict:
    body = {
        "key": "refund-approval",
        "name": text("退款审批", "Refund approval"),
        "priority": 15,
        "applies_to": {"categories": ["payment"], "rules": []},
        "steps": [
            {
                "key": "check",
                "kind": "task",
                "name": text("核对退款", "Check the refund"),
                "deadline": "2h",
                "assign": {"strategy": "queue", "department": "finance"},
                "outcomes": [
                    {"key": "ok", "name": text("无误", "Correct"), "to": "approve"},
                    {"key": "not_real", "name": text("误报", "Not real"), "to": "dismiss"},
                ],
            },
            {
                "key": "approve",
                "kind": "approval",
                "name": text("经理审批", "Manager approval"),
                "assign": {"strategy": "manager"},
                "outcomes": [
                    {"key": "approve", "name": text("批准", "Approve"), "to": "resolve"},
                    {"key": "reject", "name": text("驳回", "Reject"), "to": "back"},
                ],
            },
        ],
    }
    body.update(copy.deepcopy(overrides))
    return body


def created(api, body=None) -> dict:
    response = api.post(LIST, body or document(), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_created_workflow_is_a_draft_without_a_published_version(api):
    body = created(api)

    assert body["key"] == "refund-approval"
    assert body["name"] == text("退款审批", "Refund approval")
    assert (body["published"], body["versions"], body["is_active"]) == (None, [], True)
    assert body["has_unpublished_changes"] is True
    assert [step["key"] for step in body["draft"]["steps"]] == ["check", "approve"]
    assert body["draft"]["steps"][0]["deadline"] == "2h"
    assert WorkflowChange.objects.filter(definition__key="refund-approval", kind="created").exists()


def test_the_list_shows_each_workflow_with_its_published_version(api):
    created(api)

    response = api.get(LIST)

    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()["results"]}
    assert rows["refund-approval"]["published_version"] is None
    assert rows["refund-approval"]["has_unpublished_changes"] is True
    # The built-in workflows are published as version 1.
    assert rows["payment-check"]["published_version"] == 1
    assert rows["payment-check"]["has_unpublished_changes"] is False
    assert rows["payment-check"]["is_active"] is True


def test_a_workflow_goes_from_draft_to_published_versions_and_back(api, admin_user):
    created(api)
    draft = document(priority=40)
    del draft["key"]  # a draft may leave out what cannot change
    response = api.put(url("refund-approval"), draft, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["draft"]["priority"] == 40

    response = api.post(url("refund-approval", "publish"), {"note": "First version"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"version": 1}

    detail = api.get(url("refund-approval")).json()
    assert detail["published"]["version"] == 1
    assert detail["published"]["published_by"] == admin_user.username
    assert detail["published"]["note"] == "First version"
    assert detail["published"]["document"] == detail["draft"]
    assert detail["has_unpublished_changes"] is False

    api.put(url("refund-approval"), document(priority=41), format="json")
    assert api.post(url("refund-approval", "publish"), {}, format="json").json() == {"version": 2}
    response = api.post(url("refund-approval", "restore"), {"version": 1}, format="json")
    assert response.status_code == 200, response.content
    detail = response.json()
    assert detail["draft"]["priority"] == 40
    assert detail["published"]["version"] == 2
    assert [version["version"] for version in detail["versions"]] == [2, 1]
    assert detail["has_unpublished_changes"] is True


def test_publishing_an_unchanged_draft_is_refused(api):
    refused(api.post(url("payment-check", "publish"), {}, format="json"), "nothing_to_publish")


def test_a_publish_note_longer_than_500_characters_is_refused(api):
    created(api)
    fields = refused(api.post(url("refund-approval", "publish"), {"note": "x" * 501}, format="json"), "invalid")
    assert "note" in fields


def test_restoring_a_version_the_workflow_does_not_have_is_refused(api):
    fields = refused(api.post(url("payment-check", "restore"), {"version": 9}, format="json"), "no_such_version")
    assert "version" in fields


@pytest.mark.parametrize("version", ["1", 0, None, 1.5])
def test_a_restore_version_that_is_no_version_number_is_refused(api, version):
    fields = refused(api.post(url("payment-check", "restore"), {"version": version}, format="json"), "invalid")
    assert "version" in fields


def test_an_outcome_pointing_nowhere_is_refused_at_its_path(api):
    bad = document()
    bad["steps"][0]["outcomes"][0]["to"] = "review"

    fields = refused(api.post(LIST, bad, format="json"), "invalid_document")

    assert list(fields) == ["steps.0.outcomes.0.to"]
    assert "does not exist" in fields["steps.0.outcomes.0.to"][0]


def test_an_approval_with_no_manager_is_refused_at_its_assignment(api):
    bad = document()
    bad["steps"][1]["assign"] = {"strategy": "round_robin", "department": "finance"}

    fields = refused(api.post(LIST, bad, format="json"), "invalid_document")

    assert list(fields) == ["steps.1.assign"]


def test_a_step_nobody_can_reach_is_refused_at_the_step(api):
    bad = document()
    bad["steps"][0]["outcomes"][0]["to"] = "resolve"

    fields = refused(api.post(LIST, bad, format="json"), "invalid_document")

    assert list(fields) == ["steps.1"]


def test_a_refused_draft_leaves_the_stored_one_as_it_was(api):
    created(api)
    bad = document()
    bad["steps"][0]["deadline"] = "half an hour"

    fields = refused(api.put(url("refund-approval"), bad, format="json"), "invalid_document")

    assert "steps.0.deadline" in fields
    assert WorkflowDefinition.objects.get(key="refund-approval").draft["steps"][0]["deadline"] == "2h"


def test_a_draft_cannot_change_the_workflows_key(api):
    created(api)
    fields = refused(api.put(url("refund-approval"), document(key="other"), format="json"), "invalid_document")
    assert "key" in fields


def test_a_second_workflow_with_a_taken_key_is_refused(api):
    fields = refused(api.post(LIST, document(key="payment-check"), format="json"), "key_taken")
    assert "key" in fields


@pytest.mark.parametrize("body", [[], "text", 12])
def test_a_body_that_is_no_object_is_refused(api, body):
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_an_empty_body_is_a_document_missing_its_key_name_and_steps(api):
    fields = refused(api.post(LIST, {}, format="json"), "invalid_document")
    assert {"key", "name", "steps"} <= set(fields)


def test_a_nul_character_is_refused_at_its_path(api):
    bad = document()
    bad["steps"][0]["assign"]["department"] = "fin\x00ance"

    fields = refused(api.post(LIST, bad, format="json"), "invalid")

    assert list(fields) == ["steps.0.assign.department"]


@pytest.mark.parametrize("key", ["no-such-workflow", "UPPER", "a%00b"])
def test_an_unknown_workflow_is_a_json_404_everywhere(api, key):
    for response in (
        api.get(url(key)),
        api.put(url(key), document(), format="json"),
        api.post(url(key, "publish"), {}, format="json"),
        api.post(url(key, "restore"), {"version": 1}, format="json"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("client_fixture", ["staff_api", "manager_api"])
def test_staff_and_managers_may_not_use_the_workflows_api(request, client_fixture):
    """Only the admin role configures workflows: everyone else gets 403, reading included."""
    client = request.getfixturevalue(client_fixture)

    for response in (
        client.get(LIST),
        client.post(LIST, document(), format="json"),
        client.get(url("payment-check")),
        client.put(url("payment-check"), document(key="payment-check"), format="json"),
        client.post(url("payment-check", "publish"), {}, format="json"),
        client.post(url("payment-check", "restore"), {"version": 1}, format="json"),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
    assert not WorkflowDefinition.objects.filter(key="refund-approval").exists()


def test_a_caller_without_a_token_is_not_authenticated(anon_api):
    for response in (anon_api.get(LIST), anon_api.get(url("payment-check")), anon_api.post(LIST, {}, format="json")):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_a_signed_in_admin_uses_the_api_with_the_session(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)

    assert client.get(url("payment-check")).status_code == 200
    # A write with the session needs the CSRF token, as everywhere in the API.
    assert client.post(url("payment-check", "publish"), {}, format="json").status_code == 403


def test_messages_follow_accept_language(api, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    bad = document()
    bad["steps"][0]["outcomes"][0]["to"] = "review"

    english = api.post(LIST, bad, format="json", HTTP_ACCEPT_LANGUAGE="en").json()

    assert english["fields"]["steps.0.outcomes.0.to"] == ["This outcome leads to a step that does not exist."]


def test_every_workflows_endpoint_is_in_the_openapi_schema(api):
    paths = api.get("/api/v1/schema/?format=json").json()["paths"]

    assert set(paths["/api/v1/workflows/"]) >= {"get", "post"}
    assert set(paths["/api/v1/workflows/{key}/"]) >= {"get", "put"}
    assert "post" in paths["/api/v1/workflows/{key}/publish/"]
    assert "post" in paths["/api/v1/workflows/{key}/restore/"]
    assert "201" in paths["/api/v1/workflows/{key}/publish/"]["post"]["responses"]
    create = paths["/api/v1/workflows/"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema.endswith("/WorkflowDocumentInputRequest")
    for code in ("400", "401", "403"):
        assert code in create["responses"]
