"""API rate limits per token and per anonymous address, counted in the suite's real Redis."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import redis
import time_machine
from django.utils import timezone

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


@pytest.fixture
def low_rates(settings):
    """Three calls a minute per token, two per anonymous address (the suite runs with generous ones)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "2/min"}}


def test_a_token_over_its_rate_gets_429_in_the_error_shape_with_retry_after(low_rates, api):
    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 200]

    response = api.get(URL)

    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["fields"] == {}
    assert body["message"].startswith("Request was throttled.")
    assert 0 < int(response["Retry-After"]) <= 60


def test_writes_count_too_and_each_token_has_its_own_allowance(low_rates, api, manager_api):
    for _ in range(3):
        assert api.post(URL, {}, format="json").status_code == 400
    assert api.post(URL, {}, format="json").status_code == 429
    assert manager_api.get(URL).status_code == 200


def test_the_allowance_comes_back_after_the_period(low_rates, api):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            api.get(URL)
        assert api.get(URL).status_code == 429
        clock.shift(timedelta(seconds=61))
        assert api.get(URL).status_code == 200


def test_anonymous_callers_are_counted_per_address_even_though_they_are_refused(low_rates, anon_api):
    """No token is a 401, until the address has used its allowance: then 429."""
    assert [anon_api.get(URL, REMOTE_ADDR="10.1.1.1").status_code for _ in range(2)] == [401, 401]
    throttled = anon_api.get(URL, REMOTE_ADDR="10.1.1.1")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert "Retry-After" in throttled

    assert anon_api.get(URL, REMOTE_ADDR="10.1.1.2").status_code == 401


def test_a_forged_forwarded_for_header_gives_no_fresh_allowance(low_rates, anon_api):
    for n in range(2):
        anon_api.get(URL, REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert anon_api.get(URL, REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_a_trusted_proxy_the_address_it_added_is_the_caller(settings, low_rates, anon_api):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(2):
        anon_api.get(URL, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="forged, 198.51.100.7")
    assert anon_api.get(URL, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert anon_api.get(URL, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 401


def test_the_counts_live_in_redis_shared_by_every_web_process(low_rates, api, admin_user, redis_url):
    api.get(URL)
    client = redis.Redis.from_url(redis_url)
    try:
        keys = {key.decode() for key in client.keys("orderguard:*throttle_user_*")}
    finally:
        client.close()
    assert keys == {f"orderguard:1:throttle_user_{admin_user.pk}"}


def test_an_unreachable_cache_lets_calls_through_and_says_so_in_the_log(settings, low_rates, api, tmp_path, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"unix://{tmp_path / 'nothing-here.sock'}",
        }
    }
    with caplog.at_level(logging.WARNING, logger="apps.accounts.throttles"):
        assert [api.get(URL).status_code for _ in range(5)] == [200] * 5
    assert "API throttling skipped" in caplog.text
