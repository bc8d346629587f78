"""A manager's approvals live, in a real Chromium against daphne (HTTP and the /ws/live/ socket).

The manager signs in and lands on the workspace's Approvals tab. Finance proposes a refund above its
department's limit: the approval appears in the manager's list without a reload, and the bell counts
the notification. The manager opens it, reads the proposal in words, approves it with a comment,
and the exception is resolved. The engine runs in the test's process (the sweep called directly),
so no Celery worker is needed; its live events reach daphne through the suite's Redis.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import global_settings

from apps.exceptions.models import ExceptionEvent, OrderException
from apps.exceptions.services import exceptions_sync
from apps.rules.models import Category, ExceptionRule, Severity
from tests import processes
from tests.browser import screens
from tests.browser.conftest import launched_chromium
from tests.conftest import _make_user
from tests.orders.factories import OrderFactory
from workflows import selectors, services

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]

LIVE_WITHIN_MS = 8000
CASES = [("en", "desktop"), ("zh-hans", "phone")]
TEXT = {
    "en": {"tab": "Approvals", "proposal": "Refund · ¥800.00 · Paid twice", "approve": "Approve and resolve"},
    "zh-hans": {"tab": None, "proposal": "¥800.00 · Paid twice", "approve": "批准解决"},
}


def _password(username: str) -> str:
    return "pw-" + username + "-Secret1"


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """daphne serving the project on the test database, on a free port, for the module's cases (no
    worker: the test runs the engine itself)."""
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    port = processes.free_port()
    argv = [str(processes.BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    process = processes.start(argv, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        processes.wait_for(
            lambda: processes.answers(url + "/healthz"), timeout=60, what="daphne not answering", logs=[log]
        )
        yield SimpleNamespace(url=url, logs=[log])
    finally:
        processes.stop(process)


@pytest.fixture
def chromium():
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def people(db, settings):
    # daphne checks passwords with the project's hashers, not the suite's fast MD5 one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    return SimpleNamespace(
        manager=_make_user("boss", "manager", "management"),
        finance=_make_user("fin-staff", "staff", "finance"),
    )


@pytest.fixture
def payment_exception(people) -> OrderException:
    """A payment exception raised as detection raises it, its case started as the sweep starts it."""
    rule = ExceptionRule.objects.create(
        code="TEST_PAYMENT_APPROVAL",
        name="测试付款规则",
        name_en="Test payment rule",
        category=Category.PAYMENT,
        default_severity=Severity.MEDIUM,
        condition={"all": []},
    )
    order = OrderFactory()
    result = exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    services.cases_sweep(grace=timedelta(0))
    return OrderException.objects.get(pk=result.created_ids[0])


def _tails(server) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-8000:]}" for log in server.logs)


def _check_screen(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    screens.shoot(page, name)
    assert screens.raw_json_on(page) == [], f"raw JSON on {name}"
    assert not screens.overflows(page), f"{name} scrolls sideways"
    assert page.foreign_requests == []


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_a_manager_sees_an_approval_arrive_live_and_approves_it(
    chromium, server, people, payment_exception, language, viewport
):
    text = TEXT[language]
    exc = payment_exception
    task = selectors.tasks_for(people.finance, scope="queue").get()
    services.task_claim(task_id=task.pk, actor=people.finance)

    page = screens.open_page(chromium, server, language=language, viewport=viewport)
    screens.sign_in(page, server, people.manager.username, _password(people.manager.username))
    page.goto(server.url + "/workspace/")
    try:
        page.wait_for_selector("body[data-live='on']", state="attached", timeout=LIVE_WITHIN_MS)
    except Exception:  # say what the server said
        pytest.fail("the live socket did not open:\n" + _tails(server))
    current = page.locator(".og-tab--current")
    assert current.get_attribute("data-scope") == "approvals"  # where managers land
    if text["tab"]:
        assert text["tab"] in current.inner_text()
    assert page.locator("tr[data-task]").count() == 0
    assert page.locator("[data-og-unread]").is_hidden()
    page.evaluate("() => { window.ogNotReloaded = true; }")

    # Finance proposes a refund above the department's limit (¥500): a manager must approve it.
    services.task_complete(
        task_id=task.pk,
        actor=people.finance,
        outcome="found",
        data={"payment_found": True, "bank_reference": "BANK-1"},
        proposal={"kind": "refund", "amount": "800", "note": "Paid twice"},
    )
    approval = selectors.tasks_for(people.manager, scope="approvals").get()
    row = page.locator(f"tr[data-task='{approval.pk}']")
    try:
        row.wait_for(timeout=LIVE_WITHIN_MS)
    except Exception:
        pytest.fail("the approval did not appear live:\n" + _tails(server))
    assert page.evaluate("() => window.ogNotReloaded") is True, "the page reloaded"
    assert text["proposal"] in row.inner_text() and "fin-staff" in row.inner_text()
    page.locator("[data-og-unread]").wait_for(state="visible", timeout=LIVE_WITHIN_MS)
    assert page.locator("[data-og-unread]").inner_text().strip() == "1"
    assert page.locator("[data-count='approvals']").inner_text().strip() == "1"
    _check_screen(page, f"workspace-approvals-{language}-{viewport}")

    # The bell opens its list in place; the notification links to the approval.
    page.locator(".og-bell__button").click()
    panel = page.locator("#og-bell-panel")
    panel.wait_for(state="visible")
    assert f"#{exc.pk}" in panel.inner_text()
    assert panel.locator(f"a[href='/workspace/tasks/{approval.pk}/']").count() == 1
    _check_screen(page, f"workspace-bell-{language}-{viewport}")
    page.keyboard.press("Escape")

    with page.expect_navigation():
        row.get_by_role("link").first.click()
    assert page.url == server.url + f"/workspace/tasks/{approval.pk}/"
    assert text["proposal"] in page.locator("[data-og-proposal]").inner_text()
    approve = page.locator("button[data-og-decide='approve']")
    assert approve.inner_text().strip() == text["approve"] and approve.is_enabled()
    page.locator("#og-approve-reason").fill("Checked with the bank")
    _check_screen(page, f"workspace-approval-{language}-{viewport}")

    with page.expect_navigation():
        approve.click()
    assert page.url == server.url + "/workspace/"
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.RESOLVED
    decided = exc.events.get(kind=ExceptionEvent.Kind.APPROVAL_DECIDED)
    assert decided.actor_id == people.manager.pk and decided.data["reason"] == "Checked with the bank"
    assert page.locator("tr[data-task]").count() == 0
