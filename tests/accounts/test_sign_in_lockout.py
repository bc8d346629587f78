"""Sign-in lockout (django-axes): wrong passwords for a username from an address lock that pair out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "pw-ops-admin-Secret1"  # what tests/conftest.py gives admin_user


def sign_in(client, username: str, password: str, address: str = "10.0.0.1", **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(client, admin_user):
    """The 6th try on is refused without the password being checked, with the lockout page (403)."""
    for attempt in range(30):
        response = sign_in(client, admin_user.username, f"wrong-{attempt}")
        assert response.status_code == (200 if attempt < settings.AXES_FAILURE_LIMIT - 1 else 403), attempt

    response = sign_in(client, admin_user.username, PASSWORD)

    assert response.status_code == 403
    assert not is_signed_in(client)
    html = response.content.decode()
    assert "Too many failed sign-ins" in html
    assert "After 5 wrong passwords this account is locked from your address for 15 minutes." in html
    assert reverse("login") in html


def test_fewer_failures_than_the_limit_still_sign_in_and_start_the_count_again(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, admin_user.username, "wrong").status_code == 200
    assert sign_in(client, admin_user.username, PASSWORD).status_code == 302
    assert is_signed_in(client)

    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, admin_user.username, "wrong")
    assert sign_in(client, admin_user.username, PASSWORD).status_code == 302


def test_the_lock_holds_one_username_from_one_address(client, admin_user, manager_user):
    """Another address may still sign in as that user, and another user from the same address."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, admin_user.username, "wrong", address="10.0.0.1")
    assert sign_in(client, admin_user.username, PASSWORD, address="10.0.0.1").status_code == 403

    assert sign_in(client, admin_user.username, PASSWORD, address="10.0.0.2").status_code == 302
    client.logout()
    assert sign_in(client, manager_user.username, "pw-boss-Secret1", address="10.0.0.1").status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lock(client, admin_user):
    """With no trusted proxy configured, X-Forwarded-For is the caller's to choose, so it is ignored."""
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, admin_user.username, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")
    response = sign_in(client, admin_user.username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 403


def test_the_lock_lifts_after_the_cool_off(client, admin_user):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, admin_user.username, "wrong")
        clock.shift(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
        assert sign_in(client, admin_user.username, PASSWORD).status_code == 403

        # The try during the lock started the cool-off again.
        clock.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        assert sign_in(client, admin_user.username, PASSWORD).status_code == 302
    assert is_signed_in(client)


def test_authenticate_itself_refuses_a_locked_out_pair(client, admin_user):
    """Any sign-in form built on ``django.contrib.auth.authenticate`` gets the lock, not just this page."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, admin_user.username, "wrong", address="10.0.0.9")
    request = RequestFactory().post("/elsewhere/", REMOTE_ADDR="10.0.0.9")

    assert authenticate(request, username=admin_user.username, password=PASSWORD) is None
    other = RequestFactory().post("/elsewhere/", REMOTE_ADDR="10.0.0.10")
    assert authenticate(other, username=admin_user.username, password=PASSWORD) == admin_user


def test_an_admin_unlocks_a_locked_out_user_in_the_console(client, admin_user, manager_user):
    """The admin role (not only superusers) sees the access attempts; deleting one lifts the lock."""
    from axes.models import AccessAttempt

    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, manager_user.username, "wrong", address="10.0.0.7")
    attempt = AccessAttempt.objects.get(username=manager_user.username)
    assert not admin_user.is_superuser
    client.force_login(admin_user)

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    response = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    client.logout()

    assert sign_in(client, manager_user.username, "pw-boss-Secret1", address="10.0.0.7").status_code == 302
