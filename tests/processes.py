"""The project's own processes for the tests that run them as production does: a Celery worker or
beat, daphne. They run against the suite's Redis and the test database, so the test's data must
be committed (``django_db(transaction=True)``); each writes its output to a log the failures show.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test database)."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


def environment() -> dict[str, str]:
    """The test's environment on the test database, without what belongs to the test run itself."""
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}
    for name in ("PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    return env


def start(argv: list[str], *, log: Path) -> subprocess.Popen:
    """Start ``argv`` in the project's directory, its output and errors to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=environment(), stdout=out, stderr=subprocess.STDOUT)


def celery(*argv: str, log: Path) -> subprocess.Popen:
    """Start ``celery -A config`` with ``argv`` (``"worker", …`` or ``"beat", …``)."""
    return start([str(BIN / "celery"), "-A", "config", *argv], log=log)


def stop(process: subprocess.Popen) -> None:
    """Stop the process as its supervisor would (SIGTERM), killing it if it takes more than 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, *, timeout: float, what: str, logs: list[Path]):
    """What ``condition()`` returns once it is true; the test fails saying ``what`` and the logs' ends if it
    is not true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    said = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in logs)
    pytest.fail(f"{what} within {timeout} s\n{said}")


def start_worker(log: Path) -> subprocess.Popen:
    """A Celery worker (one process, the solo pool), once it says it is ready."""
    process = celery("worker", "--pool", "solo", "--loglevel", "INFO", log=log)
    try:
        wait_for(lambda: " ready." in log.read_text(errors="replace"), timeout=60, what="worker not ready", logs=[log])
    except BaseException:  # pytest.fail is a BaseException: do not leave the worker running
        stop(process)
        raise
    return process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    """Whether a GET of ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - the test's own http:// server
            return response.status == 200
    except OSError:
        return False
