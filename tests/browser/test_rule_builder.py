"""The rule builder as a business admin uses it, in Debian's Chromium.

The main test is the issue's "done when": in the console an admin adds a rule and builds its
condition in the builder — two groups, a duration, choices and a field compared with another
field — reads it back as a sentence in Chinese and in English, tests it (the count shown is the
compiled query's), switches it on and saves it; the next order posted to the API that meets it
then raises the rule's exception. Each kind of mistake the builder lets one make shows the rule
language's message at the condition it concerns. The last test takes the screenshots: both
languages, 1366 and 375 px, with "Test now" and a back-test run by a real Celery worker.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token

from apps.accounts.services import user_create
from apps.exceptions.models import OrderException
from apps.formdesigner import services as form_services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition
from apps.orders.models import Order
from apps.rules import services
from apps.rules.builder import starter_condition
from apps.rules.compiler import condition_q
from apps.rules.fields import Env
from apps.rules.language import rule_check
from apps.rules.models import ExceptionRule
from apps.rules.selectors import SILENT_STATUSES
from apps.rules.sentence import condition_sentence
from tests.browser import designers, screens
from tests.orders.factories import OrderFactory, PaymentFactory
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CODE = "PAID_BUT_SHORT_LATE"
# A node's path as the checker names it (condition.all.1.value, params.window): never shown.
PATH = re.compile(r"\b(?:condition|params)\.\w")
BUILT = {
    "all": [
        {"field": "status", "op": "in", "value": ["paid", "reviewed"]},
        {"field": "placed_at", "op": "older_than", "value": "2h"},
        {
            "any": [
                {"field": "paid_total", "op": "lt", "value": {"field": "total_amount"}},
                {"field": "channel", "op": "eq", "value": "jd"},
            ]
        },
    ]
}


@pytest.fixture
def admin(db):
    return user_create(username="rule-admin", password=screens.PASSWORD, role="admin", department_code="management")


@pytest.fixture
def orders(db):
    """Orders some of which the built rule matches: placed hours ago, paid short or on JD."""
    now = timezone.now()
    short = OrderFactory(status="paid", placed_at=now - timedelta(hours=3), total_amount=Decimal("259.00"))
    jd = OrderFactory(status="reviewed", channel="jd", placed_at=now - timedelta(hours=5))
    PaymentFactory(order=jd, amount=jd.total_amount, status="succeeded")
    too_new = OrderFactory(status="paid", placed_at=now - timedelta(minutes=30))
    unpaid = OrderFactory(status="pending_payment", placed_at=now - timedelta(hours=4))
    paid_in_full = OrderFactory(status="paid", placed_at=now - timedelta(hours=3))
    PaymentFactory(order=paid_in_full, amount=paid_in_full.total_amount, status="succeeded")
    return {"short": short, "jd": jd, "too_new": too_new, "unpaid": unpaid, "paid_in_full": paid_in_full}


@pytest.fixture
def late_orders(orders):
    """Paid orders with no shipment, placed 30 hours to 6 days ago: late to ship by 24 or 48 hours."""
    now = timezone.now()
    return [OrderFactory(status="paid", placed_at=now - timedelta(hours=hours)) for hours in (30, 54, 80, 150)]


def _builder_url(live_server, rule: ExceptionRule) -> str:
    return f"{live_server.url}/admin/rules/exceptionrule/{rule.pk}/change/"


def _open(browser, live_server, *, language="zh-hans", viewport="desktop"):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(f"{error} {error.stack}"))
    page.on("dialog", lambda dialog: dialog.accept())
    screens.sign_in(page, live_server, "rule-admin")
    return page


def _leaf(page, number: int):
    """Condition ``number`` (from 1) as the builder draws them, top to bottom."""
    return page.locator('.og-rb__row[data-kind="leaf"]').nth(number - 1)


def _add_row(page, path: str):
    return page.locator(f'.og-rb__row[data-kind="add"][data-path="{path}"]')


def _condition(page) -> dict:
    return page.evaluate("() => Alpine.$data(document.querySelector('.og-designer')).conditionJson()")


def _words(language: str, condition: dict, params: dict | None = None) -> str:
    with translation.override(language):
        return condition_sentence(condition, params or {})


def _matching_now(condition: dict, params: dict | None = None) -> int:
    """How many current orders the compiled query selects (the silent statuses raise nothing)."""
    checked = rule_check(condition, params or {})
    return (
        Order.objects.exclude(status__in=SILENT_STATUSES).filter(condition_q(checked, Env(now=timezone.now()))).count()
    )


def _problem_at(row) -> str:
    error = row.locator(".og-rb__error")
    error.wait_for()
    return error.inner_text()


def test_an_admin_builds_a_rule_that_raises_its_exception_on_the_next_order(browser, live_server, admin, orders):
    page = _open(browser, live_server)

    # The rules are in the console's sidebar; a new one starts from the add page.
    page.goto(live_server.url + "/admin/rules/exceptionrule/")
    assert "库存不足" in screens.visible_text(page)
    page.goto(live_server.url + "/admin/rules/exceptionrule/add/")
    page.fill("#id_code", CODE)
    page.fill("#id_name", "已付款未到账且超时")
    page.fill("#id_name_en", "Paid short, and late")
    page.select_option("#id_category", "payment")
    page.select_option("#id_default_severity", "high")
    with page.expect_navigation():
        page.locator('[name="_save"]').click()
    rule = ExceptionRule.objects.get(code=CODE)
    assert page.url == _builder_url(live_server, rule)
    designers.settled(page)
    assert rule.is_active is False, "a new rule starts switched off"

    # Condition 1: the starter condition becomes "status is one of paid, reviewed" (choices).
    first = _leaf(page, 1)
    first.locator('[data-role="op"]').select_option("in")
    first.locator('[data-role="choice"][value="pending_payment"]').uncheck()
    first.locator('[data-role="choice"][value="paid"]').check()
    first.locator('[data-role="choice"][value="reviewed"]').check()

    # Condition 2: placed more than 2 hours ago (a duration).
    _add_row(page, "condition").locator('[data-action="add-condition"]').click()
    second = _leaf(page, 2)
    second.locator('[data-role="field"]').select_option("placed_at")
    second.locator('[data-role="op"]').select_option("older_than")
    second.locator('[data-role="amount"]').fill("2")
    second.locator('[data-role="unit"]').select_option("h")
    assert "下单时间" in second.locator('[data-role="field"] option:checked').inner_text()
    assert second.locator(".og-rb__description").is_visible(), "the field's one-line description"

    # A second group, "any": paid total below the total amount (another field), or the JD channel.
    _add_row(page, "condition").locator('[data-action="add-block"]').click()
    _add_row(page, "condition").locator('[data-block="any"]').click()
    third = _leaf(page, 3)
    third.locator('[data-role="field"]').select_option("paid_total")
    third.locator('[data-role="op"]').select_option("lt")
    third.locator('[data-role="source"]').select_option("field")
    third.locator('[data-role="other-field"]').select_option("total_amount")
    _add_row(page, "condition.all.2").locator('[data-action="add-condition"]').click()
    fourth = _leaf(page, 4)
    fourth.locator('[data-role="field"]').select_option("channel")
    fourth.locator('[data-role="value"]').select_option("jd")
    designers.settled(page)

    # Exactly the JSON the API accepts, checked, and read back as a sentence by the server.
    assert _condition(page) == BUILT
    assert not page.locator(".og-designer__problems").is_visible()
    sentence = page.locator("[data-sentence]")
    assert sentence.inner_text() == _words("zh-hans", BUILT)
    assert "已付总额" in sentence.inner_text() and "京东" in sentence.inner_text()
    assert screens.raw_json_on(page) == []

    # Test now: the count is the compiled query's, the sample links to the order pages.
    page.locator('[data-action="test"]').click()
    result = page.locator(".og-rb__test-result")
    result.wait_for()
    expected = _matching_now(BUILT)
    assert expected == 2
    assert int(result.get_attribute("data-count")) == expected
    links = result.locator("a[data-order]")
    assert sorted(int(pk) for pk in links.evaluate_all("links => links.map(a => a.dataset.order)")) == sorted(
        [orders["short"].pk, orders["jd"].pk]
    )
    assert links.first.get_attribute("href").startswith("/admin/orders/order/")

    # Switched on and saved, with a note: the rule is what the builder showed, as a new version.
    page.check("#og-rule-active")
    page.fill("#og-version-note", "付款不足且超过两小时")
    page.locator('[data-action="save"]').click()
    page.wait_for_function(
        "() => { const d = Alpine.$data(document.querySelector('.og-designer')); return !d.saving && !d.dirty; }"
    )
    rule.refresh_from_db()
    assert rule.condition == BUILT and rule.params == {}
    assert rule.is_active is True and rule.is_time_based is True
    assert rule.versions.order_by("-number").first().note == "付款不足且超过两小时"
    page.locator('.og-rb__versions [data-version="2"]').wait_for()
    assert page.errors == [], "\n".join(page.errors)

    # In English the same condition reads as the English sentence.
    english = _open(browser, live_server, language="en")
    english.goto(_builder_url(live_server, rule))
    designers.settled(english)
    assert english.locator("[data-sentence]").inner_text() == _words("en", BUILT)
    assert "paid total (succeeded payments) < total amount" in english.locator("[data-sentence]").inner_text()
    assert english.errors == []

    # The next order that meets the condition, posted to the API, raises the rule's exception.
    placed = timezone.localtime() - timedelta(hours=3)
    token = Token.objects.create(user=admin).key
    answer = page.request.post(
        live_server.url + "/api/v1/orders/",
        data=order_body(
            external_id="RULE-BUILT-1",
            status="paid",
            placed_at=placed.isoformat(),
            paid_at=(placed + timedelta(minutes=2)).isoformat(),
            data={},
        ),
        headers={"Authorization": f"Token {token}"},
    )
    assert answer.status == 201, answer.text()
    raised = OrderException.objects.filter(order__external_id="RULE-BUILT-1", rule=rule)
    assert raised.count() == 1
    assert OrderException.objects.filter(rule=rule).count() == 1, "only the new order's write re-evaluated"

    # The versions read as changes in words; version 1 comes back with a click (confirmed).
    page.reload()
    designers.settled(page)
    second = page.locator('.og-rb__versions [data-version="2"]')
    assert "付款不足且超过两小时" in second.inner_text()
    assert _words("zh-hans", BUILT) in second.inner_text(), "a changed condition reads as its sentence"
    assert screens.raw_json_on(page) == []
    with page.expect_navigation():
        page.locator('.og-rb__versions [data-version="1"] [data-action="restore"]').click()
    rule.refresh_from_db()
    assert rule.condition == starter_condition() and rule.is_active is False
    assert rule.versions.order_by("-number").first().restored_from == 1
    designers.settled(page)
    assert page.locator("[data-sentence]").inner_text() == _words("zh-hans", starter_condition())


MISTAKES = {
    "all": [
        {"field": "total_amount", "op": "gt", "value": "100"},
        {"field": "placed_at", "op": "older_than", "value": "2h"},
        {"field": "status", "op": "in", "value": ["paid"]},
        {"field": "external_id", "op": "matches", "value": "^TB"},
        {"field": "shipping_fee", "op": "between", "value": ["0", "10"]},
        {"field": "amount_gap", "op": "gt", "value": {"param": "tolerance"}},
        {"any": [{"field": "channel", "op": "eq", "value": "jd"}]},
    ]
}


def _expect_problem(page, row, *, message: str, place: str, part: str | None = "value") -> None:
    """The problem shows at ``row`` with the language's ``message``, its input marked, and in the
    list of problems by its place in words, never by its path."""
    designers.settled(page)
    assert message in _problem_at(row)
    assert "has-problem" in row.get_attribute("class")
    if part is not None:
        assert row.locator(f'[data-role="{part}"][aria-invalid="true"], fieldset[aria-invalid="true"]').count() >= 1
    problems = page.locator(".og-designer__problems")
    assert problems.is_visible()
    assert place in problems.inner_text()
    assert not PATH.search(screens.visible_text(page)), "a problem shown by its path"
    assert page.locator('[data-action="test"]').is_disabled()


def _expect_fixed(page) -> None:
    designers.settled(page)
    assert not page.locator(".og-designer__problems").is_visible()
    assert page.locator(".og-rb__row.has-problem").count() == 0


def test_each_kind_of_mistake_shows_its_message_at_the_condition(browser, live_server, admin):
    rule = services.rule_create(
        code="MISTAKES",
        actor=admin,
        name="错误示例",
        name_en="Mistakes",
        category="information",
        default_severity="low",
        condition=MISTAKES,
        params={"tolerance": "0.01"},
        is_active=False,
    )
    page = _open(browser, live_server, language="en")
    page.goto(_builder_url(live_server, rule))
    designers.settled(page)
    _expect_fixed(page)

    # A number that is not one.
    amount = _leaf(page, 1)
    amount.locator('[data-role="value"]').fill("12,50")
    _expect_problem(
        page, amount, message='Expected a decimal number such as "0.01".', place="Condition 1 · total amount"
    )
    amount.locator('[data-role="value"]').fill("100")
    _expect_fixed(page)

    # A duration that is not one.
    age = _leaf(page, 2)
    age.locator('[data-role="amount"]').fill("soon")
    _expect_problem(page, age, message="is not a duration", place="Condition 2", part="amount")
    age.locator('[data-role="amount"]').fill("2")
    _expect_fixed(page)

    # "Is one of" with nothing chosen.
    statuses = _leaf(page, 3)
    statuses.locator('[data-role="choice"][value="paid"]').uncheck()
    _expect_problem(page, statuses, message="Expected a list of 1 to 500 values.", place="Condition 3", part=None)
    statuses.locator('[data-role="choice"][value="paid"]').check()
    _expect_fixed(page)

    # A pattern that is no regular expression.
    pattern = _leaf(page, 4)
    pattern.locator('[data-role="value"]').fill("^TB(")
    _expect_problem(page, pattern, message="Not a valid regular expression", place="Condition 4")
    pattern.locator('[data-role="value"]').fill("^TB")
    _expect_fixed(page)

    # A range whose low end is above its high end.
    fee = _leaf(page, 5)
    fee.locator('[data-role="value"]').nth(0).fill("20")
    _expect_problem(page, fee, message="The low end is above the high end.", place="Condition 5", part=None)
    fee.locator('[data-role="value"]').nth(0).fill("0")
    _expect_fixed(page)

    # A parameter whose value does not fit where the condition uses it: shown at the parameter.
    tolerance = page.locator('.og-rb__param[data-param="tolerance"]')
    tolerance.locator('[data-role="value"]').fill("a cent")
    designers.settled(page)
    assert 'Expected a decimal number such as "0.01".' in tolerance.locator(".og-designer__error").inner_text()
    assert tolerance.locator('[data-role="value"]').get_attribute("aria-invalid") == "true"
    assert "Parameter “tolerance”" in page.locator(".og-designer__problems").inner_text()
    tolerance.locator('[data-role="value"]').fill("0.01")
    _expect_fixed(page)

    # A group left empty: the problem is at the group.
    group = page.locator('.og-rb__row[data-kind="group"][data-path="condition.all.6"]')
    _leaf(page, 7).locator('[data-action="remove"]').click()
    _expect_problem(page, group, message="Expected a non-empty list of conditions.", place="Group 2", part=None)
    page.locator('.og-rb__row[data-kind="add"][data-path="condition.all.6"] [data-action="add-condition"]').click()
    _expect_fixed(page)

    # Saving is refused while a problem is left, and nothing is stored.
    amount.locator('[data-role="value"]').fill("lots")
    designers.settled(page)
    page.locator('[data-action="save"]').click()
    page.wait_for_function("() => !Alpine.$data(document.querySelector('.og-designer')).saving")
    assert "not saved" in page.locator(".og-designer__status").first.inner_text()
    rule.refresh_from_db()
    assert rule.condition == MISTAKES
    screens.shoot(page, "rule-builder-problem-en-desktop")
    assert page.errors == [], "\n".join(page.errors)


def _publish_order_form(admin, fields: list[dict]) -> None:
    form = FormDefinition.objects.get(key=ORDER_FORM_KEY)
    form_services.form_save_draft(key=ORDER_FORM_KEY, document={**form.draft, "fields": fields}, actor=admin)
    form_services.form_publish(key=ORDER_FORM_KEY, actor=admin)


def _custom_field_rule(browser, live_server, admin, *, fields: list[dict], condition: dict, **names):
    """Publish the order form with ``fields``, store a rule on them, and open it in the builder (en)."""
    _publish_order_form(admin, fields)
    rule = services.rule_create(actor=admin, default_severity="low", condition=condition, params={}, **names)
    page = _open(browser, live_server, language="en")
    page.goto(_builder_url(live_server, rule))
    designers.settled(page)
    return rule, page


def test_a_condition_on_a_custom_field_that_is_gone_shows_where_it_is(browser, live_server, admin):
    vip = {
        "key": "vip_level",
        "type": "choice",
        "label": {"zh-hans": "会员等级", "en": "VIP level"},
        "choices": [{"value": "gold", "label": {"zh-hans": "金卡", "en": "Gold"}}],
    }
    condition = {
        "all": [
            {"field": "status", "op": "eq", "value": "paid"},
            {"field": "data.vip_level", "op": "eq", "value": "gold"},
        ]
    }
    _, page = _custom_field_rule(
        browser,
        live_server,
        admin,
        fields=[vip],
        condition=condition,
        code="GOLD_PAID",
        name="金卡已付款",
        name_en="Gold and paid",
        category="process",
    )
    custom = _leaf(page, 2)
    assert custom.locator('[data-role="field"] option:checked').inner_text() == "VIP level"
    assert custom.locator('[data-role="value"] option:checked').inner_text() == "Gold"
    assert "VIP level is Gold" in page.locator("[data-sentence]").inner_text()

    # The order form drops the field: the builder says so at the condition that names it.
    _publish_order_form(admin, [])
    page.reload()
    designers.settled(page)
    _expect_problem(page, _leaf(page, 2), message="Unknown field “data.vip_level”.", place="Condition 2", part="field")
    assert page.errors == [], "\n".join(page.errors)


def test_custom_dates_and_multiple_choices_get_a_date_picker_and_their_options(browser, live_server, admin):
    fields = [
        {"key": "ship_by", "type": "date", "label": {"zh-hans": "承诺发货日期", "en": "Ship-by date"}},
        {
            "key": "tags",
            "type": "multichoice",
            "label": {"zh-hans": "标签", "en": "Tags"},
            "choices": [
                {"value": "urgent", "label": {"zh-hans": "加急", "en": "Urgent"}},
                {"value": "gift", "label": {"zh-hans": "礼品", "en": "Gift"}},
            ],
        },
    ]
    condition = {
        "all": [
            {"field": "data.ship_by", "op": "lt", "value": "2026-11-24"},
            {"field": "data.tags", "op": "contains", "value": "urgent"},
            {"field": "data.tags", "op": "in", "value": ["gift"]},
        ]
    }
    rule, page = _custom_field_rule(
        browser,
        live_server,
        admin,
        fields=fields,
        condition=condition,
        code="TAGGED_LATE",
        name="加急迟发",
        name_en="Urgent and late",
        category="logistics",
    )
    _expect_fixed(page)

    date = _leaf(page, 1)
    assert date.locator('[data-role="op"] option:checked').inner_text() == "is before"
    picker = date.locator('input[type="date"][data-role="value"]')
    assert picker.input_value() == "2026-11-24"
    picker.fill("2026-11-30")
    designers.settled(page)

    contains = _leaf(page, 2)
    assert contains.locator('[data-role="op"] option:checked').inner_text() == "contains"
    assert contains.locator('select[data-role="value"] option:checked').inner_text() == "Urgent"
    contains.locator('select[data-role="value"]').select_option("gift")

    any_of = _leaf(page, 3)
    assert any_of.locator('[data-role="op"] option:checked').inner_text() == "includes any of"
    any_of.locator('[data-role="op"]').select_option("not_in")
    any_of.locator('[data-role="choice"][value="urgent"]').check()
    designers.settled(page)
    _expect_fixed(page)
    assert _condition(page)["all"] == [
        {"field": "data.ship_by", "op": "lt", "value": "2026-11-30"},
        {"field": "data.tags", "op": "contains", "value": "gift"},
        {"field": "data.tags", "op": "not_in", "value": ["urgent", "gift"]},
    ]
    assert "Tags includes none of Urgent, Gift" in page.locator("[data-sentence]").inner_text()
    assert page.errors == [], "\n".join(page.errors)
    screens.shoot(page, "rule-builder-custom-types-en-desktop")

    # The saved rule on a Chinese page: the fields, options and operators in Chinese.
    chinese = _open(browser, live_server, language="zh-hans")
    chinese.goto(_builder_url(live_server, rule))
    designers.settled(chinese)
    sentence = chinese.locator("[data-sentence]").inner_text()
    assert "承诺发货日期" in sentence and "加急" in sentence and "礼品 中的任一项" in sentence, sentence
    screens.shoot(chinese, "rule-builder-custom-types-zh-hans-desktop")


# Every control says what it is: a label, a visible text or an aria-label.
UNNAMED_CONTROLS_JS = """() => [...document.querySelectorAll(
    '.og-rb select, .og-rb input, .og-rb textarea, .og-rb button')]
  .filter(el => el.offsetParent !== null && el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.innerText.trim())
    && !el.closest('label'))
  .map(el => el.outerHTML.slice(0, 160))"""


def _focused(page) -> str:
    return page.evaluate(
        "() => { const el = document.activeElement; const row = el.closest('[data-node-id]');"
        " return (row ? row.dataset.nodeId + ':' : '') + (el.dataset.role || el.dataset.action || el.tagName); }"
    )


def test_the_builder_is_used_with_the_keyboard(browser, live_server, admin):
    rule = services.rule_create(
        code="KEYBOARD",
        actor=admin,
        name="键盘",
        name_en="Keyboard",
        category="process",
        default_severity="low",
        condition={"all": [{"field": "status", "op": "eq", "value": "paid"}]},
        params={"within": "2h"},
        is_active=False,
    )
    page = _open(browser, live_server, language="en")
    page.goto(_builder_url(live_server, rule))
    designers.settled(page)
    assert page.evaluate(UNNAMED_CONTROLS_JS) == []

    # Enter on "Add a condition": the new condition's field picker has the focus.
    page.locator('.og-rb__row[data-kind="add"][data-path="condition"] [data-action="add-condition"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.og-rb__row[data-kind=leaf]').length === 2")
    new_leaf = _leaf(page, 2).get_attribute("data-node-id")
    assert _focused(page) == f"{new_leaf}:field"

    # Space opens the menu of groups with its first choice focused; Escape closes it again.
    toggle = page.locator('.og-rb__row[data-kind="add"][data-path="condition"] [data-action="add-block"]')
    toggle.focus()
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-expanded") == "true"
    page.wait_for_function("() => document.activeElement.dataset.block === 'all'")
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    page.wait_for_function("() => document.activeElement.dataset.action === 'add-block'")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.dataset.block === 'all'")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.block") == "any"
    page.keyboard.press("Enter")
    designers.settled(page)
    assert list(_condition(page)["all"][2]) == ["any"]

    # Moving a condition down with Enter keeps the focus on it.
    first = _leaf(page, 1)
    moved = first.get_attribute("data-node-id")
    first.locator('[data-action="move-down"]').focus()
    page.keyboard.press("Enter")
    designers.settled(page)
    assert _condition(page)["all"][1] == {"field": "status", "op": "eq", "value": "paid"}
    assert _focused(page) == f"{moved}:move-down"

    # A value is typed, the checker heard, and the rule saved, all from the keyboard.
    amount = _leaf(page, 1)
    amount.locator('[data-role="field"]').select_option("placed_at")
    amount.locator('[data-role="op"]').select_option("older_than")
    amount.locator('[data-role="amount"]').focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    designers.settled(page)
    assert _condition(page)["all"][0] == {"field": "placed_at", "op": "older_than", "value": "3h"}

    # A time is picked in the browser's time zone and travels with its offset.
    paid = _leaf(page, 2)
    paid.locator('[data-role="field"]').select_option("paid_at")
    paid.locator('[data-role="op"]').select_option("gt")
    assert paid.locator('[data-role="op"] option:checked').inner_text() == "is after"
    paid.locator('input[type="datetime-local"]').fill("2026-11-01T10:00")
    designers.settled(page)
    assert _condition(page)["all"][1] == {"field": "paid_at", "op": "gt", "value": "2026-11-01T10:00:00+08:00"}
    assert "paid at > 2026-11-01 10:00" in page.locator("[data-sentence]").inner_text()
    assert page.evaluate(UNNAMED_CONTROLS_JS) == []
    page.locator('[data-action="save"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => !Alpine.$data(document.querySelector('.og-designer')).dirty")
    rule.refresh_from_db()
    assert rule.condition["all"][0] == {"field": "placed_at", "op": "older_than", "value": "3h"}
    assert page.locator("[data-version-badge]").inner_text() == "Version 2"
    assert page.errors == [], "\n".join(page.errors)


@pytest.mark.parametrize("language", list(screens.LANGUAGES))
def test_the_builder_reads_well_with_test_now_and_a_back_test_on_a_desktop_and_a_phone(
    browser, live_server, admin, late_orders, worker, language
):
    rule = ExceptionRule.objects.get(code="SHIPPING_DELAY")
    draft_params = {**rule.params, "ship_within": "24h"}
    for viewport in screens.VIEWPORTS:
        page = _open(browser, live_server, language=language, viewport=viewport)
        page.goto(_builder_url(live_server, rule))
        designers.settled(page)
        assert page.locator("[data-sentence]").inner_text() == _words(language, rule.condition, rule.params)

        # A draft: shipping is late after 24 hours instead of 48 (the parameter, with its unit).
        within = page.locator('.og-rb__param[data-param="ship_within"]')
        assert within.locator('[data-role="unit"] option:checked').get_attribute("value") == "h"
        within.locator('[data-role="amount"]').fill("24")
        designers.settled(page)
        assert page.locator("[data-sentence]").inner_text() == _words(language, rule.condition, draft_params)

        page.locator('[data-action="test"]').click()
        page.locator(".og-rb__test-result").wait_for()
        shown = int(page.locator(".og-rb__test-result").get_attribute("data-count"))
        assert shown == _matching_now(rule.condition, draft_params) == 4
        assert page.locator(".og-rb__sample a[data-order]").count() == 4

        # A back-test in the background: the progress, then a chart and a table of the days.
        page.fill("#og-rb-days", "14")
        page.locator('[data-action="backtest"]').click()
        page.locator(".og-rb__chart svg").wait_for(timeout=60000)
        days = page.locator(".og-rb__days tbody tr")
        assert days.count() == 14
        # The draft beside the rule as saved: the chart's third series, the table's last column.
        assert page.locator(".og-rb__days thead th").count() == 4
        assert page.locator(".og-rb__chart").bounding_box()["width"] > 200

        text = screens.visible_text(page)
        if language == "en":
            for words in ("库存", "条件", "保存"):
                assert words not in text, f"{words} on the English builder"
            assert "Save the rule" in text and "Raised when" in text
        assert screens.raw_json_on(page) == [], "the builder shows raw JSON"
        assert not screens.overflows(page), f"the builder scrolls sideways at {viewport}"
        assert page.foreign_requests == []
        assert page.errors == [], "\n".join(page.errors)
        page.evaluate("() => window.scrollTo(0, 0)")
        screens.shoot(page, f"rule-builder-{language}-{viewport}")
        for part in ("test", "backtest", "params"):
            page.locator(f".og-rb__{part}").screenshot(
                path=str(screens.ARTIFACTS / f"rule-builder-{part}-{language}-{viewport}.png")
            )
        page.context.close()
