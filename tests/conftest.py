"""Suite-wide fixtures: a clean real Redis per test, the actors the tests act as, and a Celery
worker for the tests that run one (``tests/processes.py``).

``tests/bootstrap.py`` (loaded with ``-p``) starts the Redis before Django reads settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def redis_url() -> str:
    return os.environ["REDIS_URL"]


@pytest.fixture(autouse=True)
def _english_and_clean_redis(settings, redis_url):
    """Tests read English messages; each test starts with an empty Redis."""
    import redis

    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()


@pytest.fixture(autouse=True)
def _calendars_always_open(request):
    """Deadlines count business time on the departments' calendars (SPEC §9.4). So that a test's
    outcome does not depend on the hour or the day it runs, database tests count on 24×7
    calendars; the tests of calendars themselves keep the seeded ones
    (``@pytest.mark.business_calendars``)."""
    if request.node.get_closest_marker("business_calendars"):
        return
    if request.node.get_closest_marker("django_db") is not None:
        request.getfixturevalue("_django_db_helper")
    else:
        using = [name for name in ("transactional_db", "db") if name in request.fixturenames]
        if not using:
            return
        request.getfixturevalue(using[0])
    from django.utils import timezone

    from apps.exceptions.models import BusinessCalendar

    # updated_at moves too: that is how a process notices a calendar changed (calendars_load).
    BusinessCalendar.objects.update(always_open=True, updated_at=timezone.now())


@pytest.fixture
def worker(tmp_path) -> Iterator[Path]:
    """A Celery worker on the suite's Redis and the test database, for the test; the path of its log.

    It sees only committed data (``django_db(transaction=True)``). Per test: the suite empties
    Redis before each test, and with it the worker's queue bindings.
    """
    from tests import processes

    log = tmp_path / "worker.log"
    process = processes.start_worker(log)
    try:
        yield log
    finally:
        processes.stop(process)


def _make_user(username: str, role: str, department: str | None = None):
    from apps.accounts.services import user_create

    return user_create(username=username, password="pw-" + username + "-Secret1", role=role, department_code=department)


@pytest.fixture
def admin_user(db):
    return _make_user("ops-admin", "admin", "management")


@pytest.fixture
def staff_user(db):
    return _make_user("wh-staff", "staff", "warehouse")


@pytest.fixture
def manager_user(db):
    return _make_user("boss", "manager", "management")


def _token_client(user):
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_issue

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + api_token_issue(username=user.username).key)
    return client


@pytest.fixture
def api(admin_user):
    """An API client holding an admin's token (the role integration accounts have)."""
    return _token_client(admin_user)


@pytest.fixture
def staff_api(staff_user):
    return _token_client(staff_user)


@pytest.fixture
def manager_api(manager_user):
    return _token_client(manager_user)


@pytest.fixture
def anon_api():
    from rest_framework.test import APIClient

    return APIClient()
