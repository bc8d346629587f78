"""The workflow designer's page and endpoints in the console (workflows/designer_views.py, admin.py)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from workflows import definitions
from workflows.models import WorkflowChange, WorkflowDefinition

pytestmark = pytest.mark.django_db


def url(name: str, definition: WorkflowDefinition, *args) -> str:
    return reverse(f"admin:workflows_workflowdefinition_designer_{name}", args=[definition.pk, *args])


def page(definition: WorkflowDefinition) -> str:
    return reverse("admin:workflows_workflowdefinition_change", args=[definition.pk])


def post_json(client, address: str, body: dict):
    return client.post(address, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def payment(db) -> WorkflowDefinition:
    return WorkflowDefinition.objects.select_related("published").get(key="payment-check")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def with_second_step(definition: WorkflowDefinition, *, to: str = "approve") -> dict:
    document = json.loads(json.dumps(definition.draft))
    document["steps"][0]["outcomes"][1]["to"] = to
    document["steps"].append(
        {
            "key": "approve",
            "kind": "approval",
            "name": {"zh-hans": "经理审批", "en": "Manager approval"},
            "assign": {"strategy": "manager"},
            "outcomes": [
                {"key": "approve", "name": {"zh-hans": "批准", "en": "Approve"}, "to": "resolve"},
                {"key": "reject", "name": {"zh-hans": "驳回", "en": "Reject"}, "to": "back"},
            ],
        }
    )
    return document


def test_the_designer_is_the_workflows_change_page_with_its_draft_for_the_script(admin_client, payment):
    response = admin_client.get(page(payment))

    assert response.status_code == 200
    assert b'x-data="workflowDesigner"' in response.content
    config = response.context["designer_config"]
    assert config["document"] == payment.draft
    assert config["urls"]["save"] == url("save", payment)
    assert config["canEdit"] is True
    assert {"finance", "warehouse"} <= {department["code"] for department in config["departments"]}
    assert "payment-check" in {form["key"] for form in config["forms"]}
    # The published version's diagram is on the page, drawn by viewflow's chart.
    assert response.context["chart"].width > 0
    assert url("chart", payment, 1).encode() in response.content


@pytest.mark.parametrize(("language", "name"), [("zh-hans", "核实付款"), ("en", "Check the payment")])
def test_the_diagram_is_viewflows_chart_of_the_version_in_the_page_language(admin_client, payment, language, name):
    response = admin_client.get(url("chart", payment, 1), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg") and "end-marker" in svg  # viewflow's graph.svg
    assert name in svg
    assert ("Payment found" if language == "en" else "已找到付款") in svg


def test_the_diagram_of_a_version_the_workflow_lacks_is_404(admin_client, payment):
    assert admin_client.get(url("chart", payment, 7)).status_code == 404


def test_drawing_a_diagram_leaves_the_handling_flow_as_it_was(payment):
    from viewflow.workflow.base import Flow
    from viewflow.workflow.checks import check_join_nodes_require_a_real_lock

    from workflows.diagram import diagram
    from workflows.flows import HandlingFlow

    before = sorted(node.name for node in HandlingFlow.instance.nodes())
    drawn = diagram(with_second_step(payment))

    assert "经理审批" in drawn.svg or "Manager approval" in drawn.svg
    assert sorted(node.name for node in HandlingFlow.instance.nodes()) == before
    assert HandlingFlow.start.flow_class is HandlingFlow
    assert check_join_nodes_require_a_real_lock(None) == []
    assert all(cls is HandlingFlow or cls.__module__ == "workflows.diagram" for cls in Flow.__subclasses__())


def test_the_workflow_list_shows_every_workflow_with_its_version(admin_client):
    response = admin_client.get(reverse("admin:workflows_workflowdefinition_changelist"))

    assert response.status_code == 200
    text = response.content.decode()
    assert "Payment: finance checks by hand" in text
    assert "Other: triage" in text


def test_adding_a_workflow_starts_it_with_one_step_and_opens_the_designer(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:workflows_workflowdefinition_add"),
        {"key": "refund-review", "name_zh": "退款复核", "name_en": "Refund review"},
    )

    definition = WorkflowDefinition.objects.get(key="refund-review")
    assert response.status_code == 302
    assert response["Location"] == page(definition)
    assert [step["key"] for step in definition.draft["steps"]] == ["handle"]
    assert definition.published is None
    assert WorkflowChange.objects.filter(definition=definition, kind="created", actor=admin_user).exists()


def test_adding_a_workflow_with_a_bad_key_shows_the_problem_at_the_key(admin_client):
    response = admin_client.post(
        reverse("admin:workflows_workflowdefinition_add"),
        {"key": "Refund_Review", "name_zh": "退款复核", "name_en": "Refund review"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["key"]
    assert not WorkflowDefinition.objects.filter(name_en="Refund review").exists()


def test_checking_answers_problems_by_path_without_storing(admin_client, payment):
    stored = payment.draft
    document = with_second_step(payment, to="missing")

    response = post_json(admin_client, url("check", payment), {"document": document})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["steps.0.outcomes.1.to"]
    payment.refresh_from_db()
    assert payment.draft == stored


def test_checking_a_good_document_answers_no_problems(admin_client, payment):
    response = post_json(admin_client, url("check", payment), {"document": with_second_step(payment)})

    assert response.status_code == 200
    assert response.json() == {"errors": {}}


def test_saving_stores_the_draft_and_records_who(admin_client, admin_user, payment):
    response = post_json(admin_client, url("save", payment), {"document": with_second_step(payment)})

    assert response.status_code == 200, response.content
    assert response.json()["has_unpublished_changes"] is True
    payment.refresh_from_db()
    assert [step["key"] for step in payment.draft["steps"]] == ["check", "approve"]
    change = WorkflowChange.objects.filter(definition=payment).order_by("-at", "-id").first()
    assert (change.kind, change.actor) == (WorkflowChange.Kind.DRAFT_SAVED, admin_user)


def test_saving_refuses_an_approval_with_no_manager_at_its_path(admin_client, payment):
    document = with_second_step(payment)
    document["steps"][1]["assign"] = {"strategy": "queue"}

    response = post_json(admin_client, url("save", payment), {"document": document})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_document"
    assert list(response.json()["errors"]) == ["steps.1.assign"]


def test_publishing_makes_the_next_version_with_its_note(admin_client, payment):
    post_json(admin_client, url("save", payment), {"document": with_second_step(payment)})

    response = post_json(admin_client, url("publish", payment), {"note": "Approval added"})

    assert response.json() == {"version": 2}
    payment.refresh_from_db()
    assert (payment.published.number, payment.published.note) == (2, "Approval added")


def test_publishing_an_unchanged_draft_answers_why(admin_client, payment):
    response = post_json(admin_client, url("publish", payment), {})

    assert response.status_code == 400
    assert response.json()["code"] == "nothing_to_publish"


def test_restoring_puts_the_version_back_into_the_draft(admin_client, admin_user, payment):
    definitions.workflow_save_draft(key="payment-check", document=with_second_step(payment), actor=admin_user)

    response = admin_client.post(url("restore", payment), {"version": "1"})

    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.draft == payment.published.document


def test_switching_off_and_on_from_the_designer(admin_client, payment):
    admin_client.post(url("active", payment), {"active": "0"})
    payment.refresh_from_db()
    assert payment.is_active is False

    response = admin_client.get(page(payment))
    assert b'data-action="switch-on"' in response.content

    admin_client.post(url("active", payment), {"active": "1"})
    payment.refresh_from_db()
    assert payment.is_active is True


def test_the_history_partial_lists_changes_in_words(admin_client, admin_user, payment):
    definitions.workflow_set_active(key="payment-check", active=False, actor=admin_user)

    response = admin_client.get(url("history", payment))

    assert response.status_code == 200
    text = response.content.decode()
    assert "<strong>Switched off</strong>" in text and "<strong>Published</strong>" in text


def test_staff_are_sent_to_sign_in_to_the_console(client, staff_user, payment):
    """Staff work in the workspace; the console is not theirs."""
    client.force_login(staff_user)

    for response in (
        client.get(page(payment)),
        client.get(url("chart", payment, 1)),
        post_json(client, url("save", payment), {"document": payment.draft}),
    ):
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_managers_may_not_open_the_designer(client, manager_user, payment):
    client.force_login(manager_user)

    assert client.get(page(payment)).status_code == 403
    assert client.get(url("chart", payment, 1)).status_code == 403
    assert post_json(client, url("check", payment), {"document": payment.draft}).status_code == 403
    assert post_json(client, url("save", payment), {"document": payment.draft}).status_code == 403
    assert post_json(client, url("publish", payment), {}).status_code == 403
    assert client.post(url("active", payment), {"active": "0"}).status_code == 403
    payment.refresh_from_db()
    assert payment.is_active is True


def test_signed_out_people_are_sent_to_sign_in(client, payment):
    response = client.get(page(payment))

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_nul_character_is_refused_at_its_path_not_sent_to_the_database(admin_client, payment):
    document = json.loads(json.dumps(payment.draft))
    document["steps"][0]["assign"]["department"] = "fin\x00ance"

    for name in ("check", "save"):
        response = post_json(admin_client, url(name, payment), {"document": document})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["steps.0.assign.department"]


def test_every_kind_of_step_is_drawn_with_its_branches(admin_user):
    """Tasks and approvals are viewflow Views, actions Functions, waits Timers; every end a step leads to is drawn."""
    from workflows.defaults import DEFAULT_WORKFLOWS
    from workflows.diagram import diagram

    callback = next(document for document in DEFAULT_WORKFLOWS if document["key"] == "customer-callback")
    waiting = json.loads(json.dumps(callback))
    waiting["steps"].insert(
        1,
        {
            "key": "pause",
            "kind": "wait",
            "name": {"zh-hans": "等待客户回复", "en": "Wait for the customer"},
            "wait": "2h",
            "outcomes": [{"key": "done", "name": {"zh-hans": "等待结束", "en": "Waited"}, "to": "apply"}],
        },
    )
    waiting["steps"][0]["outcomes"][0]["to"] = "pause"
    definitions.workflow_check(document=waiting)

    from django.utils import translation

    with translation.override("en"):
        svg = diagram(waiting).svg
    assert 'id="step0"' in svg and 'id="step1"' in svg and 'id="step2"' in svg
    assert 'id="end_resolve"' in svg and 'id="end_dismiss"' in svg and 'id="end_escalate"' not in svg
    for words in ("Call the customer back", "Wait for the customer", "Not reached: try again", "Cleared"):
        assert words in svg, words
