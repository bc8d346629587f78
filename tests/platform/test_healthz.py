"""/healthz names the backing service that does not answer, and only admins see why."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_down(settings, tmp_path):
    """REDIS_URL pointing at a socket with nothing behind it; returns the socket's path."""
    missing = tmp_path / "nothing-listens-here.sock"
    settings.REDIS_URL = f"unix://{missing}"
    return str(missing)


def test_health_is_503_naming_redis_when_its_socket_does_not_exist(client, redis_down):
    """A stranger learns that Redis is down and the database up, and nothing about where Redis is."""
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": {"ok": True}, "redis": {"ok": False}}
    assert redis_down not in response.content.decode()


def test_the_reason_goes_to_the_log(client, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.common.health"):
        client.get("/healthz")
    assert any(redis_down in record.getMessage() for record in caplog.records)


def test_a_signed_in_admin_sees_the_drivers_error(client, redis_down, admin_user):
    client.force_login(admin_user)
    body = client.get("/healthz").json()
    assert body["redis"]["ok"] is False
    assert redis_down in body["redis"]["detail"]
    assert body["database"] == {"ok": True, "detail": "sqlite" if "sqlite" in _engine() else "postgresql"}


def test_staff_and_managers_see_no_detail(client, redis_down, staff_user, manager_user):
    for user in (staff_user, manager_user):
        client.force_login(user)
        assert client.get("/healthz").json()["redis"] == {"ok": False}


def _engine() -> str:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_database_is_503_without_its_host_or_port(tmp_path):
    """With PostgreSQL down, the anonymous answer says so and leaves out the driver's message,
    which names the server's address and port."""
    port = _closed_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://orderguard:secret@127.0.0.1:{port}/orderguard",
        "DB_POOL": "0",
        "ORDERGUARD_RUN_DIR": str(tmp_path),
    }
    probe = (
        "import json; from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='localhost'); "
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    assert answer["status"] == 503
    assert answer["body"] == {"status": "unavailable", "database": {"ok": False}, "redis": {"ok": True}}
    assert str(port) in result.stderr  # the log has the driver's error
