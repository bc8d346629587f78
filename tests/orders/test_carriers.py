"""Carrier formats as data: the admin edits them, and a change re-judges the carrier's shipments."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.common.errors import DomainError
from apps.orders import services
from apps.orders.models import Carrier, Shipment
from tests.orders.factories import OrderFactory, ShipmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


def change_url(code: str) -> str:
    return reverse("admin:orders_carrier_change", args=[Carrier.objects.get(code=code).pk])


def stored_verdicts(*shipments: Shipment) -> list[bool]:
    return [Shipment.objects.get(pk=s.pk).tracking_is_valid for s in shipments]


@pytest.fixture
def sf_shipments() -> tuple[Shipment, Shipment, Shipment]:
    """Three SF shipments: 12 digits (valid), 10 digits (invalid) and 14 digits (invalid)."""
    order = OrderFactory()
    return (
        ShipmentFactory(order=order, carrier="SF", tracking_number="SF" + "1" * 12),
        ShipmentFactory(order=order, carrier="SF", tracking_number="SF" + "2" * 10),
        ShipmentFactory(order=order, carrier="SF", tracking_number="SF" + "3" * 14),
    )


# --- Admin ----------------------------------------------------------------------------------------------


def test_the_carrier_list_and_pages_render_for_an_admin(admin_browser):
    """Admins see the seven seeded carriers and can open one."""
    response = admin_browser.get(reverse("admin:orders_carrier_changelist"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 7
    assert "^SF\\d{12,13}$" in response.content.decode()
    assert admin_browser.get(change_url("SF")).status_code == 200


def test_editing_a_carriers_patterns_in_the_admin_re_judges_its_shipments(admin_browser, sf_shipments):
    """Widening SF to 10-14 digits turns its stored invalid numbers valid, and the admin says how many remain."""
    other = ShipmentFactory(carrier="JD", tracking_number="JD1")
    assert stored_verdicts(*sf_shipments, other) == [True, False, False, False]
    response = admin_browser.post(
        change_url("SF"),
        {"name": "顺丰速运", "name_en": "SF Express", "patterns": "^SF\\d{10,14}$\n", "is_active": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Carrier.objects.get(code="SF").patterns == [r"^SF\d{10,14}$"]
    assert stored_verdicts(*sf_shipments, other) == [True, True, True, False]
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("0 shipments of SF" in m for m in shown), shown


def test_deactivating_a_carrier_in_the_admin_makes_its_numbers_invalid(admin_browser, sf_shipments):
    """An inactive carrier's numbers are all invalid; re-activating it restores the verdicts."""
    data = {"name": "顺丰速运", "name_en": "SF Express", "patterns": "^SF\\d{12,13}$"}
    assert admin_browser.post(change_url("SF"), data).status_code == 302
    assert stored_verdicts(*sf_shipments) == [False, False, False]
    assert admin_browser.post(change_url("SF"), {**data, "is_active": "on"}).status_code == 302
    assert stored_verdicts(*sf_shipments) == [True, False, False]


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ("^SF(\\d{12}$", "is not a valid regular expression"),
        ("^SF\\d{12}$\n[", "[ is not a valid regular expression"),
        ("  \n ", "This field is required."),
    ],
    ids=["unbalanced-parenthesis", "second-line-broken", "blank"],
)
def test_a_pattern_that_does_not_compile_is_a_form_error_and_changes_nothing(
    admin_browser, sf_shipments, patterns, message
):
    """The form names the field and the broken pattern; no 500, and the stored carrier stays as it was."""
    response = admin_browser.post(
        change_url("SF"), {"name": "顺丰速运", "name_en": "SF Express", "patterns": patterns, "is_active": "on"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["patterns"]
    assert any(message in error for error in errors["patterns"]), errors
    assert Carrier.objects.get(code="SF").patterns == [r"^SF\d{12,13}$"]
    assert stored_verdicts(*sf_shipments) == [True, False, False]


def test_adding_a_carrier_in_the_admin_makes_its_known_shipments_valid(admin_browser):
    """J&T numbers were unknown-carrier (invalid) until the carrier is added; the code is stored upper-case."""
    shipment = ShipmentFactory(carrier="JTSD", tracking_number="JT1234567890123")
    assert stored_verdicts(shipment) == [False]
    response = admin_browser.post(
        reverse("admin:orders_carrier_add"),
        {"code": " jtsd ", "name": "极兔速递", "name_en": "J&T Express", "patterns": "^JT\\d{13}$", "is_active": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Carrier.objects.filter(code="JTSD").exists()
    assert stored_verdicts(shipment) == [True]


def test_adding_a_carrier_whose_code_exists_is_a_form_error(admin_browser):
    """Codes are unique whatever case they are typed in."""
    response = admin_browser.post(
        reverse("admin:orders_carrier_add"), {"code": "sf", "name": "又一个顺丰", "patterns": "^SF\\d+$"}
    )
    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    assert Carrier.objects.filter(code="SF").count() == 1


def test_a_carriers_code_cannot_be_changed_once_stored(admin_browser):
    """Shipments name their carrier by code, so the code is shown read-only."""
    response = admin_browser.post(
        change_url("SF"), {"code": "SFX", "name": "顺丰速运", "patterns": "^SF\\d{12,13}$", "is_active": "on"}
    )
    assert response.status_code == 302
    assert Carrier.objects.filter(code="SF").exists() and not Carrier.objects.filter(code="SFX").exists()


def test_deleting_a_carrier_in_the_admin_makes_its_numbers_invalid(admin_browser, sf_shipments):
    """Its shipments now name an unknown carrier."""
    url = reverse("admin:orders_carrier_delete", args=[Carrier.objects.get(code="SF").pk])
    assert admin_browser.post(url, {"post": "yes"}).status_code == 302
    assert not Carrier.objects.filter(code="SF").exists()
    assert stored_verdicts(*sf_shipments) == [False, False, False]


def test_managers_may_read_carriers_but_not_change_them(client, manager_user):
    """Formats are platform configuration: only the admin role changes them."""
    client.force_login(manager_user)
    assert client.get(reverse("admin:orders_carrier_changelist")).status_code == 200
    response = client.post(change_url("SF"), {"name": "x", "patterns": "^.*$", "is_active": "on"})
    assert response.status_code == 403
    assert Carrier.objects.get(code="SF").patterns == [r"^SF\d{12,13}$"]


# --- Services -------------------------------------------------------------------------------------------


def test_carrier_upsert_returns_created_and_re_judges_only_when_the_format_changes(sf_shipments):
    """A rename keeps the verdicts; new patterns re-judge; a new carrier is reported as created."""
    carrier, created = services.carrier_upsert(code="SF", name="顺丰", patterns=[r"^SF\d{12,13}$"])
    assert (carrier.name, created) == ("顺丰", False)
    assert stored_verdicts(*sf_shipments) == [True, False, False]
    services.carrier_upsert(code="sf", name="顺丰", patterns=[r"^SF\d{10}$"])
    assert stored_verdicts(*sf_shipments) == [False, True, False]
    _carrier, created = services.carrier_upsert(code="dbl", name="德邦", patterns=[r"^DPK\d{12}$"])
    assert created and Carrier.objects.filter(code="DBL").exists()


def test_the_refresh_returns_the_orders_whose_shipments_flipped(sf_shipments):
    """The detection engine re-evaluates exactly these orders."""
    Carrier.objects.filter(code="SF").update(patterns=[r"^SF\d{10}$"])
    assert services.shipment_tracking_refresh(carrier="SF") == [sf_shipments[0].order_id]
    assert services.shipment_tracking_refresh(carrier="SF") == []
    assert stored_verdicts(*sf_shipments) == [False, True, False]


@pytest.mark.parametrize(
    "patterns", [["^SF(\\d{12}$"], [], ["", "  "], "^SF\\d{12}$", [12]], ids=["broken", "none", "blank", "str", "int"]
)
def test_carrier_upsert_refuses_patterns_that_are_not_a_list_of_regular_expressions(patterns):
    """A DomainError on field patterns, and nothing stored."""
    with pytest.raises(DomainError) as raised:
        services.carrier_upsert(code="NEW", name="新", patterns=patterns)
    assert (raised.value.code, raised.value.field) == ("invalid_pattern", "patterns")
    assert not Carrier.objects.filter(code="NEW").exists()


def test_deleting_an_unknown_carrier_is_refused():
    with pytest.raises(DomainError) as raised:
        services.carrier_delete(code="NOPE")
    assert raised.value.field == "code"
