"""The order form: every order write checks ``data`` against the published order form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.common.errors import DomainError
from apps.formdesigner import services
from apps.orders.models import Order
from tests.formdesigner.conftest import INVOICE_TITLE, INVOICE_TYPE, publish_form, text
from tests.orders.payloads import order_body
from tests.orders.test_admin import change_form_data

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def test_before_an_order_form_is_published_data_is_free_form(api):
    response = api.post(ORDERS, order_body(data={"anything": {"nested": [1, 2]}, "note": None}), format="json")
    assert response.status_code == 201, response.json()
    assert Order.objects.get().data == {"anything": {"nested": [1, 2]}, "note": None}


def test_an_order_without_a_required_field_is_refused_naming_data_key(api, publish_order_form):
    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    response = api.post(ORDERS, order_body(data={"invoice_type": "company"}), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"data.invoice_title": ["This field is required."]}
    assert not Order.objects.exists()


def test_the_message_is_in_the_callers_language(api, publish_order_form):
    publish_order_form(INVOICE_TITLE)
    response = api.post(ORDERS, order_body(data={}), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()["fields"]["data.invoice_title"] == ["该字段是必填项。"]


def test_a_value_that_does_not_fit_and_an_unknown_key_are_named(api, publish_order_form):
    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    body = order_body(data={"invoice_title": "某某公司", "invoice_type": "charity", "colour": "red"})
    fields = api.post(ORDERS, body, format="json").json()["fields"]
    assert fields == {
        "data.invoice_type": ["Not an option: charity."],
        "data.colour": ["Not a field of this form."],
    }


def test_a_good_order_is_stored_with_its_data(api, publish_order_form):
    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    body = order_body(data={"invoice_title": "某某公司", "invoice_type": "company"})
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 201, response.json()
    assert Order.objects.get().data == {"invoice_title": "某某公司", "invoice_type": "company"}


def test_bulk_reports_data_errors_per_item_and_keeps_the_good_ones(api, publish_order_form):
    publish_order_form(INVOICE_TITLE)
    good, bad = order_body(), order_body(data={"invoice_title": ""})
    response = api.post(f"{ORDERS}bulk/", {"orders": [good, bad]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["results"][1]["fields"] == {"data.invoice_title": ["This field is required."]}
    assert list(Order.objects.values_list("external_id", flat=True)) == [good["external_id"]]


def test_a_new_required_field_applies_to_new_writes_only(api, publish_order_form):
    """Orders stored before the field existed keep their data; a PATCH that leaves data alone passes."""
    stored = api.post(ORDERS, order_body(data={"buyer_note": "请尽快发货"}), format="json").json()
    publish_order_form(
        INVOICE_TITLE, {"key": "buyer_note", "type": "textarea", "label": text("买家留言", "Buyer note")}
    )
    assert Order.objects.get(pk=stored["id"]).data == {"buyer_note": "请尽快发货"}
    assert api.patch(f"{ORDERS}{stored['id']}/", {"status": "reviewed"}, format="json").status_code == 200
    refused = api.patch(f"{ORDERS}{stored['id']}/", {"data": {"buyer_note": "x"}}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["data.invoice_title"]


def test_patch_replaces_the_fields_and_keeps_archived_values(api, publish_order_form):
    publish_order_form(INVOICE_TITLE, {"key": "gift_wrap", "type": "boolean", "label": text("礼品包装", "Gift wrap")})
    order_id = api.post(ORDERS, order_body(data={"invoice_title": "甲", "gift_wrap": True}), format="json").json()["id"]
    publish_order_form(INVOICE_TITLE)  # gift_wrap removed: archived
    response = api.patch(f"{ORDERS}{order_id}/", {"data": {"invoice_title": "乙"}}, format="json")
    assert response.status_code == 200, response.json()
    assert Order.objects.get(pk=order_id).data == {"invoice_title": "乙", "gift_wrap": True}
    again = api.patch(f"{ORDERS}{order_id}/", {"data": {"invoice_title": "丙", "gift_wrap": False}}, format="json")
    assert again.json()["fields"] == {
        "data.gift_wrap": ["This field was removed from the form; it can no longer be set."]
    }


def test_a_type_change_that_cannot_convert_stored_values_is_refused_with_counts(api, publish_order_form):
    publish_order_form({"key": "pieces", "type": "text", "label": text("件数", "Pieces")})
    for value in ("12", "3", "about ten", "about ten"):
        api.post(ORDERS, order_body(data={"pieces": value}), format="json")
    form = services.form_save_draft(
        key="order",
        document={
            "key": "order",
            "kind": "order",
            "name": text("订单", "Order"),
            "fields": [{"key": "pieces", "type": "integer", "label": text("件数", "Pieces")}],
        },
    )
    with pytest.raises(DomainError) as refused:
        services.form_publish(key="order")
    assert refused.value.code == "stored_values_do_not_convert"
    [message] = refused.value.as_fields()["fields.0.type"]
    assert "2 stored orders" in message and "“about ten” ×2" in message
    form.refresh_from_db()
    assert form.published.number == 1
    assert sorted(order.data["pieces"] for order in Order.objects.all()) == ["12", "3", "about ten", "about ten"]


def test_a_type_change_that_converts_rewrites_the_stored_values(api, publish_order_form):
    publish_order_form({"key": "pieces", "type": "text", "label": text("件数", "Pieces")})
    ids = [api.post(ORDERS, order_body(data={"pieces": value}), format="json").json()["id"] for value in ("12", "3")]
    version = publish_order_form({"key": "pieces", "type": "integer", "label": text("件数", "Pieces"), "min": 0})
    assert version.number == 2
    assert [Order.objects.get(pk=pk).data["pieces"] for pk in ids] == [12, 3]


def test_the_first_publish_checks_values_stored_while_data_was_free_form(api):
    api.post(ORDERS, order_body(data={"invoice_title": {"not": "text"}}), format="json")
    with pytest.raises(DomainError) as refused:
        publish_form("order", [INVOICE_TITLE])
    assert "1 stored orders" in refused.value.as_fields()["fields.0.type"][0]


def test_the_order_page_shows_the_fields_with_labels_in_the_users_language(client, admin_user, publish_order_form):
    order_id = _ingest(data={"invoice_title": "某某公司", "invoice_type": "company", "old_code": "A-1"})
    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    client.force_login(admin_user)
    url = reverse("admin:orders_order_change", args=[order_id])
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "发票抬头" in chinese and "发票类型" in chinese and "企业" in chinese
    assert "Invoice title" in english and "Invoice type" in english and "Company" in english
    assert "old_code (archived)" in english and "A-1" in english
    assert '"invoice_title"' not in english  # no JSON


def test_the_admin_edits_custom_fields_and_names_the_bad_one(client, admin_user, publish_order_form):
    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    order_id = _ingest(data={"invoice_title": "某某公司"})
    client.force_login(admin_user)
    url = reverse("admin:orders_order_change", args=[order_id])
    post = change_form_data(client.get(url))
    assert post["data__invoice_title"] == "某某公司"
    post.update({"data__invoice_title": "", "data__invoice_type": "personal"})
    refused = client.post(url, post)
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["data__invoice_title"] == ["This field is required."]
    post["data__invoice_title"] = "新公司"
    saved = client.post(url, post)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert Order.objects.get(pk=order_id).data == {"invoice_title": "新公司", "invoice_type": "personal"}


def _ingest(**overrides) -> int:
    from apps.orders import services as order_services
    from apps.orders.api import OrderInput

    data = OrderInput().run_validation(order_body(**overrides))
    return order_services.order_ingest(data=data).order_id


# --- Import and export -------------------------------------------------------------------------


def test_an_import_names_the_data_column_of_the_bad_row(client, admin_user, publish_order_form):
    from import_export.results import RowResult

    from tests.orders.test_import_export import ORDER_COLUMNS, order_row, row_errors, spreadsheet, totals, upload

    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    client.force_login(admin_user)
    headers = [*ORDER_COLUMNS, "data.invoice_title", "data.invoice_type"]
    rows = [
        {**order_row(external_id="IMP-1"), "data.invoice_title": "某某公司", "data.invoice_type": "company"},
        {**order_row(external_id="IMP-2"), "data.invoice_title": "", "data.invoice_type": "charity"},
    ]
    preview = upload(client, Order, spreadsheet("csv", headers, [[row[h] for h in headers] for row in rows]), "csv")
    assert totals(preview) == {RowResult.IMPORT_TYPE_INVALID: 1, RowResult.IMPORT_TYPE_NEW: 1}
    assert row_errors(preview) == {
        2: {"data.invoice_title": ["This field is required."], "data.invoice_type": ["Not an option: charity."]}
    }


def test_a_file_without_a_required_data_column_is_refused_before_any_row(client, admin_user, publish_order_form):
    from tests.orders.test_import_export import order_file, upload

    publish_order_form(INVOICE_TITLE)
    client.force_login(admin_user)
    preview = upload(client, Order, order_file([order_row_for_test()]), "csv")
    assert "The file has no column data.invoice_title." in preview.content.decode()
    assert "confirm_form" not in preview.context
    assert not Order.objects.exists()


def order_row_for_test():
    from tests.orders.test_import_export import order_row

    return order_row(external_id="IMP-9")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_custom_fields_import_back_as_the_same_values(client, admin_user, publish_order_form, fmt):
    from apps.exceptions.models import OrderException
    from apps.orders.resources import OrderResource
    from tests.orders.test_import_export import FORMATS, confirm, format_choice, upload

    publish_order_form(
        INVOICE_TITLE,
        INVOICE_TYPE,
        {"key": "gift_wrap", "type": "boolean", "label": text("礼品包装", "Gift wrap")},
        {"key": "pieces", "type": "integer", "label": text("件数", "Pieces")},
        {"key": "deliver_on", "type": "date", "label": text("送达日期", "Deliver on")},
    )
    values = {
        "invoice_title": "某某公司",
        "invoice_type": "personal",
        "gift_wrap": True,
        "pieces": 3,
        "deliver_on": "2026-12-24",
    }
    _ingest(external_id="EXP-1", data=values)
    client.force_login(admin_user)
    resource = OrderResource()
    assert resource.get_export_order()[-5:] == (
        "data.invoice_title",
        "data.invoice_type",
        "data.gift_wrap",
        "data.pieces",
        "data.deliver_on",
    )
    fields = {f"orderresource_{name}": "on" for name in resource.get_export_order()}
    exported = client.post(reverse("admin:orders_order_export"), {"format": format_choice(Order, fmt), **fields})
    assert exported.status_code == 200
    dataset = FORMATS[fmt](encoding="utf-8-sig").create_dataset(exported.content)
    assert dataset.dict[0]["data.gift_wrap"] == "yes"
    OrderException.objects.all().delete()
    Order.objects.all().delete()
    preview = upload(client, Order, exported.content, fmt)
    assert confirm(client, Order, preview).status_code == 302
    assert Order.objects.get(external_id="EXP-1").data == values


def test_the_import_guide_lists_the_custom_columns_with_their_options(publish_order_form):
    from apps.orders.resources import OrderResource

    publish_order_form(INVOICE_TITLE, INVOICE_TYPE)
    guides = {guide.name: guide for guide in OrderResource().column_guides()}
    assert guides["data.invoice_title"].is_required
    assert guides["data.invoice_title"].label == "Invoice title"
    assert guides["data.invoice_type"].choices == (("company", "Company"), ("personal", "Personal"))


def test_the_demo_publishes_an_order_form_its_orders_fit():
    from io import StringIO

    from django.core.management import call_command

    from apps.formdesigner.selectors import order_form

    call_command("seed_demo", orders=60, stdout=StringIO())
    form = order_form()
    assert form.spec.keys == ("invoice_title", "buyer_note")
    for data in Order.objects.values_list("data", flat=True):
        assert form.spec.check_data(data) == data
    assert Order.objects.exclude(data={}).exists()


def test_an_import_reads_the_order_form_once_not_once_per_row(client, admin_user, publish_order_form):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.rules.services import _FINGERPRINT_SQL
    from tests.orders.test_import_export import ORDER_COLUMNS, order_row, spreadsheet, upload

    publish_order_form(INVOICE_TITLE)
    client.force_login(admin_user)
    headers = [*ORDER_COLUMNS, "data.invoice_title"]
    FINGERPRINT = _FINGERPRINT_SQL.split("%")[0]

    def form_reads(count: int) -> int:
        rows = [{**order_row(external_id=f"ONCE-{count}-{n}"), "data.invoice_title": "某某公司"} for n in range(count)]
        content = spreadsheet("csv", headers, [[row[h] for h in headers] for row in rows])
        with CaptureQueriesContext(connection) as queries:
            preview = upload(client, Order, content, "csv")
        assert len(preview.context["result"].rows) == count
        # Detection's check that its cached rules are current reads the form's published version
        # in the statement it runs per event anyway: not a read of the form.
        return sum(
            'FROM "formdesigner_formdefinition"' in query["sql"] and not query["sql"].startswith(FINGERPRINT)
            for query in queries.captured_queries
        )

    assert form_reads(2) == form_reads(12)
