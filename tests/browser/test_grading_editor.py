"""The grading table editor as a business admin uses it, in Debian's Chromium.

The main test is the issue's "done when": in the console's grading table an admin edits a cell
and it is stored; a bad value (a maximum amount below the minimum) is refused at its cell with the
other edits kept; a row dragged above another stays there after a reload, and the arrow buttons
move rows from the keyboard; the tester, given an exception, highlights the row that grades it and
says why, row by row. The other tests check that the page reads well in both languages, on a
desktop and a phone, and that a manager may read and test the table but not change it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext

from apps.accounts.services import user_create
from apps.exceptions.models import GradingRule, GradingRuleVersion, OrderException
from apps.exceptions.services import exceptions_sync
from apps.rules.models import Category, ExceptionRule
from tests.browser import screens
from tests.orders.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CASES = [(language, viewport) for language in screens.LANGUAGES for viewport in screens.VIEWPORTS]
EDITOR = "/admin/exceptions/gradingrule/"


@pytest.fixture
def admin(db):
    return user_create(username="grading-admin", password=screens.PASSWORD, role="admin", department_code="management")


@pytest.fixture
def shortage(db) -> OrderException:
    """A stock shortage on a JD order of 6,800.00 from a VIP customer: the seeded table grades it by
    its inventory row."""
    customer = CustomerFactory(channel="jd", tags=["vip"])
    order = OrderFactory(channel="jd", external_id="JD-GRADE-1", customer=customer, total_amount=Decimal("6800.00"))
    rule = ExceptionRule.objects.get(code="STOCK_SHORTAGE")
    exceptions_sync(rule=rule, scope_order_ids=None, matched={order.pk: {}})
    return OrderException.objects.get(order=order)


def _rows(page):
    return page.locator(".og-gt__row")


def _row(page, row: GradingRule):
    return page.locator(f'.og-gt__row[data-row-id="{row.pk}"]')


def _cell(page, row: GradingRule, field: str):
    return _row(page, row).locator(f'[data-field="{field}"]')


def _ids_on_page(page) -> list[int]:
    return [int(value) for value in _rows(page).evaluate_all("rows => rows.map(row => row.dataset.rowId)")]


def _ids_stored() -> list[int]:
    return list(GradingRule.objects.order_by("position", "id").values_list("pk", flat=True))


def settled(page) -> None:
    """Wait until every write the editor queued has had its answer."""
    page.wait_for_function("() => Alpine.$data(document.querySelector('.og-gt')).pending === 0")


def _drag(page, source, target) -> None:
    """Drag ``source`` with the mouse, as a person does (SortableJS's fallback mode), onto the upper
    part of ``target``, a few rows above it: both are brought on screen first, the target near the
    top (but not so near that SortableJS scrolls the page)."""
    target.evaluate("element => { element.scrollIntoView({block: 'start'}); window.scrollBy(0, -80); }")
    start = source.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5, steps=3)
    end = target.bounding_box()
    drop_x, drop_y = end["x"] + end["width"] / 2, end["y"] + end["height"] * 0.2
    page.mouse.move(drop_x, drop_y, steps=20)
    page.wait_for_timeout(200)
    page.mouse.move(drop_x, drop_y + 1, steps=2)
    page.mouse.up()


def test_an_admin_edits_reorders_and_tests_the_grading_table(browser, live_server, admin, shortage):
    page = screens.open_page(browser, live_server, language="zh-hans", viewport="desktop")
    page.on("dialog", lambda dialog: dialog.accept())
    screens.sign_in(page, live_server, "grading-admin")

    # The sidebar's 规则与分级 group leads to the editor.
    page.locator(f'a[href="{EDITOR}"]').first.click()
    page.wait_for_selector(".og-gt__row")
    assert _ids_on_page(page) == _ids_stored()
    inventory = GradingRule.objects.get(category=Category.INVENTORY)
    payment = GradingRule.objects.get(category=Category.PAYMENT)
    logistics = GradingRule.objects.get(category=Category.LOGISTICS)
    seeded = (payment.first_response_minutes, payment.min_amount, payment.max_amount)
    # The selects speak the page's language.
    assert _cell(page, inventory, "category").locator("option:checked").inner_text() == "库存"
    assert _cell(page, inventory, "department").locator("option:checked").inner_text() == "仓储/采购"

    # A cell is saved as soon as it changes.
    _cell(page, payment, "first_response_minutes").fill("45")
    _cell(page, payment, "first_response_minutes").press("Tab")
    settled(page)
    payment.refresh_from_db()
    assert payment.first_response_minutes == 45
    assert "45" in _row(page, payment).locator(".og-gt__phrase").inner_text()

    # A maximum below the minimum is refused at the maximum's cell; both values stay as typed.
    _cell(page, payment, "min_amount").fill("500")
    _cell(page, payment, "max_amount").fill("100")
    _cell(page, payment, "max_amount").press("Tab")
    settled(page)
    maximum = _cell(page, payment, "max_amount")
    assert maximum.get_attribute("aria-invalid") == "true"
    problem = page.locator(f"#{maximum.get_attribute('aria-describedby')}")
    assert problem.inner_text() == "最高金额不能低于最低金额。"
    # The minimum was saved on its own when the focus left it: it may already read the stored "500.00".
    assert _cell(page, payment, "min_amount").input_value() in ("500", "500.00")
    assert maximum.input_value() == "100"
    payment.refresh_from_db()
    assert payment.max_amount is None
    screens.shoot(page, "grading-editor-refusal-zh-hans-desktop")
    # Fixing it saves the row with both amounts.
    maximum.fill("1000")
    maximum.press("Tab")
    settled(page)
    assert maximum.get_attribute("aria-invalid") == "false"
    assert not problem.is_visible()
    payment.refresh_from_db()
    assert (payment.min_amount, payment.max_amount) == (Decimal("500.00"), Decimal("1000.00"))
    assert _cell(page, payment, "min_amount").input_value() == "500.00"

    # Drag the logistics row above the payment row: the order is stored and survives a reload.
    _drag(page, _row(page, logistics).locator(".og-gt__handle"), _row(page, payment))
    settled(page)
    assert _ids_on_page(page)[:3] == [inventory.pk, logistics.pk, payment.pk]
    assert _ids_stored()[:3] == [inventory.pk, logistics.pk, payment.pk]
    page.reload()
    page.wait_for_selector(".og-gt__row")
    assert _ids_on_page(page)[:3] == [inventory.pk, logistics.pk, payment.pk]

    # The keyboard way: the arrow buttons, with the focus staying on the row that moved.
    _row(page, logistics).locator('[data-action="move-up"]').focus()
    page.keyboard.press("Enter")
    settled(page)
    assert _ids_stored()[:3] == [logistics.pk, inventory.pk, payment.pk]
    focused_row = "() => document.activeElement.closest('.og-gt__row').dataset.rowId"
    assert page.evaluate(focused_row) == str(logistics.pk)
    page.keyboard.press("Enter")  # the first row has no "up": the focus went to its "down"
    settled(page)
    assert _ids_stored()[:3] == [inventory.pk, logistics.pk, payment.pk]
    page.keyboard.press("Shift+Tab")  # back to its "up"
    page.keyboard.press("Enter")
    settled(page)
    assert _ids_stored()[:3] == [logistics.pk, inventory.pk, payment.pk]
    assert page.evaluate(focused_row) == str(logistics.pk)
    assert "1" in page.locator(".og-gt__status").inner_text()  # "moved to place 1" is said

    # The tester: the exception, found by its number, is graded by the inventory row, and the rows
    # above it say why not.
    page.fill("#og-gt-find", str(shortage.pk))
    page.locator('[data-action="find"]').click()
    page.wait_for_selector(".og-gt__verdict-body")
    assert page.input_value("#og-gt-test-rule") == "STOCK_SHORTAGE"
    assert page.input_value("#og-gt-test-amount") == "6800.00"
    matched = page.locator(".og-gt__row.is-matched")
    assert matched.count() == 1
    assert matched.get_attribute("data-row-id") == str(inventory.pk)
    above = _row(page, logistics).locator(".og-gt__row-verdict").inner_text()
    assert "库存" in above and "物流" in above  # the category is Inventory; the row needs Logistics
    held = matched.locator(".og-gt__row-verdict").inner_text()
    assert "库存" in held
    verdict = page.locator(".og-gt__verdict").inner_text()
    assert "仓储/采购" in verdict  # the department the row sends it to
    assert screens.raw_json_on(page) == []
    screens.shoot(page, "grading-editor-tester-zh-hans-desktop")

    # A test on screen follows the table: switch the inventory row off and the catch-all takes it.
    _row(page, inventory).locator(".og-gt__active input").uncheck()
    settled(page)
    page.wait_for_function(
        f"() => document.querySelector('.og-gt__row.is-matched')?.dataset.rowId !== '{inventory.pk}'"
    )
    catch_all = GradingRule.objects.get(position=1000)
    assert page.locator(".og-gt__row.is-matched").get_attribute("data-row-id") == str(catch_all.pk)

    # Add a row, then delete it after confirming.
    before = GradingRule.objects.count()
    page.locator('[data-action="add-row"]').click()
    settled(page)
    assert GradingRule.objects.count() == before + 1
    added = GradingRule.objects.order_by("-position").first()
    assert added.is_active is False
    assert page.evaluate("() => document.activeElement.dataset.field") == "name_zh"
    page.keyboard.type("大额订单")
    page.keyboard.press("Tab")
    settled(page)
    added.refresh_from_db()
    assert added.name == "大额订单"
    _row(page, added).locator('[data-action="delete-row"]').click()
    settled(page)
    assert not GradingRule.objects.filter(pk=added.pk).exists()
    assert _rows(page).count() == before

    # The changes below the table follow each write: the removal is the newest, marked removed.
    history = page.locator("#og-gt-history")
    removal = GradingRuleVersion.objects.filter(row_id=added.pk).order_by("-number").first()
    assert removal.action == GradingRuleVersion.Action.DELETED
    # Each write re-fetches the section: wait for the fetch that follows the removal.
    history.locator(f'[data-row="{added.pk}"][data-version="{removal.number}"]').wait_for()
    newest = history.locator(".og-designer__version").first
    assert (newest.get_attribute("data-row"), newest.get_attribute("data-version")) == (
        str(added.pk),
        str(removal.number),
    )
    assert newest.locator(".og-badge--dismissed").count() == 1
    # Narrowed to the payment row: its versions only, each change in words; version 1 (as seeded)
    # comes back with a click, confirmed, and the grid shows it.
    page.select_option("#og-gt-history-row", str(payment.pk))
    page.wait_for_function(
        "rowId => [...document.querySelectorAll('#og-gt-history .og-designer__version')]"
        ".every(entry => entry.dataset.row === rowId)",
        arg=str(payment.pk),
    )
    newest = history.locator(".og-designer__version").first
    assert newest.locator('[data-action="restore"]').count() == 0  # what applies now
    maximum_set = history.locator(".og-designer__diff tr", has_text="1000.00")
    assert maximum_set.count() == 1 and "500.00" not in maximum_set.inner_text()
    screens.shoot(page, "grading-editor-history-zh-hans-desktop")
    with page.expect_navigation():
        history.locator('[data-version="1"] [data-action="restore"]').click()
    page.wait_for_selector(".og-gt__row")
    payment.refresh_from_db()
    assert (payment.first_response_minutes, payment.min_amount, payment.max_amount) == seeded
    assert _cell(page, payment, "first_response_minutes").input_value() == str(seeded[0])
    assert _cell(page, payment, "max_amount").input_value() == ""
    with translation.override("zh-hans"):
        said = gettext("Row “%(name)s” is as version %(number)s left it, and grades new exceptions so at once.")
    assert said % {"name": payment.name, "number": 1} in screens.visible_text(page)
    screens.shoot(page, "grading-editor-restored-zh-hans-desktop")
    assert page.foreign_requests == []


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_editor_reads_well_in_both_languages_on_a_desktop_and_a_phone(
    browser, live_server, admin, shortage, language, viewport
):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "grading-admin")
    page.goto(live_server.url + EDITOR)
    page.wait_for_selector(".og-gt__row")
    assert _rows(page).count() == GradingRule.objects.count()
    first = GradingRule.objects.order_by("position", "id").first()
    assert _cell(page, first, "name_en").input_value() == first.name_en
    phrase = _row(page, first).locator(".og-gt__phrase").inner_text()
    assert ("category Inventory" if language == "en" else "类别 库存") in phrase
    _check(page, language=language, viewport=viewport, name=f"grading-editor-{language}-{viewport}")

    page.fill("#og-gt-find", shortage.external_id)
    page.locator('[data-action="find"]').click()
    page.wait_for_selector(".og-gt__verdict-body")
    assert page.locator(".og-gt__row.is-matched").count() == 1
    _check(page, language=language, viewport=viewport, name=f"grading-editor-tester-{language}-{viewport}")


def _check(page, *, language: str, viewport: str, name: str) -> None:
    screens.shoot(page, name)
    text = screens.visible_text(page)
    assert screens.raw_json_on(page) == [], f"{name} shows raw JSON"
    if language == "en":
        chinese = {zh for zh, en in GradingRule.objects.values_list("name", "name_en") if en}
        chinese |= {"库存", "仓储/采购", "分级表"}
        left = sorted(words for words in chinese if words in text)
        assert left == [], f"{name} shows Chinese on an English page: {left}"
    assert not screens.overflows(page), f"{name} scrolls sideways at {viewport}"
    assert page.foreign_requests == []


def test_a_manager_reads_and_tests_the_table_but_has_nothing_to_change_it_with(browser, live_server, shortage):
    user_create(username="grading-boss", password=screens.PASSWORD, role="manager", department_code="management")
    page = screens.open_page(browser, live_server, language="en", viewport="desktop")
    screens.sign_in(page, live_server, "grading-boss")
    page.goto(live_server.url + EDITOR)
    page.wait_for_selector(".og-gt__row")
    first = GradingRule.objects.order_by("position", "id").first()
    assert _cell(page, first, "first_response_minutes").is_disabled()
    assert _cell(page, first, "category").is_disabled()
    assert (
        page.locator(".og-gt__handle, [data-action=move-up], [data-action=delete-row], [data-action=add-row]").count()
        == 0
    )
    assert "changing it needs the admin role" in screens.visible_text(page)
    page.select_option("#og-gt-test-category", "payment")
    page.locator('[data-action="test"]').click()
    page.wait_for_selector(".og-gt__verdict-body")
    payment = GradingRule.objects.get(category=Category.PAYMENT)
    assert page.locator(".og-gt__row.is-matched").get_attribute("data-row-id") == str(payment.pk)
    reasons = _row(page, first).locator(".og-gt__row-verdict").inner_text()
    assert reasons == "No match: the category is Payment; the row needs Inventory"
    screens.shoot(page, "grading-editor-manager-en-desktop")
