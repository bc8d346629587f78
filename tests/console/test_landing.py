"""One sign-in page for every role, and each role lands on a page it can use."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils.formats import date_format

from apps.accounts.models import User
from apps.orders.demo import DEMO_USERS, demo_users_create

pytestmark = pytest.mark.django_db

PASSWORD = "orderguard-demo-Secret1"
# Where each demo role works and a phrase its landing page shows (English, the tests' language).
LANDINGS = {
    "admin": ("/admin/", "Open exceptions by severity"),
    "manager": ("/manager/", "My departments"),
    "staff": ("/workspace/", "My tasks"),
}


@pytest.fixture
def demo_users(db):
    demo_users_create(password=PASSWORD)
    return {spec.username: spec for spec in DEMO_USERS}


@pytest.mark.parametrize("spec", DEMO_USERS, ids=lambda spec: spec.username)
def test_every_demo_login_signs_in_and_lands_where_its_role_works(client, demo_users, raised, spec):
    response = client.post("/accounts/login/", {"username": spec.username, "password": PASSWORD}, follow=True)
    landing, phrase = LANDINGS[spec.role]
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == landing
    assert phrase in response.content.decode()


def test_the_consoles_own_login_url_leads_to_the_one_sign_in_page(client):
    response = client.get("/admin/login/?next=/admin/orders/order/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/orders/order/"
    assert client.get("/admin/").url.startswith("/admin/login/")


def test_a_wrong_password_is_refused_with_a_message_on_the_sign_in_page(client, demo_users):
    response = client.post("/accounts/login/", {"username": "finance", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_see_their_departments_exceptions_and_no_others(client, demo_users, raised):
    from workflows.services import cases_sweep

    cases_sweep(grace=timedelta(0))  # the exceptions' tasks, in their departments' queues
    client.post("/accounts/login/", {"username": "warehouse", "password": PASSWORD})
    page = client.get("/workspace/?scope=queue").content.decode()
    mine = raised.filter(department__code="warehouse")
    theirs = raised.exclude(department__code="warehouse")
    assert mine.exists() and theirs.exists()
    for exception in mine:
        assert f'data-exception="{exception.pk}"' in page
        assert client.get(f"/workspace/exceptions/{exception.pk}/").status_code == 200
    for exception in theirs:
        assert f'data-exception="{exception.pk}"' not in page
        assert client.get(f"/workspace/exceptions/{exception.pk}/").status_code == 404
    # Staff have no console.
    assert client.get("/admin/").status_code == 302
    assert client.get("/manager/").status_code == 403


def test_a_lead_sees_their_department_and_the_management_department_sees_all(client, demo_users, raised):
    client.post("/accounts/login/", {"username": "warehouse_lead", "password": PASSWORD})
    page = client.get("/manager/").content.decode()
    assert "Warehouse / purchasing" in page and "Finance" not in page
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "manager", "password": PASSWORD})
    page = client.get("/manager/").content.decode()
    assert "Warehouse / purchasing" in page and "Finance" in page
    for exception in raised:
        assert f'data-exception="{exception.pk}"' in page


def test_pages_show_times_in_the_users_own_time_zone(client, demo_users, raised):
    """New York is 12 or 13 hours behind Shanghai, so the two clock readings never coincide."""
    exception = raised.filter(department__code="warehouse").first()
    User.objects.filter(username="warehouse").update(time_zone="America/New_York")
    client.post("/accounts/login/", {"username": "warehouse", "password": PASSWORD})
    page = client.get(f"/workspace/exceptions/{exception.pk}/").content.decode()
    new_york = exception.detected_at.astimezone(ZoneInfo("America/New_York"))
    shanghai = exception.detected_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert date_format(new_york, "DATETIME_FORMAT") in page
    assert date_format(shanghai, "DATETIME_FORMAT") not in page


def test_an_unknown_time_zone_is_refused_when_a_user_is_saved():
    from django.core.exceptions import ValidationError

    from apps.accounts.models import validate_time_zone

    validate_time_zone("Asia/Shanghai")
    with pytest.raises(ValidationError):
        validate_time_zone("Mars/Olympus")
