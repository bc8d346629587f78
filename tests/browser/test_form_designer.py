"""The form designer as a business admin uses it, in Debian's Chromium.

The main test is the issue's "done when": in the designer an admin adds a required "invoice
title" and an optional choice field to the order form, reorders them by drag and drop and
publishes; the order API then refuses an order without the invoice title, naming
``data.invoice_title``, and the order page shows both fields with their labels in zh and en.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from apps.accounts.services import user_create
from apps.formdesigner.models import FormDefinition
from apps.orders.models import Order
from tests.browser import designers, screens
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CASES = [(language, viewport) for language in screens.LANGUAGES for viewport in screens.VIEWPORTS]


@pytest.fixture
def admin(db):
    return user_create(username="form-admin", password=screens.PASSWORD, role="admin", department_code="management")


def _drag(page, source, target, *, where: str) -> None:
    """Drag ``source`` with the mouse, as a person does (SortableJS's fallback mode), and drop it
    on the upper part of ``target`` (``where="above"``) or at the bottom of it (``"end"``)."""
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    end = target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5, steps=3)
    drop_x = end["x"] + end["width"] / 2
    drop_y = end["y"] + end["height"] * 0.25 if where == "above" else end["y"] + end["height"] - 6
    page.mouse.move(drop_x, drop_y, steps=15)
    page.wait_for_timeout(200)
    page.mouse.move(drop_x, drop_y + 1, steps=2)
    page.mouse.up()


def _keys_in_list(page) -> list[str]:
    return page.locator(".og-designer__list [data-field-id]").evaluate_all("rows => rows.map(row => row.dataset.key)")


def test_an_admin_designs_the_order_form_and_orders_are_checked_against_it(browser, live_server, admin):
    page = screens.open_page(browser, live_server, language="zh-hans", viewport="desktop")
    page.on("dialog", lambda dialog: dialog.accept())
    screens.sign_in(page, live_server, "form-admin")

    # The forms are in the sidebar's 流程与表单 group.
    page.locator('a[href="/admin/formdesigner/formdefinition/"]').first.click()
    assert page.url.endswith("/admin/formdesigner/formdefinition/")
    page.goto(designers.designer_url(live_server, FormDefinition, "order"))
    page.wait_for_selector(".og-designer__empty")

    # A required text field: the key follows the English label.
    page.locator('.og-palette [data-type="text"]').click()
    page.fill("#og-prop-label-zh", "发票抬头")
    page.fill("#og-prop-label-en", "Invoice title")
    assert page.input_value("#og-prop-key") == "invoice_title"
    page.check("#og-prop-required")

    # A single-choice field, dragged from the palette to the end of the list.
    _drag(page, page.locator('.og-palette [data-type="choice"]'), page.locator(".og-designer__list"), where="end")
    assert page.locator(".og-designer__list [data-field-id]").count() == 2
    page.fill("#og-prop-label-zh", "发票类型")
    page.fill("#og-prop-label-en", "Invoice type")
    assert page.input_value("#og-prop-key") == "invoice_type"
    options = page.locator(".og-designer__option[data-option]")
    for position, (value, zh, en) in enumerate([("company", "企业", "Company"), ("personal", "个人", "Personal")]):
        row = options.nth(position)
        row.locator("input").nth(0).fill(value)
        row.locator("input").nth(1).fill(zh)
        row.locator("input").nth(2).fill(en)

    # Validation as one edits: a duplicate key shows at the key input, and publishing waits.
    page.fill("#og-prop-key", "invoice_title")
    designers.settled(page)
    problem = page.locator("#og-prop-key ~ .og-designer__error")
    assert "invoice_title" in problem.inner_text()
    assert page.locator("#og-prop-key").get_attribute("aria-invalid") == "true"
    assert page.locator(".og-designer__problems").is_visible()
    assert "fields.1" not in screens.visible_text(page)
    assert page.locator('[data-action="publish"]').is_disabled()
    page.fill("#og-prop-key", "invoice_type")
    designers.settled(page)
    assert not page.locator(".og-designer__problems").is_visible()

    # The live preview is the form staff will see, in either language.
    preview = page.locator(".og-designer__preview-body")
    assert "发票抬头" in preview.inner_text() and "发票类型" in preview.inner_text()
    page.locator('.og-segmented [data-language="en"]').click()
    designers.settled(page)
    page.wait_for_function(
        "() => document.querySelector('.og-designer__preview-body').innerText.includes('Invoice type')"
    )
    assert "Company" in preview.inner_text()

    # Reorder by drag and drop: the choice field goes first.
    rows = page.locator(".og-designer__list [data-field-id]")
    _drag(page, rows.nth(1).locator(".og-designer__handle"), rows.nth(0), where="above")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.og-designer__list [data-field-id]')].map(r => r.dataset.key)"
        ".join() === 'invoice_type,invoice_title'"
    )
    designers.settled(page)
    labels = preview.locator(".og-spec-label").all_inner_texts()
    assert [label.split("*")[0].strip() for label in labels][:2] == ["Invoice type", "Invoice title"]
    screens.shoot(page, "designer-order-zh-hans-desktop")
    assert screens.raw_json_on(page) == []

    # Publish with a version note: saved, published, and the page says so.
    page.fill("#og-version-note", "发票信息")
    with page.expect_navigation():
        page.locator('[data-action="publish"]').click()
    form = FormDefinition.objects.select_related("published").get(key="order")
    assert form.published.number == 1
    assert form.published.note == "发票信息"
    fields = form.published.document["fields"]
    assert [field["key"] for field in fields] == ["invoice_type", "invoice_title"]
    assert fields[1]["required"] is True and not fields[0].get("required")
    assert [choice["value"] for choice in fields[0]["choices"]] == ["company", "personal"]
    version = page.locator('.og-designer__version[data-version="1"]')
    assert "发票信息" in version.inner_text()
    version.locator('[data-action="show-changes"]').click()
    changes = version.locator(".og-designer__changes table")
    changes.wait_for()
    assert "发票抬头" in changes.inner_text()
    assert screens.raw_json_on(page) == []
    screens.shoot(page, "designer-published-zh-hans-desktop")

    # The order API checks data against the published form.
    token = Token.objects.create(user=admin).key
    headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}
    refused = page.request.post(
        live_server.url + "/api/v1/orders/",
        data=order_body(external_id="FORM-1", data={"invoice_type": "company"}),
        headers=headers,
    )
    assert refused.status == 400, refused.text()
    assert "data.invoice_title" in refused.json()["fields"]
    accepted = page.request.post(
        live_server.url + "/api/v1/orders/",
        data=order_body(external_id="FORM-2", data={"invoice_title": "某某科技有限公司", "invoice_type": "company"}),
        headers=headers,
    )
    assert accepted.status == 201, accepted.text()
    order = Order.objects.get(external_id="FORM-2")

    # The order page shows both fields by their labels, and the option by its label, in zh and en.
    for language, expected in (
        ("zh-hans", ("发票抬头", "发票类型", "企业")),
        ("en", ("Invoice title", "Invoice type", "Company")),
    ):
        order_page = screens.open_page(browser, live_server, language=language, viewport="desktop")
        screens.sign_in(order_page, live_server, "form-admin")
        order_page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
        title, kind, option = expected
        shown = _custom_fields(order_page)
        assert shown[title] == "某某科技有限公司", f"{language}: {shown}"
        assert shown[kind] == option, f"{language}: {shown}"
        assert screens.raw_json_on(order_page) == []
        screens.shoot(order_page, f"designer-order-page-{language}")


def _custom_fields(page) -> dict[str, str]:
    """The order page's custom fields as label -> what a person sees, edited in inputs or read as text."""
    shown = {}
    for field in page.locator('[class*="field-data__"], .field-custom_fields').all():
        for select in field.locator("select").all():
            label = page.locator(f'label[for="{select.get_attribute("id")}"]').inner_text()
            shown[label.rstrip(" *:").strip()] = select.locator("option:checked").inner_text().strip()
        for entry in field.locator("input[type=text], textarea").all():
            label = page.locator(f'label[for="{entry.get_attribute("id")}"]').inner_text()
            shown[label.rstrip(" *:").strip()] = entry.input_value()
        terms = field.locator(".og-custom-fields dt").all_inner_texts()
        values = field.locator(".og-custom-fields dd").all_inner_texts()
        shown.update(zip(terms, values, strict=True))
    return shown


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_designer_reads_well_in_both_languages_on_a_desktop_and_a_phone(
    browser, live_server, admin, language, viewport
):
    page = screens.open_page(browser, live_server, language=language, viewport=viewport)
    screens.sign_in(page, live_server, "form-admin")
    designers.check_list(
        page,
        live_server,
        FormDefinition,
        shows="Payment check" if language == "en" else "付款核查",
        viewport=viewport,
        shot=f"forms-list-{language}-{viewport}",
    )
    page.goto(designers.designer_url(live_server, FormDefinition, "payment-check"))
    page.wait_for_selector(".og-designer__list [data-field-id]")
    designers.settled(page)
    assert _keys_in_list(page) == ["payment_found", "bank_reference", "note"]

    # The field shown under a condition, selected: its condition reads as words.
    page.locator('[data-key="bank_reference"] .og-designer__field-main').click()
    condition = page.locator('[data-key="bank_reference"] .og-designer__field-condition').inner_text()
    assert ("Payment found" if language == "en" else "找到付款") in condition
    assert page.locator("#og-cond-field").input_value() == "payment_found"
    assert page.locator("#og-cond-value").input_value() == "true"
    preview = page.locator(".og-designer__preview-body")
    page.wait_for_function("() => document.querySelector('.og-designer__preview-body [data-og-spec-form]')")
    # Staff see the bank reference only once they answer "yes".
    assert preview.locator('[data-og-key="bank_reference"]').is_hidden()
    preview.locator('[data-og-key="payment_found"] input[value="true"]').check()
    assert ("Bank reference" if language == "en" else "银行流水号") in preview.inner_text()

    designers.check_reads_well(
        page, language=language, viewport=viewport, chinese=("找到付款", "付款核查", "保存草稿", "发布")
    )
    screens.shoot(page, f"designer-{language}-{viewport}")

    # A problem shows at the field, in words: a largest length below the smallest.
    page.locator('[data-key="note"] .og-designer__field-main').click()
    page.fill("#og-prop-min-length", "20")
    page.fill("#og-prop-max-length", "10")
    designers.settled(page)
    assert page.locator("#og-prop-min-length").get_attribute("aria-invalid") == "true"
    assert page.locator('[data-key="note"] .og-designer__field-problem').is_visible()
    assert "fields.2" not in screens.visible_text(page)
    assert not screens.overflows(page)
    screens.shoot(page, f"designer-problem-{language}-{viewport}")
