"""/healthz names the backing service that does not answer."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_health_is_503_naming_redis_when_its_socket_does_not_exist(client, settings, tmp_path):
    """A REDIS_URL socket with nothing behind it gives 503, redis not ok, the database still ok."""
    missing = tmp_path / "nothing-listens-here.sock"
    settings.REDIS_URL = f"unix://{missing}"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["redis"]["ok"] is False
    assert body["redis"]["detail"]
    assert body["database"]["ok"] is True
