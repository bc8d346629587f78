"""The workflow designer as a business admin uses it, in Debian's Chromium.

The main test is the issue's "done when": in the designer an admin builds a new three-step
workflow for payment exceptions (finance checks with the payment-check form, a manager
approves, finance closes), sees the problems at the step while building, publishes it, and the
published version's diagram shows. Without restarting anything, the next payment exception
then runs that version end to end through the handling services.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.utils import translation
from django.utils.translation import gettext_lazy, pgettext_lazy

from apps.accounts.services import user_create
from apps.exceptions.models import OrderException
from apps.rules.models import Category
from tests.browser import designers, screens
from tests.workflows import conftest as handling
from workflows import definitions, selectors, services
from workflows.document import TERMINAL_LABELS
from workflows.models import HandlingCase, WorkflowDefinition

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The handling fixtures of tests/workflows/conftest.py, which this directory does not see.
raise_exception = handling.raise_exception
engine_run = handling.engine_run
finance_user = handling.finance_user

CASES = [(language, viewport) for language in screens.LANGUAGES for viewport in screens.VIEWPORTS]
KEY = "payment-three-step"


@pytest.fixture
def admin(db):
    return user_create(username="flow-admin", password=screens.PASSWORD, role="admin", department_code="management")


def _card(page, number: int):
    return page.locator(".og-wf__flow [data-step-id]").nth(number - 1)


def _select_step(page, number: int) -> None:
    _card(page, number).locator(".og-wf__card-main").click()


def _add_step_after(page, number: int, kind: str) -> None:
    """The "+" under step ``number`` (0: above the first), then the kind of step."""
    node = page.locator(".og-wf__node--start") if number == 0 else _card(page, number)
    node.locator('[data-action="add-step"]').click()
    node.locator(f'.og-wf__add-menu [data-kind="{kind}"]').click()


def _outcome(page, position: int):
    return page.locator(f'.og-wf__props .og-wf__outcome[data-outcome="{position}"]')


def _set_outcome(page, position: int, *, zh: str, en: str, to: str, key: str | None = None) -> None:
    row = _outcome(page, position)
    row.locator('[data-role="name-zh"]').fill(zh)
    row.locator('[data-role="name-en"]').fill(en)
    if key is not None:
        row.locator('[data-role="key"]').fill(key)
    row.locator('[data-role="to"]').select_option(to)


def _words(language: str, text, **values) -> str:
    """A message as the page shows it in ``language`` (the catalogue's, or the English text)."""
    with translation.override(language):
        return str(text) % values if values else str(text)


def _step_words(language: str, number: int, name: str) -> str:
    return _words(language, pgettext_lazy("workflow designer", "Step %(number)s"), number=number) + " · " + name


def _shoot(page, name: str) -> None:
    """The screenshot from the top: the property panel sticks to the window, so it sits where it starts."""
    page.evaluate("() => window.scrollTo(0, 0)")
    screens.shoot(page, name)


def _keys(page) -> list[str]:
    return page.locator(".og-wf__flow [data-step-id]").evaluate_all("cards => cards.map(card => card.dataset.key)")


def test_an_admin_builds_a_workflow_that_runs_for_the_next_exception(
    browser,
    live_server,
    admin,
    raise_exception,
    engine_run,
    finance_user,
    manager_user,
):
    page = screens.open_page(browser, live_server, language="zh-hans", viewport="desktop")
    page.on("dialog", lambda dialog: dialog.accept())
    screens.sign_in(page, live_server, "flow-admin")

    # The workflows are in the sidebar's 流程与表单 group; a new one starts from the add page.
    with page.expect_navigation():
        page.locator('a[href="/admin/workflows/workflowdefinition/"]').first.click()
    assert page.url.endswith("/admin/workflows/workflowdefinition/")
    assert "支付异常：财务人工核实" in screens.visible_text(page)
    page.goto(live_server.url + "/admin/workflows/workflowdefinition/add/")
    page.fill("#id_key", KEY)
    page.fill("#id_name_zh", "付款三步核查")
    page.fill("#id_name_en", "Payment check in three steps")
    with page.expect_navigation():
        page.locator('[name="_save"]').click()
    assert page.url == designers.designer_url(live_server, WorkflowDefinition, KEY)
    page.wait_for_selector(".og-wf__flow [data-step-id]")
    designers.settled(page)

    # What it handles: payment exceptions, above the built-in payment workflow (priority 10).
    page.fill("#og-wf-priority", "50")
    page.locator('input[name="category"][value="payment"]').check()

    # Step 1: a task in the finance queue with the payment-check form.
    _select_step(page, 1)
    page.fill("#og-step-name-zh", "财务核实付款")
    page.fill("#og-step-name-en", "Finance checks the payment")
    page.fill("#og-step-key", "check")
    page.select_option("#og-step-form", "payment-check")
    page.fill("#og-step-deadline", "30")
    page.select_option("#og-step-deadline-unit", "m")
    page.select_option("#og-step-strategy", "queue")
    page.select_option("#og-step-department", "finance")
    _set_outcome(page, 0, zh="已找到付款", en="Payment found", to="resolve", key="found")

    # A second outcome, not yet leading anywhere: the problem shows at the outcome on the card.
    page.locator('[data-action="add-outcome"]').click()
    _outcome(page, 1).locator('[data-role="name-zh"]').fill("未找到")
    _outcome(page, 1).locator('[data-role="name-en"]').fill("Not found")
    designers.settled(page)
    branch = _card(page, 1).locator('.og-wf__branch[data-outcome="not_found"]')
    assert branch.get_attribute("data-target") == "nowhere"
    assert branch.locator(".og-wf__branch-problem").is_visible()
    assert _outcome(page, 1).locator('[data-role="to"]').get_attribute("aria-invalid") == "true"
    assert page.locator(".og-designer__problems").is_visible()
    assert "steps.0" not in screens.visible_text(page)
    assert page.locator('[data-action="publish"]').is_disabled()
    _shoot(page, "workflow-designer-problem-zh-hans-desktop")
    _outcome(page, 1).locator('[data-role="to"]').select_option("escalate")
    designers.settled(page)
    assert not page.locator(".og-designer__problems").is_visible()

    # Step 2, an approval by a manager: until an outcome leads to it, it is a step nobody reaches.
    _add_step_after(page, 1, "approval")
    designers.settled(page)
    assert _keys(page)[0] == "check" and len(_keys(page)) == 2
    problem = _card(page, 2).locator(".og-wf__card-problem")
    assert problem.is_visible()
    assert problem.inner_text() == _words("zh-hans", gettext_lazy("No outcome leads to this step; it can never run."))
    page.fill("#og-step-name-zh", "经理审批")
    page.fill("#og-step-name-en", "Manager approval")
    assert page.input_value("#og-step-key") == "manager_approval"
    page.fill("#og-step-key", "approve")
    assert page.input_value("#og-step-strategy") == "manager"
    assert page.locator('#og-step-strategy option[value="queue"]').get_attribute("hidden") is not None
    _set_outcome(page, 1, zh="驳回", en="Reject", to="back")

    # Step 3, a task in the finance queue without a form.
    _add_step_after(page, 2, "task")
    page.fill("#og-step-name-zh", "财务结案")
    page.fill("#og-step-name-en", "Finance closes the case")
    page.fill("#og-step-key", "close")
    page.select_option("#og-step-department", "finance")
    assert page.input_value("#og-step-form") == ""
    _set_outcome(page, 0, zh="完成", en="Done", to="resolve", key="done")

    # The branches that make steps 2 and 3 reachable.
    _select_step(page, 2)
    _set_outcome(page, 0, zh="批准", en="Approve", to="close")
    _select_step(page, 1)
    _set_outcome(page, 0, zh="已找到付款", en="Payment found", to="approve")
    designers.settled(page)
    assert not page.locator(".og-designer__problems").is_visible()
    assert _keys(page) == ["check", "approve", "close"]
    branches = _card(page, 1).locator(".og-wf__branch-target").all_inner_texts()
    assert branches == [_step_words("zh-hans", 2, "经理审批"), _words("zh-hans", TERMINAL_LABELS["escalate"])]
    assert screens.raw_json_on(page) == []
    assert page.foreign_requests == []
    _shoot(page, "workflow-designer-built-zh-hans-desktop")

    # Publish with a note: saved, published, and the page shows the version's diagram.
    page.fill("#og-version-note", "三步核查")
    with page.expect_navigation():
        page.locator('[data-action="publish"]').click()
    definition = WorkflowDefinition.objects.select_related("published").get(key=KEY)
    version = definition.published
    assert (version.number, version.note) == (1, "三步核查")
    document = version.document
    assert (document["priority"], document["applies_to"]["categories"]) == (50, ["payment"])
    steps = document["steps"]
    assert [(s["key"], s["kind"]) for s in steps] == [("check", "task"), ("approve", "approval"), ("close", "task")]
    assert steps[0]["form"] == "payment-check" and steps[0]["deadline"] == "30m"
    assert steps[0]["assign"] == {"strategy": "queue", "department": "finance"}
    assert [(o["key"], o["to"]) for o in steps[0]["outcomes"]] == [("found", "approve"), ("not_found", "escalate")]
    assert steps[1]["assign"] == {"strategy": "manager"}
    assert [(o["key"], o["to"]) for o in steps[1]["outcomes"]] == [("approve", "close"), ("reject", "back")]
    assert "form" not in steps[2] and steps[2]["assign"] == {"strategy": "queue", "department": "finance"}
    assert [(o["key"], o["to"]) for o in steps[2]["outcomes"]] == [("done", "resolve")]

    chart = page.locator('.og-wf__diagram img[data-chart="1"]')
    chart.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('.og-wf__diagram img').naturalWidth > 0")
    svg = page.request.get(chart.evaluate("img => img.src")).text()
    for name in ("财务核实付款", "经理审批", "财务结案", "已找到付款", "驳回"):
        assert name in svg, name
    assert "1" in page.locator('.og-designer__version[data-version="1"]').inner_text()
    assert screens.raw_json_on(page) == []
    _shoot(page, "workflow-designer-published-zh-hans-desktop")

    # Without a restart, the next payment exception follows the new version, end to end.
    _off_the_browser_thread(
        lambda: _handle_a_payment_exception(raise_exception, engine_run, finance_user, manager_user)
    )


def _handle_a_payment_exception(raise_payment, run_engine, finance, manager) -> None:
    exc = raise_payment(Category.PAYMENT)
    assert run_engine().started == 1
    case = HandlingCase.objects.select_related("version__definition").get(exception=exc)
    assert (case.version.definition.key, case.version.number) == (KEY, 1)

    check = _only(selectors.tasks_for(finance, scope="queue"))
    assert selectors.task_payload(check)["form"]["key"] == "payment-check"
    services.task_claim(task_id=check.pk, actor=finance)
    services.task_complete(
        task_id=check.pk, actor=finance, outcome="found", data={"payment_found": True, "bank_reference": "B-1"}
    )
    approval = _only(selectors.tasks_for(manager, scope="mine"))
    assert selectors.task_payload(approval)["step"] == "approve"
    services.task_complete(task_id=approval.pk, actor=manager, outcome="approve", note="OK")
    close = _only(selectors.tasks_for(finance, scope="queue"))
    assert selectors.task_payload(close)["step"] == "close"
    assert selectors.task_payload(close)["form"] is None
    services.task_complete(task_id=close.pk, actor=finance, outcome="done", root_cause="partner")

    exc.refresh_from_db()
    case.refresh_from_db()
    assert (exc.status, exc.root_cause) == (OrderException.Status.RESOLVED, "partner")
    assert case.finished is not None
    assert [step["key"] for step in case.steps][:3] == ["check", "approve", "close"]


def _off_the_browser_thread(work):
    """Run ``work`` in a thread of its own and return what it returns (or raise what it raises).

    Playwright's sync API keeps an event loop running in the test's thread, and the engine's
    live notifications (``async_to_sync``, after commit) refuse to run in such a thread; the
    workers and web processes the engine runs in have no loop either.
    """

    def run():
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _only(tasks):
    tasks = list(tasks)
    assert len(tasks) == 1, tasks
    return tasks[0]


def _three_steps(admin) -> None:
    """The workflow of the main test, made through the service the designer saves with."""
    text = lambda zh, en: {"zh-hans": zh, "en": en}  # noqa: E731
    definitions.workflow_create(
        document={
            "key": KEY,
            "name": text("付款三步核查", "Payment check in three steps"),
            "priority": 50,
            "applies_to": {"categories": ["payment"], "rules": []},
            "steps": [
                {
                    "key": "check",
                    "kind": "task",
                    "name": text("财务核实付款", "Finance checks the payment"),
                    "form": "payment-check",
                    "deadline": "30m",
                    "assign": {"strategy": "queue", "department": "finance"},
                    "outcomes": [
                        {"key": "found", "name": text("已找到付款", "Payment found"), "to": "approve"},
                        {"key": "not_found", "name": text("未找到", "Not found"), "to": "escalate"},
                    ],
                },
                {
                    "key": "approve",
                    "kind": "approval",
                    "name": text("经理审批", "Manager approval"),
                    "assign": {"strategy": "manager"},
                    "outcomes": [
                        {"key": "approve", "name": text("批准", "Approve"), "to": "close"},
                        {"key": "reject", "name": text("驳回", "Reject"), "to": "back"},
                    ],
                },
                {
                    "key": "close",
                    "kind": "task",
                    "name": text("财务结案", "Finance closes the case"),
                    "assign": {"strategy": "queue", "department": "finance"},
                    "outcomes": [{"key": "done", "name": text("完成", "Done"), "to": "resolve"}],
                },
            ],
        },
        actor=admin,
    )
    definitions.workflow_publish(key=KEY, actor=admin, note="三步核查")


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_workflow_designer_reads_well_in_both_languages_on_a_desktop_and_a_phone(
    browser, live_server, admin, language, viewport
):
    _three_steps(admin)
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "flow-admin")

    designers.check_list(
        page,
        live_server,
        WorkflowDefinition,
        shows="Payment check in three steps" if language == "en" else "付款三步核查",
        viewport=viewport,
        shot=f"workflows-list-{language}-{viewport}",
    )

    page.goto(designers.designer_url(live_server, WorkflowDefinition, KEY))
    page.wait_for_selector(".og-wf__flow [data-step-id]")
    designers.settled(page)
    assert _keys(page) == ["check", "approve", "close"]
    _select_step(page, 2)
    assert page.input_value("#og-step-name-en") == "Manager approval"
    targets = _card(page, 2).locator(".og-wf__branch-target").all_inner_texts()
    name = "Finance closes the case" if language == "en" else "财务结案"
    assert targets == [_step_words(language, 3, name), _words(language, TERMINAL_LABELS["back"])]
    page.wait_for_function("() => document.querySelector('.og-wf__diagram img').naturalWidth > 0")

    chinese = ("财务核实付款", "经理审批", "保存草稿", "发布", "财务部")
    text = designers.check_reads_well(page, language=language, viewport=viewport, chinese=chinese)
    assert ("Finance checks the payment" in text) is (language == "en")
    _shoot(page, f"workflow-designer-{language}-{viewport}")

    # A problem shows at the step, in words: the approval's outcome sent nowhere.
    _outcome(page, 0).locator('[data-role="to"]').select_option("")
    designers.settled(page)
    assert "has-problem" in _card(page, 2).get_attribute("class")
    assert _card(page, 2).locator('.og-wf__branch[data-outcome="approve"] .og-wf__branch-problem').is_visible()
    assert _outcome(page, 0).locator('[data-role="to"]').get_attribute("aria-invalid") == "true"
    assert "steps.1" not in screens.visible_text(page)
    assert not screens.overflows(page)
    _shoot(page, f"workflow-designer-problem-{language}-{viewport}")
