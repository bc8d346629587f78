"""The whole platform as ``make run`` starts it: honcho, platform/Procfile and real processes.

The platform gets its own run directory (SQLite, embedded Redis socket), not the suite's Redis.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform_env(run_dir: Path, port: int) -> dict[str, str]:
    """The environment ``make run`` gives honcho, pointed at ``run_dir`` and ``port``."""
    env = {
        name: value
        for name, value in os.environ.items()
        # The suite's own Redis and database belong to it; the platform starts its embedded ones.
        # TZ is Django's doing in this process (it sets TIME_ZONE there), not a developer's shell's.
        if name not in {"REDIS_URL", "DATABASE_URL", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST", "TZ"}
    }
    env.update(
        {
            "DEBUG": "1",
            "ORDERGUARD_RUN_DIR": str(run_dir),
            "PORT": str(port),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def wait_for(condition, *, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout} s; honcho said:\n{log.read_text()}")


def healthy(base_url: str):
    with contextlib.suppress(httpx.HTTPError):
        response = httpx.get(base_url + "/healthz", timeout=2)
        if response.status_code == 200:
            return response.json()
    return None


def worker_pong(app: Celery):
    with contextlib.suppress(Exception):  # the broker may not be reachable yet
        return app.control.ping(timeout=1.0)
    return None


@pytest.mark.slow
def test_the_platform_serves_and_ctrl_c_stops_every_process():
    """honcho starts web, worker, beat and redis; /healthz is 200, the worker answers a ping, and
    SIGINT to honcho ends honcho and every process below it, with no SIGKILL needed."""
    with tempfile.TemporaryDirectory(prefix="og-e2e-") as tmp:
        # A short directory: the Redis unix socket path must stay under ~100 bytes.
        run_dir = Path(tmp)
        log = run_dir / "honcho.log"
        port = free_port()
        env = platform_env(run_dir, port)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )

        with log.open("wb") as log_file:
            honcho = subprocess.Popen(
                ["platform/bin/start-honcho", "--no-colour", "-f", "platform/Procfile", "start"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        descendants: list[psutil.Process] = []
        try:
            health = wait_for(
                lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30, what="/healthz was not 200", log=log
            )
            assert health["database"]["ok"] is True
            assert health["redis"]["ok"] is True

            broker = Celery(broker=f"redis+socket://{run_dir / 'redis.sock'}")
            try:
                replies = wait_for(lambda: worker_pong(broker), timeout=30, what="no worker answered a ping", log=log)
            finally:
                broker.close()
            assert any(reply == {"ok": "pong"} for answer in replies for reply in answer.values())
            wait_for(
                lambda: "beat: Starting..." in log.read_text() and " ready." in log.read_text(),
                timeout=15,
                what="beat and worker did not log their start",
                log=log,
            )

            descendants = psutil.Process(honcho.pid).children(recursive=True)
            commands = " ".join(command_line(proc) for proc in descendants)
            for program in ("redis-server", "daphne", "celery -A config worker", "celery -A config beat"):
                assert program in commands

            honcho.send_signal(signal.SIGINT)
            assert honcho.wait(timeout=20) == 130
        finally:
            survivors = stop_everything(honcho, descendants)

        assert survivors == []
        assert "SIGKILL" not in log.read_text()
        assert_times_agree(log.read_text())


# "12:00:01 web.1    | 2026-12-01 12:00:01,234 INFO ..." and "... | [2026-12-01 12:00:01,234: INFO/...".
STAMPED_LINE = re.compile(r"^(\d\d:\d\d:\d\d) (\w+)\.\d+\s*\| \[?\d{4}-\d\d-\d\d[ T](\d\d:\d\d:\d\d)", re.M)


def _seconds(clock: str) -> int:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def assert_times_agree(log: str) -> None:
    """honcho's stamp and the time the process printed on the same line are the same clock
    (a few seconds apart at most), for the web, worker and beat processes alike."""
    seen = set()
    for honcho_time, process, printed_time in STAMPED_LINE.findall(log):
        gap = abs(_seconds(honcho_time) - _seconds(printed_time))
        assert min(gap, 86400 - gap) <= 5, (process, honcho_time, printed_time)
        seen.add(process)
    assert {"web", "worker", "beat"} <= seen, log


def command_line(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # exited meanwhile
        return ""


def stop_everything(honcho: subprocess.Popen, descendants: list[psutil.Process]) -> list[tuple[int, str]]:
    """Wait for honcho's processes to end (stopping them if a failed test left them running);
    return the ones that were still alive, before they were killed."""
    if honcho.poll() is None:
        with contextlib.suppress(psutil.Error):
            descendants = descendants or psutil.Process(honcho.pid).children(recursive=True)
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=15)
        except subprocess.TimeoutExpired:
            honcho.kill()
            honcho.wait()
    _, alive = psutil.wait_procs(descendants, timeout=5)
    survivors = [(proc.pid, command_line(proc)) for proc in alive]
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    return survivors
