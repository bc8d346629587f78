"""Rate limits and the sign-in lockout come from the environment, with production defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMES = (
    "ORDERGUARD_THROTTLE_USER",
    "ORDERGUARD_THROTTLE_ANON",
    "ORDERGUARD_NUM_PROXIES",
    "ORDERGUARD_LOGIN_FAILURE_LIMIT",
    "ORDERGUARD_LOGIN_COOLOFF_MINUTES",
)
PROBE = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'rates': s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], 'proxies': s.REST_FRAMEWORK['NUM_PROXIES'], "
    "'limit': s.AXES_FAILURE_LIMIT, "
    "'cooloff': s.AXES_COOLOFF_TIME and s.AXES_COOLOFF_TIME.total_seconds(), "
    "'cache': s.CACHES['default']['BACKEND'], 'cache_at': s.CACHES['default']['LOCATION'], 'redis': s.REDIS_URL}))"
)


def settings_with(tmp_path, **values: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name not in NAMES}
    env.update(values, DEBUG="1", ORDERGUARD_RUN_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_defaults_are_the_production_ones(tmp_path):
    result = settings_with(tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["rates"] == {"user": "6000/min", "anon": "60/min"}
    assert (found["proxies"], found["limit"], found["cooloff"]) == (0, 5, 15 * 60)
    # The cache is the Redis of REDIS_URL, here the suite's unix socket.
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert found["cache_at"] == found["redis"]
    assert found["redis"].startswith("unix://")


def test_each_can_be_set(tmp_path):
    result = settings_with(
        tmp_path,
        ORDERGUARD_THROTTLE_USER="100/s",
        ORDERGUARD_THROTTLE_ANON="10/hour",
        ORDERGUARD_NUM_PROXIES="1",
        ORDERGUARD_LOGIN_FAILURE_LIMIT="3",
        ORDERGUARD_LOGIN_COOLOFF_MINUTES="0",
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["rates"] == {"user": "100/s", "anon": "10/hour"}
    assert (found["proxies"], found["limit"], found["cooloff"]) == (1, 3, None)


def test_a_malformed_rate_stops_the_start_naming_the_variable(tmp_path):
    result = settings_with(tmp_path, ORDERGUARD_THROTTLE_ANON="sixty a minute")
    assert result.returncode != 0
    assert "ORDERGUARD_THROTTLE_ANON must be a rate such as 60/min" in result.stderr
