"""Exactly-once case start with real processes: a Celery worker and beat on the suite's Redis,
against the test database. The worker is killed with SIGKILL between detection and start and
Redis is restarted (its queued messages gone); the beat sweep still gives every exception
exactly one case. Concurrent starters meet the request's lock and the case's unique key."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

import tests.bootstrap as bootstrap
from apps.common.embedded_redis import redis_server_argv
from apps.exceptions.models import HandlingRequest, OrderException
from apps.rules.models import Category
from tests.processes import celery, start_worker, stop, wait_for
from workflows.models import HandlingCase

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def cases_per_exception(exceptions: list[OrderException]) -> dict[int, int]:
    return {exc.pk: HandlingCase.objects.filter(exception_id=exc.pk).count() for exc in exceptions}


def restart_redis() -> None:
    """Stop the suite's Redis and start a fresh one on the same socket: whatever was queued is gone."""
    socket_path = Path(bootstrap._redis_dir) / "redis.sock"
    bootstrap._redis.terminate()
    bootstrap._redis.wait(timeout=10)
    socket_path.unlink(missing_ok=True)
    bootstrap._redis = subprocess.Popen(
        redis_server_argv(socket_path=socket_path, data_dir=Path(bootstrap._redis_dir), persist=False),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        assert time.monotonic() < deadline, "redis did not come back"
        time.sleep(0.02)


def test_killed_worker_and_restarted_redis_still_give_each_exception_one_case(raise_exception, tmp_path):
    if bootstrap._redis is None:
        pytest.fail("This test restarts the suite's own Redis: run it without REDIS_URL set (make test does).")
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = start_worker(worker_log)
    beat = None
    try:
        # Detection → outbox → after-commit task on the worker: the normal path.
        first = raise_exception(Category.PAYMENT)
        wait_for(lambda: cases_per_exception([first])[first.pk], timeout=30, what="no case", logs=[worker_log])

        # The worker dies (SIGKILL: no goodbye); detection goes on and its start messages queue up.
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        queued = [raise_exception(Category.PAYMENT) for _ in range(3)]
        time.sleep(1)
        assert sum(cases_per_exception(queued).values()) == 0

        # Redis restarts empty: the queued messages are lost. One more exception is detected
        # while the broker is gone; its commit stands, the message cannot be sent.
        bootstrap._redis.terminate()
        bootstrap._redis.wait(timeout=10)
        during = raise_exception(Category.PAYMENT)
        restart_redis()
        assert HandlingRequest.objects.filter(handled_at__isnull=True).count() == 4

        # A new worker and beat: the sweep (every 5 s, the migration's schedule) starts them all.
        worker = start_worker(worker_log)
        beat = celery("beat", "--loglevel", "INFO", log=beat_log)
        everyone = [first, *queued, during]
        wait_for(
            lambda: all(cases_per_exception(everyone).values()),
            timeout=60,
            what="the sweep did not start every case",
            logs=[worker_log, beat_log],
        )
        time.sleep(6)  # one more sweep: nothing starts twice
        assert cases_per_exception(everyone) == {exc.pk: 1 for exc in everyone}
        assert not HandlingRequest.objects.filter(handled_at__isnull=True).exists()
        assert "workflows.cases_sweep" in worker_log.read_text(errors="replace")
    finally:
        if beat is not None:
            stop(beat)
        stop(worker)


def test_concurrent_starters_start_one_case(raise_exception):
    """Eight threads start the same request at once (the after-commit task, a retry and the
    sweep meeting): one case. On PostgreSQL the request row's lock serializes them."""
    from workflows.services import case_start

    exc = raise_exception(Category.PAYMENT)
    request = HandlingRequest.objects.get(exception=exc)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def starter():
        try:
            barrier.wait(timeout=10)
            results.append(case_start(request_id=request.pk))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=starter) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len([case for case in results if case is not None]) == 1
    assert HandlingCase.objects.filter(exception=exc).count() == 1
