"""Loaded with ``-p tests.bootstrap`` before pytest-django reads the settings.

Starts a real embedded redis-server for the run (each xdist worker gets its own) and points
REDIS_URL, and so the Celery broker and the Channels layer, at it. Tests run with DEBUG on
(plain HTTP, no HSTS redirect) and a throw-away run directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

# Set in the environment when this plugin (not the user) chose REDIS_URL, so that xdist
# workers, which inherit the environment, know to start a Redis of their own.
_OWNED = "ORDERGUARD_TEST_REDIS_OWNED"

_redis: subprocess.Popen | None = None
_redis_dir: str | None = None
_run_dir: str | None = None


def _start_redis() -> str:
    global _redis, _redis_dir
    from apps.common.embedded_redis import redis_server_argv

    _redis_dir = tempfile.mkdtemp(prefix="og-redis-")
    socket_path = Path(_redis_dir) / "redis.sock"
    _redis = subprocess.Popen(
        redis_server_argv(socket_path=socket_path, data_dir=Path(_redis_dir), persist=False),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if _redis.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("embedded redis-server did not start")
        time.sleep(0.02)
    return f"unix://{socket_path}"


# This runs when pytest imports the plugin, before any hook: pytest-django reads the settings
# in its own earliest hook, so the environment has to be ready by then.
os.environ.setdefault("DEBUG", "1")
# The suite (schemathesis, the browser, bulk tests) makes many API calls a minute from one
# address and one token; the throttling tests set low rates of their own.
os.environ.setdefault("ORDERGUARD_THROTTLE_ANON", "1000000/min")
os.environ.setdefault("ORDERGUARD_THROTTLE_USER", "1000000/min")
if not os.environ.get("ORDERGUARD_RUN_DIR") or os.environ.get(_OWNED):
    _run_dir = tempfile.mkdtemp(prefix="og-run-")
    os.environ["ORDERGUARD_RUN_DIR"] = _run_dir
if not os.environ.get("REDIS_URL") or os.environ.get(_OWNED):
    os.environ["REDIS_URL"] = _start_redis()
    os.environ[_OWNED] = "1"


def pytest_unconfigure(config):
    if _redis is not None:
        _redis.terminate()
        _redis.wait(timeout=10)
    for folder in (_redis_dir, _run_dir):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
